//! Atomic replacement of files and directories, so that an interrupted run leaves the previous
//! state intact.

use std::path::{Path, PathBuf};

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
/// renamed into place after a crash is whole.
pub fn sync_tree(dir: &Path) -> Result<()> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(Error::io("read directory", &d))? {
            let entry = entry.map_err(Error::io("read directory", &d))?;
            let ft = entry.file_type().map_err(Error::io("stat", entry.path()))?;
            if ft.is_dir() {
                stack.push(entry.path());
            } else if ft.is_file() {
                let path = entry.path();
                std::fs::File::open(&path)
                    .and_then(|f| f.sync_all())
                    .map_err(Error::io("sync", &path))?;
            }
        }
        std::fs::File::open(&d)
            .and_then(|f| f.sync_all())
            .map_err(Error::io("sync", &d))?;
    }
    Ok(())
}

/// Removes what interrupted runs left beside `dest` (`.<name>.new-<pid>`, `.<name>.old-<pid>`,
/// `.<name>.tmp-<pid>`) when that process is gone.
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

/// Writes `bytes` to `path` atomically: a temp file beside it, fsync, rename, fsync of the
/// directory. Readers see the old content or the new, never a mix.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = sibling_temp(path, "tmp");
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(Error::io("create", &tmp))?;
        f.write_all(bytes).map_err(Error::io("write", &tmp))?;
        f.sync_all().map_err(Error::io("sync", &tmp))?;
        std::fs::rename(&tmp, path).map_err(Error::io("rename into place", path))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
