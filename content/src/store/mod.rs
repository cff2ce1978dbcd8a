//! The embedded block store: blocks as files in a directory, the default when no IPFS node is
//! configured. This file owns the [`Store`] type and opening one; the rest is in one file per
//! job, each saying what it owns:
//!
//! - `paths.rs`: where blocks, pins and temp files live and how they are named (the layout
//!   below), listing them, the upkeep of `tmp/`;
//! - `write.rs`: the store's one way to write a file, through [`crate::atomic`], and how it
//!   is made durable ([`Store::sync`]);
//! - `batch.rs`: [`Batch`], write-behind for imports (small blocks packed, larger ones written
//!   by threads of their own);
//! - `pack/`: packs of small blocks: their formats, writing and sealing them, finding blocks in
//!   them, and gc's sweep of them;
//! - `packed.rs`: the store's reads of packed blocks (which copy a reader takes, what a writer
//!   finds there already);
//! - `blocks.rs`: putting, reading, verifying, listing and removing blocks;
//! - `lock.rs`: the lock file, [`WriteGuard`], and the contract between writers and gc;
//! - `pins.rs`: pins and their labels;
//! - `gc.rs`: mark (the one DAG walk, [`crate::walk`]) and sweep, [`GcReport`], and its dry run;
//! - `verify.rs`: re-hashing blocks and finding what pinned DAGs miss, [`VerifyReport`];
//! - `stat.rs`: counting blocks, bytes and pins, [`StoreStat`].
//!
//! # Where
//!
//! `--store DIR` if given (the CLI decides), else [`default_dir`]: `$WW_STORE`, else
//! `$XDG_DATA_HOME/ww/blocks`, else `$HOME/.local/share/ww/blocks`.
//!
//! # Layout
//!
//! ```text
//! <dir>/
//!   lock                    advisory lock file (flock), never removed; empty
//!   blocks/<xy>/<cidv1>     one file per block: exactly the block's bytes; mode 0444 less the
//!                           umask (or any
//!                           mode with the owner's read bit); without it, a block still being
//!                           written in place, or left so by an interrupted write: not there
//!   packs/<name>.pack       small blocks a batch stored, many to a file (`pack/`)
//!   packs/<name>.idx        its index; the pack is sealed (readable) once the index is there
//!   pins/<cidv1>            one file per pinned root: its label (UTF-8), empty if none
//!   tmp/<what>-<pid>-<n>-<nanos>   the probe of a writable store (and temp files of older versions)
//! ```
//!
//! A block's key is its CID in CIDv1 form ([`Cid::to_v1`]) written in lowercase base32
//! (`bafy...`, `bafk...`): a CIDv0 and the dag-pb CIDv1 of the same hash name the same file, while
//! two CIDs with the same multihash but different codecs are different blocks. `<xy>` is the
//! shard: the two characters before the last one of that text (go-ds-flatfs's `next-to-last/2`;
//! the start of a CIDv1 text is nearly constant, and its last character carries few bits).
//! Files in `blocks/` whose name is not a canonical CIDv1 in its right shard are ignored; hidden
//! ones (`.<name>...`, the temp files [`crate::atomic`] writes beside a block or pin) are
//! removed by gc.
//!
//! Blocks whose multihash is the identity "hash" are never written: their bytes are their CID.
//!
//! # Writes
//!
//! [`Store::put`](crate::block::BlockSink::put) checks the bytes against the CID (a store never
//! holds a block it knows to be wrong), does nothing if the block file already exists with these
//! very bytes, and otherwise writes it **in place**: the file is created exclusively (`O_EXCL`)
//! with mode 0244 (less the umask), written, then made readable (0444 less the umask). A file without the owner's read bit is,
//! to every reader ([`Store::get`], [`Store::has`], verify), not the block: it is being written
//! by another process, or its writer died (kill -9, a crash); the next put of the block
//! replaces it and gc removes it. That is half the cost of a temp file renamed into place (a
//! tree of small files is one new file per block), with the same promise: no reader ever takes
//! half a block for a block, and nothing finds a block "already there" that is not whole. An
//! existing block file with other bytes (corrupt on disk, or damaged by hand), or an incomplete
//! one, is replaced by the verified bytes through a new file in `tmp/` renamed over it: storing
//! good bytes repairs it, and [`Store::repaired`] lists what was repaired, so that `add`,
//! `import`, `pull` and the chain's fetches can say so. Several threads and processes may put
//! the same or different blocks at once: in a process, writers of one file take turns, across
//! processes the exclusive create lets one write a new block and the rename replaces a file
//! with identical bytes. Reads are verified ([`Store::get`]) and take no lock.
//!
//! # Packs
//!
//! A [`Batch`] (what `add`, `import` and `build` write through) appends blocks of at most
//! [`MAX_PACKED`] bytes to a pack of its own instead: one file for a whole tree of small files,
//! where one file per block cost the kernel an inode each. Readers look for a block file first,
//! then in the sealed packs (their indexes loaded into memory once per store handle, reloaded
//! when `packs/` changes). The promises are those of block files: a pack is read only once its
//! index is in place, every read is verified, a record cut short is absent, a damaged packed block
//! is repaired by a block file (which wins), and the pin's sync covers packs as it covers block
//! files. See `pack/mod.rs` for the formats.
//!
//! # Durability
//!
//! A put does not fsync: until the file system is synced a crash of the machine may lose the
//! block, leave its file empty or short, or without its read bit. The commit point is the
//! pin: [`Store::pin`] first syncs the store's whole file system (`syncfs(2)`, [`Store::sync`]),
//! which makes every block written before it durable, whoever wrote it (a block
//! another process wrote and this one found in place is covered too), then writes the pin file
//! with an fsync of it and of `pins/`. So a pinned root's blocks are on disk before the pin
//! is, and a crash before the pin leaves only unpinned blocks, each either whole or detected:
//! every read verifies the bytes against the CID, a put of the block replaces a damaged file,
//! `wwpack verify` reports (and with `--repair` refetches) damaged ones, and gc removes
//! unpinned ones. An import of many small files thus pays one journal commit instead of one
//! fsync per block and per directory.

