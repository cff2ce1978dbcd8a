//! The cache's locks (the design is in the [cache module docs](super#pruning)): the cache-wide
//! lock file `<cache>/lock`, shared by every `ww run` while it writes and checks files and roots,
//! exclusive for a prune; and the leases in `<cache>/held/`, one per running `ww`, naming the
//! root and files it uses, each locked (shared) by its `ww` until it ends.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{flock, AtFlags, FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;
use ww_content::beneath::Dir;

use crate::error::BootError;

/// The cache-wide lock file, below the cache directory. Never removed; empty.
pub const LOCK: &str = "lock";
/// The directory of the leases of running `ww`s, below the cache directory.
pub const HELD: &str = "held";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A lock on `<cache>/lock`, released when dropped.
#[derive(Debug)]
#[must_use = "the lock is released when it is dropped"]
pub struct CacheLock {
    _file: File,
}

/// Which lock to take on `<cache>/lock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// A writer's (`ww run` while it loads): prunes wait.
    Shared,
    /// A pruner's: writers and other pruners wait.
    Exclusive,
}

/// Opens (creating it, mode 0644) the lock file of the cache `dir` and takes `kind` on it,
/// waiting for it when `wait`, else `Ok(None)` when it is held. The lock file is opened without
/// following a symlink and must be a regular file.
pub fn lock(dir: &Path, kind: LockKind, wait: bool) -> Result<Option<CacheLock>, BootError> {
    let path = dir.join(LOCK);
    let bad = |e: std::io::Error| {
        BootError::Host(format!(
            "cannot open the cache's lock file {}: {e}",
            path.display()
        ))
    };
    let flags = OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    // Read-only when the cache is someone else's: flock needs no write access. Mode 0644: it
    // is empty, and others' runs lock it too.
    let fd = match rustix::fs::open(
        &path,
        flags | OFlags::RDWR | OFlags::CREATE,
        Mode::from_raw_mode(0o644),
    ) {
        Err(Errno::ACCESS) | Err(Errno::ROFS) | Err(Errno::PERM) => {
            rustix::fs::open(&path, flags | OFlags::RDONLY, Mode::empty())
        }
        other => other,
    }
    .map_err(|e| bad(e.into()))?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| bad(e.into()))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(bad(std::io::Error::other(
            "not a regular file (ww makes it one): remove it",
        )));
    }
    let file = File::from(fd);
    let op = match (kind, wait) {
        (LockKind::Shared, true) => FlockOperation::LockShared,
        (LockKind::Shared, false) => FlockOperation::NonBlockingLockShared,
        (LockKind::Exclusive, true) => FlockOperation::LockExclusive,
        (LockKind::Exclusive, false) => FlockOperation::NonBlockingLockExclusive,
    };
    match try_flock(&file, op) {
        Ok(true) => Ok(Some(CacheLock { _file: file })),
        Ok(false) => Ok(None),
        Err(e) => Err(BootError::Host(format!(
            "cannot lock the cache's lock file {}: {e}",
            path.display()
        ))),
    }
}

