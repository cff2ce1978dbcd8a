//! The store's lock file and the contract between writers and gc (see the [module
//! docs](super#concurrency-contract)): puts and pins hold a shared `flock` while they run,
//! a [`WriteGuard`] holds one from the first put of a DAG to its pin, gc holds the exclusive
//! lock. Also which threads of this process hold guards, so that a gc which would wait for its
//! own thread is refused instead.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::thread::ThreadId;

use rustix::fs::{flock, FlockOperation};
use rustix::io::Errno;

use super::paths::LOCK;
use super::{io_error, Store};
use crate::block::BlockError;

/// A shared lock on a store's lock file: while it is alive, gc waits. See the module docs.
#[derive(Debug)]
#[must_use = "a WriteGuard protects puts from gc only while it is alive"]
pub struct WriteGuard {
    _lock: File,
    key: PathBuf,
    thread: ThreadId,
}

impl Drop for WriteGuard {
    fn drop(&mut self) {
        let mut held = held_guards();
        if let Some(i) = held
            .iter()
            .position(|(k, t)| *k == self.key && *t == self.thread)
        {
            held.swap_remove(i);
        }
    }
}

/// The write guards this process holds: (store key, thread that took it).
static HELD_GUARDS: Mutex<Vec<(PathBuf, ThreadId)>> = Mutex::new(Vec::new());

fn held_guards() -> MutexGuard<'static, Vec<(PathBuf, ThreadId)>> {
    // The list is only pushed to and removed from: a panic cannot leave it inconsistent.
    HELD_GUARDS.lock().unwrap_or_else(|p| p.into_inner())
}

impl Store {
    /// Takes a shared lock on the store for the guard's lifetime: gc waits until it is dropped.
    /// Hold one from the first put of a DAG until after its root is pinned.
    pub fn writer(&self) -> Result<WriteGuard, BlockError> {
        let lock = self.lock(FlockOperation::LockShared)?;
        let thread = std::thread::current().id();
        held_guards().push((self.key.clone(), thread));
        Ok(WriteGuard {
            _lock: lock,
            key: self.key.clone(),
            thread,
        })
    }

    /// Whether this thread holds a [`WriteGuard`] on this store (through any clone or any
    /// store opened on the same directory).
    pub(super) fn this_thread_holds_a_guard(&self) -> bool {
        let me = std::thread::current().id();
        held_guards()
            .iter()
            .any(|(k, t)| *k == self.key && *t == me)
    }

    /// Takes `op` (a blocking lock) on the lock file; released when the file is dropped.
    pub(super) fn lock(&self, op: FlockOperation) -> Result<File, BlockError> {
        match self.try_lock(op)? {
            Some(file) => Ok(file),
            None => Err(BlockError::Other(format!(
                "cannot lock {}: it is busy",
                self.dir.join(LOCK).display()
            ))),
        }
    }

    /// Takes `op` on the lock file; `None` if `op` is non-blocking and the lock is held.
    pub(super) fn try_lock(&self, op: FlockOperation) -> Result<Option<File>, BlockError> {
        let path = self.dir.join(LOCK);
        let file = open_lock_file(&path).map_err(|e| io_error("open lock file", &path, e))?;
        loop {
            match flock(&file, op) {
                Ok(()) => return Ok(Some(file)),
                Err(e) if e == Errno::INTR => continue,
                Err(e) if e == Errno::WOULDBLOCK => return Ok(None),
                Err(e) => return Err(io_error("lock", &path, e.into())),
            }
        }
    }
}

/// Opens (creating if needed) the lock file at `path`.
pub(super) fn open_lock_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}
