//! [`CacheKey`]: the compiled cache's secret, `<cache>/compiled/key`: 32 random bytes that only
//! the cache's owner can read (mode 0600), made the first time a ww uses the cache.
//!
//! Concurrent ww processes agree on one key without a lock: each that finds none writes its
//! own to a new temporary file `.key-<pid>-<n>` (`create_new`, mode 0600, synced) and moves it
//! into place with `renameat2(RENAME_NOREPLACE)`, which fails if the key exists: exactly one
//! wins, the others remove their temporary file and read the winner's. The key never has a
//! second name then. On a filesystem without `RENAME_NOREPLACE` (`EINVAL`), the temporary file
//! is hard-linked into place instead (`link` fails just the same if the key exists) and then
//! removed, so for a moment the key has two links, its second name a `.key-*` in the same
//! directory; a reader that finds such a name for the very inode it opened removes it (it is
//! the maker's, about to go, or left by a maker that was killed) before it counts the links,
//! so concurrent first uses never refuse the genuine key.
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

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{Mode, OFlags, RenameFlags, CWD};

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
        Self::load_or_create_with(dir, publish)
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

/// How a complete temporary key file is put in place: [`publish`].
type Publish = fn(&Path, &Path) -> std::io::Result<()>;

/// Makes a key and moves it into place at `path`; `None` when another ww put its own first.
fn create(dir: &Path, path: &Path, publish: Publish) -> Result<Option<CacheKey>, KeyError> {
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| KeyError::Random(e.to_string()))?;
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!("{TEMP_PREFIX}{}-{n}", std::process::id()));
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
        // 0600 whatever the umask: the owner must be able to read it back, no one else.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(&key)?;
        file.sync_all()?;
        publish(&tmp, path)
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

