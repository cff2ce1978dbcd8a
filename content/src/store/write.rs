//! The store's one way to write a file (a block or a pin): [`crate::atomic::write_file`], which
//! writes a temp file beside the destination (a name unique to the call), fsyncs it, renames it
//! into place and fsyncs the directory. In this process, the writers of one destination take
//! turns ([`Store::turn`]), so a block that several threads store at once is checked and written
//! once, not once per thread. A temp file left by a crash is hidden (`.<name>.tmp-...`) and
//! removed by gc.

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
            key,
        }
    }
}

impl Turn {
    /// The file this turn writes.
    pub(super) fn path(&self) -> &Path {
        &self.dest
    }

    /// Replaces the file with `data`, atomically.
    pub(super) fn write(&self, data: &[u8]) -> Result<(), BlockError> {
        crate::atomic::write_file(&self.dest, data).map_err(|e| match e {
            crate::Error::Io {
                path,
                action,
                source,
            } => BlockError::Io {
                path,
                action,
                source,
            },
            crate::Error::Block(e) => e,
            e => BlockError::Other(e.to_string()),
        })
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
