//! Packing layers: the same layer gives the same bytes, every time; the tar is sorted, with its
//! directories, its symlinks kept, fixed owners and modes, one mtime; what ustar cannot hold is
//! refused; a file whose blocks are missing is an error naming it.

use std::io::Read;
use std::path::Path;

use ww_content::cid::Cid;
use ww_content::store::Store;
use ww_content::unixfs::{import_path, UNIXFS_V1_2025};

use super::*;

/// A layer of `files` (path, content; a content starting with `->` is a symlink's target),
/// imported into a store in `dir`.
fn layer(dir: &Path, files: &[(&str, &[u8])]) -> (Store, Cid) {
    let tree = dir.join("tree");
    for (path, content) in files {
        let at = tree.join(path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        match content.strip_prefix(b"->") {
            Some(target) => {
                std::os::unix::fs::symlink(std::str::from_utf8(target).unwrap(), &at).unwrap()
            }
            None => std::fs::write(&at, content).unwrap(),
        }
    }
    let store = Store::open(&dir.join("store")).unwrap();
    let cid = import_path(&tree, &UNIXFS_V1_2025, &store).unwrap().cid;
    (store, cid)
}

const FILES: &[(&str, &[u8])] = &[
    ("etc/motd", b"hello\n"),
    ("bin/main.wasm", b"\0asm\x01\0\0\0"),
    ("etc/conf.d/b.conf", b"b\n"),
    ("etc/conf-a", b"a\n"),
    ("etc/link", b"->motd"),
    ("empty/.keep", b""),
];

/// (name, type, mode, uid, gid, mtime, user, group, link, content) of each entry.
type Row = (
    String,
    u8,
    u32,
    u64,
    u64,
    u64,
    String,
    String,
    String,
    Vec<u8>,
);

fn rows(tar_bytes: &[u8]) -> Vec<Row> {
    let mut archive = tar::Archive::new(tar_bytes);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let mut content = Vec::new();
            e.read_to_end(&mut content).unwrap();
            assert!(h.as_ustar().is_some(), "a ustar header");
            (
                String::from_utf8(e.path_bytes().to_vec()).unwrap(),
                h.entry_type().as_byte(),
                h.mode().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.mtime().unwrap(),
                String::from_utf8(h.username_bytes().unwrap().to_vec()).unwrap(),
                String::from_utf8(h.groupname_bytes().unwrap().to_vec()).unwrap(),
                e.link_name()
                    .unwrap()
                    .map(|l| l.display().to_string())
                    .unwrap_or_default(),
                content,
            )
        })
        .collect()
}

fn tar_of(store: &Store, cid: &Cid, mtime: u64) -> (Packed, Vec<u8>) {
    write_tar(store, cid, mtime, Vec::new()).unwrap()
}

#[test]
fn the_tar_is_sorted_with_directories_symlinks_and_fixed_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let (store, cid) = layer(dir.path(), FILES);
    let (packed, bytes) = tar_of(&store, &cid, 0);
    assert_eq!(packed.diff_id, Digest::of(&bytes));
    assert_eq!(packed.tar_size, bytes.len() as u64);
    assert_eq!(bytes.len() % 512, 0);
    assert_eq!(
        &bytes[bytes.len() - 1024..],
        &[0u8; 1024][..],
        "two zero blocks end it"
    );
    let rows = rows(&bytes);
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "bin/",
            "bin/main.wasm",
            "empty/",
            "empty/.keep",
            "etc/",
            "etc/conf-a",
            "etc/conf.d/",
            "etc/conf.d/b.conf",
            "etc/link",
            "etc/motd",
        ]
    );
    assert_eq!(packed.entries, names.len() as u64);
    for (name, kind, mode, uid, gid, mtime, user, group, link, content) in &rows {
        assert_eq!((*uid, *gid, *mtime), (0, 0, 0), "{name}");
        assert_eq!((user.as_str(), group.as_str()), ("", ""), "{name}");
        let (want_kind, want_mode) = if name.ends_with('/') {
            (b'5', 0o755)
        } else if name == "etc/link" {
            (b'2', 0o777)
        } else {
            (b'0', 0o644)
        };
        assert_eq!((*kind, *mode), (want_kind, want_mode), "{name}");
        if name == "etc/link" {
            assert_eq!(link, "motd");
            assert!(content.is_empty());
        }
        if name == "etc/motd" {
            assert_eq!(content, b"hello\n");
        }
    }
    // No PAX or GNU records: every header is ustar (checked above) and of these three types.
}

