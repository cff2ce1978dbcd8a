//! Writing and reading *beneath* a directory handle, never through a link ww did not make.
//!
//! Trees written out (an image by `wwpack build`, a union root by `ww run`) and read back (a
//! cached root) come from images anyone can publish. Path-based calls (`create_dir`,
//! `hard_link`, `fs::copy`, `read_to_string`) resolve every component of the path, so a symlink
//! an image put at `etc` sends a later write of `etc/passwd` wherever the link points. Here
//! every operation takes a [`Dir`] handle and a single name: it is `mkdirat`, `openat` with
//! `O_NOFOLLOW` (and `O_CREAT | O_EXCL` to create), `linkat` without `AT_SYMLINK_FOLLOW`,
//! `symlinkat`, `fstatat` with `AT_SYMLINK_NOFOLLOW`. A name is one component (non-empty, not
//! `.` or `..`, no `/` or NUL), so nothing is resolved beyond the handle, and nothing that
//! already exists is written through or replaced.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat, CWD};

/// An open directory, and its path for messages.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

/// What [`Dir::kind`] finds at a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    /// A FIFO, socket or device.
    Other,
}

const DIR_FLAGS: OFlags = OFlags::DIRECTORY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC)
    .union(OFlags::RDONLY);

impl Dir {
    /// Creates the directory `path` (which must not exist; its parent is trusted, e.g. ww's own
    /// cache) and opens it.
    pub fn create_new(path: &Path, mode: u32) -> io::Result<Dir> {
        rustix::fs::mkdirat(CWD, path, Mode::from_raw_mode(mode))?;
        Dir::open(path)
    }

    /// Opens the directory `path`; the last component must not be a symlink.
    pub fn open(path: &Path) -> io::Result<Dir> {
        let fd = rustix::fs::openat(CWD, path, DIR_FLAGS, Mode::empty())?;
        Ok(Dir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// Opens the directory `path` as the user named it (a symlink to a directory is followed:
    /// the path is the user's, not an image's); what is below it is then reached beneath the
    /// handle.
    pub fn open_following(path: &Path) -> io::Result<Dir> {
        let flags = OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::RDONLY;
        let fd = rustix::fs::openat(CWD, path, flags, Mode::empty())?;
        Ok(Dir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// The directory's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` in this directory, for messages.
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Creates the directory `name` here (it must not exist) and opens it.
    pub fn create_dir(&self, name: &str, mode: u32) -> io::Result<Dir> {
        check(name)?;
        rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(mode))?;
        self.open_dir(name)
    }

    /// Opens the directory `name` here; a symlink there is an error (`ELOOP`/`ENOTDIR`).
    pub fn open_dir(&self, name: &str) -> io::Result<Dir> {
        check(name)?;
        let fd = rustix::fs::openat(&self.fd, name, DIR_FLAGS, Mode::empty())?;
        Ok(Dir {
            fd,
            path: self.path_of(name),
        })
    }

    /// Creates the regular file `name` here for writing; it must not exist (`O_EXCL`: not even
    /// as a dangling symlink). `mode` is filtered by the umask, as `open(2)` does.
    pub fn create_file(&self, name: &str, mode: u32) -> io::Result<File> {
        check(name)?;
        let flags =
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(mode))?;
        Ok(File::from(fd))
    }

    /// Opens the regular file `name` here for reading; a symlink or anything but a regular file
    /// is an error.
    pub fn open_file(&self, name: &str) -> io::Result<File> {
        check(name)?;
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::empty())?;
        let stat = rustix::fs::fstat(&fd)?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", self.path_of(name).display()),
            ));
        }
        let file = File::from(fd);
        // Back to blocking reads (O_NONBLOCK only kept a FIFO from blocking the open).
        rustix::fs::fcntl_setfl(&file, OFlags::RDONLY)?;
        Ok(file)
    }

    /// Makes `name` here a hard link to the file `from` (a path ww trusts, e.g. its cache);
    /// `from` itself is not followed if it is a symlink.
    pub fn link_from(&self, name: &str, from: &Path) -> io::Result<()> {
        check(name)?;
        rustix::fs::linkat(CWD, from, &self.fd, name, AtFlags::empty())?;
        Ok(())
    }

    /// Makes `name` here a symlink to `target` (stored as is, never followed here).
    pub fn symlink(&self, name: &str, target: &str) -> io::Result<()> {
        check(name)?;
        rustix::fs::symlinkat(target, &self.fd, name)?;
        Ok(())
    }

    /// Removes the file or symlink `name` here (`unlinkat`, which never follows it).
    pub fn remove_file(&self, name: &str) -> io::Result<()> {
        check(name)?;
        rustix::fs::unlinkat(&self.fd, name, AtFlags::empty())?;
        Ok(())
    }

    /// The target of the symlink `name` here.
    pub fn read_link(&self, name: &str) -> io::Result<Vec<u8>> {
        check(name)?;
        Ok(rustix::fs::readlinkat(&self.fd, name, Vec::new())?.into_bytes())
    }

    /// What `name` here is, without following it; `None` when there is nothing.
    pub fn kind(&self, name: &str) -> io::Result<Option<Kind>> {
        match self.stat(name) {
            Ok(stat) => Ok(Some(kind_of(&stat))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `fstatat(name, AT_SYMLINK_NOFOLLOW)`.
    pub fn stat(&self, name: &str) -> io::Result<Stat> {
        check(name)?;
        Ok(rustix::fs::statat(
            &self.fd,
            name,
            AtFlags::SYMLINK_NOFOLLOW,
        )?)
    }

    /// The names in this directory (without `.` and `..`), in no particular order.
    pub fn names(&self) -> io::Result<Vec<Vec<u8>>> {
        names_in(&self.fd)
    }

    /// Flushes the directory itself (its entries) to disk.
    pub fn sync(&self) -> io::Result<()> {
        Ok(rustix::fs::fsync(&self.fd)?)
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The kind of what `stat` describes.
pub fn kind_of(stat: &Stat) -> Kind {
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::Directory => Kind::Dir,
        FileType::RegularFile => Kind::File,
        FileType::Symlink => Kind::Symlink,
        _ => Kind::Other,
    }
}

/// Opens the host file `path` for reading without following a symlink at its last component,
/// and only if it is a regular file.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let fd = rustix::fs::openat(CWD, path, flags, Mode::empty())?;
    let stat = rustix::fs::fstat(&fd)?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    let file = File::from(fd);
    rustix::fs::fcntl_setfl(&file, OFlags::RDONLY)?;
    Ok(file)
}

/// A name must be one path component: anything else could reach beyond the handle.
fn check(name: &str) -> io::Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "`{}` is not a single path component",
                crate::text::printable(name)
            ),
        ));
    }
    Ok(())
}

