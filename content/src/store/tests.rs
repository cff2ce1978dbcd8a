//! Tests of the embedded block store: layout, puts and reads, repair, pins, gc and its locking,
//! concurrent writers, temp files.

use std::fs::{self, File};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::*;
use crate::block::{BlockError, BlockSink, BlockSource};
use crate::cid::{Cid, Multihash, IDENTITY, RAW};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    (dir, store)
}

use crate::test_dags::{node_block as node, raw_block as raw};

fn v0(cid: &Cid) -> Cid {
    Cid::new_v0(cid.hash().clone()).unwrap()
}

fn put(store: &Store, (cid, data): &(Cid, Vec<u8>)) {
    store.put(cid, data).unwrap();
}

fn flip_last_bit(path: &Path) {
    let mut bytes = fs::read(path).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    fs::write(path, bytes).unwrap();
}

#[test]
fn put_get_round_trip_and_layout() {
    let (_tmp, store) = store();
    let (cid, data) = raw(b"hello world");
    assert!(!store.has(&cid));
    store.put(&cid, &data).unwrap();
    assert!(store.has(&cid));
    assert_eq!(store.get(&cid).unwrap(), data);
    let name = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";
    let path = store.dir().join("blocks").join("n5").join(name);
    assert_eq!(store.block_path(&cid), path);
    assert_eq!(fs::read(&path).unwrap(), data);
    assert_eq!(store.blocks().unwrap(), vec![cid]);
    assert_eq!(fs::read_dir(store.dir().join("tmp")).unwrap().count(), 0);
}

#[test]
fn put_is_idempotent_and_refuses_wrong_bytes() {
    let (_tmp, store) = store();
    let (cid, data) = raw(b"once");
    store.put(&cid, &data).unwrap();
    store.put(&cid, &data).unwrap();
    assert_eq!(store.blocks().unwrap(), vec![cid.clone()]);
    assert_eq!(store.get(&cid).unwrap(), data);

    let (other, _) = raw(b"other");
    let err = store.put(&other, b"not other").unwrap_err();
    assert!(matches!(err, BlockError::Mismatch { .. }), "{err}");
    assert!(!store.has(&other));
}

#[test]
fn a_missing_block_is_not_found_naming_the_cid() {
    let (_tmp, store) = store();
    let (cid, _) = raw(b"absent");
    assert!(store.get_unverified(&cid).unwrap().is_none());
    let err = store.get(&cid).unwrap_err();
    assert!(matches!(err, BlockError::NotFound(_)), "{err}");
    assert!(err.to_string().contains(&cid.to_string()), "{err}");
    assert!(!store.remove_block(&cid).unwrap());
}

#[test]
fn a_flipped_bit_is_detected_on_read() {
    let (_tmp, store) = store();
    let good = raw(b"good block");
    let bad = raw(b"soon a bad block");
    put(&store, &good);
    put(&store, &bad);
    flip_last_bit(&store.block_path(&bad.0));
    let err = store.get(&bad.0).unwrap_err();
    assert!(matches!(err, BlockError::Mismatch { .. }), "{err}");
    assert!(err.to_string().contains(&bad.0.to_string()), "{err}");
    assert_eq!(store.verify_all().unwrap(), vec![bad.0.clone()]);
    // Putting the good bytes again repairs a same-length corrupt file, and says so.
    assert!(store.repaired().is_empty());
    put(&store, &bad);
    assert_eq!(store.get(&bad.0).unwrap(), bad.1);
    assert_eq!(store.repaired(), vec![bad.0.clone()]);
    assert!(store.verify_all().unwrap().is_empty());
    // A truncated one too; an intact one is left alone.
    let path = store.block_path(&bad.0);
    fs::write(&path, &bad.1[..3]).unwrap();
    put(&store, &bad);
    put(&store, &good);
    assert_eq!(store.get(&bad.0).unwrap(), bad.1);
    assert_eq!(store.repaired().len(), 2);
}

#[test]
fn cidv0_and_cidv1_address_the_same_block() {
    let (_tmp, store) = store();
    let (v1, data) = node(&[], b"a dag-pb node");
    let v0 = v0(&v1);
    assert_ne!(v0, v1);
    store.put(&v0, &data).unwrap();
    assert!(store.has(&v1));
    assert_eq!(store.get(&v1).unwrap(), data);
    store.put(&v1, &data).unwrap();
    assert_eq!(store.get(&v0).unwrap(), data);
    assert_eq!(store.blocks().unwrap(), vec![v1.clone()]);
    // The same multihash under another codec is another block.
    let as_raw = Cid::new_v1(RAW, v1.hash().clone());
    assert!(!store.has(&as_raw));
    store.put(&as_raw, &data).unwrap();
    assert_eq!(store.blocks().unwrap().len(), 2);
}

