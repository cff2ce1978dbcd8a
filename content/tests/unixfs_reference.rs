//! Our UnixFS importer against an independent implementation, `rust-unixfs` (which reproduces
//! Kubo's CIDs): random files and trees, and every layout boundary (empty, one chunk, a full node
//! of chunks, one chunk more; directories just under, at and over the HAMT threshold).
//!
//! `rust-unixfs` estimates the HAMT threshold from link names and CIDs only, as Kubo's
//! `unixfs-v0-2015`/`kubo-cidv1` do; for `unixfs-v1-2025`, whose threshold counts the whole
//! block, the shard encoding is compared with sharding forced on both sides, and the threshold
//! itself is checked by its own test.

use std::collections::BTreeMap;
use std::io::Cursor;

use ipld_core::cid::Version as RefVersion;
use proptest::prelude::*;
use rust_unixfs::dir::builder::{BufferingTreeBuilder, TreeOptions};
use rust_unixfs::file::adder::{BalancedCollector, Chunker, FileAdder};
use ww_content::block::{MemoryBlocks, NullSink};
use ww_content::cid::{Cid, Version};
use ww_content::unixfs::{
    build_dir, import_file, Entry, HamtThreshold, Imported, Profile, KUBO_CIDV1, PROFILES,
    UNIXFS_V0_2015, UNIXFS_V1_2025,
};

/// The reference's file CID and cumulative size (sum of every block it emits).
fn reference_file(bytes: &[u8], p: &Profile) -> (String, u64) {
    let version = match p.cid_version {
        Version::V0 => RefVersion::V0,
        Version::V1 => RefVersion::V1,
    };
    let mut adder = FileAdder::builder()
        .with_chunker(Chunker::Size(p.chunk_size))
        .with_collector(BalancedCollector::with_branching_factor(p.max_links))
        .with_cid_version(version)
        .with_raw_leaves(p.raw_leaves)
        .build();
    let mut total = 0u64;
    let mut last = None;
    let mut rest = bytes;
    while !rest.is_empty() {
        let (blocks, used) = adder.push(rest);
        for (cid, block) in blocks {
            total += block.len() as u64;
            last = Some(cid);
        }
        rest = &rest[used..];
    }
    for (cid, block) in adder.finish() {
        total += block.len() as u64;
        last = Some(cid);
    }
    (last.expect("a root block").to_string(), total)
}

fn our_file(bytes: &[u8], p: &Profile) -> Imported {
    import_file(&mut Cursor::new(bytes), "test", p, &NullSink).unwrap()
}

fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[(i + seed as usize) % 4] ^ seed
        })
        .collect()
}

fn assert_same_file(bytes: &[u8], p: &Profile) {
    let ours = our_file(bytes, p);
    let (cid, tsize) = reference_file(bytes, p);
    assert_eq!(
        ours.cid.to_string(),
        cid,
        "{} with {} bytes",
        p.name,
        bytes.len()
    );
    assert_eq!(
        ours.tsize,
        tsize,
        "{} Tsize with {} bytes",
        p.name,
        bytes.len()
    );
}

/// Profiles scaled down so that layout boundaries fall at small sizes.
fn scaled(p: Profile) -> Profile {
    Profile {
        chunk_size: 64,
        max_links: 5,
        ..p
    }
}

#[test]
fn file_layout_boundaries_match_in_every_profile() {
    for base in PROFILES {
        let p = scaled(base);
        let (c, w) = (p.chunk_size, p.max_links);
        for len in [
            0,
            1,
            c - 1,
            c,
            c + 1,
            c * w - 1,
            c * w,
            c * w + 1,
            c * w * w,
            c * w * w + 1,
            c * w * w * w + c + 1,
        ] {
            assert_same_file(&content(len, 7), &p);
        }
    }
}

