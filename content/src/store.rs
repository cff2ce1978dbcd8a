//! The embedded block store: blocks as files in a directory, the default when no IPFS node is
//! configured.
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
//!   blocks/<xy>/<cidv1>     one file per block: exactly the block's bytes
//!   pins/<cidv1>            one file per pinned root: its label (UTF-8), empty if none
//!   tmp/<what>-<pid>-<n>-<nanos>   temp files, renamed into blocks/ or pins/ when complete
//! ```
//!
//! A block's key is its CID in CIDv1 form ([`Cid::to_v1`]) written in lowercase base32
//! (`bafy...`, `bafk...`): a CIDv0 and the dag-pb CIDv1 of the same hash name the same file, while
//! two CIDs with the same multihash but different codecs are different blocks. `<xy>` is the
//! shard: the two characters before the last one of that text (go-ds-flatfs's `next-to-last/2`;
//! the start of a CIDv1 text is nearly constant, and its last character carries few bits).
//! Files in `blocks/` whose name is not a canonical CIDv1 in its right shard are ignored.
//!
//! Blocks whose multihash is the identity "hash" are never written: their bytes are their CID.
//!
//! # Writes
//!
//! [`Store::put`] checks the bytes against the CID (a store never holds a block it knows to be
//! wrong), does nothing if the block file already exists with these very bytes, and otherwise
//! writes a unique temp file in `tmp/`, fsyncs it, renames it into place and fsyncs the shard
//! directory. An existing block file with other bytes (corrupt on disk, or damaged by hand) is
//! replaced by the verified bytes: storing good bytes repairs it, and [`Store::repaired`] lists
//! what was repaired, so that `add`, `import`, `pull` and the chain's fetches can say so. Several
//! threads and processes may put the same or different blocks at once: each writes its own temp
//! file, and a rename replaces a file with identical bytes. Reads are verified
//! ([`Store::get`]) and take no lock.
//!
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

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{flock, FlockOperation};
use rustix::io::Errno;

use crate::block::{self, BlockError, BlockSink, BlockSource};
use crate::cid::{Cid, Version, IDENTITY};

const BLOCKS: &str = "blocks";
const PINS: &str = "pins";
const TMP: &str = "tmp";
const LOCK: &str = "lock";

/// Temp files older than this are left over from a crashed writer; [`Store::open`] removes them.
const STALE_TEMP: Duration = Duration::from_secs(60 * 60);

/// The default store directory: `$WW_STORE` if set and non-empty, else
/// `$XDG_DATA_HOME/ww/blocks` (if absolute, as the XDG spec asks), else
/// `$HOME/.local/share/ww/blocks`; `None` without any of them. `--store DIR` takes precedence.
pub fn default_dir() -> Option<PathBuf> {
    crate::dirs::ww_dir(Some("WW_STORE"), crate::dirs::Home::Data, "blocks")
}

/// What a [`Store::gc`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// Block files kept (reachable from a pin).
    pub kept: usize,
    /// Block files removed.
    pub removed: usize,
    /// Bytes of the removed block files.
    pub bytes_freed: u64,
    /// Blocks reachable from a pin that are not in the store (pinned DAGs may be incomplete).
    pub missing: usize,
    /// Blocks reachable from a pin that do not verify or decode; kept, never removed silently.
    pub corrupt: Vec<Cid>,
}