#[test]
fn identity_blocks_are_their_cid() {
    let (_tmp, store) = store();
    let cid = Cid::new_v1(RAW, Multihash::new(IDENTITY, b"tiny".to_vec()));
    store.put(&cid, b"tiny").unwrap();
    assert!(store.has(&cid));
    assert_eq!(store.get(&cid).unwrap(), b"tiny");
    assert!(store.blocks().unwrap().is_empty());
}

#[test]
fn pins_are_listed_with_their_labels() {
    let (_tmp, store) = store();
    let (a, _) = node(&[], b"a");
    let (b, _) = raw(b"b");
    store.pin(&v0(&a), Some("image main")).unwrap();
    store.pin(&b, None).unwrap();
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(store.pins().unwrap(), expected);
    let named = store.pins_named().unwrap();
    assert!(named.contains(&(a.clone(), Some("image main".into()))));
    assert!(named.contains(&(b.clone(), None)));
    store.pin(&a, Some("renamed")).unwrap();
    assert!(store
        .pins_named()
        .unwrap()
        .contains(&(a.clone(), Some("renamed".into()))));
    assert!(store.unpin(&a).unwrap());
    assert!(!store.unpin(&a).unwrap());
    assert_eq!(store.pins().unwrap(), vec![b]);
}

#[test]
fn gc_keeps_what_pins_reach_and_removes_the_rest() {
    let (_tmp, store) = store();
    let leaf1 = raw(b"leaf one");
    let leaf2 = raw(b"leaf two");
    // A CIDv0 link must reach the same block as a CIDv1 one.
    let mid = node(&[&v0(&node(&[], b"unused").0), &leaf1.0], b"mid");
    let mid_v0 = v0(&mid.0);
    let root = node(&[&mid_v0, &leaf2.0], b"root");
    let loose = raw(b"loose");
    let other = node(&[&leaf1.0], b"other root");
    for block in [&leaf1, &leaf2, &mid, &root, &loose, &other] {
        put(&store, block);
    }
    store.pin(&v0(&root.0), Some("root")).unwrap();

    let report = store.gc().unwrap();
    assert_eq!(report.kept, 4, "{report:?}");
    assert_eq!(report.removed, 2, "{report:?}");
    assert_eq!(report.bytes_freed, (loose.1.len() + other.1.len()) as u64);
    assert_eq!(report.missing, 1, "{report:?}");
    assert!(report.corrupt.is_empty());
    for block in [&leaf1, &leaf2, &mid, &root] {
        assert_eq!(store.get(&block.0).unwrap(), block.1);
    }
    assert!(!store.has(&loose.0) && !store.has(&other.0));

    // A second gc finds nothing to do; an unpin frees everything.
    assert_eq!(store.gc().unwrap().removed, 0);
    store.unpin(&root.0).unwrap();
    let report = store.gc().unwrap();
    assert_eq!((report.kept, report.removed), (0, 4), "{report:?}");
    assert!(store.blocks().unwrap().is_empty());
}

#[test]
fn gc_keeps_a_corrupt_block_below_a_pin_and_what_it_links_to() {
    let (_tmp, store) = store();
    let leaf = raw(b"leaf");
    let mid = node(&[&leaf.0], b"mid data");
    let root = node(&[&mid.0], b"root");
    for block in [&leaf, &mid, &root] {
        put(&store, block);
    }
    store.pin(&root.0, None).unwrap();
    // The last byte is in mid's Data: its links still decode.
    flip_last_bit(&store.block_path(&mid.0));
    let report = store.gc().unwrap();
    assert_eq!(report.corrupt, vec![mid.0.clone()]);
    assert_eq!((report.kept, report.removed), (3, 0), "{report:?}");
    assert!(store.has(&mid.0) && store.has(&leaf.0));
}

