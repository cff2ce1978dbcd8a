//! The reader's rules against hand-made hostile DAGs: names, duplicates, HAMT shards linked
//! twice, the block budget, the depth cap, and sizes that overflow.

use super::super::data::{Data, DataType};
use super::{ReadError, Reader};
use crate::block::{BlockSink, MemoryBlocks};
use crate::cid::{Cid, DAG_PB, RAW};
use crate::dagpb::{PbLink, PbNode};

fn put(blocks: &MemoryBlocks, links: Vec<(&str, &Cid)>, data: Data) -> Cid {
    let bytes = PbNode {
        links: links
            .into_iter()
            .map(|(name, cid)| PbLink {
                cid: cid.clone(),
                name: Some(name.to_string()),
                tsize: None,
            })
            .collect(),
        data: Some(data.encode()),
    }
    .encode();
    let cid = Cid::v1_sha2_256(DAG_PB, &bytes);
    blocks.put(&cid, &bytes).unwrap();
    cid
}

fn raw(blocks: &MemoryBlocks, bytes: &[u8]) -> Cid {
    let cid = Cid::v1_sha2_256(RAW, bytes);
    blocks.put(&cid, bytes).unwrap();
    cid
}

fn dir(blocks: &MemoryBlocks, links: Vec<(&str, &Cid)>) -> Cid {
    put(blocks, links, Data::new(DataType::Directory))
}

fn shard(blocks: &MemoryBlocks, links: Vec<(&str, &Cid)>, fanout: u64) -> Cid {
    let mut data = Data::new(DataType::HamtShard);
    data.fanout = Some(fanout);
    data.hash_type = Some(0x22);
    put(blocks, links, data)
}

#[test]
fn every_name_is_one_component_and_unique() {
    let blocks = MemoryBlocks::new();
    let leaf = raw(&blocks, b"x");
    for (name, rule) in [
        ("a/b", "contains `/`"),
        ("..", "is `.` or `..`"),
        (".", "is `.` or `..`"),
        ("", "is empty"),
        ("a\0", "contains a NUL byte"),
    ] {
        let d = dir(&blocks, vec![(name, &leaf)]);
        match Reader::new(&blocks).list(&d) {
            Err(ReadError::BadName { dir, rule: r, .. }) => {
                assert_eq!((dir, r), (d.clone(), rule), "{name:?}")
            }
            other => panic!("{name:?}: {other:?}"),
        }
    }
    let d = dir(&blocks, vec![("same", &leaf), ("same", &leaf)]);
    let err = Reader::new(&blocks).list(&d).unwrap_err().to_string();
    assert!(
        err.contains("`same` appears twice") && err.contains(&d.to_string()),
        "{err}"
    );
    // Names in messages have their control characters escaped.
    let d = dir(&blocks, vec![("\u{1b}[2J/x", &leaf)]);
    let err = Reader::new(&blocks).list(&d).unwrap_err().to_string();
    assert!(
        err.contains("\\x1b[2J/x") && !err.contains('\u{1b}'),
        "{err}"
    );
}

#[test]
fn hamt_shards_follow_the_name_rule_and_are_met_once() {
    let blocks = MemoryBlocks::new();
    let leaf = raw(&blocks, b"x");
    let root = shard(&blocks, vec![("00a/b", &leaf)], 256);
    let err = Reader::new(&blocks).list(&root).unwrap_err().to_string();
    assert!(err.contains("contains `/`"), "{err}");
    // The same name in two shards of one directory.
    let sub = shard(&blocks, vec![("00dup", &leaf)], 256);
    let root = shard(&blocks, vec![("01", &sub), ("02dup", &leaf)], 256);
    let err = Reader::new(&blocks).list(&root).unwrap_err().to_string();
    assert!(err.contains("`dup` appears twice"), "{err}");
    // One shard linked twice per level: refused at the second link.
    let mut s = shard(&blocks, vec![("0x", &leaf)], 2);
    for _ in 0..60 {
        s = shard(&blocks, vec![("0", &s), ("1", &s)], 2);
    }
    let reader = Reader::new(&blocks);
    let err = reader.list(&s).unwrap_err().to_string();
    assert!(err.contains("linked twice"), "{err}");
    assert!(reader.blocks_decoded() <= 3, "{}", reader.blocks_decoded());
    // Deeper than the hash bits allow, and a child of another fanout.
    let mut s = shard(&blocks, vec![("0x", &leaf)], 256);
    for _ in 0..8 {
        s = shard(&blocks, vec![("00", &s)], 256);
    }
    let err = Reader::new(&blocks).list(&s).unwrap_err().to_string();
    assert!(err.contains("deeper than its 8 levels"), "{err}");
    let child = shard(&blocks, vec![("0x", &leaf)], 16);
    let root = shard(&blocks, vec![("00", &child)], 256);
    let err = Reader::new(&blocks).list(&root).unwrap_err().to_string();
    assert!(err.contains("fanout differs"), "{err}");
}

#[test]
fn a_walk_is_bounded_by_the_block_budget_and_the_depth_cap() {
    let blocks = MemoryBlocks::new();
    let leaf = raw(&blocks, b"x");
    let mut d = dir(&blocks, vec![("f", &leaf)]);
    for _ in 0..30 {
        d = dir(&blocks, vec![("a", &d), ("b", &d)]);
    }
    let reader = Reader::new(&blocks).with_max_blocks(500);
    match reader.walk(&d) {
        Err(ReadError::Budget { limit, .. }) => assert_eq!(limit, 500),
        other => panic!("{other:?}"),
    }
    assert_eq!(reader.blocks_decoded(), 500);

    let mut deep = dir(&blocks, vec![]);
    for _ in 0..crate::tree::MAX_DEPTH {
        deep = dir(&blocks, vec![("d", &deep)]);
    }
    assert!(
        Reader::new(&blocks).walk(&deep).is_ok(),
        "256 levels are fine"
    );
    let deeper = dir(&blocks, vec![("d", &deep)]);
    let err = Reader::new(&blocks).walk(&deeper).unwrap_err();
    assert!(matches!(err, ReadError::TooDeep { .. }), "{err}");
}

#[test]
fn sizes_that_overflow_are_malformed_not_a_panic() {
    let blocks = MemoryBlocks::new();
    let a = raw(&blocks, b"a");
    let mut data = Data::new(DataType::File);
    data.blocksizes = vec![u64::MAX, 2];
    let file = put(&blocks, vec![("", &a), ("", &a)], data);
    let reader = Reader::new(&blocks);
    for err in [
        reader.stat(&file).unwrap_err(),
        reader.read_to(&file, &mut Vec::new()).unwrap_err(),
    ] {
        assert!(err.to_string().contains("past 2^64"), "{err}");
    }
}

#[test]
fn directories_read_again_and_again_count_against_the_walk_budget() {
    // Two names per level for one padded directory: every level doubles the decodes.
    let blocks = MemoryBlocks::new();
    let mut padded = Data::new(DataType::Directory);
    padded.data = Some(vec![b'p'; 64 << 10]);
    let mut d = put(&blocks, vec![], padded.clone());
    for _ in 0..12 {
        d = put(&blocks, vec![("a", &d), ("b", &d)], padded.clone());
    }
    let reader = Reader::new(&blocks).with_max_walk_bytes(4 << 20);
    match reader.walk(&d) {
        Err(ReadError::Budget { what, limit, .. }) => {
            assert_eq!((what, limit), ("bytes of paths and directories", 4 << 20))
        }
        other => panic!("{other:?}"),
    }
    assert!(reader.blocks_decoded() < 100, "{}", reader.blocks_decoded());
}
