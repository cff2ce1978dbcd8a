//! Packs: batches that pack, reads from another store, gc's sweep and rewrite, damaged and torn
//! packs, and a power loss over packs and their indexes.

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{decode_index, encode_index, key, Record, MAX_PACKED, PACKS};
use crate::block::{BlockError, BlockSink, BlockSource};
use crate::cid::{Cid, RAW};
use crate::store::Store;
use crate::unixfs::{import_path, UNIXFS_V1_2025};
use crate::walk::{Budget, Walk};

fn raw(text: &str) -> (Cid, Vec<u8>) {
    let data = text.as_bytes().to_vec();
    (Cid::v1_sha2_256(RAW, &data), data)
}

/// The files of `dir` (a store's packs or blocks), recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        if entry.file_type().unwrap().is_dir() {
            out.extend(files(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out.sort();
    out
}

fn with_suffix(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect()
}

/// A tree of `n` small files and one of 200 KiB (two block files: larger than [`MAX_PACKED`]
/// under unixfs-v1-2025's 1 MiB chunks it is one block).
fn tree(dir: &Path, n: usize, salt: &str) -> PathBuf {
    let root = dir.join(format!("tree-{salt}"));
    fs::create_dir_all(root.join("sub")).unwrap();
    for i in 0..n {
        fs::write(
            root.join("sub").join(format!("f{i}")),
            format!("{salt} file {i}"),
        )
        .unwrap();
    }
    fs::write(root.join("big"), salt.repeat(200 * 1024 / salt.len() + 1)).unwrap();
    root
}

/// Writes `blocks` through one batch.
fn pack_all(store: &Store, blocks: &[(Cid, Vec<u8>)]) {
    let batch = store.batch().unwrap();
    for (cid, data) in blocks {
        batch.put(cid, data).unwrap();
    }
    batch.finish().unwrap();
}

/// `path` (a read-only pack or index) opened for writing, as a crash or a test damages it.
fn writable(path: &Path) -> std::fs::File {
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap()
}

fn import(store: &Store, root: &Path) -> Cid {
    let batch = store.batch().unwrap();
    let node = import_path(root, &UNIXFS_V1_2025, &batch).unwrap();
    batch.finish().unwrap();
    node.cid
}

fn assert_whole(store: &Store, root: &Cid) {
    Walk::new(store)
        .budget(Budget::UNLIMITED)
        .run(std::slice::from_ref(root), |_| Ok::<_, BlockError>(()))
        .unwrap_or_else(|e| panic!("{root} is not whole: {e}"));
}

#[test]
fn an_index_round_trips_and_a_damaged_one_is_refused() {
    let mut records: Vec<Record> = (0..50u32)
        .map(|i| Record {
            key: key(&raw(&format!("b{i}")).0).unwrap(),
            offset: 8 + u64::from(i) * 100,
            len: i,
        })
        .collect();
    let bytes = encode_index(&mut records);
    assert_eq!(decode_index(&bytes).unwrap(), records);
    assert!(records.windows(2).all(|w| w[0].key < w[1].key), "sorted");
    for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
        assert!(decode_index(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut flipped = bytes.clone();
    flipped[20] ^= 1;
    let err = decode_index(&flipped).unwrap_err();
    assert!(err.contains("digest"), "{err}");
}

#[test]
fn a_batch_packs_small_blocks_and_another_store_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let root = import(&store, &tree(dir.path(), 300, "a"));
    // One pack and its index; the only block file is the large file's block.
    let packs = dir.path().join("store").join(PACKS);
    assert_eq!(with_suffix(&packs, ".pack").len(), 1);
    assert_eq!(with_suffix(&packs, ".idx").len(), 1);
    let block_files = files(&dir.path().join("store/blocks"));
    assert_eq!(block_files.len(), 1, "{block_files:?}");
    assert!(fs::metadata(&block_files[0]).unwrap().len() > MAX_PACKED as u64);

    // Another store on the directory (another process) finds every block.
    let other = Store::open(&dir.path().join("store")).unwrap();
    assert_whole(&other, &root);
    let blocks = other.blocks().unwrap();
    // 300 files, the big one, `sub`, the root.
    assert_eq!(blocks.len(), 303);
    let stat = other.stat().unwrap();
    assert_eq!(stat.blocks, 303);
    assert!(other.verify_all().unwrap().is_empty());
    assert!(other.verify().unwrap().is_ok());

    // Importing the same tree again packs nothing new.
    import(&other, &tree(dir.path(), 300, "a"));
    assert_eq!(with_suffix(&packs, ".pack").len(), 1, "nothing new to pack");
    // A plain put of a packed block does not make a block file of it.
    let (cid, data) = (blocks[0].clone(), other.get(&blocks[0]).unwrap());
    if data.len() <= MAX_PACKED {
        other.put(&cid, &data).unwrap();
        assert_eq!(files(&dir.path().join("store/blocks")).len(), 1);
    }
}

#[test]
fn gc_drops_unreachable_packed_blocks_rewrites_mixed_packs_and_removes_unsealed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let kept = import(&store, &tree(dir.path(), 100, "kept"));
    let gone = import(&store, &tree(dir.path(), 100, "gone"));
    // One batch holding blocks of both: a pack gc must rewrite.
    let batch = store.batch().unwrap();
    let (shared, shared_data) = raw("shared by the mixed pack");
    let (garbage, garbage_data) = raw("garbage in the mixed pack");
    batch.put(&shared, &shared_data).unwrap();
    batch.put(&garbage, &garbage_data).unwrap();
    batch.finish().unwrap();
    // A pin of a directory holding `shared` would be more realistic; a pin of the block is
    // the same to gc.
    store.pin(&kept, None).unwrap();
    store.pin(&shared, None).unwrap();
    // A pack whose writer died before sealing it.
    let packs = path.join(PACKS);
    fs::write(packs.join("0-000000000-1-0.pack"), b"WWPACK\0\x01half").unwrap();

    let plan = store.gc_dry_run().unwrap();
    let report = store.gc().unwrap();
    assert_eq!(report, plan, "the dry run says what gc does");
    // `gone`'s 100 files, its `sub`, its root and its big file; the garbage block.
    assert_eq!(report.removed, 104, "{report:?}");
    assert!(report.removed_blocks.contains(&gone.to_v1()));
    assert!(report.removed_blocks.contains(&garbage));
    assert!(report.missing == 0 && report.corrupt.is_empty());

    let store = Store::open(&path).unwrap();
    assert_whole(&store, &kept);
    assert_eq!(store.get(&shared).unwrap(), shared_data);
    assert!(!store.has(&gone) && !store.has(&garbage));
    assert!(!packs.join("0-000000000-1-0.pack").exists());
    // The `kept` pack as it was, the mixed one rewritten, the `gone` one removed.
    assert_eq!(with_suffix(&packs, ".pack").len(), 2);
    assert_eq!(with_suffix(&packs, ".idx").len(), 2);
    assert_eq!(store.blocks().unwrap().len(), 104);
    // A second gc has nothing to do.
    let again = store.gc().unwrap();
    assert_eq!((again.removed, again.kept), (0, 104));
}

#[test]
fn a_damaged_packed_block_is_reported_and_a_put_repairs_it_with_a_block_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let blocks: Vec<(Cid, Vec<u8>)> = (0..20).map(|i| raw(&format!("block {i}"))).collect();
    pack_all(&store, &blocks);
    let pack = with_suffix(&path.join(PACKS), ".pack").remove(0);
    // Flip a byte of the last record's data (the pack's last byte).
    let len = fs::metadata(&pack).unwrap().len();
    let file = writable(&pack);
    let mut byte = [0];
    file.read_exact_at(&mut byte, len - 1).unwrap();
    file.write_all_at(&[byte[0] ^ 0xff], len - 1).unwrap();

    let store = Store::open(&path).unwrap();
    let bad = store.verify_all().unwrap();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(matches!(
        store.get(&bad[0]),
        Err(BlockError::Mismatch { .. })
    ));
    assert_eq!(store.verify().unwrap().corrupt, bad);
    let (cid, data) = blocks.iter().find(|(c, _)| *c == bad[0]).unwrap();
    store.put(cid, data).unwrap();
    assert_eq!(store.repaired(), vec![cid.clone()]);
    assert_eq!(store.get(cid).unwrap(), *data);
    assert!(store.verify_all().unwrap().is_empty());
    assert!(store.block_path(cid).exists(), "repaired as a block file");
}

