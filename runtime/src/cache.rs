//! ww's cache: file contents by CID, and materialized union roots by the union's CID.
//!
//! ```text
//! <cache>/files/<cid>       a file's bytes, written once, read-only; the name is its CID
//! <cache>/roots/<cid>/      a union root: directories, symlinks, and hard links into files/
//! <cache>/tmp/              work in progress, renamed into place when complete
//! ```
//!
//! Everything is written beside its final place and renamed, so a crash leaves no half file or
//! half root, and concurrent runs that race produce the same bytes. `--cache DIR` or `WW_CACHE`
//! choose the directory, else `$XDG_CACHE_HOME/ww`, else `~/.cache/ww`.
//!
//! The cache's owner is trusted, but what the cache holds came from images, which are not; an
//! entry is used only once it has been checked against what it claims to be:
//! - a `files/<cid>` entry must be a regular file (never followed if a symlink) of the size the
//!   DAG (or host file) records, with exactly the bytes the DAG (or host file) holds, compared
//!   as they are read again ([`Cache::put_file`]);
//! - a `roots/<cid>/` root must have exactly the union's entries, each of the right kind, every
//!   file the verified `files/` entry itself (same inode) or byte-identical to it, every symlink
//!   the union's target ([`ww_image::union::Union::check_materialized`]).
//!
//! Anything else (left by a crash, a bug, or planted) is logged at warn, removed and rebuilt.
//! New roots are written beneath directory handles with no-follow, create-exclusive calls
//! ([`ww_image::union::Union::materialize`]), so no content can write outside `tmp/`.
//!
//! # Pruning
//!
//! ```text
//! <cache>/lock              the cache-wide lock file (flock), never removed; empty
//! <cache>/held/<pid>-<n>    the lease of a running ww: `root <cid>` and `file <cid>` lines
//! ```
//!
//! Every image ever run leaves its files, its root and its compiled components here, so the
//! cache is kept to a size (`ww run --cache-max-size`, `WW_CACHE_MAX_SIZE`, default 1 GiB,
//! [`prune::DEFAULT_MAX_SIZE`]) by evicting the least recently used entries; `ww cache ls`,
//! `prune` and `clear` ([`cli`]) show and shrink it by hand. An entry's size ([`usage`]) is a
//! file's or compiled component's length; a root's is its directories and symlinks and any file
//! in it that is not a hard link to a `files/` entry (those bytes are the file's). "Last used"
//! is the entry's mtime, which ww sets whenever it uses the entry (a file checked by
//! [`Cache::put_file`], a root reused by [`Cache::root`], a compiled component loaded): atime
//! is not kept by `relatime` and `noatime` mounts.
//!
//! Concurrent `ww`s must not lose what they use, so:
//! - **Writers share, pruners exclude.** `ww run` holds a shared `flock` on `<cache>/lock` from
//!   before it writes or checks its first file until its lease is taken ([`Cache::writing`]);
//!   a prune holds the exclusive lock for its whole scan and eviction ([`prune::prune`]). A
//!   prune thus never sees a half-loaded image, two prunes never run at once, and nothing is
//!   in `tmp/` during a prune but what dead `ww`s left (removed then).
//! - **Leases.** Before it lets go of the shared lock, `ww run` writes `held/<pid>-<n>` naming
//!   its root and every `files/` entry of its union, and holds a shared `flock` on it until it
//!   ends ([`lock::Lease`]; the kernel releases it if ww dies). A prune try-locks each lease
//!   exclusively without waiting: one it cannot lock is alive, and its root and files are
//!   skipped; one it can is stale and removed. So a running ww's root, the files it hard-links
//!   and the files it reads later by path (pid0's and services' `bin/main.wasm`) stay.
//! - **Links.** A `files/` entry that a root in the cache still hard-links is evicted only after
//!   that root (before, removing it frees nothing).
//! - **Compiled components** are read whole into memory through one open file descriptor and
//!   written as a new file renamed into place, so unlinking one under a reader or writer is
//!   harmless (the reader has the bytes, a later one compiles again); `.tmp-*` files and the key
//!   are never removed.
//!
//! `ww run` prunes once its lease is taken and pid0 is compiled ([`prune::at_startup`]), without
//! waiting: when another ww loads or prunes, the prune is left to a later run. The cache can
//! thus exceed its cap by what running ww's hold, and by components compiled later in a run.
//! Eviction works beneath directory handles opened without following symlinks: a root is
//! renamed into `tmp/` and removed there name by name with `unlinkat`; a planted symlink is
//! removed itself, never followed, and nothing outside the cache directory is touched.