//! # Pins and gc
//!
//! A pin records a root; [`Store::gc`] removes every block not reachable from a pin (following
//! dag-pb links). Pinning does not require the DAG below the root to be complete: gc keeps
//! what is there and counts what is missing. A block reachable from a pin that does not verify is
//! kept, reported in [`GcReport::corrupt`] and logged; its links are followed when they can still
//! be read.
//!
//! # Concurrency contract
//!
//! The file `<dir>/lock` is locked with `flock`: every put and pin holds a shared lock while it
//! runs, and gc holds the exclusive lock for its whole mark and sweep, so gc never sees half a
//! write and waits for writers (and writers for it). A block put and pinned later would still be
//! swept by a gc that runs between the two, so whoever writes a DAG and then pins it (an
//! import) holds a [`WriteGuard`] ([`Store::writer`]) from before its first put until after the
//! pin: while any guard is alive, gc waits ([`Store::try_gc`] returns `None` instead). A
//! thread must not call [`Store::gc`] while it holds a guard on the same store; that is reported
//! as an error rather than waiting forever. `flock` locks are reliable on local file systems
//! only.

use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::block::BlockError;
use crate::cid::Cid;

mod batch;
mod blocks;
mod gc;
mod lock;
mod pack;
mod packed;
mod paths;
mod pins;
mod stat;
mod verify;
mod write;

pub use batch::Batch;
pub use blocks::BlockLocation;
pub use gc::GcReport;
pub use lock::WriteGuard;
pub use pack::MAX_PACKED;
pub use stat::StoreStat;
pub use verify::VerifyReport;

/// Temp files older than this are left over from a crashed writer; [`Store::open`] removes them.
const STALE_TEMP: Duration = Duration::from_secs(60 * 60);