/// `flock(op)`, retried on `EINTR`; `Ok(false)` when a non-blocking `op` finds it held.
fn try_flock(fd: impl AsFd, op: FlockOperation) -> std::io::Result<bool> {
    loop {
        match flock(&fd, op) {
            Ok(()) => return Ok(true),
            Err(Errno::INTR) => continue,
            Err(Errno::WOULDBLOCK) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
    }
}

/// A running `ww`'s lease on the root and files it uses: the file `<cache>/held/<pid>-<n>`,
/// locked (shared) for the lease's life. Dropping it removes the file and releases the lock;
/// a `ww` that dies leaves a file that nobody locks, which the next prune removes.
#[derive(Debug)]
#[must_use = "the entries are held only while the lease is alive"]
pub struct Lease {
    file: File,
    path: PathBuf,
}

impl Lease {
    /// Writes and locks a lease on the root `root` and the files `files` (their names below
    /// `roots/` and `files/`) in the cache `dir`. Call it while holding the shared
    /// [`CacheLock`], so that no prune runs before the lease is locked.
    pub fn take(dir: &Path, root: &str, files: &BTreeSet<String>) -> Result<Lease, BootError> {
        let held = open_held(dir, true)?
            .ok_or_else(|| BootError::Host(format!("{} vanished", dir.join(HELD).display())))?;
        // A dead ww of the same pid may have left the name: the next one is tried.
        let (name, made) = loop {
            let name = format!(
                "{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            match held.create_file(&name, 0o600) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                made => break (name, made),
            }
        };
        let path = held.path_of(&name);
        let fail = |e: std::io::Error| {
            BootError::Host(format!("cannot write the lease {}: {e}", path.display()))
        };
        let mut file = made.map_err(fail)?;
        let lease = Lease {
            file: file.try_clone().map_err(fail)?,
            path: path.clone(),
        };
        try_flock(&file, FlockOperation::LockShared).map_err(fail)?;
        let mut text = format!("root {root}\n");
        for f in files {
            text.push_str("file ");
            text.push_str(f);
            text.push('\n');
        }
        file.write_all(text.as_bytes()).map_err(fail)?;
        Ok(lease)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Removed first, unlocked after (when `file` closes): a prune that opened it meanwhile
        // finds it unlocked and removes a name that is gone already.
        let _ = std::fs::remove_file(&self.path);
        let _ = try_flock(&self.file, FlockOperation::Unlock);
    }
}

/// What the running `ww`s hold: root and file names, from their locked leases.
#[derive(Debug, Default, Clone)]
pub struct Held {
    pub roots: BTreeSet<String>,
    pub files: BTreeSet<String>,
    /// How many running `ww`s hold leases.
    pub runs: usize,
}

/// `<cache>/held`, opened beneath the cache directory without following a symlink; `None` when
/// it does not exist (and `create` is false).
fn open_held(dir: &Path, create: bool) -> Result<Option<Dir>, BootError> {
    let path = dir.join(HELD);
    if create {
        match rustix::fs::mkdir(&path, Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => {
                return Err(BootError::Host(format!(
                    "cannot create {}: {}",
                    path.display(),
                    std::io::Error::from(e)
                )))
            }
        }
    }
    match Dir::open(&path) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(BootError::Host(format!(
            "cannot open {} (it must be a directory ww made, not a symlink): {e}",
            path.display()
        ))),
    }
}

/// The leases of the running `ww`s of the cache `dir`. A lease nobody locks any more (its `ww`
/// died) is removed when `remove_stale` (only under the exclusive [`CacheLock`]), else skipped.
pub fn held(dir: &Path, remove_stale: bool) -> Result<Held, BootError> {
    let mut held = Held::default();
    let Some(leases) = open_held(dir, false)? else {
        return Ok(held);
    };
    let names = leases
        .names()
        .map_err(|e| BootError::Host(format!("cannot read {}: {e}", leases.path().display())))?;
    for name in names {
        let os = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&name);
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let fd = match rustix::fs::openat(&leases, os, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => continue,
            Err(_) => {
                // Not a lease ww wrote (a symlink, a FIFO, ...): removed as stale.
                if remove_stale {
                    let _ = unlink_any(&leases, &name);
                }
                continue;
            }
        };
        let is_file = rustix::fs::fstat(&fd)
            .map(|s| FileType::from_raw_mode(s.st_mode) == FileType::RegularFile)
            .unwrap_or(false);
        let mut file = File::from(fd);
        let unlocked =
            is_file && try_flock(&file, FlockOperation::NonBlockingLockExclusive).unwrap_or(false);
        if !is_file || unlocked {
            if remove_stale {
                let _ = unlink_any(&leases, &name);
            }
            continue;
        }
        let mut text = String::new();
        // At most what a lease of a large image holds; a lease is ww's own file.
        if (&mut file)
            .take(64 << 20)
            .read_to_string(&mut text)
            .is_err()
        {
            continue;
        }
        held.runs += 1;
        for line in text.lines() {
            match line.split_once(' ') {
                Some(("root", id)) => {
                    held.roots.insert(id.to_string());
                }
                Some(("file", id)) => {
                    held.files.insert(id.to_string());
                }
                _ => {}
            }
        }
    }
    Ok(held)
}

/// Removes the non-directory `name` in `dir` (never following it).
fn unlink_any(dir: &Dir, name: &[u8]) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    rustix::fs::unlinkat(dir, std::ffi::OsStr::from_bytes(name), AtFlags::empty())?;
    Ok(())
}