pub mod cli;
pub mod lock;
pub mod prune;
pub mod usage;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ww_content::atomic::NewFile;
use ww_content::beneath;
use ww_content::block::NullSink;
use ww_content::cancel::Cancel;
use ww_content::cid::Cid;
use ww_content::unixfs::{self, Imported, Profile};
use ww_image::union::{Placement, Union};

use crate::cache::lock::{CacheLock, Lease, LockKind};
use crate::error::BootError;

/// The cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    cancel: Cancel,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn host(what: String) -> impl FnOnce(std::io::Error) -> BootError {
    move |e| BootError::Host(format!("{what}: {e}"))
}

/// Writes a file's bytes: called once to write a new entry, and to compare an existing one.
pub type Produce<'a> = dyn Fn(&mut dyn Write) -> Result<(), BootError> + 'a;

impl Cache {
    /// `$WW_CACHE`, else `$XDG_CACHE_HOME/ww`, else `$HOME/.cache/ww`.
    pub fn default_dir() -> Option<PathBuf> {
        ww_content::dirs::ww_dir(Some("WW_CACHE"), ww_content::dirs::Home::Cache, "")
    }

    /// Opens (creating if needed) the cache in `dir`. Its `files/`, `roots/`, `tmp/` and `held/` must be
    /// real directories: a symlink there (which ww never makes) is refused, so that nothing is
    /// written through one.
    pub fn open(dir: &Path) -> Result<Cache, BootError> {
        for sub in ["files", "roots", "tmp", lock::HELD] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).map_err(host(format!(
                "cannot create the cache directory {}",
                d.display()
            )))?;
            let meta = std::fs::symlink_metadata(&d)
                .map_err(host(format!("cannot stat {}", d.display())))?;
            if !meta.is_dir() {
                return Err(BootError::Host(format!(
                    "the cache directory {} is a symlink, not a directory; ww writes only into \
                     directories it made: remove it",
                    d.display()
                )));
            }
        }
        Ok(Cache {
            dir: dir.to_path_buf(),
            cancel: Cancel::new(),
        })
    }

    /// The shared lock on the cache that `ww run` holds while it writes and checks files and
    /// roots, until its [`Lease`] is taken: prunes wait for it (see [Pruning](self#pruning)).
    /// `None` (logged) when the lock file cannot be opened: a cache that is someone else's
    /// still serves.
    pub fn writing(&self) -> Option<CacheLock> {
        match lock::lock(&self.dir, LockKind::Shared, true) {
            Ok(lock) => lock,
            Err(e) => {
                tracing::debug!("{e}; loading without the cache's lock");
                None
            }
        }
    }

    /// Holds the union root at `root` (a directory of `roots/`) and every file of `union`, the
    /// union it materializes, against prunes until the lease is dropped. Take it under
    /// [`Cache::writing`]. `None`, with a warning, when the cache cannot be written: the run
    /// goes on, unprotected from a prune by the cache's owner.
    pub fn hold(&self, root: &Path, union: &Union) -> Option<Lease> {
        let mut files = std::collections::BTreeSet::new();
        for (_, item) in union.iter() {
            if let ww_content::tree::Entry::File { source } = &item.entry {
                if let Some(name) = source.file_name() {
                    files.insert(name.to_string_lossy().into_owned());
                }
            }
        }
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match Lease::take(&self.dir, &name, &files) {
            Ok(lease) => Some(lease),
            Err(e) => {
                tracing::warn!("{e}; a prune of the cache may remove the root of this run");
                None
            }
        }
    }

    /// This cache, checking `cancel` while it writes (a raised one stops the write and removes
    /// its temporary file).
    pub fn with_cancel(mut self, cancel: Cancel) -> Cache {
        self.cancel = cancel;
        self
    }

    fn temp(&self, what: &str) -> PathBuf {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        self.dir
            .join("tmp")
            .join(format!("{what}-{}-{n}", std::process::id()))
    }

    fn file_path(&self, cid: &Cid) -> PathBuf {
        self.dir.join("files").join(cid.to_v1().to_string())
    }

    /// The cached file of `cid`, which holds `size` bytes, exactly those `produce` writes; it is
    /// written unless a verified entry is there already, and its path returned.
    ///
    /// An existing entry is compared with what `produce` writes (no second copy is made); one
    /// that differs, has another size or is not a regular file is logged, removed and written
    /// anew. `produce` is called once or twice.
    pub fn put_file(
        &self,
        cid: &Cid,
        size: u64,
        produce: &Produce<'_>,
    ) -> Result<PathBuf, BootError> {
        let dest = self.file_path(cid);
        match self.check_entry(&dest, size, produce)? {
            Entry::Good => return Ok(dest),
            Entry::Absent => {}
            Entry::Bad(why) => {
                tracing::warn!(
                    "the cached file {} of {cid} {why}; it is not used and is written anew",
                    dest.display()
                );
                remove_any(&dest).map_err(host(format!("cannot remove {}", dest.display())))?;
            }
        }
        self.write_new(&dest, size, produce)?;
        Ok(dest)
    }

    /// Caches the bytes of the open host file `source` (`size` bytes by its metadata, `what` in
    /// messages) and returns the entry and the file's node. Everything is read from the one
    /// open file, never by path again: its CID is computed from it; an existing entry is kept
    /// when it holds exactly its bytes (so a cache ww cannot write still serves); else they are
    /// copied into a temporary file, the CID computed again from the bytes copied and checked,
    /// and the copy renamed into place. A file that changes meanwhile is an error.
    pub fn put_host_file(
        &self,
        source: std::fs::File,
        size: u64,
        what: &str,
    ) -> Result<(PathBuf, Imported), BootError> {
        let changed = |read: u64| {
            BootError::Host(format!(
                "{what}: changed while ww read it ({size} bytes, then {read})"
            ))
        };
        let read_all = |out: &mut dyn Write| -> Result<(Imported, u64), BootError> {
            let mut from = &source;
            std::io::Seek::rewind(&mut from)
                .map_err(|e| BootError::Host(format!("cannot read {what}: {e}")))?;
            let mut tee = Tee {
                from: std::io::Read::take(from, size.saturating_add(1)),
                to: out,
                copied: 0,
                cancel: &self.cancel,
            };
            let node = unixfs::import_file(&mut tee, what, &Profile::default(), &NullSink)
                .map_err(|e| BootError::Host(e.to_string()))?;
            Ok((node, tee.copied))
        };
        let (node, read) = read_all(&mut std::io::sink())?;
        if read != size {
            return Err(changed(read));
        }
        let produce = |out: &mut dyn Write| -> Result<(), BootError> {
            let (again, read) = read_all(out)?;
            if read != size || again.cid != node.cid {
                return Err(changed(read));
            }
            Ok(())
        };
        let path = self.put_file(&node.cid, size, &produce)?;
        Ok((path, node))
    }

    /// Whether the entry at `dest` is there and holds what `produce` writes.
    fn check_entry(
        &self,
        dest: &Path,
        size: u64,
        produce: &Produce<'_>,
    ) -> Result<Entry, BootError> {
        let file = match beneath::open_regular(dest) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Entry::Absent),
            Err(e) => return Ok(Entry::Bad(format!("cannot be used ({e})"))),
        };
        let len = file
            .metadata()
            .map_err(host(format!("cannot stat {}", dest.display())))?
            .len();
        if len != size {
            return Ok(Entry::Bad(format!("holds {len} bytes, not {size}")));
        }
        let mut compare = Compare {
            file: std::io::BufReader::new(file),
            differs: false,
            cancel: &self.cancel,
        };
        let produced = produce(&mut compare);
        if compare.differs {
            return Ok(Entry::Bad("holds other bytes".into()));
        }
        produced?;
        let mut rest = [0u8; 1];
        match compare.file.read(&mut rest) {
            Ok(0) => {
                touch(compare.file.get_ref(), dest);
                Ok(Entry::Good)
            }
            Ok(_) => Ok(Entry::Bad("is longer than its content".into())),
            Err(e) => Err(BootError::Host(format!(
                "cannot read {}: {e}",
                dest.display()
            ))),
        }
    }

    /// Writes the entry `dest` of `size` bytes, those `produce` writes, read-only, atomically:
    /// in a new file in `tmp/` ([`NewFile`]: never through a symlink, removed on any error or
    /// cancel), synced and renamed into place.
    fn write_new(&self, dest: &Path, size: u64, produce: &Produce<'_>) -> Result<(), BootError> {
        let tmp_dir = self.dir.join("tmp");
        let new = NewFile::create(&tmp_dir, "file-", dest, 0o666).map_err(host(format!(
            "cannot create a temporary file in {}",
            tmp_dir.display()
        )))?;
        let tmp = new.temp_path().to_path_buf();
        let mut out = Bounded {
            inner: std::io::BufWriter::new(new),
            left: size,
            cancel: &self.cancel,
        };
        produce(&mut out)?;
        if out.left != 0 {
            return Err(BootError::Host(format!(
                "{}: the content ended {} bytes short of its recorded size",
                dest.display(),
                out.left
            )));
        }
        let new = out.inner.into_inner().map_err(|e| {
            BootError::Host(format!("cannot write {}: {}", tmp.display(), e.error()))
        })?;
        let mut perms = new
            .file()
            .metadata()
            .map_err(host(format!("cannot stat {}", tmp.display())))?
            .permissions();
        perms.set_readonly(true);
        new.file()
            .set_permissions(perms)
            .map_err(host(format!("cannot chmod {}", tmp.display())))?;
        new.replace().map_err(host(format!(
            "cannot sync {} and rename it into {}",
            tmp.display(),
            dest.display()
        )))
    }

    /// The root of `union` (whose files are all in this cache), keyed by `key`: reused when a
    /// previous run made it and it still matches the union, else materialized beneath a new
    /// directory in `tmp/` and renamed into place. Nothing is left in `tmp/` on failure.
    pub fn root(&self, union: &Union, key: &Cid) -> Result<PathBuf, BootError> {
        let dest = self.dir.join("roots").join(key.to_v1().to_string());
        if std::fs::symlink_metadata(&dest).is_ok() {
            match union.check_materialized(&dest) {
                Ok(()) => {
                    if let Ok(dir) = beneath::Dir::open(&dest) {
                        touch(&dir, &dest);
                    }
                    return Ok(dest);
                }
                Err(why) => {
                    tracing::warn!(
                        "the cached union root {} does not match its union ({why}); it is \
                         not used and is made anew",
                        dest.display()
                    );
                    self.discard(&dest)?;
                }
            }
        }
        let tmp = self.temp("root");
        if let Err(e) = union.materialize(&tmp, Placement::LinkOrCopy, &self.cancel) {
            let _ = remove_any(&tmp);
            return Err(BootError::Host(format!(
                "cannot materialize the union root: {e}"
            )));
        }
        match std::fs::rename(&tmp, &dest) {
            Ok(()) => Ok(dest),
            // Another run made the same root first: use theirs if it is right.
            Err(_) if union.check_materialized(&dest).is_ok() => {
                let _ = remove_any(&tmp);
                Ok(dest)
            }
            Err(e) => {
                let _ = remove_any(&tmp);
                Err(BootError::Host(format!(
                    "cannot rename the union root into {}: {e}",
                    dest.display()
                )))
            }
        }
    }

    /// Moves `path` into `tmp/` and removes it there (never following a link inside it).
    fn discard(&self, path: &Path) -> Result<(), BootError> {
        let aside = self.temp("stale");
        std::fs::rename(path, &aside)
            .map_err(host(format!("cannot move {} aside", path.display())))?;
        remove_any(&aside).map_err(host(format!("cannot remove {}", aside.display())))
    }
}

