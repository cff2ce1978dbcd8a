//! Checking the store: [`Store::verify`] re-hashes every block (block files and packed) and walks every pin's DAG
//! for blocks that are missing or do not decode; [`Store::verify_dags`] does the same for the
//! DAGs of given roots only; [`Store::recheck`] checks again, after a repair, only what a report
//! found wrong. Each gives a [`VerifyReport`]. The walks are the one DAG walk ([`crate::walk`],
//! lenient: it goes on past a missing or broken block) over the local store, so they have no
//! budget, as gc's mark has none. Nothing here writes or locks: a read-only store can be
//! verified, and repairing (fetching blocks again) is the caller's, through
//! [`BlockSink::put`](crate::block::BlockSink::put), which replaces a damaged file.

use std::collections::HashSet;

use super::blocks::{read_block_file, BlockFile};
use super::{io_error, Store};
use crate::block::{self, BlockError, BlockSource};
use crate::cid::Cid;
use crate::walk::{Budget, Reached, Walk};

/// What a verification found. Every list holds CIDv1s, sorted, without duplicates.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Block files read and re-hashed.
    pub checked: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Blocks whose bytes do not match their CID, or that do not decode (a dag-pb node that
    /// is malformed), or whose codec or hash this implementation cannot check.
    pub corrupt: Vec<Cid>,
    /// Blocks reachable from a root (a pin, or a given root) that are not in the store.
    pub missing: Vec<Cid>,
    /// The roots whose DAG is not complete: some block reachable from it is missing or corrupt.
    pub incomplete: Vec<Cid>,
}

impl VerifyReport {
    /// Whether nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.corrupt.is_empty() && self.missing.is_empty() && self.incomplete.is_empty()
    }

    fn tidy(&mut self) {
        for list in [&mut self.corrupt, &mut self.missing, &mut self.incomplete] {
            list.sort();
            list.dedup();
        }
    }
}

impl Store {
    /// Re-hashes every block file of the store, and walks the DAG of every pin: a block
    /// reachable from a pin that is absent is missing, one that does not decode is corrupt, and
    /// a pin whose DAG has either is incomplete. Each block is hashed once.
    pub fn verify(&self) -> Result<VerifyReport, BlockError> {
        let mut report = VerifyReport::default();
        let mut good = HashSet::new();
        for (cid, path) in self.block_files()? {
            let data = match read_block_file(&path) {
                Ok(BlockFile::Whole(data)) => data,
                // Being written, or left by an interrupted write: not a block (missing if a pin
                // reaches it), replaced by the next put of it, removed by gc.
                Ok(BlockFile::Incomplete) => {
                    tracing::debug!(path = %path.display(), "block {cid} is not whole yet (being written, or an interrupted write); not checked");
                    continue;
                }
                // Removed by a gc since it was listed: it was not reachable from a pin.
                Ok(BlockFile::Absent) => continue,
                Err(e) => return Err(io_error("read block", &path, e)),
            };
            tally(&mut report, &mut good, cid, &data, &path);
        }
        for (cid, _) in self.packed_blocks() {
            // The copy readers take; cut short or gone: not there (missing if a pin reaches it).
            let Some((entry, data)) = self.packed_read(&cid)? else {
                continue;
            };
            tally(&mut report, &mut good, cid, &data, &entry.pack.path);
        }
        let source = Hashed { store: self, good };
        let pins = self.pins()?;
        survey(&source, &pins, &mut report, false)?;
        report.tidy();
        Ok(report)
    }

    /// Re-hashes every block the DAGs under `roots` reach, and reports the corrupt and missing
    /// ones, and which of `roots` are incomplete. Blocks no root reaches are not read.
    pub fn verify_dags(&self, roots: &[Cid]) -> Result<VerifyReport, BlockError> {
        let mut report = VerifyReport::default();
        survey(self, roots, &mut report, true)?;
        report.tidy();
        Ok(report)
    }

