//! Atomic replacement of files and directories, so that an interrupted run leaves the previous
//! state intact. Every file ww writes whole goes through [`NewFile`] (or [`write_file`] and
//! [`write_new_file`], built on it): a new temporary file in the destination's directory (or
//! another directory of the same file system, e.g. a cache's `tmp/`), created exclusively
//! (`O_EXCL`: never a file already there, nor through a symlink), written, `fsync`ed, renamed
//! into place (replacing, or never replacing: `renameat2(RENAME_NOREPLACE)`, where the file
//! system lacks it a hard link, which fails alike), then the directory `fsync`ed. A temporary
//! file is removed whenever the write does not complete (an error, a cancel, a panic: on drop).
//!
//! Why not `tempfile::NamedTempFile::persist` / `persist_noclobber`: they were evaluated and keep
//! these semantics (an `O_EXCL` temporary in a directory of our choice, removed on drop; rename,
//! or `RENAME_NOREPLACE` falling back to link then unlink, exactly as here), except that neither
//! syncs (the file's and the directory's `fsync` would stay ours). They are not used because
//! `tempfile` is only a dev-dependency of ww-content, and what they would replace is the 20
//! lines of [`NewFile::create`] and [`rename_noreplace`]; adopting them is a swap behind this
//! API (the temporary's name would then be `prefix` + random characters, which every caller
//! here accepts: only [`remove_stale_siblings`] reads a pid from it).

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// A sibling path of `path` for temporary work: same directory (so same file system, so
/// `rename` is atomic), hidden, unique to this process.
pub fn sibling_temp(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

/// Flushes every file and directory below `dir` (and `dir` itself) to disk, so that a tree
/// renamed into place after a crash is whole: one `syncfs(2)` of `dir`'s file system, which
/// flushes all of it at one journal commit (an fsync of each file cost a build of an image of
/// 10,000 small files 100 times the time of hashing them). Errors of earlier writeback on the
/// file system are reported.
pub fn sync_tree(dir: &Path) -> Result<()> {
    let d = File::open(dir).map_err(Error::io("open", dir))?;
    rustix::fs::syncfs(&d).map_err(|e| Error::io("sync", dir)(e.into()))
}

/// Removes what interrupted runs left beside `dest` (`.<name>.new-<pid>`, `.<name>.old-<pid>`,
/// `.<name>.tmp-<n>-<pid>`) when that process is gone.
pub fn remove_stale_siblings(dest: &Path) {
    let (Some(parent), Some(name)) = (dest.parent(), dest.file_name()) else {
        return;
    };
    let name = name.to_string_lossy();
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&format!(".{name}.")) else {
            continue;
        };
        let Some((_, pid)) = rest.rsplit_once('-') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let path = entry.path();
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
}

/// Puts the directory `new` in place of `dest`.
///
/// On Linux the two are swapped with one `renameat2(RENAME_EXCHANGE)`, so every observer sees
/// either the old tree or the new one, never a gap; the old tree is then removed. Where the swap
/// is not supported, the old tree is renamed aside first and the gap is as short as two renames.
pub fn replace_dir(new: &Path, dest: &Path) -> Result<()> {
    if std::fs::symlink_metadata(dest).is_err() {
        return std::fs::rename(new, dest).map_err(Error::io("rename into place", new));
    }
    let swapped = rustix::fs::renameat_with(
        rustix::fs::CWD,
        new,
        rustix::fs::CWD,
        dest,
        rustix::fs::RenameFlags::EXCHANGE,
    )
    .is_ok();
    let old = if swapped {
        new.to_path_buf()
    } else {
        let old = sibling_temp(dest, "old");
        std::fs::rename(dest, &old).map_err(Error::io("move aside", dest))?;
        std::fs::rename(new, dest).map_err(Error::io("rename into place", new))?;
        old
    };
    if let Some(parent) = dest.parent() {
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    std::fs::remove_dir_all(&old).map_err(Error::io("remove", &old))
}

/// Writes `bytes` to `path` atomically, replacing what is there: readers see the old content or
/// the new, never a mix.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut new =
        NewFile::beside(path, 0o666).map_err(Error::io("create a temporary file for", path))?;
    new.write_all(bytes)
        .map_err(Error::io("write", new.temp_path()))?;
    new.replace().map_err(Error::io("put in place", path))
}

