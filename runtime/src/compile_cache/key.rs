//! [`CacheKey`]: the compiled cache's secret, `<cache>/compiled/key`: 32 random bytes that only
//! the cache's owner can read (mode 0600), made the first time a ww uses the cache.
//!
//! Concurrent ww processes agree on one key without a lock: each that finds none writes its
//! own to a new temporary file (`create_new`, mode 0600, synced) and hard-links it into place;
//! `link` fails if the key exists, so exactly one wins, and the others read the winner's. The
//! key is opened with `O_NOFOLLOW` (and `O_NONBLOCK`, so a FIFO cannot hang ww) and used only
//! when it is a regular file of exactly [`KEY_LEN`] bytes. ww never makes anything else, so
//! anything else there (a symlink, a directory, a file of another size) was damaged or planted:
//! [`KeyError::Invalid`], which leaves the file alone and tells the owner to remove it; the
//! cache is not used meanwhile (its entries could not be authenticated).

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{Mode, OFlags};

/// The key file's name in `<cache>/compiled/`.
pub const KEY_FILE: &str = "key";

/// Bytes of the key.
pub const KEY_LEN: usize = 32;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

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
    #[error(
        "{} is {found}, not a regular file of {KEY_LEN} bytes; ww makes its key only as such a \
         file, so this one was damaged or planted: remove it to let ww make a new key (every \
         entry is then compiled again)",
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
        std::fs::create_dir_all(dir).map_err(|source| KeyError::Create {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(KEY_FILE);
        // A second look suffices: a key that is linked into place is never removed by ww.
        for _ in 0..2 {
            match read(&path)? {
                Some(key) => return Ok(key),
                None => {
                    if let Some(key) = create(dir, &path)? {
                        return Ok(key);
                    }
                }
            }
        }
        Err(KeyError::Read {
            path,
            source: std::io::Error::new(
                ErrorKind::NotFound,
                "another ww linked a key in place and it is gone again",
            ),
        })
    }
}

/// The key at `path`, `None` if there is no file there.
fn read(path: &Path) -> Result<Option<CacheKey>, KeyError> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(rustix::io::Errno::LOOP) => {
            return Err(KeyError::Invalid {
                path: path.to_path_buf(),
                found: "a symbolic link".to_string(),
            })
        }
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
    let meta = file.metadata().map_err(read_error)?;
    let invalid = |found: String| KeyError::Invalid {
        path: path.to_path_buf(),
        found,
    };
    if !meta.file_type().is_file() {
        return Err(invalid(describe(&meta.file_type())));
    }
    if meta.len() != KEY_LEN as u64 {
        return Err(invalid(format!("a file of {} bytes", meta.len())));
    }
    let mut key = [0u8; KEY_LEN];
    file.read_exact(&mut key).map_err(read_error)?;
    // The length was checked on the open file; a file that grew since is refused too.
    let mut more = [0u8; 1];
    if file.read(&mut more).map_err(read_error)? != 0 {
        return Err(invalid(format!("a file of more than {KEY_LEN} bytes")));
    }
    Ok(Some(CacheKey(key)))
}

/// Makes a key and links it into place at `path`; `None` when another ww linked its own first.
fn create(dir: &Path, path: &Path) -> Result<Option<CacheKey>, KeyError> {
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| KeyError::Random(e.to_string()))?;
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".key-{}-{n}", std::process::id()));
    let create_error = |source| KeyError::Create {
        path: path.to_path_buf(),
        source,
    };
    let written = (|| {
        // `create_new` is O_EXCL, which also refuses a symlink at `tmp`.
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&key)?;
        file.sync_all()?;
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(Some(CacheKey(key)))
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists && path_exists(path) => Ok(None),
        Err(e) => Err(create_error(e)),
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
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_key_is_made_once_mode_0600_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let compiled = dir.path().join("compiled");
        let made = CacheKey::load_or_create(&compiled).expect("make a key");
        let path = compiled.join(KEY_FILE);
        let meta = std::fs::metadata(&path).expect("the key file");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), KEY_LEN as u64);
        let again = CacheKey::load_or_create(&compiled).expect("read the key");
        assert_eq!(made.bytes(), again.bytes());
        let other = tempfile::tempdir().expect("temp dir");
        let fresh = CacheKey::load_or_create(other.path()).expect("another key");
        assert_ne!(made.bytes(), fresh.bytes(), "each cache has its own");
        let names: Vec<_> = std::fs::read_dir(&compiled)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from(KEY_FILE)],
            "no temp left"
        );
    }

    #[test]
    fn concurrent_first_uses_agree_on_one_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let compiled = dir.path().join("compiled");
        let keys: Vec<[u8; KEY_LEN]> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| CacheKey::load_or_create(&compiled).map(|k| *k.bytes())))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread").expect("a key"))
                .collect()
        });
        assert!(keys.iter().all(|k| k == &keys[0]), "one key for all");
    }

    #[test]
    fn a_symlink_a_directory_or_a_wrong_size_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, [9u8; KEY_LEN]).expect("write target");
        let cases = [
            "a symbolic link",
            "a directory",
            "a file of 31 bytes",
            "a file of 33 bytes",
        ];
        for found in cases {
            let compiled = tempfile::tempdir().expect("temp dir");
            let path = compiled.path().join(KEY_FILE);
            match found {
                "a symbolic link" => std::os::unix::fs::symlink(&target, &path).expect("symlink"),
                "a directory" => std::fs::create_dir(&path).expect("mkdir"),
                "a file of 31 bytes" => std::fs::write(&path, [1u8; 31]).expect("write"),
                _ => std::fs::write(&path, [1u8; 33]).expect("write"),
            }
            let err = CacheKey::load_or_create(compiled.path()).unwrap_err();
            assert!(
                matches!(&err, KeyError::Invalid { found: f, .. } if f == found),
                "{found}: {err}"
            );
            assert!(err.to_string().contains("remove it"), "{err}");
            assert!(std::fs::symlink_metadata(&path).is_ok(), "left in place");
        }
        assert_eq!(
            std::fs::read(&target).expect("target"),
            [9u8; KEY_LEN],
            "the symlink's target is untouched"
        );
    }
}
