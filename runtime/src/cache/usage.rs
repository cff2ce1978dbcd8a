//! What the cache holds and how big it is: its entries (files, union roots, compiled
//! components), each with its size and when a `ww` last used it (see the [cache module
//! docs](super#pruning)). Everything is read beneath directory handles, never following a
//! symlink: a planted link is an entry of its own size, not what it points to.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use crate::compile_cache::KEY_FILE;
use crate::error::BootError;

/// The kinds of entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `files/<cid>`: a file's bytes.
    File,
    /// `roots/<cid>/`: a union root.
    Root,
    /// `compiled/<engine>/<wasm>`: a compiled component.
    Compiled,
}

impl Kind {
    /// As `ww cache ls` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Root => "root",
            Kind::Compiled => "compiled",
        }
    }
}

/// One entry of the cache.
#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: Kind,
    /// Its name below its directory: a CID, or `<engine>/<wasm>` for a compiled entry (raw
    /// bytes: a planted name need not be UTF-8).
    pub id: Vec<u8>,
    /// The bytes it takes: a file's or compiled entry's length; for a root, its directories,
    /// symlinks and the files in it that are not (hard links to) `files/` entries.
    pub size: u64,
    /// Its modification time, which ww sets whenever it uses the entry.
    pub last_used: SystemTime,
    /// For a root: the `files/` entries it hard-links (indices into [`Usage::entries`]), once
    /// per link.
    pub links: Vec<usize>,
}

impl Entry {
    /// The id as text (lossy for a name that is not UTF-8).
    pub fn id_text(&self) -> String {
        String::from_utf8_lossy(&self.id).into_owned()
    }
}

/// The entries of a cache and their total size.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    pub entries: Vec<Entry>,
}

impl Usage {
    /// The sum of the entries' sizes.
    pub fn total(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }
}

/// Opens the cache directory `dir` as the user named it; `None` when it does not exist, an
/// error naming it when it is not a directory.
pub fn open_cache_dir(dir: &Path) -> Result<Option<OwnedFd>, BootError> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    match rustix::fs::open(dir, flags, Mode::empty()) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOENT) => Ok(None),
        Err(Errno::NOTDIR) => Err(BootError::Host(format!(
            "the cache {} is not a directory",
            dir.display()
        ))),
        Err(e) => Err(BootError::Host(format!(
            "cannot open the cache {}: {}",
            dir.display(),
            std::io::Error::from(e)
        ))),
    }
}

/// Opens the directory `name` beneath `parent` without following a symlink; `None` when there
/// is none.
pub(super) fn open_sub(
    parent: impl AsFd,
    name: &OsStr,
    at: &Path,
) -> Result<Option<OwnedFd>, BootError> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat(parent, name, flags, Mode::empty()) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(BootError::Host(format!(
            "cannot open {} (it must be a directory ww made, not a symlink): {}",
            at.display(),
            std::io::Error::from(e)
        ))),
    }
}

/// The names in the directory `fd`, without `.` and `..`.
pub(super) fn names(fd: impl AsFd) -> std::io::Result<Vec<Vec<u8>>> {
    ww_content::beneath::names_in(fd)
}

/// `fstatat(name, AT_SYMLINK_NOFOLLOW)`; `None` when it is gone.
pub(super) fn stat_at(fd: impl AsFd, name: &[u8]) -> std::io::Result<Option<Stat>> {
    match rustix::fs::statat(fd, OsStr::from_bytes(name), AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(stat)),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn mtime(stat: &Stat) -> SystemTime {
    let secs = stat.st_mtime;
    let nanos = (stat.st_mtime_nsec as u32).min(999_999_999);
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nanos)
    } else {
        UNIX_EPOCH
    }
}

fn is_dir(stat: &Stat) -> bool {
    FileType::from_raw_mode(stat.st_mode) == FileType::Directory
}

fn is_file(stat: &Stat) -> bool {
    FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile
}

fn size_of(stat: &Stat) -> u64 {
    stat.st_size.max(0) as u64
}