#[test]
fn a_torn_index_hides_its_pack_and_gc_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let root = import(&store, &tree(dir.path(), 30, "torn"));
    let index = with_suffix(&path.join(PACKS), ".idx").remove(0);
    let len = fs::metadata(&index).unwrap().len();
    writable(&index).set_len(len / 2).unwrap();
    let store = Store::open(&path).unwrap();
    assert!(!store.has(&root), "a pack with a torn index is not read");
    assert_eq!(
        store.blocks().unwrap().len(),
        1,
        "only the big file's block"
    );
    store.gc().unwrap();
    assert!(with_suffix(&path.join(PACKS), ".pack").is_empty());
    assert!(with_suffix(&path.join(PACKS), ".idx").is_empty());
}

#[test]
fn a_pack_cut_short_reads_its_lost_records_as_absent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let blocks: Vec<(Cid, Vec<u8>)> = (0..10).map(|i| raw(&format!("cut {i}"))).collect();
    pack_all(&store, &blocks);
    let pack = with_suffix(&path.join(PACKS), ".pack").remove(0);
    let len = fs::metadata(&pack).unwrap().len();
    writable(&pack).set_len(len - 3).unwrap();
    let store = Store::open(&path).unwrap();
    let (last, data) = blocks.last().unwrap();
    assert_eq!(store.get_unverified(last).unwrap(), None);
    assert!(matches!(store.get(last), Err(BlockError::NotFound(_))));
    assert!(
        store.verify_all().unwrap().is_empty(),
        "absent, not corrupt"
    );
    // Putting it again stores it.
    store.put(last, data).unwrap();
    assert_eq!(store.get(last).unwrap(), *data);
    for (cid, data) in &blocks[..9] {
        assert_eq!(store.get(cid).unwrap(), *data);
    }
}