#[test]
fn real_profiles_match_at_small_sizes_and_the_v0_width_boundary() {
    for p in PROFILES {
        for len in [
            0,
            1,
            11,
            p.chunk_size - 1,
            p.chunk_size,
            p.chunk_size + 1,
            3 * p.chunk_size + 5,
        ] {
            assert_same_file(&content(len, 3), &p);
        }
    }
    // 174 chunks of 256 KiB: the widest single-level file of unixfs-v0-2015 and kubo-cidv1, and
    // one byte more. (unixfs-v1-2025's 1 GiB boundary is covered by the scaled test above.)
    for p in [UNIXFS_V0_2015, KUBO_CIDV1] {
        let full = p.chunk_size * p.max_links;
        let bytes = content(full + 1, 1);
        assert_same_file(&bytes[..full], &p);
        assert_same_file(&bytes, &p);
    }
}

/// The reference's root CID for a directory of files and empty directories.
fn reference_tree(
    files: &BTreeMap<String, Vec<u8>>,
    empty_dirs: &[String],
    p: &Profile,
    threshold: Option<u64>,
) -> String {
    let mut opts = TreeOptions::default();
    opts.wrap_with_directory();
    opts.cid_version(match p.cid_version {
        Version::V0 => RefVersion::V0,
        Version::V1 => RefVersion::V1,
    });
    opts.shard_threshold(threshold);
    opts.block_size_limit(None);
    let mut builder = BufferingTreeBuilder::new(opts);
    for (path, bytes) in files {
        let (cid, tsize) = reference_file(bytes, p);
        let cid: ipld_core::cid::Cid = cid.parse().unwrap();
        builder.put_link(path, cid, tsize).unwrap();
    }
    for dir in empty_dirs {
        builder
            .set_metadata(dir, rust_unixfs::Metadata::default())
            .unwrap();
    }
    let mut root = None;
    for node in builder.build() {
        root = Some(node.unwrap().cid.to_string());
    }
    root.expect("a root")
}

/// Our root CID for the same tree, built through a real directory on disk.
fn our_tree(files: &BTreeMap<String, Vec<u8>>, empty_dirs: &[String], p: &Profile) -> Cid {
    let dir = tempfile::tempdir().unwrap();
    for (path, bytes) in files {
        let to = dir.path().join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, bytes).unwrap();
    }
    for d in empty_dirs {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    ww_content::unixfs::import_path(dir.path(), p, &NullSink)
        .unwrap()
        .cid
}