/// The names in the open directory `fd` (without `.` and `..`), in no particular order.
pub fn names_in(fd: impl std::os::fd::AsFd) -> io::Result<Vec<Vec<u8>>> {
    let mut dir = rustix::fs::Dir::read_from(fd)?;
    let mut names = Vec::new();
    while let Some(entry) = dir.read() {
        let name = entry?.file_name().to_bytes().to_vec();
        if name != b"." && name != b".." {
            names.push(name);
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn nothing_is_written_through_a_symlink_or_over_an_existing_name() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        let root = Dir::create_new(&tmp.path().join("root"), 0o755).unwrap();
        root.symlink("etc", outside.to_str().unwrap()).unwrap();

        // Opening the symlink as a directory, or creating a file over it, fails.
        assert!(root.open_dir("etc").is_err());
        assert!(root.create_dir("etc", 0o755).is_err());
        assert!(root.create_file("etc", 0o644).is_err());
        // A name with a slash never reaches below the link.
        let err = root.create_file("etc/passwd", 0o644).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        for bad in ["", ".", "..", "a\0b"] {
            assert!(root.create_file(bad, 0o644).is_err(), "{bad:?}");
        }
        // A dangling symlink blocks an exclusive create too.
        root.symlink("dangling", outside.join("new").to_str().unwrap())
            .unwrap();
        assert!(root.create_file("dangling", 0o644).is_err());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);

        let mut f = root.create_file("file", 0o644).unwrap();
        f.write_all(b"bytes").unwrap();
        assert!(root.create_file("file", 0o644).is_err(), "exclusive");
        let mut back = String::new();
        root.open_file("file")
            .unwrap()
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, "bytes");
        assert!(root.open_file("etc").is_err(), "a symlink is not opened");
        assert_eq!(root.kind("etc").unwrap(), Some(Kind::Symlink));
        assert_eq!(root.kind("file").unwrap(), Some(Kind::File));
        assert_eq!(root.kind("none").unwrap(), None);
        assert_eq!(
            root.read_link("etc").unwrap(),
            outside.to_str().unwrap().as_bytes()
        );
        let mut names = root.names().unwrap();
        names.sort();
        assert_eq!(
            names,
            [b"dangling".to_vec(), b"etc".to_vec(), b"file".to_vec()]
        );
    }

    #[test]
    fn open_regular_refuses_symlinks_and_fifos() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        std::os::unix::fs::symlink(&file, tmp.path().join("l")).unwrap();
        let fifo = tmp.path().join("p");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        assert!(open_regular(&file).is_ok());
        assert!(open_regular(&tmp.path().join("l")).is_err());
        // Neither blocks on the FIFO nor opens it.
        assert!(open_regular(&fifo).is_err());
    }
}
