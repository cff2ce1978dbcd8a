//! A power loss, simulated: the store records which block files it renamed into place since
//! its last sync (in tests only), and a "crash" does to each of them what the kernel may do to
//! a file whose data and directory entry were never synced: keep it, drop it, empty it, cut
//! it short, or lose the change of mode that marked it whole (a block written in place). Whatever was pinned before the crash must come out whole, and every damaged block
//! must be caught (by verification) and mended (by the next put of it) or removed (by gc).

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::Store;
use crate::block::{self, BlockSource};
use crate::cid::Cid;
use crate::unixfs::read::Reader;
use crate::unixfs::{import_file, Imported, UNIXFS_V0_2015};
use crate::walk::{Budget, Walk};

/// A small deterministic generator (xorshift64*), so a failing round can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// What a simulated crash did to the unsynced files.
#[derive(Default, Debug)]
struct Damage {
    dropped: BTreeSet<PathBuf>,
    /// Emptied or cut short: files that no longer verify.
    damaged: BTreeSet<PathBuf>,
    /// Left without the read bit that marks a block written in place whole: not blocks.
    unfinished: BTreeSet<Cid>,
}

impl Store {
    /// The block files written since the last sync.
    fn unsynced_files(&self) -> Vec<PathBuf> {
        self.unsynced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Loses power: each file written since the last sync is kept, dropped, emptied, cut short, or
/// left with the mode it was created with (without its read bit: as if still being written).
fn power_loss(store: &Store, rng: &mut Rng) -> Damage {
    let mut damage = Damage::default();
    for path in store.unsynced_files() {
        let Ok(len) = fs::metadata(&path).map(|m| m.len()) else {
            continue;
        };
        match rng.below(5) {
            0 => {}
            4 => {
                fs::set_permissions(&path, fs::Permissions::from_mode(0o200)).unwrap();
                let name = path.file_name().unwrap().to_str().unwrap();
                damage.unfinished.insert(name.parse().unwrap());
            }
            1 => {
                fs::remove_file(&path).unwrap();
                damage.dropped.insert(path);
            }
            how => {
                let keep = if how == 2 || len == 0 {
                    0
                } else {
                    rng.below(len)
                };
                // Blocks are read-only files; the crash is not bound by modes.
                fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
                let file = OpenOptions::new().write(true).open(&path).unwrap();
                file.set_len(keep).unwrap();
                if len > 0 {
                    damage.damaged.insert(path);
                }
            }
        }
    }
    damage
}

/// Imports a file of random bytes (one to three 256 KiB chunks and a root, or a single block).
fn import_random(store: &Store, rng: &mut Rng) -> (Imported, Vec<u8>) {
    let len = rng.below(3 * 256 * 1024) as usize + 1;
    let data = rng.bytes(len);
    let node = import_file(&mut &data[..], "random file", &UNIXFS_V0_2015, store).unwrap();
    (node, data)
}

/// Every block of the DAG under `root`, which must be complete and verify.
fn assert_whole(store: &Store, root: &Cid) {
    Walk::new(store)
        .budget(Budget::UNLIMITED)
        .run(std::slice::from_ref(root), |_| {
            Ok::<_, block::BlockError>(())
        })
        .unwrap_or_else(|e| panic!("pinned root {root} is not whole after the crash: {e}"));
}

#[test]
fn a_power_loss_before_the_pin_damages_only_unpinned_blocks_and_each_is_caught() {
    let mut caught = 0;
    for round in 0..40u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (round + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();

        // Committed work: imported and pinned.
        let mut pinned = Vec::new();
        for _ in 0..rng.below(3) + 1 {
            let (node, data) = import_random(&store, &mut rng);
            store.pin(&node.cid, None).unwrap();
            pinned.push((node.cid, data));
        }
        // Work in flight when the power goes: imported, not yet pinned. Some of it shares
        // blocks with committed work (found in place, not rewritten).
        let mut in_flight = Vec::new();
        for _ in 0..rng.below(3) + 1 {
            in_flight.push(import_random(&store, &mut rng));
        }
        if rng.below(2) == 0 {
            let (cid, data) = &pinned[0];
            let again = import_file(&mut &data[..], "again", &UNIXFS_V0_2015, &store).unwrap();
            assert_eq!(&again.cid, cid);
        }
        let damage = power_loss(&store, &mut rng);
        drop(store);

        // After the reboot.
        let store = Store::open(dir.path()).unwrap();
        for (root, _) in &pinned {
            assert_whole(&store, root);
        }
        let corrupt: BTreeSet<PathBuf> = store
            .verify_all()
            .unwrap()
            .iter()
            .map(|cid| store.block_path(cid))
            .collect();
        assert_eq!(
            corrupt, damage.damaged,
            "round {round}: verification must catch exactly the damaged files"
        );
        for path in &damage.dropped {
            assert!(
                !path.exists(),
                "round {round}: {} came back",
                path.display()
            );
        }
        for cid in &damage.unfinished {
            assert!(
                !store.has(cid),
                "round {round}: unfinished {cid} taken for a block"
            );
        }
        caught += damage.damaged.len() + damage.dropped.len() + damage.unfinished.len();

        // Importing the same bytes again mends every block; gc then keeps exactly the pinned.
        for (node, data) in &in_flight {
            let again = import_file(&mut &data[..], "again", &UNIXFS_V0_2015, &store).unwrap();
            assert_eq!(again.cid, node.cid);
            assert_whole(&store, &node.cid);
        }
        assert!(store.verify_all().unwrap().is_empty());
        let report = store.gc().unwrap();
        assert!(report.corrupt.is_empty() && report.missing == 0);
        for (root, data) in &pinned {
            assert_whole(&store, root);
            let mut bytes = Vec::new();
            Reader::new(&store).read_to(root, &mut bytes).unwrap();
            assert_eq!(&bytes, data);
        }
        for (node, _) in &in_flight {
            if !pinned.iter().any(|(root, _)| *root == node.cid) {
                assert!(!store.has(&node.cid), "round {round}: unpinned root kept");
            }
        }
    }
    // The simulation must have had something to do, or it proves nothing.
    assert!(caught > 40, "only {caught} files were damaged in 40 rounds");
}

#[test]
fn without_the_sync_before_the_pin_the_simulation_loses_pinned_blocks() {
    // The simulation can fail: a pin written without syncing first (what `pin` must never do)
    // leaves the pinned DAG among the unsynced files, and dropping them breaks it.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut rng = Rng(7);
    let (node, _) = import_random(&store, &mut rng);
    store
        .turn(&super::paths::pin_rel(&node.cid))
        .write(b"", super::write::Durability::Now)
        .unwrap();
    for path in store.unsynced_files() {
        fs::remove_file(path).unwrap();
    }
    assert!(store.pins().unwrap().contains(&node.cid.to_v1()));
    assert!(matches!(store.get_unverified(&node.cid), Ok(None)));
}
