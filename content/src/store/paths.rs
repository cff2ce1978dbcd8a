//! Where a store keeps things and what they are called: `blocks/<shard>/<cidv1>`,
//! `pins/<cidv1>`, `tmp/`, `lock` (the layout of the [module docs](super)); listing the block
//! files, finding the hidden leftovers of interrupted writes, and the upkeep of `tmp/`.

use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{io_error, Store};
use crate::block::BlockError;
use crate::cid::{Cid, Version};

pub(super) const BLOCKS: &str = "blocks";
pub(super) const PINS: &str = "pins";
pub(super) const TMP: &str = "tmp";
pub(super) const LOCK: &str = "lock";
/// The directories [`Store::open`] creates.
pub(super) const SUBDIRS: [&str; 4] = [BLOCKS, super::pack::PACKS, PINS, TMP];

impl Store {
    /// The file that holds (or would hold) the block `cid`.
    pub fn block_path(&self, cid: &Cid) -> PathBuf {
        self.dir.join(block_rel(cid))
    }

    /// Every block file with its CID, in CID order: the files of `blocks/` named by a canonical
    /// CIDv1 in its right shard, nothing else.
    pub(super) fn block_files(&self) -> Result<Vec<(Cid, PathBuf)>, BlockError> {
        let mut out = Vec::new();
        for (shard_name, shard_dir, entry) in self.shard_entries()? {
            let name = entry.file_name();
            let cid = name
                .to_str()
                .filter(|n| shard_name == shard(n))
                .and_then(parse_key)
                .filter(|_| entry.file_type().is_ok_and(|t| t.is_file()));
            match cid {
                Some(cid) => out.push((cid, shard_dir.join(name))),
                None => tracing::debug!(path = %entry.path().display(), "not a block; ignored"),
            }
        }
        out.sort();
        Ok(out)
    }

    /// The hidden files in the shard directories and in `pins/`: what a write interrupted by a
    /// crash left beside its destination (no block or pin has a name starting with a dot).
    /// Only the caller of gc, holding the exclusive lock, may remove them.
    pub(super) fn hidden_files(&self) -> Result<Vec<PathBuf>, BlockError> {
        let hidden = |entry: &fs::DirEntry| {
            entry.file_name().as_encoded_bytes().first() == Some(&b'.')
                && entry.file_type().is_ok_and(|t| t.is_file())
        };
        let mut out: Vec<PathBuf> = self
            .shard_entries()?
            .into_iter()
            .filter(|(_, _, entry)| hidden(entry))
            .map(|(_, _, entry)| entry.path())
            .collect();
        let pins = self.dir.join(PINS);
        for entry in fs::read_dir(&pins).map_err(|e| io_error("list", &pins, e))? {
            let entry = entry.map_err(|e| io_error("list", &pins, e))?;
            if hidden(&entry) {
                out.push(entry.path());
            }
        }
        Ok(out)
    }

    /// Every entry of every shard directory, with the shard's name and directory.
    fn shard_entries(&self) -> Result<Vec<(String, PathBuf, fs::DirEntry)>, BlockError> {
        let root = self.dir.join(BLOCKS);
        let mut out = Vec::new();
        for shard_entry in fs::read_dir(&root).map_err(|e| io_error("list", &root, e))? {
            let shard_entry = shard_entry.map_err(|e| io_error("list", &root, e))?;
            let shard_dir = shard_entry.path();
            if !shard_entry.file_type().is_ok_and(|t| t.is_dir()) {
                tracing::debug!(path = %shard_dir.display(), "not a shard directory; ignored");
                continue;
            }
            let shard_name = shard_entry.file_name().to_string_lossy().into_owned();
            let entries = match fs::read_dir(&shard_dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error("list", &shard_dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| io_error("list", &shard_dir, e))?;
                out.push((shard_name.clone(), shard_dir.clone(), entry));
            }
        }
        Ok(out)
    }

    /// A new, unique path in `tmp/`.
    pub(super) fn temp_path(&self, what: &str) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        self.dir
            .join(TMP)
            .join(format!("{what}-{}-{n}-{nanos}", std::process::id()))
    }

    /// Removes the files in `tmp/` (those older than `older_than`, if given). Best effort.
    pub(super) fn clean_temp(&self, older_than: Option<Duration>) {
        let dir = self.dir.join(TMP);
        let Ok(entries) = fs::read_dir(&dir) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let path = entry.path();
            if let Some(limit) = older_than {
                let age = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| now.duration_since(t).ok());
                if age.is_none_or(|age| age <= limit) {
                    continue;
                }
            }
            match fs::remove_file(&path) {
                Ok(()) => tracing::debug!(path = %path.display(), "removed a leftover temp file"),
                Err(e) => tracing::debug!(path = %path.display(), "cannot remove temp file: {e}"),
            }
        }
    }
}

/// The block file of `cid`, below the store's directory.
pub(super) fn block_rel(cid: &Cid) -> PathBuf {
    let name = cid.to_v1().to_string();
    [BLOCKS, shard(&name), &name].iter().collect()
}

/// The pin file of `root`, below the store's directory.
pub(super) fn pin_rel(root: &Cid) -> PathBuf {
    [PINS, &root.to_v1().to_string()].iter().collect()
}

/// The shard of a block file name: the two characters before the last one.
fn shard(name: &str) -> &str {
    let n = name.len();
    name.get(n.saturating_sub(3)..n.saturating_sub(1))
        .unwrap_or("")
}

/// The CID a store file is named by: a CIDv1 in its canonical text form, nothing else.
pub(super) fn parse_key(name: &str) -> Option<Cid> {
    let cid: Cid = name.parse().ok()?;
    (cid.version() == Version::V1 && cid.to_string() == name).then_some(cid)
}