/// The entries of the cache in `dir` (none when it does not exist). Entries that vanish while
/// it is read (a concurrent prune) are left out.
pub fn scan(dir: &Path) -> Result<Usage, BootError> {
    let mut usage = Usage::default();
    let Some(cache) = open_cache_dir(dir)? else {
        return Ok(usage);
    };
    let io = |what: PathBuf| {
        move |e: std::io::Error| BootError::Host(format!("cannot read {}: {e}", what.display()))
    };
    // files/<cid>, and their inodes, so that roots' links to them are not counted twice.
    let mut inodes: HashMap<(u64, u64), usize> = HashMap::new();
    let files_path = dir.join("files");
    if let Some(files) = open_sub(&cache, OsStr::new("files"), &files_path)? {
        for name in names(&files).map_err(io(files_path.clone()))? {
            let Some(stat) = stat_at(&files, &name).map_err(io(files_path.clone()))? else {
                continue;
            };
            if is_file(&stat) {
                inodes.insert((stat.st_dev, stat.st_ino), usage.entries.len());
            }
            usage.entries.push(Entry {
                kind: Kind::File,
                id: name,
                size: size_of(&stat),
                last_used: mtime(&stat),
                links: Vec::new(),
            });
        }
    }
    let roots_path = dir.join("roots");
    if let Some(roots) = open_sub(&cache, OsStr::new("roots"), &roots_path)? {
        for name in names(&roots).map_err(io(roots_path.clone()))? {
            let Some(stat) = stat_at(&roots, &name).map_err(io(roots_path.clone()))? else {
                continue;
            };
            let (size, links) = if is_dir(&stat) {
                let at = roots_path.join(OsStr::from_bytes(&name));
                match tree_size(&roots, &name, &inodes) {
                    Ok(found) => found,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io(at)(e)),
                }
            } else {
                (size_of(&stat), Vec::new())
            };
            usage.entries.push(Entry {
                kind: Kind::Root,
                id: name,
                size,
                last_used: mtime(&stat),
                links,
            });
        }
    }
    let compiled_path = dir.join("compiled");
    if let Some(compiled) = open_sub(&cache, OsStr::new("compiled"), &compiled_path)? {
        for engine in names(&compiled).map_err(io(compiled_path.clone()))? {
            if engine == KEY_FILE.as_bytes() {
                continue;
            }
            let Some(stat) = stat_at(&compiled, &engine).map_err(io(compiled_path.clone()))? else {
                continue;
            };
            if !is_dir(&stat) {
                // Not an engine directory ww made: an entry of its own, removed by a prune.
                usage.entries.push(Entry {
                    kind: Kind::Compiled,
                    id: engine,
                    size: size_of(&stat),
                    last_used: mtime(&stat),
                    links: Vec::new(),
                });
                continue;
            }
            let at = compiled_path.join(OsStr::from_bytes(&engine));
            let Some(engine_dir) = open_sub(&compiled, OsStr::from_bytes(&engine), &at)? else {
                continue;
            };
            for name in names(&engine_dir).map_err(io(at.clone()))? {
                // `.tmp-*`: an entry being written.
                if name.starts_with(b".tmp-") {
                    continue;
                }
                let Some(stat) = stat_at(&engine_dir, &name).map_err(io(at.clone()))? else {
                    continue;
                };
                let mut id = engine.clone();
                id.push(b'/');
                id.extend_from_slice(&name);
                usage.entries.push(Entry {
                    kind: Kind::Compiled,
                    id,
                    size: size_of(&stat),
                    last_used: mtime(&stat),
                    links: Vec::new(),
                });
            }
        }
    }
    Ok(usage)
}

/// The bytes the directory `name` beneath `parent` takes (directories, symlinks, special files,
/// and regular files other than `files/` entries, each inode once), and the `files/` entries it
/// links. Walked beneath handles, one open directory per level, never following a symlink.
fn tree_size(
    parent: &OwnedFd,
    name: &[u8],
    inodes: &HashMap<(u64, u64), usize>,
) -> std::io::Result<(u64, Vec<usize>)> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let top = rustix::fs::openat(parent, OsStr::from_bytes(name), flags, Mode::empty())?;
    let mut size = size_of(&rustix::fs::fstat(&top)?);
    let mut links = Vec::new();
    let mut own = std::collections::HashSet::new();
    let pending = names(&top)?;
    let mut stack = vec![(top, pending)];
    while let Some((dir, pending)) = stack.last_mut() {
        let Some(name) = pending.pop() else {
            stack.pop();
            continue;
        };
        let Some(stat) = stat_at(&*dir, &name)? else {
            continue;
        };
        if is_dir(&stat) {
            size += size_of(&stat);
            let child = rustix::fs::openat(&*dir, OsStr::from_bytes(&name), flags, Mode::empty())?;
            let pending = names(&child)?;
            stack.push((child, pending));
        } else if let Some(&file) = inodes
            .get(&(stat.st_dev, stat.st_ino))
            .filter(|_| is_file(&stat))
        {
            links.push(file);
        } else if own.insert((stat.st_dev, stat.st_ino)) {
            size += size_of(&stat);
        }
    }
    Ok((size, links))
}

/// `time` as UTC, e.g. `2026-12-01T17:30:05Z`.
pub fn utc(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    ww_content::text::rfc3339_utc(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_utc() {
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_146_205);
        assert_eq!(utc(t), "2026-12-01T17:30:05Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc(leap), "2000-02-29T00:00:00Z");
    }
}