/// Puts the complete key file `tmp` at `path` unless something is there (`AlreadyExists`):
/// renamed without replacing, or where the filesystem cannot, hard-linked (the caller removes
/// `tmp` then).
fn publish(tmp: &Path, path: &Path) -> std::io::Result<()> {
    match rustix::fs::renameat_with(CWD, tmp, CWD, path, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => std::fs::hard_link(tmp, path),
        Err(errno) => Err(errno.into()),
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

    /// `compiled` holds the key and nothing else (no temporary name left).
    fn assert_only_the_key(compiled: &Path) {
        let names: Vec<_> = std::fs::read_dir(compiled)
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
        assert_only_the_key(&compiled);
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
            "is a symbolic link",
            "is a directory",
            "is a file of 31 bytes",
            "is a file of 33 bytes",
        ];
        for found in cases {
            let compiled = tempfile::tempdir().expect("temp dir");
            let path = compiled.path().join(KEY_FILE);
            match found {
                "is a symbolic link" => {
                    std::os::unix::fs::symlink(&target, &path).expect("symlink")
                }
                "is a directory" => std::fs::create_dir(&path).expect("mkdir"),
                "is a file of 31 bytes" => write_key(&path, &[1u8; 31], 0o600),
                _ => write_key(&path, &[1u8; 33], 0o600),
            }
            let err = CacheKey::load_or_create(compiled.path()).unwrap_err();
            assert!(
                matches!(&err, KeyError::Invalid { found: f, .. } if f == found),
                "{found}: {err}"
            );
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("{} {found}; ", path.display())),
                "{message}"
            );
            assert!(message.contains("remove it"), "{message}");
            assert!(std::fs::symlink_metadata(&path).is_ok(), "left in place");
        }
        assert_eq!(
            std::fs::read(&target).expect("target"),
            [9u8; KEY_LEN],
            "the symlink's target is untouched"
        );
    }

    /// Writes `bytes` to a new file `path` of mode `mode` (whatever the umask).
    fn write_key(path: &Path, bytes: &[u8], mode: u32) {
        std::fs::write(path, bytes).expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    /// The error of the key of `compiled`, which must be refused, with the key left alone.
    fn refused(compiled: &Path) -> String {
        let path = compiled.join(KEY_FILE);
        let before = std::fs::read(&path).expect("the key");
        let err = CacheKey::load_or_create(compiled).unwrap_err();
        assert!(matches!(err, KeyError::Invalid { .. }), "{err}");
        assert_eq!(std::fs::read(&path).expect("the key"), before, "left alone");
        let message = err.to_string();
        assert!(
            message.starts_with(&path.display().to_string()),
            "{message}"
        );
        assert!(message.contains("remove it"), "{message}");
        message
    }

    #[test]
    fn a_key_others_may_read_or_write_is_refused() {
        for mode in [0o644, 0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o444] {
            let compiled = tempfile::tempdir().expect("temp dir");
            write_key(&compiled.path().join(KEY_FILE), &[3u8; KEY_LEN], mode);
            let message = refused(compiled.path());
            assert!(
                message.contains(&format!(
                    "has mode {mode:04o}, which gives group or others access"
                )),
                "{mode:o}: {message}"
            );
        }
        // The owner's bits are the owner's business: 0400 is fine.
        let compiled = tempfile::tempdir().expect("temp dir");
        write_key(&compiled.path().join(KEY_FILE), &[3u8; KEY_LEN], 0o400);
        let key = CacheKey::load_or_create(compiled.path()).expect("a 0400 key");
        assert_eq!(key.bytes(), &[3u8; KEY_LEN]);
    }

    #[test]
    fn a_key_with_another_name_is_refused() {
        // The attack: mode 0444 and 2 links, as a file of ww's own files cache hard-linked
        // into place (by an image, through an earlier bug). Every broken rule is named.
        let outside = tempfile::tempdir().expect("temp dir");
        let compiled = tempfile::tempdir().expect("temp dir");
        let planted = outside.path().join("files-entry");
        write_key(&planted, &[4u8; KEY_LEN], 0o444);
        std::fs::hard_link(&planted, compiled.path().join(KEY_FILE)).expect("link");
        let message = refused(compiled.path());
        assert!(
            message.contains(" has mode 0444, which gives group or others access and has 2 links;"),
            "{message}"
        );

        // Mode 0600, but another name anywhere else, inside the cache directory or not.
        for other in [
            outside.path().join("copy"),
            compiled.path().join("other"),
            compiled.path().join("key-1-0"),
        ] {
            let compiled = tempfile::tempdir().expect("temp dir");
            let path = compiled.path().join(KEY_FILE);
            write_key(&path, &[5u8; KEY_LEN], 0o600);
            let other = match other.starts_with(outside.path()) {
                true => other,
                false => compiled.path().join(other.file_name().expect("a name")),
            };
            std::fs::hard_link(&path, &other).expect("link");
            let message = refused(compiled.path());
            assert!(message.contains(" has 2 links;"), "{other:?}: {message}");
            assert!(other.exists(), "the other name is left alone");
        }
    }

    #[test]
    fn a_temporary_name_of_the_key_itself_is_removed_not_refused() {
        // Where RENAME_NOREPLACE is unsupported the key is hard-linked into place, then its
        // temporary name removed: a reader in between, or after a maker was killed there,
        // finds 2 links, the other a `.key-*` of the same inode. That is the genuine key.
        let compiled = tempfile::tempdir().expect("temp dir");
        let path = compiled.path().join(KEY_FILE);
        let temp = compiled.path().join(".key-4242-7");
        write_key(&temp, &[6u8; KEY_LEN], 0o600);
        std::fs::hard_link(&temp, &path).expect("link");
        // Another temporary file, of another inode (a key being made): left alone.
        let making = compiled.path().join(".key-4243-0");
        write_key(&making, &[7u8; KEY_LEN], 0o600);
        let key = CacheKey::load_or_create(compiled.path()).expect("the genuine key");
        assert_eq!(key.bytes(), &[6u8; KEY_LEN]);
        assert!(!temp.exists(), "its temporary name is removed");
        assert!(making.exists(), "another file is left alone");
        let meta = std::fs::metadata(&path).expect("the key");
        assert_eq!(meta.nlink(), 1);

        // With a third name outside, it is refused all the same.
        let outside = tempfile::tempdir().expect("temp dir");
        std::fs::hard_link(&path, compiled.path().join(".key-1-1")).expect("link");
        std::fs::hard_link(&path, outside.path().join("copy")).expect("link");
        let message = refused(compiled.path());
        assert!(message.contains(" has 2 links;"), "{message}");
    }

    /// The fallback of filesystems without `RENAME_NOREPLACE`, its window held open: linked
    /// into place, then 50 ms before the caller removes the temporary name.
    fn publish_by_link_slowly(tmp: &Path, path: &Path) -> std::io::Result<()> {
        std::fs::hard_link(tmp, path)?;
        std::thread::sleep(std::time::Duration::from_millis(50));
        Ok(())
    }

    #[test]
    fn concurrent_first_uses_agree_on_one_key_with_the_link_fallback_too() {
        let dir = tempfile::tempdir().expect("temp dir");
        let compiled = dir.path().join("compiled");
        let keys: Vec<[u8; KEY_LEN]> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        CacheKey::load_or_create_with(&compiled, publish_by_link_slowly)
                            .map(|k| *k.bytes())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread").expect("never refused"))
                .collect()
        });
        assert!(keys.iter().all(|k| k == &keys[0]), "one key for all");
        let meta = std::fs::metadata(compiled.join(KEY_FILE)).expect("the key");
        assert_eq!(meta.nlink(), 1);
        assert_only_the_key(&compiled);
    }

    #[test]
    fn a_key_of_another_user_is_refused() {
        let compiled = tempfile::tempdir().expect("temp dir");
        let path = compiled.path().join(KEY_FILE);
        write_key(&path, &[8u8; KEY_LEN], 0o600);
        let euid = rustix::process::geteuid().as_raw();
        let other = if euid == 65534 { 65533 } else { 65534 };
        if rustix::fs::chown(&path, Some(rustix::fs::Uid::from_raw(other)), None).is_err() {
            // Only root can give a file away; as anyone else there is no such key to plant.
            eprintln!("skipped: cannot chown a file to uid {other} as uid {euid}");
            return;
        }
        let message = refused(compiled.path());
        assert!(
            message.contains(&format!(
                " is owned by uid {other}, not by uid {euid} who runs ww;"
            )),
            "{message}"
        );
    }
}