/// The bytes of a cached file (a path [`Cache::put_file`] returned), opened without following a
/// symlink and only if it is a regular file.
pub fn read_cached(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    beneath::open_regular(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Sets the mtime of the open entry `fd` (at `path`) to now: "last used", for pruning. A
/// cache ww cannot write costs a debug line.
pub(crate) fn touch(fd: impl std::os::fd::AsFd, path: &Path) {
    if let Err(e) = rustix::fs::futimens(fd, &used_now()) {
        tracing::debug!("cannot mark {} as used: {e}", path.display());
    }
}

/// Sets the mtime of the entry at `path` (not following a symlink) to now, as [`touch`].
pub(crate) fn touch_path(path: &Path) {
    let flags = rustix::fs::AtFlags::SYMLINK_NOFOLLOW;
    if let Err(e) = rustix::fs::utimensat(rustix::fs::CWD, path, &used_now(), flags) {
        tracing::debug!("cannot mark {} as used: {e}", path.display());
    }
}

/// mtime now, atime untouched.
fn used_now() -> rustix::fs::Timestamps {
    use rustix::fs::{Timespec, Timestamps, UTIME_NOW, UTIME_OMIT};
    Timestamps {
        last_access: Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_OMIT,
        },
        last_modification: Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_NOW,
        },
    }
}