#[test]
fn the_same_layer_packs_to_the_same_bytes_and_the_epoch_sets_the_mtimes() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (store_a, cid_a) = layer(a.path(), FILES);
    let (store_b, cid_b) = layer(b.path(), FILES);
    assert_eq!(cid_a, cid_b);
    for compression in [Compression::Zstd, Compression::Gzip] {
        let pack = |store: &Store, cid: &Cid, mtime| {
            let mut out = Vec::new();
            let packed = pack_layer(store, cid, compression, mtime, &mut out).unwrap();
            (packed, out)
        };
        let (pa, ba) = pack(&store_a, &cid_a, 0);
        let (pb, bb) = pack(&store_b, &cid_b, 0);
        assert_eq!((&pa, &ba), (&pb, &bb), "{compression:?}");
        assert_eq!(
            pack(&store_a, &cid_a, 0).1,
            ba,
            "a second run, {compression:?}"
        );
        let tar = match compression {
            Compression::Zstd => zstd::decode_all(&ba[..]).unwrap(),
            Compression::Gzip => {
                // The header is fixed: no mtime, no name, the OS byte 255.
                assert_eq!(&ba[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&ba[..])
                    .read_to_end(&mut out)
                    .unwrap();
                out
            }
        };
        assert_eq!(
            Digest::of(&tar),
            pa.diff_id,
            "diff_id: the uncompressed tar"
        );
        let (pe, be) = pack(&store_a, &cid_a, 1_700_000_000);
        assert_ne!(be, ba);
        assert_ne!(pe.diff_id, pa.diff_id);
    }
    let (_, bytes) = tar_of(&store_a, &cid_a, 1_700_000_000);
    assert!(rows(&bytes).iter().all(|r| r.5 == 1_700_000_000));
}

#[test]
fn source_date_epoch_is_parsed_strictly() {
    assert_eq!(parse_epoch("0").unwrap(), 0);
    assert_eq!(parse_epoch("1700000000").unwrap(), 1_700_000_000);
    for bad in [
        "",
        "-1",
        "1.5",
        " 1",
        "1e9",
        "abc",
        "8589934592",
        "99999999999999999999999",
    ] {
        let err = parse_epoch(bad).unwrap_err().to_string();
        assert!(err.starts_with("SOURCE_DATE_EPOCH="), "{bad}: {err}");
    }
}

#[test]
fn long_paths_split_into_the_prefix_and_what_ustar_cannot_hold_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = ("a".repeat(60), "b".repeat(60));
    let deep = format!("{a}/{b}/{}", "f".repeat(90));
    let (store, cid) = layer(dir.path(), &[(&deep, b"x")]);
    let (_, bytes) = tar_of(&store, &cid, 0);
    let names: Vec<String> = rows(&bytes).into_iter().map(|r| r.0).collect();
    assert_eq!(names, [format!("{a}/"), format!("{a}/{b}/"), deep.clone()]);

    let dir = tempfile::tempdir().unwrap();
    let too_long = "n".repeat(101);
    let (store, cid) = layer(dir.path(), &[(&too_long, b"x")]);
    let err = write_tar(&store, &cid, 0, Vec::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not fit ustar"), "{err}");
    assert!(err.contains(&too_long), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let target = format!("->{}", "t".repeat(101));
    let (store, cid) = layer(dir.path(), &[("link", target.as_bytes())]);
    let err = write_tar(&store, &cid, 0, Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`link`") && err.contains("more than ustar's 100"),
        "{err}"
    );
}

#[test]
fn a_missing_block_of_a_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // Three chunks of 1 MiB or less: the file's root node and three leaves.
    let big: Vec<u8> = (0..(5u32 << 19)).map(|i| (i % 251) as u8).collect();
    let (store, cid) = layer(dir.path(), &[("etc/motd", b"hello\n"), ("etc/big", &big)]);
    // Remove every block the walk does not read: the big file's leaves.
    let walked = ww_image::layer::open(&Reader::new(&store), &cid, "").unwrap();
    let mut keep: Vec<String> = walked
        .entries
        .iter()
        .map(|(_, e)| e.cid().to_string())
        .collect();
    keep.push(cid.to_string());
    let big_cid = walked
        .entries
        .iter()
        .find(|(p, _)| p.as_str() == "etc/big")
        .unwrap()
        .1
        .cid()
        .clone();
    let mut stack = vec![dir.path().join("store/blocks")];
    let mut removed = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if !keep.contains(&p.file_name().unwrap().to_string_lossy().into_owned()) {
                std::fs::remove_file(&p).unwrap();
                removed += 1;
            }
        }
    }
    assert_eq!(removed, 3, "the three leaves");
    let err = write_tar(&store, &cid, 0, Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("file `etc/big`") && err.contains(&big_cid.to_string()),
        "{err}"
    );
    assert!(err.contains("not found"), "{err}");
}