fn tree_strategy() -> impl Strategy<Value = (BTreeMap<String, Vec<u8>>, Vec<String>)> {
    let name = "[a-zA-Z0-9._-]{1,12}".prop_filter("not . or ..", |n| n != "." && n != "..");
    let path = prop::collection::vec(name.clone(), 1..4).prop_map(|parts| parts.join("/"));
    let file = (path, prop::collection::vec(any::<u8>(), 0..300));
    (
        prop::collection::vec(file, 0..25),
        prop::collection::vec(name, 0..3),
    )
        .prop_map(|(files, dirs)| {
            // Drop files whose path is a prefix directory of another file.
            let mut map = BTreeMap::new();
            for (path, bytes) in files {
                let clashes = map.keys().any(|k: &String| {
                    k.starts_with(&format!("{path}/")) || path.starts_with(&format!("{k}/"))
                });
                if !clashes {
                    map.insert(path, bytes);
                }
            }
            let dirs = dirs
                .into_iter()
                .map(|d| format!("empty-{d}"))
                .filter(|d| {
                    !map.keys()
                        .any(|k| k == d || k.starts_with(&format!("{d}/")))
                })
                .collect();
            (map, dirs)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_files_match(len in 0usize..2000, seed in any::<u8>(), which in 0usize..3) {
        let p = Profile { chunk_size: 100, max_links: 4, ..PROFILES[which] };
        assert_same_file(&content(len, seed), &p);
    }

    #[test]
    fn random_trees_match((files, dirs) in tree_strategy(), which in 0usize..3) {
        let p = Profile { chunk_size: 128, max_links: 3, ..PROFILES[which] };
        // unixfs-v1-2025's block-size threshold is not in the reference; these trees stay far
        // below every threshold, so it decides nothing here.
        let threshold = Some(256 * 1024);
        prop_assert_eq!(our_tree(&files, &dirs, &p).to_string(), reference_tree(&files, &dirs, &p, threshold));
    }

    #[test]
    fn random_trees_match_when_sharded((files, dirs) in tree_strategy(), which in 0usize..3) {
        let p = Profile { hamt_threshold: HamtThreshold::LinkEstimate(0), ..PROFILES[which] };
        prop_assert_eq!(our_tree(&files, &dirs, &p).to_string(), reference_tree(&files, &dirs, &p, Some(0)));
    }
}

/// `n` entries whose link estimates (name bytes + CID bytes) add up to `total`.
fn entries_with_estimate(p: &Profile, n: usize, total: usize, blocks: &MemoryBlocks) -> Vec<Entry> {
    let node = import_file(&mut Cursor::new(b"x"), "t", p, blocks).unwrap();
    let cid_len = node.cid.to_bytes().len();
    let names_total = total - n * cid_len;
    (0..n)
        .map(|i| {
            let len = names_total / n + usize::from(i < names_total % n);
            let prefix = format!("{i:05}-");
            Entry {
                name: format!("{prefix}{}", "n".repeat(len - prefix.len())),
                node: node.clone(),
            }
        })
        .collect()
}

#[test]
fn link_estimate_threshold_matches_just_under_at_and_over() {
    for p in [UNIXFS_V0_2015, KUBO_CIDV1] {
        for total in [262_143, 262_144, 262_145] {
            let blocks = MemoryBlocks::new();
            let entries = entries_with_estimate(&p, 2048, total, &blocks);
            let ours = build_dir(entries.clone(), &p, &blocks).unwrap();
            let files: BTreeMap<String, Vec<u8>> = entries
                .iter()
                .map(|e| (e.name.clone(), b"x".to_vec()))
                .collect();
            let reference = reference_tree(&files, &[], &p, Some(262_144));
            assert_eq!(ours.cid.to_string(), reference, "{} at {total}", p.name);
            let sharded = ww_content::unixfs::read::Reader::new(&blocks)
                .list(&ours.cid)
                .map(|l| l.len())
                .unwrap();
            assert_eq!(sharded, 2048);
        }
    }
}

#[test]
fn block_size_threshold_of_v1_2025_is_strictly_greater() {
    // A basic directory block of exactly 262144 bytes stays basic; one byte more shards.
    let p = UNIXFS_V1_2025;
    let blocks = MemoryBlocks::new();
    let node = import_file(&mut Cursor::new(b"x"), "t", &p, &blocks).unwrap();
    // Each link: 1+1+36 (hash) + 1+1+len (name, len < 128) + 1+1 (tsize 1), wrapped in 1+2
    // bytes (its length is 128..16383); the Data field is 4 bytes.
    let link_size = |name_len: usize| {
        assert!(name_len < 128);
        let inner = 38 + 2 + name_len + 2;
        assert!((128..16384).contains(&inner));
        3 + inner
    };
    let n = 1800;
    let base_name = 100;
    let base = 4 + n * link_size(base_name);
    let extra = 262_144 - base;
    assert!(extra < n);
    let make = |extra: usize| -> Vec<Entry> {
        (0..n)
            .map(|i| {
                let len = base_name + usize::from(i < extra);
                let prefix = format!("{i:05}-");
                Entry {
                    name: format!("{prefix}{}", "n".repeat(len - prefix.len())),
                    node: node.clone(),
                }
            })
            .collect()
    };
    let kind = |entries: Vec<Entry>| {
        let dir = build_dir(entries, &p, &blocks).unwrap();
        let bytes = ww_content::block::get_verified(&blocks, &dir.cid).unwrap();
        let data = ww_content::dagpb::PbNode::decode(&bytes)
            .unwrap()
            .data
            .unwrap();
        (
            ww_content::unixfs::Data::decode(&data).unwrap().kind,
            bytes.len(),
        )
    };
    let (at, len) = kind(make(extra));
    assert_eq!(
        (at, len),
        (ww_content::unixfs::DataType::Directory, 262_144)
    );
    let (over, _) = kind(make(extra + 1));
    assert_eq!(over, ww_content::unixfs::DataType::HamtShard);
}
