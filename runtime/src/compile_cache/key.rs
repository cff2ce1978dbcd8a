//! [`CacheKey`]: the compiled cache's secret, `<cache>/compiled/key`: 32 random bytes that only
//! the cache's owner can read (mode 0600), made the first time a ww uses the cache.
//!
//! Concurrent ww processes agree on one key without a lock: each that finds none writes its
//! own to a new temporary file `.key-<n>-<pid>` (`create_new`, mode 0600, synced) and moves it
//! into place with `renameat2(RENAME_NOREPLACE)` ([`NewFile::create_new`]), which fails if the
//! key exists: exactly one wins, the others remove their temporary file and read the winner's.
//! The key never has a second name then. On a filesystem without `RENAME_NOREPLACE` (`EINVAL`),
//! the temporary file is hard-linked into place instead (`link` fails just the same if the key
//! exists) and then removed, so for a moment the key has two links, its second name a `.key-*`
//! in the same directory; a reader that finds such a name for the very inode it opened removes
//! it (it is the maker's, about to go, or left by a maker that was killed) before it counts the
//! links, so concurrent first uses never refuse the genuine key.
//!
//! The key is opened with `O_NOFOLLOW` (and `O_NONBLOCK`, so a FIFO cannot hang ww) and, from
//! `fstat` of that open file, used only when it is what ww makes: a regular file of exactly
//! [`KEY_LEN`] bytes, owned by the effective user running ww, with no permission for group or
//! others (`mode & 0o077 == 0`) and a single link (no other name through which anyone else
//! could have read or written it). Anything else (a symlink, a directory, a file of another
//! size, someone else's file, one others may read, one linked elsewhere) was damaged or planted,
//! e.g. by an image through an earlier bug: [`KeyError::Invalid`], naming the file and every
//! rule it breaks, which leaves the file alone and tells the owner to remove it; the cache is
//! not used meanwhile (its entries could not be authenticated).

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use ww_content::atomic::NewFile;

/// The key file's name in `<cache>/compiled/`.
pub const KEY_FILE: &str = "key";

/// Bytes of the key.
pub const KEY_LEN: usize = 32;

/// The prefix of the temporary files a key is made in, in `<cache>/compiled/`.
const TEMP_PREFIX: &str = ".key-";

/// The most entries of `<cache>/compiled/` looked at for a temporary second name of the key
/// (there are a few: the key, one directory per engine, temporary keys being made).
const MAX_ALIAS_SCAN: usize = 4096;

/// What ww makes, quoted when a key file is refused.
const KEY_RULE: &str = "ww makes its key only as a regular file of 32 bytes, owned by the user \
     running ww, with no permission for group or others and a single link";

/// The secret that authenticates the entries of one compiled cache. Its `Debug` hides it.
pub struct CacheKey([u8; KEY_LEN]);

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheKey(..)")
    }
}

/// Why a cache has no usable key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot create {}: {source}", .path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `found` says which rules the file breaks, as clauses following its path ("is a file of
    /// 31 bytes", "has 2 links", ... joined by "and").
    #[error(
        "{} {found}; {KEY_RULE}, so this one was damaged or planted: remove it to let ww make a \
         new key (every entry is then compiled again)",
        .path.display()
    )]
    Invalid { path: PathBuf, found: String },
    #[error("cannot make a random key: {0}")]
    Random(String),
}

