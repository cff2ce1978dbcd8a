//! The store's two ways to write a file: a new block in place ([`Turn::create`], exclusive,
//! readable only once whole), and a block that replaces a damaged one or a pin
//! ([`Turn::write`]: an [`crate::atomic::NewFile`] in the store's `tmp/`, a name unique to the
//! call, renamed into place). A block is not synced
//! ([`Durability::Batched`]: the pin that commits it syncs the whole file system first); a pin
//! is fsynced, renamed and its directory fsynced ([`Durability::Now`]). In this process, the
//! writers of one destination take
//! turns ([`Store::turn`]), so a block that several threads store at once is checked and written
//! once, not once per thread. A temp file left by a crash stays in `tmp/`, which
//! [`Store::open`] and gc clear.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

use super::Store;
use crate::block::BlockError;

/// The mode a block file is created with to be written in place ([`Turn::create`]), less the
/// umask: without the owner's read bit, which readers take to mean "not there yet"
/// ([`is_complete`]); the group's and others' read bits as the umask allows.
const WRITING_MODE: u32 = 0o244;
/// The owner's bits of a whole block file written in place: read only (blocks never change).
/// The group's and others' are the ones it was created with.
const OWNER_DONE: u32 = 0o400;

/// Whether a file of the store is whole: not one being written in place, or left by a write in
/// place that was interrupted ([`Turn::create`]).
pub(super) fn is_complete(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o400 != 0
}

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

/// When a write reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Durability {
    /// At the next sync of the store's file system ([`Store::sync`]): atomic, but after a
    /// crash of the machine the file may be missing, empty or short, which reads and puts
    /// detect (a block is verified against its CID).
    Batched,
    /// Before the write returns: file and directory fsynced.
    Now,
}

impl Store {
    /// Makes every write to the store's file system durable, by this process or any other
    /// (`syncfs(2)`): every block file renamed into place before the call is on disk whole
    /// once it returns. One journal commit for a whole import, where an fsync per block cost
    /// one each. Errors of earlier writeback on the file system are reported here.
    pub fn sync(&self) -> Result<(), BlockError> {
        let dir =
            std::fs::File::open(&self.dir).map_err(|e| super::io_error("open", &self.dir, e))?;
        rustix::fs::syncfs(&dir).map_err(|e| super::io_error("syncfs", &self.dir, e.into()))?;
        #[cfg(test)]
        self.unsynced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }

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

    /// Creates the file with `data` where nothing is yet, in place (no temporary file, no
    /// rename: half the cost of [`Turn::write`] for a small block): made without read
    /// permission, written, then made readable ([`is_complete`]), so that a reader in another
    /// process never takes a file being written for a block, and a write interrupted by a crash
    /// or kill is seen as incomplete, replaced by the next put and removed by gc.
    /// `Ok(false)` when a file is there already. Not synced ([`Durability::Batched`]).
    pub(super) fn create(&self, data: &[u8]) -> Result<bool, BlockError> {
        use std::fs::{OpenOptions, Permissions};
        use std::io::Write;
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let open = || {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(WRITING_MODE)
                .open(&self.dest)
        };
        let mut file = match open() {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match std::fs::create_dir(dest_dir(&self.dest)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(super::io_error("create", dest_dir(&self.dest), e)),
                }
                match open() {
                    Ok(file) => file,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
                    Err(e) => return Err(super::io_error("create", &self.dest, e)),
                }
            }
            Err(e) => return Err(super::io_error("create", &self.dest, e)),
        };
        let written = file.write_all(data).and_then(|()| {
            let others = file.metadata()?.permissions().mode() & 0o077;
            file.set_permissions(Permissions::from_mode(OWNER_DONE | others))
        });
        if let Err(e) = written {
            drop(file);
            let _ = std::fs::remove_file(&self.dest);
            return Err(super::io_error("write", &self.dest, e));
        }
        Ok(true)
    }

    /// Replaces the file with `data`, atomically, as durable as `durability` says. The temporary
    /// file is made in `tmp/`, not beside the destination, so that a crash leaves it where the
    /// store's upkeep removes it. A missing destination directory (a block's shard) is made.
    pub(super) fn write(&self, data: &[u8], durability: Durability) -> Result<(), BlockError> {
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
        let rename = |temp: &Path, dest: &Path| match std::fs::rename(temp, dest) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !dest_dir(dest).exists() => {
                match std::fs::create_dir(dest_dir(dest)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
                std::fs::rename(temp, dest)
            }
            done => done,
        };
        match durability {
            Durability::Batched => new.put_unsynced(rename),
            Durability::Now => new.put(rename),
        }
        .map_err(io("put in place", &self.dest))
    }
}

/// The directory `dest` goes in.
fn dest_dir(dest: &Path) -> &Path {
    dest.parent().unwrap_or(Path::new("."))
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