    /// Checks again what `before` found wrong (say, after a repair): its corrupt blocks, and
    /// the DAGs of its incomplete roots. What `before` found whole is not read again; the
    /// counts of blocks and bytes checked are `before`'s.
    pub fn recheck(&self, before: &VerifyReport) -> Result<VerifyReport, BlockError> {
        let mut report = self.verify_dags(&before.incomplete)?;
        for cid in &before.corrupt {
            match self.get(cid) {
                Ok(_) | Err(BlockError::NotFound(_)) => {}
                Err(e @ BlockError::Io { .. }) => return Err(e),
                Err(_) => report.corrupt.push(cid.clone()),
            }
        }
        report.checked = before.checked;
        report.bytes = before.bytes;
        report.tidy();
        Ok(report)
    }
}

/// Counts the block `cid` (its bytes `data`, read from `file`) as checked, and as good or corrupt.
fn tally(
    report: &mut VerifyReport,
    good: &mut HashSet<Cid>,
    cid: Cid,
    data: &[u8],
    file: &std::path::Path,
) {
    report.checked += 1;
    report.bytes += data.len() as u64;
    match block::verify(&cid, data) {
        Ok(()) => {
            good.insert(cid);
        }
        Err(e) => {
            tracing::debug!(file = %file.display(), "{e}");
            report.corrupt.push(cid);
        }
    }
}

/// Walks the DAGs under `roots` over `source`, adding what is missing and corrupt to `report`
/// (and, with `count`, the blocks read to its counts); then names the incomplete roots, walking
/// each root alone only when something was wrong.
fn survey(
    source: &dyn BlockSource,
    roots: &[Cid],
    report: &mut VerifyReport,
    count: bool,
) -> Result<(), BlockError> {
    let mut wrong = false;
    Walk::new(source)
        .budget(Budget::UNLIMITED)
        .survey(roots, |reached| {
            match reached {
                Reached::Block(visit) => {
                    if count {
                        report.checked += 1;
                        report.bytes += visit.data.len() as u64;
                    }
                }
                Reached::Missing { cid, .. } => {
                    wrong = true;
                    report.missing.push(cid.to_v1());
                }
                Reached::Broken { cid, error, .. } => {
                    wrong = true;
                    tracing::debug!("{error}");
                    if count {
                        report.checked += 1;
                    }
                    report.corrupt.push(cid.to_v1());
                }
            }
            Ok::<_, BlockError>(())
        })?;
    if !wrong {
        return Ok(());
    }
    for root in roots {
        let whole = Walk::new(source).budget(Budget::UNLIMITED).survey(
            std::slice::from_ref(root),
            |reached| match reached {
                Reached::Block(_) => Ok(()),
                Reached::Missing { .. } | Reached::Broken { .. } => Err(Stop::Incomplete),
            },
        );
        match whole {
            Ok(()) => {}
            Err(Stop::Incomplete) => report.incomplete.push(root.to_v1()),
            Err(Stop::Source(e)) => return Err(e),
        }
    }
    Ok(())
}

/// Why a walk of one root stopped early.
enum Stop {
    /// It met a missing or broken block: the root is incomplete.
    Incomplete,
    Source(BlockError),
}

impl From<BlockError> for Stop {
    fn from(e: BlockError) -> Stop {
        Stop::Source(e)
    }
}

/// The store, as a source whose blocks in `good` have just been hashed: they are not hashed
/// again (a block file that changed in between is caught by the next verify).
struct Hashed<'a> {
    store: &'a Store,
    good: HashSet<Cid>,
}

