//! gc's part in packs, under the store's exclusive lock (so no batch is writing): a pack without
//! a whole index is left over from a writer that died, or torn by a crash before its pin: what
//! a pin reaches in it is copied out (its records read from the pack itself, and verified), the
//! rest removed with it; a sealed pack whose blocks are all kept is kept as it is; one with none
//! is removed (index first, so no reader lists it again); one with some is rewritten into a new
//! pack holding only those, made durable before the old one is removed. A block with several
//! copies is kept once: the newest copy that verifies.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use std::sync::Arc;

use super::set::{list, Pack};
use super::{index_path, pack_path, read_index, Entry, PackWriter, Record, PACKS, PACK_SUFFIX};
use crate::block::{self, BlockError};
use crate::cid::Cid;
use crate::store::{io_error, GcReport, Store};

/// What a sweep of the packs found and did.
#[derive(Debug, Default)]
pub(in crate::store) struct PackSweep {
    /// Reachable packed blocks (each once) that a copy is kept of.
    pub kept: HashSet<Cid>,
    /// Unreachable blocks of sealed packs (each once), with their data's length.
    pub removed: Vec<(Cid, u64)>,
}

/// A pack as the sweep found it.
struct Found {
    pack: Arc<Pack>,
    records: Vec<Record>,
    /// Whether its index loaded (else its records were read from the pack itself).
    sealed: bool,
}

impl Store {
    /// Sweeps the packs: keeps one copy of each block `reachable` says is, drops the others
    /// (unless `dry_run`, which only counts). The copy kept of a block with several is the
    /// newest that verifies (or, if none does, the newest that can be read: a corrupt block a
    /// pin reaches is kept, never removed silently); a block with one copy in a sealed pack is
    /// kept as it is, unread. The caller holds the exclusive lock.
    pub(in crate::store) fn sweep_packs(
        &self,
        reachable: &dyn Fn(&Cid) -> bool,
        dry_run: bool,
    ) -> Result<PackSweep, BlockError> {
        let dir = self.dir.join(PACKS);
        let mut found = Vec::new();
        // Newest first, as readers order copies.
        let mut names = pack_names(&dir)?;
        names.sort_by(|a, b| b.cmp(a));
        for name in names {
            let pack = Arc::new(Pack::new(&dir, &name));
            // A pack without a whole index was never pinned through it (the pin syncs the index
            // first); what a pin reaches in it anyway (another copy was pinned) is recovered.
            let (records, sealed) = match read_index(&index_path(&dir, &name)) {
                Ok(records) => (records, true),
                Err(why) => {
                    tracing::debug!(pack = %pack.path.display(), "unsealed pack ({why}); recovering its reachable blocks");
                    match pack.scan() {
                        Ok(records) => (records, false),
                        Err(e) if e.kind() == ErrorKind::NotFound => continue,
                        Err(e) => return Err(io_error("read pack", &pack.path, e)),
                    }
                }
            };
            found.push(Found {
                pack,
                records,
                sealed,
            });
        }

        // Every copy of every block, newest first: (pack, record).
        let mut copies: HashMap<&[u8], Vec<(usize, usize)>> = HashMap::new();
        for (p, f) in found.iter().enumerate() {
            for (r, record) in f.records.iter().enumerate() {
                copies.entry(&record.key[..]).or_default().push((p, r));
            }
        }
        let mut sweep = PackSweep::default();
        let mut chosen: HashSet<(usize, usize)> = HashSet::new();
        for (key, at) in &copies {
            let Ok(cid) = Cid::from_bytes(key) else {
                continue;
            };
            if !reachable(&cid) {
                if let Some(&(p, r)) = at.iter().find(|(p, _)| found[*p].sealed) {
                    sweep
                        .removed
                        .push((cid, u64::from(found[p].records[r].len)));
                }
                continue;
            }
            let keep = match at.as_slice() {
                [(p, r)] if found[*p].sealed => Some((*p, *r)),
                _ => choose(&cid, at, &found)?,
            };
            if let Some(keep) = keep {
                chosen.insert(keep);
                sweep.kept.insert(cid);
            }
        }
        sweep.removed.sort();
        if dry_run {
            return Ok(sweep);
        }

        // (pack, the records to copy into a new pack); packs to remove.
        let mut rewrite: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut remove = Vec::new();
        for (p, f) in found.iter().enumerate() {
            let live: Vec<usize> = (0..f.records.len())
                .filter(|r| chosen.contains(&(p, *r)))
                .collect();
            if f.sealed && live.len() == f.records.len() {
                continue;
            }
            remove.push(f.pack.name.clone());
            if !live.is_empty() {
                rewrite.push((p, live));
            }
        }
        // The new packs first, durable, then the old ones go.
        let mut writer = PackWriter::new(self.clone());
        for (p, live) in &rewrite {
            for &r in live {
                let entry = Entry {
                    pack: Arc::clone(&found[*p].pack),
                    record: found[*p].records[r].clone(),
                };
                match entry.read() {
                    Ok(Some(data)) => writer.append(entry.record.key.clone(), &data)?,
                    // Cut short: the block was not there to keep (gc's mark counted it missing).
                    Ok(None) => {}
                    Err(e) => return Err(io_error("read pack", &entry.pack.path, e)),
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
        for name in list(&dir).unwrap_or_default() {
            if !pack_path(&dir, &name).exists() {
                let _ = fs::remove_file(index_path(&dir, &name));
            }
        }
        self.packs.forget();
        Ok(sweep)
    }
}

/// The copy to keep of a reachable block among several (or one in an unsealed pack): the newest
/// that verifies, else the newest that can be read; `None` when none can be read.
fn choose(
    cid: &Cid,
    at: &[(usize, usize)],
    found: &[Found],
) -> Result<Option<(usize, usize)>, BlockError> {
    let mut readable = None;
    for &(p, r) in at {
        let entry = Entry {
            pack: Arc::clone(&found[p].pack),
            record: found[p].records[r].clone(),
        };
        let Some(data) = entry
            .read()
            .map_err(|e| io_error("read pack", &entry.pack.path, e))?
        else {
            continue;
        };
        if block::verify(cid, &data).is_ok() {
            return Ok(Some((p, r)));
        }
        readable.get_or_insert((p, r));
    }
    Ok(readable)
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
            if !loose.contains(&cid) {
                self.bytes_freed += bytes;
                self.removed += 1;
                self.removed_blocks.push(cid);
            }
        }
        self.removed_blocks.sort();
        self.removed_blocks.dedup();
    }
}
