//! The sealed packs of a store, as one process sees them: their indexes loaded into memory (one
//! map from block to its copies, shared by the clones of a [`Store`](crate::store::Store)), and
//! reloaded when the packs directory changed. Reads take no lock, as block file reads take none,
//! and hold no pack open between reads (a store gathers packs; descriptors are a process's
//! scarcest resource): a pack gc removed reads as absent, and the lookup lists the directory
//! again, where the pack that replaced it holds the block.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use super::{index_path, pack_path, read_index, read_record, Record, INDEX_SUFFIX};

/// A directory changed this recently may change again within its timestamp's granularity
/// unnoticed: listed again on every miss until it is older than this.
const SETTLED: Duration = Duration::from_secs(2);
/// Listings of a directory that changed while it was read (gc replacing a pack), at most.
const RELISTS: usize = 3;

/// One sealed pack.
#[derive(Debug)]
pub(in crate::store) struct Pack {
    pub name: String,
    pub path: PathBuf,
}

/// One copy of a block, in a pack.
#[derive(Debug, Clone)]
pub(in crate::store) struct Entry {
    pub pack: Arc<Pack>,
    pub record: Record,
}

impl Pack {
    /// The pack `name` in `dir`.
    pub fn new(dir: &Path, name: &str) -> Pack {
        Pack {
            name: name.to_owned(),
            path: pack_path(dir, name),
        }
    }

    /// The records of a pack whose index is missing or damaged, read from the pack itself:
    /// every whole record up to the first that is not.
    pub fn scan(&self) -> std::io::Result<Vec<Record>> {
        super::scan_records(&File::open(&self.path)?)
    }

    /// Whether the pack is still there (gc in another process may have removed it).
    pub fn exists(&self) -> bool {
        fs::symlink_metadata(&self.path).is_ok()
    }
}

impl Entry {
    /// The block's bytes, not verified; `None` if the pack is gone (gc) or was cut short
    /// before them (a crash).
    pub fn read(&self) -> std::io::Result<Option<Vec<u8>>> {
        let file = match File::open(&self.pack.path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        read_record(&file, &self.record)
    }
}

#[derive(Debug, Default)]
struct State {
    /// The packs directory's modification time when it was last listed.
    listed: Option<SystemTime>,
    packs: HashMap<String, Arc<Pack>>,
    /// Packs whose index did not load (torn by a crash): not read again until gc.
    bad: HashSet<String>,
    /// Every packed block's copies, newest pack first (pack names start with the time they
    /// were started): a block packed again after a crash damaged a copy has a good one too.
    blocks: HashMap<Box<[u8]>, Vec<Entry>>,
}

/// The packs of one store directory; see the module docs.
#[derive(Debug, Default)]
pub(in crate::store) struct PackSet {
    state: RwLock<State>,
}

impl PackSet {
    /// The copies of the block `key` (newest first), listing the packs directory `dir` again
    /// if none is known and the directory changed since it was last listed.
    pub fn find(&self, dir: &Path, key: &[u8]) -> Vec<Entry> {
        let known = self.find_loaded(key);
        if !known.is_empty() {
            return known;
        }
        if self.refresh(dir, false) {
            return self.find_loaded(key);
        }
        Vec::new()
    }

    /// The copies of the block `key` among the packs loaded so far, without listing the
    /// directory again.
    pub fn find_loaded(&self, key: &[u8]) -> Vec<Entry> {
        self.read().blocks.get(key).cloned().unwrap_or_default()
    }

    /// Every packed block and its newest copy, once the directory is listed again.
    pub fn all(&self, dir: &Path) -> Vec<Entry> {
        self.refresh(dir, true);
        self.read()
            .blocks
            .values()
            .filter_map(|copies| copies.first().cloned())
            .collect()
    }

    /// Forgets everything, so the next lookup lists the directory again (gc rewrote it).
    pub fn forget(&self) {
        *self.write() = State::default();
    }

    /// Lists `dir` again if it changed (or `always`): loads the indexes of new packs and drops
    /// the packs that are gone. Whether anything was loaded or dropped.
    pub fn refresh(&self, dir: &Path, always: bool) -> bool {
        let mut changed = false;
        for _ in 0..RELISTS {
            let mtime = fs::metadata(dir).and_then(|m| m.modified()).ok();
            let settled = mtime.is_some_and(|m| {
                SystemTime::now()
                    .duration_since(m)
                    .is_ok_and(|age| age > SETTLED)
            });
            if !always && settled && self.read().listed == mtime {
                return changed;
            }
            let names: HashSet<String> = match list(dir) {
                Ok(names) => names.into_iter().collect(),
                Err(e) => {
                    if e.kind() != ErrorKind::NotFound {
                        tracing::debug!(dir = %dir.display(), "cannot list the packs: {e}");
                    }
                    HashSet::new()
                }
            };
            let mut state = self.write();
            if state.packs.keys().any(|name| !names.contains(name)) {
                state.packs.clear();
                state.blocks.clear();
                changed = true;
            }
            state.bad.retain(|name| names.contains(name));
            let mut vanished = false;
            for name in &names {
                match state.add(dir, name) {
                    Added::Now => changed = true,
                    Added::Before | Added::Bad => {}
                    Added::Vanished => vanished = true,
                }
            }
            state.listed = mtime;
            // An index listed and gone before it was read: gc replaced its pack, whose
            // successor may not have been listed yet.
            if !vanished {
                break;
            }
        }
        changed
    }

    /// Loads the pack `name` (just sealed by this process) unless it is loaded already.
    pub fn add(&self, dir: &Path, name: &str) {
        self.write().add(dir, name);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// What [`State::add`] did.
enum Added {
    Now,
    Before,
    /// Its index does not load (torn): remembered, not read again.
    Bad,
    /// Its index or pack was removed while it was being loaded.
    Vanished,
}

impl State {
    /// Loads the pack `name` unless it is loaded (or known bad).
    fn add(&mut self, dir: &Path, name: &str) -> Added {
        if self.packs.contains_key(name) {
            return Added::Before;
        }
        if self.bad.contains(name) {
            return Added::Bad;
        }
        let records = match read_index(&index_path(dir, name)) {
            Ok(records) => records,
            Err(why) if !index_path(dir, name).exists() => {
                tracing::debug!(pack = %name, "pack removed while loaded: {why}");
                return Added::Vanished;
            }
            Err(why) => {
                tracing::debug!(pack = %name, "pack not loaded, its index: {why}");
                self.bad.insert(name.to_owned());
                return Added::Bad;
            }
        };
        let pack = Arc::new(Pack::new(dir, name));
        // Records a crash cut off the end of the pack are not there.
        let len = match fs::metadata(&pack.path) {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == ErrorKind::NotFound => return Added::Vanished,
            Err(e) => {
                tracing::debug!(pack = %pack.path.display(), "pack not loaded: {e}");
                return Added::Bad;
            }
        };
        for record in records {
            if record.end().is_none_or(|end| end > len) {
                continue;
            }
            let entry = Entry {
                pack: Arc::clone(&pack),
                record,
            };
            let copies = self.blocks.entry(entry.record.key.clone()).or_default();
            let at = copies
                .iter()
                .position(|c| c.pack.name < pack.name)
                .unwrap_or(copies.len());
            copies.insert(at, entry);
        }
        self.packs.insert(name.to_owned(), pack);
        Added::Now
    }
}

/// The names of the sealed packs in `dir` (those with an index).
pub(super) fn list(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(INDEX_SUFFIX)) {
            if !stem.starts_with('.') {
                names.push(stem.to_owned());
            }
        }
    }
    Ok(names)
}