impl BlockSource for Hashed<'_> {
    fn get_unverified(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        self.store.get_unverified(cid)
    }

    fn get_verified(&self, cid: &Cid) -> Result<Vec<u8>, BlockError> {
        if !self.good.contains(&cid.to_v1()) {
            return self.store.get(cid);
        }
        self.store
            .get_unverified(cid)?
            .ok_or_else(|| BlockError::NotFound(cid.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BlockSink;
    use crate::cid::DAG_PB;
    use std::fs;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        (dir, store)
    }

    use crate::test_dags::{node, raw};

    fn flip_last_bit(store: &Store, cid: &Cid) {
        let path = store.block_path(cid);
        let mut bytes = fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        fs::write(path, bytes).unwrap();
    }

    /// root -> (left -> a, b), (right -> c); `other` is pinned on its own, `loose` is not.
    struct Dag {
        a: Cid,
        b: Cid,
        c: Cid,
        left: Cid,
        right: Cid,
        root: Cid,
        other: Cid,
        loose: Cid,
    }

    fn dag(store: &Store) -> Dag {
        let a = raw(store, b"a");
        let b = raw(store, b"b");
        let c = raw(store, b"c");
        let left = node(store, &[&a, &b], b"left");
        let right = node(store, &[&c], b"right");
        let root = node(store, &[&left, &right], b"root");
        let other = raw(store, b"other");
        let loose = raw(store, b"loose");
        store.pin(&root, Some("root")).unwrap();
        store.pin(&other, None).unwrap();
        Dag {
            a,
            b,
            c,
            left,
            right,
            root,
            other,
            loose,
        }
    }

    #[test]
    fn a_whole_store_verifies() {
        let (_tmp, store) = store();
        let d = dag(&store);
        let report = store.verify().unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(report.checked, 8);
        let bytes: u64 = store
            .blocks()
            .unwrap()
            .iter()
            .map(|c| fs::metadata(store.block_path(c)).unwrap().len())
            .sum();
        assert_eq!(report.bytes, bytes);
        let dags = store.verify_dags(std::slice::from_ref(&d.right)).unwrap();
        assert!(dags.is_ok(), "{dags:?}");
        assert_eq!(dags.checked, 2);
    }

    #[test]
    fn corrupt_and_missing_blocks_are_found_and_their_pins_named() {
        let (_tmp, store) = store();
        let d = dag(&store);
        flip_last_bit(&store, &d.a);
        flip_last_bit(&store, &d.loose);
        assert!(store.remove_block(&d.c).unwrap());
        let report = store.verify().unwrap();
        let mut corrupt = vec![d.a.clone(), d.loose.clone()];
        corrupt.sort();
        assert_eq!(report.corrupt, corrupt);
        assert_eq!(report.missing, vec![d.c.clone()]);
        assert_eq!(report.incomplete, vec![d.root.clone()]);
        assert_eq!(report.checked, 7);
        assert!(!report.is_ok());

        // Only what the given roots reach: the loose block is not read.
        let left = store
            .verify_dags(&[d.left.clone(), d.other.clone()])
            .unwrap();
        assert_eq!(left.corrupt, vec![d.a.clone()]);
        assert!(left.missing.is_empty());
        assert_eq!(left.incomplete, vec![d.left.clone()]);
        assert_eq!(left.checked, 4);
        let right = store.verify_dags(std::slice::from_ref(&d.right)).unwrap();
        assert_eq!(right.missing, vec![d.c.clone()]);
        assert_eq!(right.incomplete, vec![d.right.clone()]);

        // Repaired (good bytes put again), a recheck finds nothing left.
        store.put(&d.a, b"a").unwrap();
        store.put(&d.loose, b"loose").unwrap();
        store.put(&d.c, b"c").unwrap();
        let after = store.recheck(&report).unwrap();
        assert!(after.is_ok(), "{after:?}");
        assert_eq!(after.checked, report.checked);
        assert!(store.verify().unwrap().is_ok());
        assert!(store.has(&d.b));
    }

    #[test]
    fn a_block_that_hashes_right_but_does_not_decode_is_corrupt() {
        let (_tmp, store) = store();
        let junk = b"\xff\xff not a dag-pb node";
        let bad = Cid::v1_sha2_256(DAG_PB, junk);
        store.put(&bad, junk).unwrap();
        store.pin(&bad, None).unwrap();
        let report = store.verify().unwrap();
        assert_eq!(report.corrupt, vec![bad.clone()]);
        assert_eq!(report.incomplete, vec![bad.clone()]);
        // A recheck finds it still wrong: putting it again cannot help.
        assert_eq!(store.recheck(&report).unwrap().corrupt, vec![bad]);
    }
}
