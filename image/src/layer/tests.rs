//! Tests of reading a layer named by a CID.

use super::*;
use ww_content::block::MemoryBlocks;
use ww_content::tree::Tree;
use ww_content::unixfs::{self, Profile};

/// A layer of `files` (path, bytes) and `links` (path, target), imported into `blocks`.
fn import(blocks: &MemoryBlocks, files: &[(&str, &[u8])], links: &[(&str, &str)]) -> Cid {
    let dir = tempfile::tempdir().unwrap();
    for (path, bytes) in files {
        let at = dir.path().join(path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(at, bytes).unwrap();
    }
    for (path, target) in links {
        let at = dir.path().join(path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, at).unwrap();
    }
    let tree = Tree::scan(dir.path()).unwrap();
    unixfs::import_tree(&tree, &Profile::default(), blocks)
        .unwrap()
        .cid
}

fn paths(layer: &ContentLayer) -> Vec<&str> {
    layer.entries.iter().map(|(p, _)| p.as_str()).collect()
}

#[test]
fn a_layer_is_its_entries_in_walk_order() {
    let blocks = MemoryBlocks::new();
    let root = import(
        &blocks,
        &[
            ("bin/main.wasm", b"wasm"),
            ("etc/a", b""),
            ("etc/a-b", b"xyz"),
        ],
        &[("etc/link", "a")],
    );
    let reader = Reader::new(&blocks);
    let layer = open(&reader, &root, "").unwrap();
    assert_eq!(layer.root, root);
    assert_eq!(
        paths(&layer),
        [
            "bin",
            "bin/main.wasm",
            "etc",
            "etc/a",
            "etc/a-b",
            "etc/link"
        ]
    );
    let by_path = |p: &str| {
        &layer
            .entries
            .iter()
            .find(|(q, _)| q.as_str() == p)
            .unwrap()
            .1
    };
    assert!(matches!(by_path("bin"), LayerEntry::Dir { .. }));
    let LayerEntry::File { cid, size, tsize } = by_path("etc/a-b") else {
        panic!("{:?}", by_path("etc/a-b"));
    };
    assert_eq!(*size, 3);
    assert!(*tsize >= 3, "{tsize}");
    let mut bytes = Vec::new();
    reader.read_to(cid, &mut bytes).unwrap();
    assert_eq!(bytes, b"xyz");
    assert_eq!(
        by_path("etc/link"),
        &LayerEntry::Symlink {
            cid: by_path("etc/link").cid().clone(),
            target: "a".into()
        }
    );
}

#[test]
fn a_path_below_the_root_names_the_layer() {
    let blocks = MemoryBlocks::new();
    let root = import(&blocks, &[("a/b/c", b"1"), ("x", b"2")], &[]);
    let reader = Reader::new(&blocks);
    let layer = open(&reader, &root, "a").unwrap();
    assert_eq!(paths(&layer), ["b", "b/c"]);
    assert_eq!(layer.root, reader.resolve(&root, "a").unwrap());

    let err = open(&reader, &root, "x").unwrap_err().to_string();
    assert!(err.contains("is a file, not a directory"), "{err}");
    let err = open(&reader, &root, "nope").unwrap_err().to_string();
    assert!(err.contains("no `nope` in directory"), "{err}");
}

#[test]
fn admit_sees_each_file_and_its_refusal_stops_the_walk() {
    let blocks = MemoryBlocks::new();
    let root = import(
        &blocks,
        &[("a", b"1"), ("b", b"22"), ("c/d", b"333"), ("e", b"4444")],
        &[],
    );
    let mut seen = Vec::new();
    let layer = open_with(&Reader::new(&blocks), &root, "", |p, _, size| {
        seen.push((p.to_string(), size));
        Ok(())
    })
    .unwrap();
    assert_eq!(
        seen,
        [
            ("a".into(), 1),
            ("b".into(), 2),
            ("c/d".into(), 3),
            ("e".into(), 4)
        ]
    );
    assert_eq!(layer.entries.len(), 5);

    let reader = Reader::new(&blocks);
    let mut met = 0;
    let err = open_with(&reader, &root, "", |p, _, _| {
        met += 1;
        if p.as_str() == "c/d" {
            Err("`c/d` is too large".into())
        } else {
            Ok(())
        }
    })
    .unwrap_err();
    assert!(matches!(err, LayerError::Refused(_)), "{err:?}");
    assert_eq!(err.to_string(), "`c/d` is too large");
    // `e` was never met: the walk stopped at `c/d`.
    assert_eq!(met, 3);
}

#[test]
fn the_readers_budgets_hold() {
    let blocks = MemoryBlocks::new();
    let root = import(&blocks, &[("a", b"1"), ("b", b"2"), ("c", b"3")], &[]);
    let reader = Reader::new(&blocks).with_max_blocks(3);
    let err = open(&reader, &root, "").unwrap_err();
    assert!(
        matches!(
            err,
            LayerError::Read(ReadError::Budget { what: "blocks", .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("took more than 3 blocks"), "{err}");

    // A missing block is an error naming it.
    let empty = MemoryBlocks::new();
    let err = open(&Reader::new(&empty), &root, "")
        .unwrap_err()
        .to_string();
    assert!(err.contains(&root.to_string()), "{err}");
}
