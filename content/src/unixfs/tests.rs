//! Fixtures: CIDs published by IPIP-499 and produced by Kubo, and round trips through the reader.

use std::io::Cursor;

use super::read::{Kind, Reader};
use super::*;
use crate::block::{MemoryBlocks, NullSink};

fn file_cid(bytes: &[u8], profile: &Profile) -> String {
    import_file(&mut Cursor::new(bytes), "test", profile, &NullSink)
        .unwrap()
        .cid
        .to_string()
}

#[test]
fn ipip_499_hello_world() {
    assert_eq!(
        file_cid(b"hello world", &UNIXFS_V1_2025),
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    );
    assert_eq!(
        file_cid(b"hello world", &UNIXFS_V0_2015),
        "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"
    );
}

#[test]
fn ipip_499_empty_directory() {
    let v1 = build_dir(vec![], &UNIXFS_V1_2025, &NullSink).unwrap();
    let v0 = build_dir(vec![], &UNIXFS_V0_2015, &NullSink).unwrap();
    assert_eq!(
        v1.cid.to_string(),
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"
    );
    assert_eq!(
        v0.cid.to_string(),
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
    );
}

#[test]
fn kubo_hello_newline_and_a_mebibyte_of_zeros() {
    assert_eq!(
        file_cid(b"hello\n", &UNIXFS_V0_2015),
        "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"
    );
    assert_eq!(
        file_cid(b"hello\n", &KUBO_CIDV1),
        "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am"
    );
    assert_eq!(
        file_cid(&vec![0u8; 1 << 20], &UNIXFS_V0_2015),
        "QmVkbauSDEaMP4Tkq6Epm9uW75mWm136n81YH8fGtfwdHU"
    );
}

#[test]
fn empty_files() {
    assert_eq!(
        file_cid(b"", &UNIXFS_V1_2025),
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    );
    assert_eq!(
        file_cid(b"", &UNIXFS_V0_2015),
        "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
    );
}

/// Reads back every byte range boundary of a multi-level file in each profile.
#[test]
fn multi_level_files_read_back_whole_and_in_ranges() {
    for base in PROFILES {
        // Small chunks and links so that three levels appear in a small file.
        let profile = Profile {
            chunk_size: 7,
            max_links: 3,
            ..base
        };
        let bytes: Vec<u8> = (0..200u32).map(|i| (i * 31 % 251) as u8).collect();
        let blocks = MemoryBlocks::new();
        let node = import_file(&mut Cursor::new(&bytes), "t", &profile, &blocks).unwrap();
        assert_eq!(node.filesize, 200);
        let reader = Reader::new(&blocks);
        assert_eq!(reader.stat(&node.cid).unwrap(), Kind::File { size: 200 });
        let mut out = Vec::new();
        reader.read_to(&node.cid, &mut out).unwrap();
        assert_eq!(out, bytes, "{}", profile.name);
        for (start, len) in [
            (0, 1),
            (6, 2),
            (7, 7),
            (20, 50),
            (199, 5),
            (200, 3),
            (0, 200),
        ] {
            let mut out = Vec::new();
            reader.read_range(&node.cid, start, len, &mut out).unwrap();
            let s = (start as usize).min(200);
            let e = ((start + len) as usize).min(200);
            assert_eq!(out, &bytes[s..e], "{} [{start}, +{len})", profile.name);
        }
    }
}

#[test]
fn trees_with_symlinks_empty_dirs_and_hidden_files_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("etc/empty")).unwrap();
    std::fs::write(root.join("etc/motd"), "welcome\n").unwrap();
    std::fs::write(root.join(".hidden"), "h").unwrap();
    std::os::unix::fs::symlink("motd", root.join("etc/link")).unwrap();
    std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
    let blocks = MemoryBlocks::new();
    let node = import_path(root, &UNIXFS_V1_2025, &blocks).unwrap();
    let reader = Reader::new(&blocks);
    let walked: Vec<_> = reader
        .walk(&node.cid)
        .unwrap()
        .into_iter()
        .map(|e| (e.path, e.kind))
        .collect();
    assert_eq!(
        walked,
        [
            ("".to_string(), Kind::Directory),
            (".hidden".into(), Kind::File { size: 1 }),
            ("etc".into(), Kind::Directory),
            ("etc/empty".into(), Kind::Directory),
            (
                "etc/link".into(),
                Kind::Symlink {
                    target: "motd".into()
                }
            ),
            ("etc/motd".into(), Kind::File { size: 8 }),
            (
                "loop".into(),
                Kind::Symlink {
                    target: "loop".into()
                }
            ),
        ]
    );
    let motd = reader.resolve(&node.cid, "etc/motd").unwrap();
    let mut out = Vec::new();
    reader.read_to(&motd, &mut out).unwrap();
    assert_eq!(out, b"welcome\n");
    let err = reader
        .resolve(&node.cid, "etc/nope")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`nope`"), "{err}");
}