enum Entry {
    Absent,
    Good,
    Bad(String),
}

/// Removes a file, symlink or directory tree at `path` (`remove_dir_all` does not follow
/// symlinks inside the tree).
fn remove_any(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// A writer that compares what it is given with the rest of `file`, and fails at the first
/// difference (setting `differs`).
struct Compare<'a, R> {
    file: R,
    differs: bool,
    cancel: &'a Cancel,
}

impl<R: Read> Write for Compare<'_, R> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.cancel.check().map_err(std::io::Error::other)?;
        let mut have = vec![0u8; buf.len()];
        let same = self.file.read_exact(&mut have).is_ok() && have == buf;
        if !same {
            self.differs = true;
            return Err(std::io::Error::other("the cached file differs"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A reader that copies what it reads to `to`, counting it, and checks `cancel` at every read.
struct Tee<'a, R, W> {
    from: R,
    to: W,
    copied: u64,
    cancel: &'a Cancel,
}

impl<R: Read, W: Write> Read for Tee<'_, R, W> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.cancel.check().map_err(std::io::Error::other)?;
        let n = self.from.read(buf)?;
        self.to.write_all(&buf[..n])?;
        self.copied += n as u64;
        Ok(n)
    }
}

/// A writer that takes at most `left` more bytes, and checks `cancel` at every write.
struct Bounded<'a, W> {
    inner: W,
    left: u64,
    cancel: &'a Cancel,
}