impl CacheKey {
    /// A key from `bytes` (tests, and the key file's content).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> CacheKey {
        CacheKey(bytes)
    }

    /// The key's bytes, to compute tags with.
    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The key of the cache in `dir` (`<cache>/compiled`), read from `dir/key` or, when there is
    /// none, made, written there and returned, creating `dir` if needed.
    pub fn load_or_create(dir: &Path) -> Result<CacheKey, KeyError> {
        Self::load_or_create_with(dir, NewFile::create_new)
    }

    /// [`CacheKey::load_or_create`], the key put in place with `publish` (tests try the
    /// fallback of filesystems without `RENAME_NOREPLACE`).
    fn load_or_create_with(dir: &Path, publish: Publish) -> Result<CacheKey, KeyError> {
        std::fs::create_dir_all(dir).map_err(|source| KeyError::Create {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(KEY_FILE);
        // A second look suffices: a key that is moved or linked into place is never removed by
        // ww.
        for _ in 0..2 {
            match read(dir, &path)? {
                Some(key) => return Ok(key),
                None => {
                    if let Some(key) = create(dir, &path, publish)? {
                        return Ok(key);
                    }
                }
            }
        }
        Err(KeyError::Read {
            path,
            source: std::io::Error::new(
                ErrorKind::NotFound,
                "another ww put a key in place and it is gone again",
            ),
        })
    }
}

/// The key at `path` in `dir`, `None` if there is no file there.
fn read(dir: &Path, path: &Path) -> Result<Option<CacheKey>, KeyError> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let invalid = |found: String| KeyError::Invalid {
        path: path.to_path_buf(),
        found,
    };
    let fd = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(rustix::io::Errno::LOOP) => return Err(invalid("is a symbolic link".into())),
        Err(errno) => {
            return Err(KeyError::Read {
                path: path.to_path_buf(),
                source: errno.into(),
            })
        }
    };
    let mut file = File::from(fd);
    let read_error = |source| KeyError::Read {
        path: path.to_path_buf(),
        source,
    };
    // `File::metadata` is `fstat` of the open file: what is checked is what is read.
    let meta = file.metadata().map_err(read_error)?;
    if !meta.file_type().is_file() {
        return Err(invalid(format!("is {}", describe(&meta.file_type()))));
    }
    let mut broken = Vec::new();
    if meta.len() != KEY_LEN as u64 {
        broken.push(format!("is a file of {} bytes", meta.len()));
    }
    let euid = rustix::process::geteuid().as_raw();
    if meta.uid() != euid {
        broken.push(format!(
            "is owned by uid {}, not by uid {euid} who runs ww",
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        broken.push(format!(
            "has mode {:04o}, which gives group or others access",
            meta.mode() & 0o7777
        ));
    }
    let mut links = meta.nlink();
    if links > 1 && broken.is_empty() {
        links = without_temporary_names(dir, &file, &meta).map_err(read_error)?;
    }
    if links != 1 {
        broken.push(format!("has {links} links"));
    }
    if !broken.is_empty() {
        return Err(invalid(broken.join(" and ")));
    }
    let mut key = [0u8; KEY_LEN];
    file.read_exact(&mut key).map_err(read_error)?;
    // The length was checked on the open file; a file that grew since is refused too.
    let mut more = [0u8; 1];
    if file.read(&mut more).map_err(read_error)? != 0 {
        return Err(invalid(format!("is a file of more than {KEY_LEN} bytes")));
    }
    Ok(Some(CacheKey(key)))
}

/// The links of the open key `file` once its temporary second names, if any, are removed: a
/// `.key-*` in `dir` that is the same inode is the name a ww made the key under, linked into
/// place where `RENAME_NOREPLACE` is not supported, and about to be removed by that ww (or
/// left by one killed meanwhile). Any other name stays, and counts.
fn without_temporary_names(
    dir: &Path,
    file: &File,
    meta: &std::fs::Metadata,
) -> std::io::Result<u64> {
    for entry in std::fs::read_dir(dir)?.take(MAX_ALIAS_SCAN) {
        let entry = entry?;
        let name = entry.file_name();
        if !name.as_encoded_bytes().starts_with(TEMP_PREFIX.as_bytes()) {
            continue;
        }
        let temp = dir.join(&name);
        let Ok(other) = std::fs::symlink_metadata(&temp) else {
            continue;
        };
        if other.ino() == meta.ino() && other.dev() == meta.dev() {
            match std::fs::remove_file(&temp) {
                Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    Ok(file.metadata()?.nlink())
}

/// How a complete temporary key file is put in place: [`NewFile::create_new`], which never
/// replaces a key another ww put there first.
type Publish = fn(NewFile) -> std::io::Result<()>;

/// Makes a key and moves it into place at `path`; `None` when another ww put its own first.
fn create(dir: &Path, path: &Path, publish: Publish) -> Result<Option<CacheKey>, KeyError> {
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| KeyError::Random(e.to_string()))?;
    let written = (|| {
        let mut new = NewFile::create(dir, TEMP_PREFIX, path, 0o600)?;
        // 0600 whatever the umask: the owner must be able to read it back, no one else.
        new.file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
        new.write_all(&key)?;
        publish(new)
    })();
    match written {
        Ok(()) => Ok(Some(CacheKey(key))),
        Err(e) if e.kind() == ErrorKind::AlreadyExists && path_exists(path) => Ok(None),
        Err(e) => Err(KeyError::Create {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

/// Whether there is a directory entry at `path` (not following a symlink).
fn path_exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

fn describe(kind: &std::fs::FileType) -> String {
    use std::os::unix::fs::FileTypeExt;
    let what = if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    };
    what.to_string()
}

#[cfg(test)]
mod tests;