#[test]
fn gc_waits_for_a_write_guard() {
    let (_tmp, store) = store();
    let loose = raw(b"loose");
    put(&store, &loose);
    let guard = store.writer().unwrap();
    // This thread holds the guard: a blocking gc here would never return.
    let err = store.gc().unwrap_err().to_string();
    assert!(err.contains("write guard"), "{err}");
    std::thread::scope(|s| {
        assert!(s
            .spawn(|| store.try_gc().unwrap())
            .join()
            .unwrap()
            .is_none());
    });

    // A gc started while an import holds its guard runs after the import pinned its root.
    let done = Arc::new(AtomicBool::new(false));
    let gc = {
        let (store, done) = (store.clone(), done.clone());
        std::thread::spawn(move || {
            let report = store.gc().unwrap();
            done.store(true, Ordering::SeqCst);
            report
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !done.load(Ordering::SeqCst),
        "gc ran while a guard was held"
    );
    let leaf = raw(b"imported leaf");
    let root = node(&[&leaf.0], b"imported root");
    put(&store, &leaf);
    put(&store, &root);
    store.pin(&root.0, Some("import")).unwrap();
    drop(guard);
    let report = gc.join().unwrap();
    assert_eq!((report.kept, report.removed), (2, 1), "{report:?}");
    assert!(store.has(&leaf.0) && store.has(&root.0) && !store.has(&loose.0));
    assert!(store.try_gc().unwrap().is_some());
}

#[test]
fn concurrent_writers_leave_every_block_intact() {
    let (_tmp, store) = store();
    let shared: Vec<_> = (0..20)
        .map(|i| raw(format!("shared {i}").as_bytes()))
        .collect();
    std::thread::scope(|s| {
        for t in 0..6 {
            let (shared, dir) = (&shared, store.dir().to_path_buf());
            s.spawn(move || {
                // Each thread opens its own store, as another process would.
                let store = Store::open(&dir).unwrap();
                for i in 0..20 {
                    put(&store, &shared[(i + t * 3) % shared.len()]);
                    put(&store, &raw(format!("own {t} {i}").as_bytes()));
                }
            });
        }
    });
    assert_eq!(store.blocks().unwrap().len(), 20 + 6 * 20);
    for block in &shared {
        assert_eq!(store.get(&block.0).unwrap(), block.1);
    }
    assert!(store.verify_all().unwrap().is_empty());
    assert_eq!(fs::read_dir(store.dir().join("tmp")).unwrap().count(), 0);
}

#[test]
fn a_store_that_cannot_be_written_is_reported_as_such() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    fs::write(&file, b"not a store").unwrap();
    for dir in [file.clone(), file.join("below")] {
        let err = Store::open(&dir).unwrap_err().to_string();
        assert!(
            err.contains(&format!("block store {} is not writable", dir.display())),
            "{err}"
        );
    }
    let err = Store::open(&file).unwrap_err().to_string();
    assert!(err.contains("regular file"), "{err}");

    let dir = tmp.path().join("broken");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("tmp"), b"").unwrap();
    let err = Store::open(&dir).unwrap_err().to_string();
    assert!(
        err.contains("is not writable") && err.contains("tmp"),
        "{err}"
    );

    // Permission bits stop only non-root users; root is told nothing false either way.
    use std::os::unix::fs::PermissionsExt;
    let ro = tmp.path().join("read-only");
    Store::open(&ro).unwrap();
    fs::set_permissions(ro.join("tmp"), fs::Permissions::from_mode(0o555)).unwrap();
    let probe = File::create(ro.join("tmp").join("x"));
    let writable = probe.is_ok();
    let _ = fs::remove_file(ro.join("tmp").join("x"));
    match Store::open(&ro) {
        Ok(_) => assert!(writable),
        Err(e) => {
            assert!(!writable);
            assert!(e.to_string().contains("is not writable"), "{e}");
        }
    }
}

#[test]
fn temp_files_and_strays_are_not_blocks_and_old_ones_are_removed() {
    let (_tmp, store) = store();
    let block = raw(b"real");
    put(&store, &block);
    let tmp = store.dir().join("tmp");
    let fresh = tmp.join("write-1-2-3");
    let stale = tmp.join("write-4-5-6");
    fs::write(&fresh, b"partial").unwrap();
    File::create(&stale)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(2 * 3600))
        .unwrap();
    let shard_dir = store.block_path(&block.0).parent().unwrap().to_path_buf();
    fs::write(shard_dir.join(".junk"), b"x").unwrap();
    let misplaced = raw(b"misplaced");
    fs::write(shard_dir.join(misplaced.0.to_string()), &misplaced.1).unwrap();
    fs::write(store.dir().join("blocks").join("stray"), b"x").unwrap();
    fs::write(store.dir().join("pins").join("not-a-cid"), b"x").unwrap();

    assert_eq!(store.blocks().unwrap(), vec![block.0.clone()]);
    assert!(store.pins().unwrap().is_empty());
    let store = Store::open(store.dir()).unwrap();
    assert!(fresh.exists() && !stale.exists());
    // gc holds the exclusive lock: every temp file is left over.
    store.gc().unwrap();
    assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0);
}