#[test]
fn hamt_directories_list_every_entry() {
    for profile in PROFILES {
        let small = Profile {
            hamt_threshold: HamtThreshold::LinkEstimate(0),
            ..profile
        };
        let blocks = MemoryBlocks::new();
        let entries: Vec<Entry> = (0..2000)
            .map(|i| Entry {
                name: format!("file-{i:05}.txt"),
                node: import_file(&mut Cursor::new(format!("{i}")), "t", &small, &blocks).unwrap(),
            })
            .collect();
        let dir = build_dir(entries.clone(), &small, &blocks).unwrap();
        let listed = Reader::new(&blocks).list(&dir.cid).unwrap();
        assert_eq!(listed.len(), 2000);
        for (l, e) in listed.iter().zip(&entries) {
            assert_eq!((&l.name, &l.cid), (&e.name, &e.node.cid));
        }
    }
}

#[test]
fn special_files_are_errors_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let err = import_path(&fifo, &UNIXFS_V1_2025, &NullSink)
        .unwrap_err()
        .to_string();
    assert!(err.contains("fifo") && err.contains("FIFO"), "{err}");
    let err = import_path(dir.path(), &UNIXFS_V1_2025, &NullSink)
        .unwrap_err()
        .to_string();
    assert!(err.contains("fifo"), "{err}");
    let missing = dir.path().join("missing");
    let err = import_path(&missing, &UNIXFS_V1_2025, &NullSink)
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing"), "{err}");
}

/// A DAG shaped as the trickle builder and older importers write it: data in the root itself,
/// `Raw`-typed dag-pb leaves next to raw leaves, a nested node, CIDv0 and CIDv1 mixed.
#[test]
fn reads_dags_this_importer_never_writes() {
    use crate::block::BlockSink;
    use crate::cid::{Cid, Multihash, DAG_PB, RAW};
    use crate::dagpb::{PbLink, PbNode};

    let blocks = MemoryBlocks::new();
    let put_pb = |links: Vec<PbLink>, data: Data, v0: bool| {
        let bytes = PbNode {
            links,
            data: Some(data.encode()),
        }
        .encode();
        let cid = if v0 {
            Cid::new_v0(Multihash::sha2_256(&bytes)).unwrap()
        } else {
            Cid::v1_sha2_256(DAG_PB, &bytes)
        };
        blocks.put(&cid, &bytes).unwrap();
        (cid, bytes.len() as u64)
    };
    let link = |cid: &Cid, tsize: u64| PbLink {
        cid: cid.clone(),
        name: None,
        tsize: Some(tsize),
    };

    let raw_leaf = Cid::v1_sha2_256(RAW, b"def");
    blocks.put(&raw_leaf, b"def").unwrap();
    let mut raw_typed = Data::new(DataType::Raw);
    raw_typed.data = Some(b"ghi".to_vec());
    raw_typed.filesize = Some(3);
    let (pb_leaf, pb_leaf_size) = put_pb(vec![], raw_typed, true);
    let mut inner = Data::new(DataType::File);
    inner.data = Some(b"jk".to_vec());
    inner.blocksizes = vec![3];
    let (nested, nested_size) = put_pb(vec![link(&raw_leaf, 3)], inner, false);
    let mut top = Data::new(DataType::File);
    top.data = Some(b"abc".to_vec());
    top.filesize = Some(3 + 3 + 3 + 5);
    top.blocksizes = vec![3, 3, 5];
    let (root, _) = put_pb(
        vec![
            link(&raw_leaf, 3),
            link(&pb_leaf, pb_leaf_size),
            link(&nested, nested_size),
        ],
        top,
        true,
    );

    let reader = Reader::new(&blocks);
    assert_eq!(reader.stat(&root).unwrap(), Kind::File { size: 14 });
    let mut out = Vec::new();
    reader.read_to(&root, &mut out).unwrap();
    assert_eq!(out, b"abcdefghijkdef");
    for start in 0..14u64 {
        let mut part = Vec::new();
        reader.read_range(&root, start, 4, &mut part).unwrap();
        let end = (start as usize + 4).min(14);
        assert_eq!(
            part,
            &b"abcdefghijkdef"[start as usize..end],
            "from {start}"
        );
    }

    // Sizes that do not add up are malformed, and the error names the node.
    let mut lying = Data::new(DataType::File);
    lying.blocksizes = vec![4];
    let (liar, _) = put_pb(vec![link(&raw_leaf, 3)], lying, false);
    let err = reader
        .read_to(&liar, &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&raw_leaf.to_string()) && err.contains("4 bytes"),
        "{err}"
    );
    let mut short = Data::new(DataType::File);
    short.blocksizes = vec![];
    let (no_sizes, _) = put_pb(vec![link(&raw_leaf, 3)], short, false);
    let err = reader
        .read_to(&no_sizes, &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&no_sizes.to_string()) && err.contains("blocksizes"),
        "{err}"
    );
    // A directory is not a file, and a file is not a directory.
    let err = reader.list(&root).unwrap_err().to_string();
    assert!(err.contains("not a directory"), "{err}");
}
