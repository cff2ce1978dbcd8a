//! The store's one way to write a file (a block or a pin): an [`crate::atomic::NewFile`] in the
//! store's `tmp/` (a name unique to the call), fsynced, renamed into place, and the directory
//! fsynced. In this process, the writers of one destination take
//! turns ([`Store::turn`]), so a block that several threads store at once is checked and written
//! once, not once per thread. A temp file left by a crash stays in `tmp/`, which
//! [`Store::open`] and gc clear.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

use super::Store;
use crate::block::BlockError;

/// The destinations being written in this process, by canonical path.
static WRITING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Signalled when a destination leaves [`WRITING`].
static WRITTEN: Condvar = Condvar::new();

fn writing() -> MutexGuard<'static, Vec<PathBuf>> {
    // The list is only pushed to and removed from: a panic cannot leave it inconsistent.
    WRITING.lock().unwrap_or_else(|p| p.into_inner())
}

/// This thread's turn to write one file of the store; the next writer of the file waits until
/// it is dropped.
#[must_use]
pub(super) struct Turn {
    dest: PathBuf,
    /// The store's `tmp/`, where the file is written before it is renamed into place.
    tmp: PathBuf,
    key: PathBuf,
}

impl Store {
    /// Waits until no other thread of this process writes `rel` (a path below the store's
    /// directory), then takes the turn.
    pub(super) fn turn(&self, rel: &Path) -> Turn {
        let key = self.key.join(rel);
        let mut busy = writing();
        while busy.contains(&key) {
            busy = WRITTEN.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        busy.push(key.clone());
        Turn {
            dest: self.dir.join(rel),
            tmp: self.dir.join(super::paths::TMP),
            key,
        }
    }
}

impl Turn {
    /// The file this turn writes.
    pub(super) fn path(&self) -> &Path {
        &self.dest
    }

    /// Replaces the file with `data`, atomically. The temporary file is made in `tmp/`, not
    /// beside the destination: a new name in the shard directory costs a second journal
    /// commit when the block is synced (the store into a tree of small files ran at half the
    /// files/s), and a crash leaves it where the store's upkeep removes it.
    pub(super) fn write(&self, data: &[u8]) -> Result<(), BlockError> {
        use std::io::Write;
        let io = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| BlockError::Io {
                path,
                action,
                source,
            }
        };
        let mut new = crate::atomic::NewFile::create(&self.tmp, "write-", &self.dest, 0o666)
            .map_err(io("create a temporary file for", &self.dest))?;
        new.write_all(data).map_err(io("write", new.temp_path()))?;
        new.replace().map_err(io("put in place", &self.dest))
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut busy = writing();
        if let Some(i) = busy.iter().position(|k| *k == self.key) {
            busy.swap_remove(i);
        }
        drop(busy);
        WRITTEN.notify_all();
    }
}
