//! gc's part in packs, under the store's exclusive lock (so no batch is writing): a pack without
//! a whole index is left over from a writer that died, or torn by a crash before its pin: what
//! a pin reaches in it is copied out (its records read from the pack itself), the rest removed
//! with it; a sealed pack whose blocks are
//! all reachable is kept as it is; one with none reachable is removed (index first, so no reader
//! lists it again); one with some is rewritten into a new pack holding only those, made durable
//! before the old one is removed. A block two packs hold is kept once, in the newer.

use std::collections::HashSet;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use std::sync::Arc;

use super::set::{list, Pack};
use super::{index_path, pack_path, read_index, Entry, PackWriter, Record, PACKS, PACK_SUFFIX};
use crate::block::BlockError;
use crate::cid::Cid;
use crate::store::{io_error, GcReport, Store};

/// What a sweep of the packs found and did.
#[derive(Debug, Default)]
pub(in crate::store) struct PackSweep {
    /// Reachable packed blocks (each once).
    pub kept: HashSet<Cid>,
    /// Unreachable packed blocks (each once), with the bytes of their records' data.
    pub removed: Vec<(Cid, u64)>,
}

impl Store {
    /// Sweeps the packs: keeps the blocks `reachable` says are, drops the others (unless
    /// `dry_run`, which only counts them). The caller holds the exclusive lock.
    pub(in crate::store) fn sweep_packs(
        &self,
        reachable: &dyn Fn(&Cid) -> bool,
        dry_run: bool,
    ) -> Result<PackSweep, BlockError> {
        let dir = self.dir.join(PACKS);
        let mut sweep = PackSweep::default();
        let mut kept_keys: HashSet<Box<[u8]>> = HashSet::new();
        let mut removed_keys: HashSet<Box<[u8]>> = HashSet::new();
        // (pack, the records to copy into a new pack); packs to remove.
        let mut rewrite: Vec<(Arc<Pack>, Vec<Record>)> = Vec::new();
        let mut remove: Vec<String> = Vec::new();
        // Newest first: the copy kept of a block two packs hold is the one readers take.
        let mut names = pack_names(&dir)?;
        names.sort_by(|a, b| b.cmp(a));
        for name in names {
            let pack = match Pack::open(&dir, &name) {
                Ok(pack) => Arc::new(pack),
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error("open pack", &pack_path(&dir, &name), e)),
            };
            // A pack without a whole index was never pinned through it (the pin syncs the index
            // first); what a pin reaches in it anyway (another copy was pinned) is recovered.
            let (records, sealed) = match read_index(&index_path(&dir, &name)) {
                Ok(records) => (records, true),
                Err(why) => {
                    tracing::debug!(pack = %pack.path.display(), "unsealed pack ({why}); recovering its reachable blocks");
                    let records = pack
                        .scan()
                        .map_err(|e| io_error("read pack", &pack.path, e))?;
                    (records, false)
                }
            };
            let mut live = Vec::new();
            let mut dead = 0;
            for record in records {
                let Ok(cid) = Cid::from_bytes(&record.key) else {
                    dead += 1;
                    continue;
                };
                if reachable(&cid) && !kept_keys.contains(&record.key) {
                    kept_keys.insert(record.key.clone());
                    sweep.kept.insert(cid);
                    live.push(record);
                } else {
                    dead += 1;
                    if !reachable(&cid) && removed_keys.insert(record.key.clone()) {
                        sweep.removed.push((cid, u64::from(record.len)));
                    }
                }
            }
            if dead == 0 && sealed {
                continue;
            }
            remove.push(name);
            if !live.is_empty() {
                rewrite.push((pack, live));
            }
        }
        // A block only an unsealed pack held and no pin reaches is removed; one reached by a pin
        // is kept. Neither was counted as a block of the store before.
        if dry_run {
            return Ok(sweep);
        }
        // The new packs first, durable, then the old ones go.
        let mut writer = PackWriter::new(self.clone());
        for (pack, live) in &rewrite {
            for record in live {
                let entry = Entry {
                    pack: Arc::clone(pack),
                    record: record.clone(),
                };
                match entry.read() {
                    Ok(Some(data)) => writer.append(record.key.clone(), &data)?,
                    // Cut short: the block was not there to keep (gc's mark counted it missing).
                    Ok(None) => {}
                    Err(e) => return Err(io_error("read pack", &pack.path, e)),
                }
            }
        }
        writer.seal()?;
        drop(writer);
        if !rewrite.is_empty() {
            self.sync()?;
        }
        for name in &remove {
            remove_pack(&dir, name)?;
        }
        // Indexes without a pack cannot be read.
        for name in index_names(&dir) {
            if !pack_path(&dir, &name).exists() {
                let _ = fs::remove_file(index_path(&dir, &name));
            }
        }
        self.packs.forget();
        Ok(sweep)
    }
}

/// The names of the pack files in `dir` (sealed or not).
fn pack_names(dir: &Path) -> Result<Vec<String>, BlockError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error("list", dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error("list", dir, e))?;
        if let Some(stem) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_suffix(PACK_SUFFIX))
        {
            names.push(stem.to_owned());
        }
    }
    Ok(names)
}

fn index_names(dir: &Path) -> Vec<String> {
    list(dir).unwrap_or_default()
}

/// Removes the pack `name`: its index first, so that readers stop finding it, then its data.
fn remove_pack(dir: &Path, name: &str) -> Result<(), BlockError> {
    for path in [index_path(dir, name), pack_path(dir, name)] {
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("remove pack", &path, e)),
        }
    }
    Ok(())
}

impl GcReport {
    /// Adds what a sweep of the packs kept and removed; `loose` are the blocks already counted
    /// from block files.
    pub(in crate::store) fn add_packs(&mut self, sweep: PackSweep, loose: &HashSet<Cid>) {
        self.kept += sweep.kept.iter().filter(|c| !loose.contains(*c)).count();
        for (cid, bytes) in sweep.removed {
            self.bytes_freed += bytes;
            if !loose.contains(&cid) {
                self.removed += 1;
                self.removed_blocks.push(cid);
            }
        }
        self.removed_blocks.sort();
        self.removed_blocks.dedup();
    }
}