/// Writes `bytes` to a new file at `path` of mode `mode` (less the umask), atomically: a file
/// there already, even one made meanwhile, is never replaced (`AlreadyExists`).
pub fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut new = NewFile::beside(path, mode)?;
    new.write_all(bytes)?;
    new.create_new()
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A file being written whole before it takes its place at its destination (see the module
/// doc). Write to it (it is a [`Write`], and [`NewFile::file`] is the open file), then put it in
/// place with [`NewFile::replace`] or [`NewFile::create_new`]; dropped, its temporary file is
/// removed.
#[derive(Debug)]
pub struct NewFile {
    file: File,
    temp: PathBuf,
    dest: PathBuf,
    /// Whether the temporary file was moved into place (and its name is gone).
    moved: bool,
}

impl NewFile {
    /// A new file for `dest`, written beside it as `.<name>.tmp-<n>-<pid>`, created with `mode`
    /// less the umask.
    pub fn beside(dest: &Path, mode: u32) -> io::Result<NewFile> {
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = dest
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        NewFile::create(dir, &format!(".{name}.tmp-"), dest, mode)
    }

    /// A new file for `dest`, written in `dir` as `<prefix><n>-<pid>`; `dir` must be on the file
    /// system of `dest` (a rename does not cross file systems) and is trusted (ww's own).
    pub fn create(dir: &Path, prefix: &str, dest: &Path, mode: u32) -> io::Result<NewFile> {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!("{prefix}{n}-{}", std::process::id()));
        // `create_new` is O_CREAT | O_EXCL, which also refuses a symlink at `temp`.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)?;
        Ok(NewFile {
            file,
            temp,
            dest: dest.to_path_buf(),
            moved: false,
        })
    }

    /// The open temporary file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Where the file is being written.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Where the file goes.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Syncs the file and renames it over its destination, whatever is there.
    pub fn replace(self) -> io::Result<()> {
        self.put(|temp, dest| std::fs::rename(temp, dest))
    }

    /// Syncs the file and moves it to its destination unless something is there already
    /// (`AlreadyExists`), see [`rename_noreplace`].
    pub fn create_new(self) -> io::Result<()> {
        self.put(rename_noreplace)
    }

    /// Syncs the file, puts it in place with `put(temp, dest)` (a test's slow variant of the
    /// two above, say), removes the temporary name if it is still there, and syncs the
    /// directory of the destination.
    pub fn put(self, put: impl FnOnce(&Path, &Path) -> io::Result<()>) -> io::Result<()> {
        self.file.sync_all()?;
        put(&self.temp, &self.dest)?;
        let dest = self.dest.clone();
        drop(self);
        // The rename is durable only once its directory is: a write that reports success must
        // survive a crash (a store's pin is its commit point), so a failed sync is an error.
        let dir = dest
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(dir)?.sync_all()
    }
}

impl NewFile {
    /// Puts the file in place with `put(temp, dest)` without syncing it or its directory: the
    /// rename is atomic (a reader sees the old file or the whole new one), but after a crash of
    /// the machine the new file may be missing, empty or short. For writers that make a whole
    /// batch durable at once before their commit point (a store syncs its file system before
    /// it writes a pin, [`crate::store::Store::pin`]), at one journal commit instead of one per
    /// file. `put` must move the file (a rename), not copy or link it.
    pub fn put_unsynced(
        mut self,
        put: impl FnOnce(&Path, &Path) -> io::Result<()>,
    ) -> io::Result<()> {
        put(&self.temp, &self.dest)?;
        self.moved = true;
        Ok(())
    }
}

impl Write for NewFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        // The name is this process's own (pid, counter).
        if !self.moved {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Renames `from` to `to` unless something is at `to` (`AlreadyExists`): one
/// `renameat2(RENAME_NOREPLACE)`, or where the file system cannot, a hard link (which fails
/// alike; `from` then keeps its name too, for its caller to remove).
pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => std::fs::hard_link(from, to),
        Err(errno) => Err(errno.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_of_dead_runs_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("image");
        let pid_max: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let dead = dir.path().join(format!(".image.new-{}", pid_max + 1));
        let live = sibling_temp(&dest, "new");
        let other = dir.path().join(".imagex.new-1");
        for d in [&dead, &live, &other] {
            std::fs::create_dir(d).unwrap();
        }
        remove_stale_siblings(&dest);
        assert!(!dead.exists());
        assert!(live.exists() && other.exists());
    }

    #[test]
    fn a_file_is_replaced_whole_and_no_temporary_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stamp");
        write_file(&path, b"one").unwrap();
        write_file(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_new_file_never_replaces_one_and_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        write_new_file(&path, b"first", 0o600).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let err = write_new_file(&path, b"second", 0o600).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        // Nor does the fallback of file systems without RENAME_NOREPLACE.
        let mut new = NewFile::beside(&path, 0o600).unwrap();
        new.write_all(b"third").unwrap();
        let err = new.put(|t, d| std::fs::hard_link(t, d)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_unfinished_file_is_removed_and_nothing_is_written_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f");
        let mut new = NewFile::beside(&dest, 0o644).unwrap();
        new.write_all(b"half").unwrap();
        let temp = new.temp_path().to_path_buf();
        assert!(temp.exists());
        drop(new);
        assert!(!temp.exists() && !dest.exists());

        // A symlink planted at the next temporary names is refused, not followed (the counter
        // is the process's: other tests may take a few numbers meanwhile).
        let outside = dir.path().join("outside");
        let n = TEMP_COUNTER.load(Ordering::Relaxed);
        for i in n..n + 1000 {
            let planted = dir.path().join(format!("p-{i}-{}", std::process::id()));
            std::os::unix::fs::symlink(&outside, &planted).unwrap();
        }
        let err = NewFile::create(dir.path(), "p-", &dest, 0o644).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(!outside.exists());
    }

    #[test]
    fn replaces_an_existing_directory_and_fills_an_empty_place() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("image");
        for content in ["one", "two"] {
            let new = sibling_temp(&dest, "new");
            std::fs::create_dir(&new).unwrap();
            std::fs::write(new.join("f"), content).unwrap();
            replace_dir(&new, &dest).unwrap();
            assert_eq!(std::fs::read_to_string(dest.join("f")).unwrap(), content);
            assert!(!new.exists());
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
