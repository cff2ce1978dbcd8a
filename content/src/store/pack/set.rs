//! The sealed packs of a store, as one process sees them: their indexes loaded into memory (one
//! map from block to record, shared by the clones of a [`Store`](crate::store::Store)), and
//! reloaded when the packs directory changed. Reads take no lock, as block file reads take none:
//! a pack gc removes stays readable through the file this set holds open, and its blocks are
//! found in the pack that replaced it once the directory is listed again.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use super::{index_path, pack_path, read_index, read_record, Record, INDEX_SUFFIX};

/// A directory changed this recently may change again within its timestamp's granularity
/// unnoticed: listed again on every miss until it is older than this.
const SETTLED: Duration = Duration::from_secs(2);

/// One sealed pack: its file, open.
#[derive(Debug)]
pub(in crate::store) struct Pack {
    pub name: String,
    pub path: PathBuf,
    file: File,
}

/// A block in a pack.
#[derive(Debug, Clone)]
pub(in crate::store) struct Entry {
    pub pack: Arc<Pack>,
    pub record: Record,
}

impl Pack {
    /// Opens the pack `name`'s data in `dir`.
    pub fn open(dir: &Path, name: &str) -> std::io::Result<Pack> {
        let path = pack_path(dir, name);
        let file = File::open(&path)?;
        Ok(Pack {
            name: name.to_owned(),
            path,
            file,
        })
    }

    /// The records of a pack whose index is missing or damaged, read from the pack itself:
    /// every whole record up to the first that is not.
    pub fn scan(&self) -> std::io::Result<Vec<Record>> {
        super::scan_records(&self.file)
    }
}

impl Entry {
    /// The block's bytes, not verified; `None` if the pack was cut short before them.
    pub fn read(&self) -> std::io::Result<Option<Vec<u8>>> {
        read_record(&self.pack.file, &self.record)
    }
}

#[derive(Debug, Default)]
struct State {
    /// The packs directory's modification time when it was last listed.
    listed: Option<SystemTime>,
    packs: HashMap<String, Arc<Pack>>,
    /// Every packed block, in the newest pack that holds it (pack names start with the time
    /// they were started): a block packed again after a crash damaged its first copy is read
    /// from the new one.
    blocks: HashMap<Box<[u8]>, Entry>,
}

/// The packs of one store directory; see the module docs.
#[derive(Debug, Default)]
pub(in crate::store) struct PackSet {
    state: RwLock<State>,
}

impl PackSet {
    /// The record of the block `key`, listing the packs directory `dir` again if it is not
    /// known and the directory changed since it was last listed.
    pub fn find(&self, dir: &Path, key: &[u8]) -> Option<Entry> {
        if let Some(entry) = self.read().blocks.get(key) {
            return Some(entry.clone());
        }
        if self.refresh(dir, false) {
            return self.read().blocks.get(key).cloned();
        }
        None
    }

    /// The record of the block `key` among the packs loaded so far, without listing the
    /// directory again.
    pub fn find_loaded(&self, key: &[u8]) -> Option<Entry> {
        self.read().blocks.get(key).cloned()
    }

    /// Every packed block and where it is, once the directory is listed again: each block once,
    /// in the newest pack that holds it.
    pub fn all(&self, dir: &Path) -> Vec<Entry> {
        self.refresh(dir, true);
        self.read().blocks.values().cloned().collect()
    }

    /// Forgets everything, so the next lookup lists the directory again (gc rewrote it).
    pub fn forget(&self) {
        *self.write() = State::default();
    }

    /// Lists `dir` again if it changed (or `always`): loads the indexes of new packs and drops
    /// the packs that are gone. Whether anything was loaded or dropped.
    pub fn refresh(&self, dir: &Path, always: bool) -> bool {
        let mtime = fs::metadata(dir).and_then(|m| m.modified()).ok();
        let settled = mtime.is_some_and(|m| {
            SystemTime::now()
                .duration_since(m)
                .is_ok_and(|age| age > SETTLED)
        });
        if !always && settled && self.read().listed == mtime {
            return false;
        }
        let names = match list(dir) {
            Ok(names) => names,
            Err(e) => {
                if e.kind() != ErrorKind::NotFound {
                    tracing::debug!(dir = %dir.display(), "cannot list the packs: {e}");
                }
                Vec::new()
            }
        };
        let mut state = self.write();
        let gone = state.packs.keys().any(|name| !names.contains(name));
        if gone {
            *state = State::default();
        }
        let mut changed = gone;
        for name in names {
            changed |= state.add(dir, &name);
        }
        state.listed = mtime;
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

impl State {
    /// Loads the pack `name` unless it is loaded; whether it was loaded now. Its blocks replace
    /// those of older packs.
    fn add(&mut self, dir: &Path, name: &str) -> bool {
        if self.packs.contains_key(name) {
            return false;
        }
        let (pack, records) = match load(dir, name) {
            Ok(loaded) => loaded,
            Err(why) => {
                tracing::debug!(pack = %name, "pack not loaded: {why}");
                return false;
            }
        };
        let pack = Arc::new(pack);
        for record in records {
            let entry = Entry {
                pack: Arc::clone(&pack),
                record,
            };
            match self.blocks.get_mut(&entry.record.key) {
                Some(known) if known.pack.name > pack.name => {}
                Some(known) => *known = entry,
                None => {
                    self.blocks.insert(entry.record.key.clone(), entry);
                }
            }
        }
        self.packs.insert(name.to_owned(), pack);
        true
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

/// Opens the pack `name` and reads its index.
fn load(dir: &Path, name: &str) -> Result<(Pack, Vec<Record>), String> {
    let records = read_index(&index_path(dir, name)).map_err(|why| format!("its index: {why}"))?;
    let pack =
        Pack::open(dir, name).map_err(|e| format!("{}: {e}", pack_path(dir, name).display()))?;
    Ok((pack, records))
}
