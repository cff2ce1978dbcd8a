//! Where a command's output goes: the `-o PATH` of a command ([`Output`]) and standard output
//! ([`Stdout`]), which remembers when its reader has gone away.
//!
//! `-o PATH` writes that path, whatever it is:
//! - `-` is standard output, so a CAR streams into a pipe;
//! - a regular file, or a path that does not exist, is written atomically: a temporary file in
//!   the same directory, fsync, rename over the path, fsync of the directory; an interrupted or
//!   failed write leaves the previous file intact (the temporary file is removed);
//! - anything else (a FIFO, a character or block device, a socket) is opened and written in
//!   place, never renamed over;
//! - a symlink is followed, never replaced: its target is written by the rules above (in place
//!   when the target is not a regular file, atomically beside the target when it is, created
//!   when the link dangles).
//!
//! A new file is created with mode `0o666` and the kernel applies the umask, as the shell's `>`
//! does; a replaced regular file keeps its permission bits.
//!
//! [`Stdout`] records a closed pipe (`EPIPE`), so that the command line can end quietly with
//! status 0 when its reader is gone (`wwpack ls CID | head -1`), as other Unix tools do, and
//! report every other failure.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// How many symlinks [`Output::create`] follows before it gives up (Linux's limit).
const MAX_SYMLINKS: usize = 40;

/// Why an output could not be written; names the path as given and what was done.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {path}: {source}")]
pub struct OutputError {
    pub action: &'static str,
    pub path: String,
    #[source]
    pub source: io::Error,
}

fn error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> OutputError {
    let path = path.display().to_string();
    move |source| OutputError {
        action,
        path,
        source,
    }
}

/// An output being written; [`Output::finish`] completes it. Dropped unfinished, an atomic
/// output removes its temporary file and leaves the path as it was.
pub struct Output {
    /// The path as the user gave it, for messages.
    given: PathBuf,
    sink: Sink,
}

enum Sink {
    Stdout(Stdout),
    /// A FIFO, device or socket, opened in place.
    InPlace(File),
    /// A temporary file beside `dest`, renamed over it by [`Output::finish`].
    Atomic {
        file: tempfile::NamedTempFile,
        dest: PathBuf,
    },
}

/// What a path names, symlinks followed.
enum Found {
    /// A regular file, or nothing: write it atomically at this path (symlinks resolved).
    Replace(PathBuf),
    /// Something else that exists: write it in place.
    Special,
}

impl Output {
    /// Opens `path` for writing by the rules of the module documentation; `-` is stdout.
    pub fn create(path: &Path) -> Result<Output, OutputError> {
        let given = path.to_path_buf();
        if path.as_os_str() == "-" {
            return Ok(Output {
                given,
                sink: Sink::Stdout(Stdout),
            });
        }
        let sink = match find(path)? {
            Found::Special => {
                // Opened through the kernel's own resolution (so `/dev/stdout`, whose target
                // is a magic link, works); no O_CREAT, no O_TRUNC: the thing exists and is
                // written as it is.
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(error("open for writing", path))?;
                Sink::InPlace(file)
            }
            Found::Replace(dest) => {
                let old = std::fs::metadata(&dest).ok().filter(|m| m.is_file());
                let dir = match dest.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                let name = dest
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let file = tempfile::Builder::new()
                    .prefix(&format!(".{name}."))
                    .suffix(".tmp")
                    .permissions(Permissions::from_mode(0o666))
                    .tempfile_in(dir)
                    .map_err(error("create a temporary file in", dir))?;
                if let Some(old) = old {
                    file.as_file()
                        .set_permissions(Permissions::from_mode(old.mode() & 0o777))
                        .map_err(error("set the permissions of", file.path()))?;
                }
                Sink::Atomic { file, dest }
            }
        };
        Ok(Output { given, sink })
    }