/// The default store directory: `$WW_STORE` if set and non-empty, else
/// `$XDG_DATA_HOME/ww/blocks` (if absolute, as the XDG spec asks), else
/// `$HOME/.local/share/ww/blocks`; `None` without any of them. `--store DIR` takes precedence.
pub fn default_dir() -> Option<PathBuf> {
    crate::dirs::ww_dir(Some("WW_STORE"), crate::dirs::Home::Data, "blocks")
}

/// A block store in a directory. Cheap to clone; all clones and all stores opened on the same
/// directory, in any process, share the same files and lock.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    /// `dir` made canonical: how this process recognises its own guards and writes on the store.
    key: PathBuf,
    /// Blocks whose file did not hold their bytes and were rewritten, shared by the clones.
    repaired: Arc<Mutex<Vec<Cid>>>,
    /// The sealed packs, as this process has loaded them (`pack/`).
    packs: Arc<pack::PackSet>,
    /// The block files renamed into place since the last [`Store::sync`]: what a power loss
    /// may damage, for the crash simulation of `crash_tests.rs`.
    #[cfg(test)]
    unsynced: Arc<Mutex<Vec<PathBuf>>>,
}

impl Store {
    /// Opens the store in `dir`, creating the directory and its layout if missing, and checks
    /// that it is writable by creating a file in it. Removes temp files older than an hour.
    pub fn open(dir: &Path) -> Result<Store, BlockError> {
        let not_writable = |why: String| {
            BlockError::Other(format!(
                "block store {} is not writable: {why}",
                dir.display()
            ))
        };
        match fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(meta) if meta.is_file() => {
                return Err(not_writable("it is a regular file, not a directory".into()))
            }
            Ok(_) => return Err(not_writable("it is not a directory".into())),
            Err(_) => fs::create_dir_all(dir)
                .map_err(|e| not_writable(format!("cannot create it: {e}")))?,
        }
        for sub in paths::SUBDIRS {
            let path = dir.join(sub);
            match fs::create_dir(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    if !path.is_dir() {
                        return Err(not_writable(format!(
                            "{} is not a directory",
                            path.display()
                        )));
                    }
                }
                Err(e) => {
                    return Err(not_writable(format!(
                        "cannot create {}: {e}",
                        path.display()
                    )))
                }
            }
        }
        let lock = dir.join(paths::LOCK);
        lock::open_lock_file(&lock).map_err(|e| {
            not_writable(format!("cannot open the lock file {}: {e}", lock.display()))
        })?;

        let store = Store::at(dir);
        // Permission bits say little (root writes anywhere, a read-only mount refuses root):
        // try it.
        let probe = store.temp_path("probe");
        File::options()
            .write(true)
            .create_new(true)
            .open(&probe)
            .map_err(|e| {
                not_writable(format!(
                    "cannot create a file in {}: {e}",
                    dir.join(paths::TMP).display()
                ))
            })?;
        // A concurrent gc may have removed it already.
        let _ = fs::remove_file(&probe);
        store.clean_temp(Some(STALE_TEMP));
        Ok(store)
    }

    /// Opens an existing store for reading only: nothing is created, locked or written, so a
    /// read-only store (or one owned by another user) serves `cat`, `ls` and `export`, and a
    /// mistyped path is an error instead of a new empty store. Writing through it fails.
    pub fn open_read_only(dir: &Path) -> Result<Store, BlockError> {
        if !dir.join(paths::BLOCKS).is_dir() {
            return Err(BlockError::Other(format!(
                "no block store at {}: it has no `{}` directory (wwpack add, import or build create one)",
                dir.display(),
                paths::BLOCKS,
            )));
        }
        Ok(Store::at(dir))
    }

    fn at(dir: &Path) -> Store {
        Store {
            dir: dir.to_path_buf(),
            key: fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()),
            repaired: Default::default(),
            packs: Default::default(),
            #[cfg(test)]
            unsynced: Default::default(),
        }
    }

    /// The blocks this store (or a clone) has repaired so far: their file held other bytes and
    /// was replaced by verified ones. In the order repaired.
    pub fn repaired(&self) -> Vec<Cid> {
        self.repaired
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The store's directory, as given to [`Store::open`].
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// An I/O error of the store on `path`.
fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> BlockError {
    BlockError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod tests;