/// A small deterministic generator (xorshift64*), so a failing round can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

#[test]
fn a_power_loss_before_the_pin_loses_only_unpinned_packed_blocks() {
    let mut damaged_files = 0;
    for round in 0..30u64 {
        let mut rng = Rng(0x2545_F491 ^ (round + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let store = Store::open(&path).unwrap();
        let mut pinned = Vec::new();
        for i in 0..rng.below(2) + 1 {
            let n = rng.below(40) as usize + 1;
            let root = import(&store, &tree(dir.path(), n, &format!("p{round}-{i}")));
            store.pin(&root, None).unwrap();
            pinned.push(root);
        }
        let mut in_flight = Vec::new();
        for i in 0..rng.below(3) + 1 {
            let n = rng.below(40) as usize + 1;
            let src = tree(dir.path(), n, &format!("f{round}-{i}"));
            in_flight.push((import(&store, &src), src));
        }
        // The crash: each file written since the last sync (packs, indexes, block files) is
        // kept, dropped, emptied or cut short.
        let mut damaged = BTreeSet::new();
        for path in store.unsynced.lock().unwrap().clone() {
            let Ok(len) = fs::metadata(&path).map(|m| m.len()) else {
                continue;
            };
            match rng.below(4) {
                0 => continue,
                1 => fs::remove_file(&path).unwrap(),
                how => {
                    let keep = if how == 2 { 0 } else { rng.below(len.max(1)) };
                    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
                    let file = OpenOptions::new().write(true).open(&path).unwrap();
                    file.set_len(keep).unwrap();
                }
            }
            damaged.insert(path);
        }
        damaged_files += damaged.len();
        drop(store);

        let store = Store::open(&path).unwrap();
        for root in &pinned {
            assert_whole(&store, root);
        }
        // Whatever the crash damaged reads as absent or fails verification; re-importing
        // mends it, and gc keeps exactly the pinned DAGs.
        for (root, src) in &in_flight {
            assert_eq!(import(&store, src), *root);
            assert_whole(&store, root);
        }
        assert!(store.verify_all().unwrap().is_empty(), "round {round}");
        store.gc().unwrap();
        for root in &pinned {
            assert_whole(&store, root);
        }
        for (root, _) in &in_flight {
            assert!(!store.has(root), "round {round}: unpinned {root} kept");
        }
        assert!(store.verify().unwrap().is_ok());
    }
    assert!(
        damaged_files > 30,
        "only {damaged_files} files damaged in 30 rounds"
    );
}

/// Two batches that pack the same block (two imports at once, say): two copies.
fn two_copies(store: &Store, cid: &Cid, data: &[u8]) {
    for _ in 0..2 {
        let batch = store.batch().unwrap();
        // The second batch knows the first's pack: forget it, as a batch started before the
        // first was sealed would not know it.
        store.packs.forget();
        batch.put(cid, data).unwrap();
        batch.finish().unwrap();
    }
}

#[test]
fn a_damaged_newer_copy_never_hides_a_good_older_one_from_readers_or_gc() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let (cid, data) = raw("packed twice");
    two_copies(&store, &cid, &data);
    store.pin(&cid, None).unwrap();
    let mut packs = with_suffix(&path.join(PACKS), ".pack");
    assert_eq!(packs.len(), 2, "two copies in two packs");
    // The newer copy (names sort by time) is damaged: cut short, then (another round) flipped.
    let newer = packs.pop().unwrap();
    for damage in ["cut", "flip"] {
        let fresh = Store::open(&path).unwrap();
        let at = fresh.locate(&cid).unwrap();
        if damage == "cut" {
            let len = fs::metadata(&newer).unwrap().len();
            fs::set_permissions(&newer, fs::Permissions::from_mode(0o600)).unwrap();
            let file = OpenOptions::new().write(true).open(&newer).unwrap();
            file.set_len(len - 1).unwrap();
        } else {
            // After the first round's gc, the good copy is the only one; give it a damaged twin.
            two_copies(&fresh, &cid, &data);
            let newest = with_suffix(&path.join(PACKS), ".pack").pop().unwrap();
            let off = Store::open(&path).unwrap().locate(&cid).unwrap();
            assert_eq!(off.path, newest);
            fs::set_permissions(&newest, fs::Permissions::from_mode(0o600)).unwrap();
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&newest)
                .unwrap();
            file.write_all_at(b"X", off.offset).unwrap();
        }
        drop(at);
        let fresh = Store::open(&path).unwrap();
        assert_eq!(
            fresh.get(&cid).unwrap(),
            data,
            "{damage}: the good copy is read"
        );
        assert!(fresh.verify_all().unwrap().is_empty(), "{damage}");
        let report = fresh.gc().unwrap();
        assert!(
            report.corrupt.is_empty() && report.missing == 0,
            "{damage}: {report:?}"
        );
        let after = Store::open(&path).unwrap();
        assert_eq!(
            after.get(&cid).unwrap(),
            data,
            "{damage}: gc kept the good copy"
        );
        assert!(after.verify().unwrap().is_ok());
    }
}