/// A block store in a directory. Cheap to clone; all clones and all stores opened on the same
/// directory, in any process, share the same files and lock.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    /// `dir` made canonical: how this process recognises its own guards on the store.
    key: PathBuf,
    /// Blocks whose file did not hold their bytes and were rewritten, shared by the clones.
    repaired: std::sync::Arc<Mutex<Vec<Cid>>>,
}

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
        for sub in [BLOCKS, PINS, TMP] {
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
        let lock = dir.join(LOCK);
        open_lock_file(&lock).map_err(|e| {
            not_writable(format!("cannot open the lock file {}: {e}", lock.display()))
        })?;

        let key = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let store = Store {
            dir: dir.to_path_buf(),
            key,
            repaired: Default::default(),
        };
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
                    dir.join(TMP).display()
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
        if !dir.join(BLOCKS).is_dir() {
            return Err(BlockError::Other(format!(
                "no block store at {}: it has no `{BLOCKS}` directory (wwpack add, import or build create one)",
                dir.display()
            )));
        }
        let key = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        Ok(Store {
            dir: dir.to_path_buf(),
            key,
            repaired: Default::default(),
        })
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

    /// The file that holds (or would hold) the block `cid`.
    pub fn block_path(&self, cid: &Cid) -> PathBuf {
        let name = cid.to_v1().to_string();
        self.dir.join(BLOCKS).join(shard(&name)).join(&name)
    }

    fn pin_path(&self, root: &Cid) -> PathBuf {
        self.dir.join(PINS).join(root.to_v1().to_string())
    }

    /// Whether the store holds the block `cid` (not verified).
    pub fn has(&self, cid: &Cid) -> bool {
        is_inline(cid) || self.block_path(cid).is_file()
    }

    /// The block `cid`, verified against the CID: [`BlockError::NotFound`] if absent,
    /// [`BlockError::Mismatch`] if its bytes do not match.
    pub fn get(&self, cid: &Cid) -> Result<Vec<u8>, BlockError> {
        block::get_verified(self, cid)
    }

    /// Removes the block `cid`, pinned or not; `false` if it was not there.
    pub fn remove_block(&self, cid: &Cid) -> Result<bool, BlockError> {
        if is_inline(cid) {
            return Ok(false);
        }
        let path = self.block_path(cid);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error("remove block", &path, e)),
        }
    }

    /// Every block in the store, as CIDv1s in CID order. Temp files and files that are not
    /// named as blocks are not listed.
    pub fn blocks(&self) -> Result<Vec<Cid>, BlockError> {
        Ok(self
            .block_files()?
            .into_iter()
            .map(|(cid, _)| cid)
            .collect())
    }

    /// The blocks whose bytes do not verify against their CID (corrupt, or with a hash or codec
    /// this implementation cannot check), in CID order.
    pub fn verify_all(&self) -> Result<Vec<Cid>, BlockError> {
        let mut bad = Vec::new();
        for (cid, path) in self.block_files()? {
            let data = match fs::read(&path) {
                Ok(data) => data,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error("read block", &path, e)),
            };
            if let Err(e) = block::verify(&cid, &data) {
                tracing::warn!(path = %path.display(), "{e}");
                bad.push(cid);
            }
        }
        Ok(bad)
    }

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

    /// Pins `root`, with an optional label (re-pinning replaces the label). The DAG below
    /// `root` need not be complete, nor even `root` itself be present.
    pub fn pin(&self, root: &Cid, name: Option<&str>) -> Result<(), BlockError> {
        let _lock = self.lock(FlockOperation::LockShared)?;
        self.write_atomic(&self.pin_path(root), name.unwrap_or("").as_bytes())
    }

    /// Unpins `root`; `false` if it was not pinned.
    pub fn unpin(&self, root: &Cid) -> Result<bool, BlockError> {
        let path = self.pin_path(root);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error("remove pin", &path, e)),
        }
    }

    /// The pinned roots, as CIDv1s in CID order.
    pub fn pins(&self) -> Result<Vec<Cid>, BlockError> {
        Ok(self.pins_named()?.into_iter().map(|(cid, _)| cid).collect())
    }

    /// The pinned roots with their labels, in CID order.
    pub fn pins_named(&self) -> Result<Vec<(Cid, Option<String>)>, BlockError> {
        let dir = self.dir.join(PINS);
        let mut pins = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| io_error("list", &dir, e))? {
            let entry = entry.map_err(|e| io_error("list", &dir, e))?;
            let Some(cid) = entry.file_name().to_str().and_then(parse_key) else {
                tracing::debug!(path = %entry.path().display(), "not a pin; ignored");
                continue;
            };
            let path = entry.path();
            let label = match fs::read(&path) {
                Ok(label) => label,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error("read pin", &path, e)),
            };
            let label = (!label.is_empty()).then(|| String::from_utf8_lossy(&label).into_owned());
            pins.push((cid, label));
        }
        pins.sort();
        Ok(pins)
    }

    /// Removes every block not reachable from a pin, and leftover temp files. Waits for the
    /// exclusive lock, i.e. until no put, pin or [`WriteGuard`] is in progress.
    pub fn gc(&self) -> Result<GcReport, BlockError> {
        let me = std::thread::current().id();
        if held_guards()
            .iter()
            .any(|(k, t)| *k == self.key && *t == me)
        {
            return Err(BlockError::Other(format!(
                "cannot gc the block store {}: this thread holds a write guard on it and gc \
                 would wait for it forever; drop the guard first",
                self.dir.display()
            )));
        }
        let _lock = self.lock(FlockOperation::LockExclusive)?;
        self.collect()
    }

    /// Like [`Store::gc`], but `Ok(None)` at once if a writer holds the store.
    pub fn try_gc(&self) -> Result<Option<GcReport>, BlockError> {
        let Some(_lock) = self.try_lock(FlockOperation::NonBlockingLockExclusive)? else {
            return Ok(None);
        };
        self.collect().map(Some)
    }

    /// Mark and sweep; the caller holds the exclusive lock.
    fn collect(&self) -> Result<GcReport, BlockError> {
        let mut report = GcReport::default();
        let mut marked = HashSet::new();
        let mut stack = self.pins()?;
        while let Some(cid) = stack.pop() {
            let cid = cid.to_v1();
            if !marked.insert(cid.clone()) {
                continue;
            }
            let Some(data) = self.get_unverified(&cid)? else {
                tracing::debug!(%cid, "block reachable from a pin is not in the store");
                report.missing += 1;
                continue;
            };
            let children = match block::verify(&cid, &data) {
                Ok(()) => match block::links(&cid, &data) {
                    Ok(links) => links,
                    Err(e) => {
                        tracing::warn!("{e}; reachable from a pin, kept, its links not followed");
                        report.corrupt.push(cid);
                        Vec::new()
                    }
                },
                Err(e) => {
                    tracing::warn!(
                        path = %self.block_path(&cid).display(),
                        "{e}; reachable from a pin, kept"
                    );
                    report.corrupt.push(cid.clone());
                    // Keep what it still links to, if its links can be read.
                    block::links(&cid, &data).unwrap_or_default()
                }
            };
            stack.extend(children);
        }
        report.corrupt.sort();

        for (cid, path) in self.block_files()? {
            if marked.contains(&cid) {
                report.kept += 1;
                continue;
            }
            let size = fs::symlink_metadata(&path).map_or(0, |m| m.len());
            match fs::remove_file(&path) {
                Ok(()) => {
                    report.removed += 1;
                    report.bytes_freed += size;
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("remove block", &path, e)),
            }
        }
        // No put or pin is running: every temp file is left over.
        self.clean_temp(None);
        Ok(report)
    }

    /// Every block file with its CID, in CID order.
    fn block_files(&self) -> Result<Vec<(Cid, PathBuf)>, BlockError> {
        let root = self.dir.join(BLOCKS);
        let mut out = Vec::new();
        for shard_entry in fs::read_dir(&root).map_err(|e| io_error("list", &root, e))? {
            let shard_entry = shard_entry.map_err(|e| io_error("list", &root, e))?;
            let shard_dir = shard_entry.path();
            if !shard_entry.file_type().is_ok_and(|t| t.is_dir()) {
                tracing::debug!(path = %shard_dir.display(), "not a shard directory; ignored");
                continue;
            }
            let shard_name = shard_entry.file_name();
            let entries = match fs::read_dir(&shard_dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error("list", &shard_dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| io_error("list", &shard_dir, e))?;
                let name = entry.file_name();
                let cid = name
                    .to_str()
                    .filter(|n| shard_name.to_str() == Some(shard(n)))
                    .and_then(parse_key)
                    .filter(|_| entry.file_type().is_ok_and(|t| t.is_file()));
                match cid {
                    Some(cid) => out.push((cid, entry.path())),
                    None => {
                        tracing::debug!(path = %entry.path().display(), "not a block; ignored")
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Writes `data` to `dest` atomically: temp file, fsync, rename, fsync of the directory.
    fn write_atomic(&self, dest: &Path, data: &[u8]) -> Result<(), BlockError> {
        let path = self.temp_path("write");
        let mut file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io_error("create temp file", &path, e))?;
        let mut temp = TempFile { path, done: false };
        file.write_all(data)
            .map_err(|e| io_error("write", &temp.path, e))?;
        file.sync_all()
            .map_err(|e| io_error("fsync", &temp.path, e))?;
        drop(file);
        fs::rename(&temp.path, dest).map_err(|e| io_error("rename a temp file to", dest, e))?;
        temp.done = true;
        match dest.parent() {
            Some(parent) => sync_dir(parent),
            None => Ok(()),
        }
    }

    /// A new, unique path in `tmp/`.
    fn temp_path(&self, what: &str) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        self.dir
            .join(TMP)
            .join(format!("{what}-{}-{n}-{nanos}", std::process::id()))
    }

    /// Removes temp files (those older than `older_than`, if given). Best effort.
    fn clean_temp(&self, older_than: Option<Duration>) {
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

    /// Takes `op` (a blocking lock) on the lock file; released when the file is dropped.
    fn lock(&self, op: FlockOperation) -> Result<File, BlockError> {
        match self.try_lock(op)? {
            Some(file) => Ok(file),
            None => Err(BlockError::Other(format!(
                "cannot lock {}: it is busy",
                self.dir.join(LOCK).display()
            ))),
        }
    }

    /// Takes `op` on the lock file; `None` if `op` is non-blocking and the lock is held.
    fn try_lock(&self, op: FlockOperation) -> Result<Option<File>, BlockError> {
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

impl BlockSource for Store {
    fn get_unverified(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        if is_inline(cid) {
            return Ok(Some(cid.hash().digest().to_vec()));
        }
        let path = self.block_path(cid);
        match fs::read(&path) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read block", &path, e)),
        }
    }
}

impl BlockSink for Store {
    /// Stores the block unless it is already there; refuses bytes that do not match `cid`.
    fn put(&self, cid: &Cid, data: &[u8]) -> Result<(), BlockError> {
        block::verify(cid, data)?;
        if is_inline(cid) {
            return Ok(());
        }
        let path = self.block_path(cid);
        let _lock = self.lock(FlockOperation::LockShared)?;
        let mut repair = false;
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() && meta.len() == data.len() as u64 => {
                match fs::read(&path) {
                    Ok(stored) if stored == data => return Ok(()),
                    Ok(_) => {
                        tracing::debug!(path = %path.display(), "block {cid} in the store does not match its CID; replacing it with verified bytes");
                        repair = true;
                    }
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error("read block", &path, e)),
                }
            }
            Ok(meta) if meta.is_file() => {
                tracing::debug!(path = %path.display(), "block {cid} in the store has the wrong length; replacing it with verified bytes");
                repair = true;
            }
            Ok(_) => {
                return Err(BlockError::Other(format!(
                    "block {cid}: {} is in the store but is not a regular file",
                    path.display()
                )))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("inspect", &path, e)),
        }
        if let Some(shard_dir) = path.parent() {
            match fs::create_dir(shard_dir) {
                Ok(()) => sync_dir(&self.dir.join(BLOCKS))?,
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_error("create directory", shard_dir, e)),
            }
        }
        self.write_atomic(&path, data)?;
        if repair {
            self.repaired
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(cid.to_v1());
        }
        Ok(())
    }
}

/// Removes its temp file when dropped, unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    done: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Whether `cid`'s block is its own multihash digest, never stored.
fn is_inline(cid: &Cid) -> bool {
    cid.hash().code() == IDENTITY
}

/// The shard of a block file name: the two characters before the last one.
fn shard(name: &str) -> &str {
    let n = name.len();
    name.get(n.saturating_sub(3)..n.saturating_sub(1))
        .unwrap_or("")
}

/// The CID a store file is named by: a CIDv1 in its canonical text form, nothing else.
fn parse_key(name: &str) -> Option<Cid> {
    let cid: Cid = name.parse().ok()?;
    (cid.version() == Version::V1 && cid.to_string() == name).then_some(cid)
}

fn open_lock_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

fn sync_dir(dir: &Path) -> Result<(), BlockError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("fsync directory", dir, e))
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> BlockError {
    BlockError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cid::{Multihash, DAG_PB, RAW};
    use crate::dagpb::{PbLink, PbNode};
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        (dir, store)
    }

    fn raw(data: &[u8]) -> (Cid, Vec<u8>) {
        (Cid::v1_sha2_256(RAW, data), data.to_vec())
    }

    fn node(links: &[&Cid], data: &[u8]) -> (Cid, Vec<u8>) {
        let node = PbNode {
            links: links
                .iter()
                .map(|&cid| PbLink {
                    cid: cid.clone(),
                    name: Some(String::new()),
                    tsize: None,
                })
                .collect(),
            data: Some(data.to_vec()),
        };
        let bytes = node.encode();
        (Cid::v1_sha2_256(DAG_PB, &bytes), bytes)
    }

    fn v0(cid: &Cid) -> Cid {
        Cid::new_v0(cid.hash().clone()).unwrap()
    }

    fn put(store: &Store, (cid, data): &(Cid, Vec<u8>)) {
        store.put(cid, data).unwrap();
    }

    fn flip_last_bit(path: &Path) {
        let mut bytes = fs::read(path).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        fs::write(path, bytes).unwrap();
    }

    #[test]
    fn put_get_round_trip_and_layout() {
        let (_tmp, store) = store();
        let (cid, data) = raw(b"hello world");
        assert!(!store.has(&cid));
        store.put(&cid, &data).unwrap();
        assert!(store.has(&cid));
        assert_eq!(store.get(&cid).unwrap(), data);
        let name = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";
        let path = store.dir().join("blocks").join("n5").join(name);
        assert_eq!(store.block_path(&cid), path);
        assert_eq!(fs::read(&path).unwrap(), data);
        assert_eq!(store.blocks().unwrap(), vec![cid]);
        assert_eq!(fs::read_dir(store.dir().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn put_is_idempotent_and_refuses_wrong_bytes() {
        let (_tmp, store) = store();
        let (cid, data) = raw(b"once");
        store.put(&cid, &data).unwrap();
        store.put(&cid, &data).unwrap();
        assert_eq!(store.blocks().unwrap(), vec![cid.clone()]);
        assert_eq!(store.get(&cid).unwrap(), data);

        let (other, _) = raw(b"other");
        let err = store.put(&other, b"not other").unwrap_err();
        assert!(matches!(err, BlockError::Mismatch { .. }), "{err}");
        assert!(!store.has(&other));
    }

    #[test]
    fn a_missing_block_is_not_found_naming_the_cid() {
        let (_tmp, store) = store();
        let (cid, _) = raw(b"absent");
        assert!(store.get_unverified(&cid).unwrap().is_none());
        let err = store.get(&cid).unwrap_err();
        assert!(matches!(err, BlockError::NotFound(_)), "{err}");
        assert!(err.to_string().contains(&cid.to_string()), "{err}");
        assert!(!store.remove_block(&cid).unwrap());
    }

    #[test]
    fn a_flipped_bit_is_detected_on_read() {
        let (_tmp, store) = store();
        let good = raw(b"good block");
        let bad = raw(b"soon a bad block");
        put(&store, &good);
        put(&store, &bad);
        flip_last_bit(&store.block_path(&bad.0));
        let err = store.get(&bad.0).unwrap_err();
        assert!(matches!(err, BlockError::Mismatch { .. }), "{err}");
        assert!(err.to_string().contains(&bad.0.to_string()), "{err}");
        assert_eq!(store.verify_all().unwrap(), vec![bad.0.clone()]);
        // Putting the good bytes again repairs a same-length corrupt file, and says so.
        assert!(store.repaired().is_empty());
        put(&store, &bad);
        assert_eq!(store.get(&bad.0).unwrap(), bad.1);
        assert_eq!(store.repaired(), vec![bad.0.clone()]);
        assert!(store.verify_all().unwrap().is_empty());
        // A truncated one too; an intact one is left alone.
        let path = store.block_path(&bad.0);
        fs::write(&path, &bad.1[..3]).unwrap();
        put(&store, &bad);
        put(&store, &good);
        assert_eq!(store.get(&bad.0).unwrap(), bad.1);
        assert_eq!(store.repaired().len(), 2);
    }

    #[test]
    fn cidv0_and_cidv1_address_the_same_block() {
        let (_tmp, store) = store();
        let (v1, data) = node(&[], b"a dag-pb node");
        let v0 = v0(&v1);
        assert_ne!(v0, v1);
        store.put(&v0, &data).unwrap();
        assert!(store.has(&v1));
        assert_eq!(store.get(&v1).unwrap(), data);
        store.put(&v1, &data).unwrap();
        assert_eq!(store.get(&v0).unwrap(), data);
        assert_eq!(store.blocks().unwrap(), vec![v1.clone()]);
        // The same multihash under another codec is another block.
        let as_raw = Cid::new_v1(RAW, v1.hash().clone());
        assert!(!store.has(&as_raw));
        store.put(&as_raw, &data).unwrap();
        assert_eq!(store.blocks().unwrap().len(), 2);
    }

    #[test]
    fn identity_blocks_are_their_cid() {
        let (_tmp, store) = store();
        let cid = Cid::new_v1(RAW, Multihash::new(IDENTITY, b"tiny".to_vec()));
        store.put(&cid, b"tiny").unwrap();
        assert!(store.has(&cid));
        assert_eq!(store.get(&cid).unwrap(), b"tiny");
        assert!(store.blocks().unwrap().is_empty());
    }

    #[test]
    fn pins_are_listed_with_their_labels() {
        let (_tmp, store) = store();
        let (a, _) = node(&[], b"a");
        let (b, _) = raw(b"b");
        store.pin(&v0(&a), Some("image main")).unwrap();
        store.pin(&b, None).unwrap();
        let mut expected = vec![a.clone(), b.clone()];
        expected.sort();
        assert_eq!(store.pins().unwrap(), expected);
        let named = store.pins_named().unwrap();
        assert!(named.contains(&(a.clone(), Some("image main".into()))));
        assert!(named.contains(&(b.clone(), None)));
        store.pin(&a, Some("renamed")).unwrap();
        assert!(store
            .pins_named()
            .unwrap()
            .contains(&(a.clone(), Some("renamed".into()))));
        assert!(store.unpin(&a).unwrap());
        assert!(!store.unpin(&a).unwrap());
        assert_eq!(store.pins().unwrap(), vec![b]);
    }

    #[test]
    fn gc_keeps_what_pins_reach_and_removes_the_rest() {
        let (_tmp, store) = store();
        let leaf1 = raw(b"leaf one");
        let leaf2 = raw(b"leaf two");
        // A CIDv0 link must reach the same block as a CIDv1 one.
        let mid = node(&[&v0(&node(&[], b"unused").0), &leaf1.0], b"mid");
        let mid_v0 = v0(&mid.0);
        let root = node(&[&mid_v0, &leaf2.0], b"root");
        let loose = raw(b"loose");
        let other = node(&[&leaf1.0], b"other root");
        for block in [&leaf1, &leaf2, &mid, &root, &loose, &other] {
            put(&store, block);
        }
        store.pin(&v0(&root.0), Some("root")).unwrap();

        let report = store.gc().unwrap();
        assert_eq!(report.kept, 4, "{report:?}");
        assert_eq!(report.removed, 2, "{report:?}");
        assert_eq!(report.bytes_freed, (loose.1.len() + other.1.len()) as u64);
        assert_eq!(report.missing, 1, "{report:?}");
        assert!(report.corrupt.is_empty());
        for block in [&leaf1, &leaf2, &mid, &root] {
            assert_eq!(store.get(&block.0).unwrap(), block.1);
        }
        assert!(!store.has(&loose.0) && !store.has(&other.0));

        // A second gc finds nothing to do; an unpin frees everything.
        assert_eq!(store.gc().unwrap().removed, 0);
        store.unpin(&root.0).unwrap();
        let report = store.gc().unwrap();
        assert_eq!((report.kept, report.removed), (0, 4), "{report:?}");
        assert!(store.blocks().unwrap().is_empty());
    }

    #[test]
    fn gc_keeps_a_corrupt_block_below_a_pin_and_what_it_links_to() {
        let (_tmp, store) = store();
        let leaf = raw(b"leaf");
        let mid = node(&[&leaf.0], b"mid data");
        let root = node(&[&mid.0], b"root");
        for block in [&leaf, &mid, &root] {
            put(&store, block);
        }
        store.pin(&root.0, None).unwrap();
        // The last byte is in mid's Data: its links still decode.
        flip_last_bit(&store.block_path(&mid.0));
        let report = store.gc().unwrap();
        assert_eq!(report.corrupt, vec![mid.0.clone()]);
        assert_eq!((report.kept, report.removed), (3, 0), "{report:?}");
        assert!(store.has(&mid.0) && store.has(&leaf.0));
    }

    #[test]
    fn gc_waits_for_a_write_guard() {
        let (_tmp, store) = store();
        let loose = raw(b"loose");
        put(&store, &loose);
        let guard = store.writer().unwrap();
        // This thread holds the guard: a blocking gc here would never return.
        let err = store.gc().unwrap_err().to_string();
        assert!(err.contains("write guard"), "{err}");
        std::thread::scope(|s| {
            assert!(s
                .spawn(|| store.try_gc().unwrap())
                .join()
                .unwrap()
                .is_none());
        });

        // A gc started while an import holds its guard runs after the import pinned its root.
        let done = Arc::new(AtomicBool::new(false));
        let gc = {
            let (store, done) = (store.clone(), done.clone());
            std::thread::spawn(move || {
                let report = store.gc().unwrap();
                done.store(true, Ordering::SeqCst);
                report
            })
        };
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            !done.load(Ordering::SeqCst),
            "gc ran while a guard was held"
        );
        let leaf = raw(b"imported leaf");
        let root = node(&[&leaf.0], b"imported root");
        put(&store, &leaf);
        put(&store, &root);
        store.pin(&root.0, Some("import")).unwrap();
        drop(guard);
        let report = gc.join().unwrap();
        assert_eq!((report.kept, report.removed), (2, 1), "{report:?}");
        assert!(store.has(&leaf.0) && store.has(&root.0) && !store.has(&loose.0));
        assert!(store.try_gc().unwrap().is_some());
    }

    #[test]
    fn concurrent_writers_leave_every_block_intact() {
        let (_tmp, store) = store();
        let shared: Vec<_> = (0..20)
            .map(|i| raw(format!("shared {i}").as_bytes()))
            .collect();
        std::thread::scope(|s| {
            for t in 0..6 {
                let (shared, dir) = (&shared, store.dir().to_path_buf());
                s.spawn(move || {
                    // Each thread opens its own store, as another process would.
                    let store = Store::open(&dir).unwrap();
                    for i in 0..20 {
                        put(&store, &shared[(i + t * 3) % shared.len()]);
                        put(&store, &raw(format!("own {t} {i}").as_bytes()));
                    }
                });
            }
        });
        assert_eq!(store.blocks().unwrap().len(), 20 + 6 * 20);
        for block in &shared {
            assert_eq!(store.get(&block.0).unwrap(), block.1);
        }
        assert!(store.verify_all().unwrap().is_empty());
        assert_eq!(fs::read_dir(store.dir().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn a_store_that_cannot_be_written_is_reported_as_such() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("a-file");
        fs::write(&file, b"not a store").unwrap();
        for dir in [file.clone(), file.join("below")] {
            let err = Store::open(&dir).unwrap_err().to_string();
            assert!(
                err.contains(&format!("block store {} is not writable", dir.display())),
                "{err}"
            );
        }
        let err = Store::open(&file).unwrap_err().to_string();
        assert!(err.contains("regular file"), "{err}");

        let dir = tmp.path().join("broken");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("tmp"), b"").unwrap();
        let err = Store::open(&dir).unwrap_err().to_string();
        assert!(
            err.contains("is not writable") && err.contains("tmp"),
            "{err}"
        );

        // Permission bits stop only non-root users; root is told nothing false either way.
        use std::os::unix::fs::PermissionsExt;
        let ro = tmp.path().join("read-only");
        Store::open(&ro).unwrap();
        fs::set_permissions(ro.join("tmp"), fs::Permissions::from_mode(0o555)).unwrap();
        let probe = File::create(ro.join("tmp").join("x"));
        let writable = probe.is_ok();
        let _ = fs::remove_file(ro.join("tmp").join("x"));
        match Store::open(&ro) {
            Ok(_) => assert!(writable),
            Err(e) => {
                assert!(!writable);
                assert!(e.to_string().contains("is not writable"), "{e}");
            }
        }
    }

    #[test]
    fn temp_files_and_strays_are_not_blocks_and_old_ones_are_removed() {
        let (_tmp, store) = store();
        let block = raw(b"real");
        put(&store, &block);
        let tmp = store.dir().join("tmp");
        let fresh = tmp.join("write-1-2-3");
        let stale = tmp.join("write-4-5-6");
        fs::write(&fresh, b"partial").unwrap();
        File::create(&stale)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(2 * 3600))
            .unwrap();
        let shard_dir = store.block_path(&block.0).parent().unwrap().to_path_buf();
        fs::write(shard_dir.join(".junk"), b"x").unwrap();
        let misplaced = raw(b"misplaced");
        fs::write(shard_dir.join(misplaced.0.to_string()), &misplaced.1).unwrap();
        fs::write(store.dir().join("blocks").join("stray"), b"x").unwrap();
        fs::write(store.dir().join("pins").join("not-a-cid"), b"x").unwrap();

        assert_eq!(store.blocks().unwrap(), vec![block.0.clone()]);
        assert!(store.pins().unwrap().is_empty());
        let store = Store::open(store.dir()).unwrap();
        assert!(fresh.exists() && !stale.exists());
        // gc holds the exclusive lock: every temp file is left over.
        store.gc().unwrap();
        assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0);
    }
}
