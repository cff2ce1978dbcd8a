//! Garbage collection: mark every block reachable from a pin with the one DAG walk
//! ([`crate::walk`], lenient: missing blocks are counted, blocks that do not verify are kept and
//! reported), then sweep every other block file, the unreachable blocks of packs (`pack/sweep.rs`),
//! the hidden leftovers of interrupted writes and `tmp/`. Runs under the exclusive lock (see [`super::lock`]'s contract). A dry run
//! ([`Store::gc_dry_run`]) marks the same way, under the same lock, and removes nothing.
//!
//! The walk has no budget ([`Budget::UNLIMITED`]): the store is trusted, and a walk visits each
//! of its blocks once, so the mark is bounded by the store's size; a gc that stopped half way on
//! a depth or count limit would never free anything in a large store. It is not cancellable:
//! it runs under the store's exclusive lock, and its sweep only ever removes unreachable files,
//! so stopping it would only leave garbage.

use std::fs;
use std::io::ErrorKind;

use rustix::fs::FlockOperation;

use super::{io_error, Store};
use crate::block::BlockError;
use crate::cid::Cid;
use crate::walk::{Budget, Reached, Walk};

/// Whether gc removes what it finds unreachable, or only reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sweep {
    Remove,
    DryRun,
}

/// What a [`Store::gc`] did (or a [`Store::gc_dry_run`] would do).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// Blocks kept (reachable from a pin), block files and packed.
    pub kept: usize,
    /// Blocks removed, block files and packed.
    pub removed: usize,
    /// Bytes of the removed blocks (each counted once, however many copies it had).
    pub bytes_freed: u64,
    /// The removed blocks (for a dry run: the blocks gc would remove), as CIDv1s in CID order.
    pub removed_blocks: Vec<Cid>,
    /// Blocks reachable from a pin that are not in the store (pinned DAGs may be incomplete).
    pub missing: usize,
    /// Blocks reachable from a pin that do not verify or decode; kept, never removed silently.
    pub corrupt: Vec<Cid>,
}

impl Store {
    /// Removes every block not reachable from a pin, and leftover temp files. Waits for the
    /// exclusive lock, i.e. until no put, pin or [`WriteGuard`](super::WriteGuard) is in
    /// progress.
    pub fn gc(&self) -> Result<GcReport, BlockError> {
        if self.this_thread_holds_a_guard() {
            return Err(BlockError::Other(format!(
                "cannot gc the block store {}: this thread holds a write guard on it and gc \
                 would wait for it forever; drop the guard first",
                self.dir.display()
            )));
        }
        let _lock = self.lock(FlockOperation::LockExclusive)?;
        self.collect(Sweep::Remove)
    }

    /// What [`Store::gc`] would do now, doing none of it: [`GcReport::removed`],
    /// [`GcReport::bytes_freed`] and [`GcReport::removed_blocks`] say what it would remove.
    /// Takes the exclusive lock as gc does (so it waits for writers), and removes nothing, temp
    /// files included.
    pub fn gc_dry_run(&self) -> Result<GcReport, BlockError> {
        if self.this_thread_holds_a_guard() {
            return Err(BlockError::Other(format!(
                "cannot plan a gc of the block store {}: this thread holds a write guard on it \
                 and would wait for it forever; drop the guard first",
                self.dir.display()
            )));
        }
        let _lock = self.lock(FlockOperation::LockExclusive)?;
        self.collect(Sweep::DryRun)
    }

    /// Like [`Store::gc`], but `Ok(None)` at once if a writer holds the store.
    pub fn try_gc(&self) -> Result<Option<GcReport>, BlockError> {
        let Some(_lock) = self.try_lock(FlockOperation::NonBlockingLockExclusive)? else {
            return Ok(None);
        };
        self.collect(Sweep::Remove).map(Some)
    }

    /// Mark and sweep (or, for a dry run, count what the sweep would remove); the caller holds
    /// the exclusive lock.
    fn collect(&self, sweep: Sweep) -> Result<GcReport, BlockError> {
        let mut report = GcReport::default();
        let mut walk = Walk::new(self).budget(Budget::UNLIMITED);
        walk.survey(&self.pins()?, |reached| {
            match reached {
                Reached::Block(_) => {}
                Reached::Missing { cid, .. } => {
                    tracing::debug!(%cid, "block reachable from a pin is not in the store");
                    report.missing += 1;
                }
                Reached::Broken { cid, error, .. } => {
                    tracing::warn!(
                        path = %self.block_path(cid).display(),
                        "{error}; reachable from a pin, kept (its links followed where they \
                         can be read)"
                    );
                    report.corrupt.push(cid.to_v1());
                }
            }
            Ok::<_, BlockError>(())
        })?;
        report.corrupt.sort();

        let mut loose = std::collections::HashSet::new();
        for (cid, path) in self.block_files()? {
            loose.insert(cid.clone());
            if walk.has_seen(&cid) {
                report.kept += 1;
                continue;
            }
            let size = fs::symlink_metadata(&path).map_or(0, |m| m.len());
            if sweep == Sweep::Remove {
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(io_error("remove block", &path, e)),
                }
            }
            report.removed += 1;
            report.bytes_freed += size;
            report.removed_blocks.push(cid);
        }
        let packs = self.sweep_packs(&|cid| walk.has_seen(cid), sweep == Sweep::DryRun)?;
        report.add_packs(packs, &loose);
        if sweep == Sweep::DryRun {
            return Ok(report);
        }
        // No put or pin is running: every temp file is left over.
        for path in self.hidden_files()? {
            match fs::remove_file(&path) {
                Ok(()) => tracing::debug!(path = %path.display(), "removed a leftover temp file"),
                Err(e) => tracing::debug!(path = %path.display(), "cannot remove temp file: {e}"),
            }
        }
        self.clean_temp(None);
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BlockSink;
    use crate::cid::RAW;

    #[test]
    fn a_dry_run_reports_exactly_what_gc_then_removes_and_removes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let mut cids = Vec::new();
        for data in [&b"kept"[..], b"garbage one", b"garbage two"] {
            let cid = Cid::v1_sha2_256(RAW, data);
            store.put(&cid, data).unwrap();
            cids.push(cid);
        }
        store.pin(&cids[0], None).unwrap();
        let before = store.blocks().unwrap();
        let plan = store.gc_dry_run().unwrap();
        assert_eq!(store.blocks().unwrap(), before, "a dry run removes nothing");
        let mut garbage = cids[1..].to_vec();
        garbage.sort();
        assert_eq!(plan.removed_blocks, garbage);
        assert_eq!((plan.removed, plan.bytes_freed, plan.kept), (2, 22, 1));
        let done = store.gc().unwrap();
        assert_eq!(done, plan);
        assert_eq!(store.blocks().unwrap(), vec![cids[0].clone()]);
    }

    #[test]
    fn a_dry_run_under_this_threads_guard_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let _guard = store.writer().unwrap();
        let err = store.gc_dry_run().unwrap_err();
        assert!(err.to_string().contains("write guard"), "{err}");
    }
}