    /// Whether this output is standard output.
    pub fn is_stdout(&self) -> bool {
        matches!(self.sink, Sink::Stdout(_))
    }

    /// Flushes the output; an atomic one is synced and renamed into place, then its directory
    /// synced.
    pub fn finish(self) -> Result<(), OutputError> {
        let given = self.given;
        match self.sink {
            Sink::Stdout(mut out) => out.flush().map_err(error("write", Path::new("stdout"))),
            Sink::InPlace(mut file) => file.flush().map_err(error("write", &given)),
            Sink::Atomic { file, dest } => {
                file.as_file()
                    .sync_all()
                    .map_err(error("sync", file.path()))?;
                file.persist(&dest)
                    .map_err(|e| error("rename into place", &dest)(e.error))?;
                if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
                    if let Ok(d) = File::open(dir) {
                        let _ = d.sync_all();
                    }
                }
                Ok(())
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Stdout(out) => out.write(buf),
            Sink::InPlace(file) => file.write(buf),
            Sink::Atomic { file, .. } => file.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(out) => out.flush(),
            Sink::InPlace(file) => file.flush(),
            Sink::Atomic { file, .. } => file.flush(),
        }
    }
}

/// What `path` names. A symlink is followed hop by hop only when the kernel cannot tell what
/// its target is (it dangles): then the path to create is the end of the chain.
fn find(path: &Path) -> Result<Found, OutputError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {
            let is_link = std::fs::symlink_metadata(path)
                .map_err(error("read", path))?
                .file_type()
                .is_symlink();
            if is_link {
                let real = std::fs::canonicalize(path).map_err(error("resolve", path))?;
                Ok(Found::Replace(real))
            } else {
                Ok(Found::Replace(path.to_path_buf()))
            }
        }
        Ok(_) => Ok(Found::Special),
        Err(e) if e.kind() == io::ErrorKind::NotFound => dangling_end(path).map(Found::Replace),
        Err(e) => Err(error("write", path)(e)),
    }
}

/// The path at the end of the chain of symlinks that starts at `path`, which does not resolve
/// to anything (the path itself when it is not a symlink).
fn dangling_end(path: &Path) -> Result<PathBuf, OutputError> {
    let mut at = path.to_path_buf();
    for _ in 0..=MAX_SYMLINKS {
        let meta = match std::fs::symlink_metadata(&at) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(at),
            Err(e) => return Err(error("read", &at)(e)),
        };
        if !meta.file_type().is_symlink() {
            // Something appeared since the first look: write where we are.
            return Ok(at);
        }
        let target = std::fs::read_link(&at).map_err(error("read the symlink", &at))?;
        at = match at.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    Err(error("write", path)(io::Error::other(format!(
        "more than {MAX_SYMLINKS} levels of symbolic links"
    ))))
}

/// Set once a write to stdout failed because its reader is gone.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether a write to [`Stdout`] failed because the reader closed it (`EPIPE`). The command
/// line then ends quietly with status 0, whatever error that write caused on its way up.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::SeqCst)
}

/// Standard output, noting a closed reader for [`stdout_closed`]. Once closed, every further
/// write fails at once with the same error, so loops that print stop.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

impl Stdout {
    fn check<T>(result: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &result {
            if e.kind() == io::ErrorKind::BrokenPipe {
                STDOUT_CLOSED.store(true, Ordering::SeqCst);
            }
        }
        result
    }

    fn closed() -> io::Error {
        io::Error::new(io::ErrorKind::BrokenPipe, "stdout is closed")
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if stdout_closed() {
            return Err(Stdout::closed());
        }
        Stdout::check(io::stdout().lock().write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if stdout_closed() {
            return Err(Stdout::closed());
        }
        Stdout::check(io::stdout().lock().write_all(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        if stdout_closed() {
            return Err(Stdout::closed());
        }
        Stdout::check(io::stdout().lock().flush())
    }
}

#[cfg(test)]
mod tests;