#[test]
fn a_handle_that_loaded_a_pack_gc_removed_elsewhere_stores_the_block_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let reader = Store::open(&path).unwrap();
    let (cid, data) = raw("removed behind the reader's back");
    let batch = reader.batch().unwrap();
    batch.put(&cid, &data).unwrap();
    batch.finish().unwrap();
    assert!(reader.has(&cid));
    // Another process's gc: the block was not pinned.
    Store::open(&path).unwrap().gc().unwrap();
    assert!(
        !reader.has(&cid),
        "a removed pack is not taken for holding the block"
    );
    reader.put(&cid, &data).unwrap();
    reader.pin(&cid, None).unwrap();
    assert_eq!(Store::open(&path).unwrap().get(&cid).unwrap(), data);
}

#[test]
fn reading_many_packs_holds_none_of_them_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let blocks: Vec<(Cid, Vec<u8>)> = (0..60).map(|i| raw(&format!("own pack {i}"))).collect();
    for (cid, data) in &blocks {
        let batch = store.batch().unwrap();
        batch.put(cid, data).unwrap();
        batch.finish().unwrap();
    }
    assert_eq!(with_suffix(&path.join(PACKS), ".pack").len(), 60);
    let reader = Store::open(&path).unwrap();
    for (cid, data) in &blocks {
        assert_eq!(reader.get(cid).unwrap(), *data);
    }
    let packs = fs::canonicalize(path.join(PACKS)).unwrap();
    let open: Vec<PathBuf> = fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter_map(|fd| fs::read_link(fd.path()).ok())
        .filter(|target| target.starts_with(&packs))
        .collect();
    assert!(open.is_empty(), "packs held open: {open:?}");
}

#[test]
fn an_index_whose_entries_break_the_format_does_not_load() {
    let (cid, _) = raw("x");
    let mut records = vec![Record {
        key: key(&cid).unwrap(),
        offset: 8,
        len: MAX_PACKED as u32 + 1,
    }];
    let err = decode_index(&encode_index(&mut records)).unwrap_err();
    assert!(err.contains("breaks the format"), "{err}");
    records[0].len = 1;
    records[0].offset = u64::MAX - 3;
    assert!(decode_index(&encode_index(&mut records)).is_err());
}