#[test]
fn puts_leave_nothing_beside_blocks_and_gc_removes_what_a_crash_left() {
    let (_tmp, store) = store();
    let block = raw(b"kept");
    put(&store, &block);
    store.pin(&block.0, Some("label")).unwrap();
    let shard_dir = store.block_path(&block.0).parent().unwrap().to_path_buf();
    let pins_dir = store.dir().join("pins");
    // A put and a pin leave exactly their file.
    assert_eq!(fs::read_dir(&shard_dir).unwrap().count(), 1);
    assert_eq!(fs::read_dir(&pins_dir).unwrap().count(), 1);

    // What a writer killed between its temp file and the rename leaves behind.
    let name = block.0.to_string();
    let left_block = shard_dir.join(format!(".{name}.tmp-4242"));
    let left_pin = pins_dir.join(format!(".{name}.tmp-4242"));
    fs::write(&left_block, b"partial").unwrap();
    fs::write(&left_pin, b"partial").unwrap();
    assert_eq!(store.blocks().unwrap(), vec![block.0.clone()]);
    assert_eq!(store.pins().unwrap(), vec![block.0.clone()]);

    let report = store.gc().unwrap();
    assert_eq!((report.kept, report.removed), (1, 0), "{report:?}");
    assert!(!left_block.exists() && !left_pin.exists());
    assert_eq!(store.get(&block.0).unwrap(), block.1);
    assert_eq!(
        store.pins_named().unwrap(),
        vec![(block.0.clone(), Some("label".into()))]
    );
}

#[test]
fn threads_putting_one_block_through_differently_spelled_paths_all_succeed() {
    let (tmp, store) = store();
    // The same directory as `store`, spelled with a `.` component: one destination file.
    let other = tmp.path().join(".").join("store");
    let block = raw(b"one block, many writers");
    std::thread::scope(|s| {
        for t in 0..8 {
            let dir = if t % 2 == 0 {
                store.dir().to_path_buf()
            } else {
                other.clone()
            };
            let block = &block;
            s.spawn(move || {
                let store = Store::open(&dir).unwrap();
                for _ in 0..25 {
                    // Each put finds the block missing or damaged, so it writes.
                    let _ = store.remove_block(&block.0);
                    store.put(&block.0, &block.1).unwrap();
                }
            });
        }
    });
    assert_eq!(store.get(&block.0).unwrap(), block.1);
    let shard_dir = store.block_path(&block.0).parent().unwrap().to_path_buf();
    assert_eq!(fs::read_dir(&shard_dir).unwrap().count(), 1);
}

#[test]
fn a_block_left_half_written_in_place_is_not_there_and_is_replaced_and_collected() {
    use std::os::unix::fs::PermissionsExt;
    let (_tmp, store) = store();
    let whole = raw(b"a block written whole");
    let half = raw(b"a block whose writer was killed");
    let late = raw(b"a block whose writer was killed after its last byte");
    put(&store, &whole);
    put(&store, &half);
    put(&store, &late);
    // A block written in place ends readable; one whose writer died before that is left
    // without the owner's read bit, whole or cut short.
    let mode = |cid: &Cid| {
        fs::metadata(store.block_path(cid))
            .unwrap()
            .permissions()
            .mode()
    };
    // (The group's and others' read bits are the umask's: 0444 under the usual 022.)
    assert_eq!(mode(&whole.0) & 0o700, 0o400);
    assert_eq!(mode(&whole.0) & 0o222, 0);
    let interrupted = |cid: &Cid, bytes: &[u8]| {
        let path = store.block_path(cid);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, bytes).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o200)).unwrap();
    };
    interrupted(&half.0, &half.1[..5]);
    interrupted(&late.0, &late.1);
    for (cid, _) in [&half, &late] {
        assert!(
            !store.has(cid),
            "{cid}: an incomplete file is not the block"
        );
        assert!(matches!(store.get(cid), Err(BlockError::NotFound(_))));
    }
    // Not blocks, so not corrupt ones either; a pin that reaches one finds it missing.
    assert!(store.verify_all().unwrap().is_empty());
    store.pin(&late.0, None).unwrap();
    let report = store.verify().unwrap();
    assert_eq!(report.incomplete, vec![late.0.to_v1()], "{report:?}");
    assert!(report.corrupt.is_empty(), "{report:?}");
    store.unpin(&late.0).unwrap();
    // The next put of it replaces it, even when its bytes are all there.
    put(&store, &late);
    assert_eq!(store.get(&late.0).unwrap(), late.1);
    assert_eq!(store.repaired(), vec![late.0.to_v1()]);
    // gc (no writer running) removes an unpinned incomplete one with the rest of the garbage.
    store.pin(&whole.0, None).unwrap();
    let report = store.gc().unwrap();
    assert!(
        report.removed_blocks.contains(&half.0.to_v1()),
        "{report:?}"
    );
    assert!(!store.block_path(&half.0).exists());
    assert!(store.has(&whole.0));
}