impl<W: Write> Write for Bounded<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.cancel.check().map_err(std::io::Error::other)?;
        if buf.len() as u64 > self.left {
            return Err(std::io::Error::other(
                "the content is longer than its recorded size",
            ));
        }
        let n = self.inner.write(buf)?;
        self.left -= n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ww_content::tree::{Entry, RelPath, Tree};

    #[test]
    fn a_cache_directory_that_is_a_symlink_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let elsewhere = tempfile::tempdir().expect("temp dir");
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("files")).expect("link");
        let err = Cache::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("is a symlink"), "{err}");
    }

    #[test]
    fn a_root_that_fails_half_way_leaves_nothing_in_tmp() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = Cache::open(dir.path()).expect("cache");
        let mut tree = Tree::default();
        let rel = |s: &str| RelPath::new(s).expect("path");
        tree.insert(rel("etc/a"), Entry::Symlink { target: "b".into() })
            .expect("insert");
        tree.insert_file(rel("etc/z"), dir.path().join("no-such-file"))
            .expect("insert");
        let union = Union::of([("layer", &tree)]).expect("union");
        let key = Cid::v1_sha2_256(ww_content::cid::DAG_PB, b"key");
        let err = cache.root(&union, &key).unwrap_err().to_string();
        assert!(err.contains("cannot materialize the union root"), "{err}");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("tmp"))
            .expect("tmp")
            .collect();
        assert!(left.is_empty(), "{left:?}");
        assert!(!dir.path().join("roots").join(key.to_string()).exists());
    }
}
