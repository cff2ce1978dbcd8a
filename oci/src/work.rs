//! Work directories: a unique name below a directory ww owns (or a path the caller chose),
//! removed when the guard drops, however the work ends (a directory renamed away meanwhile is
//! simply no longer there).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A work directory, removed on drop.
pub(crate) struct WorkDir(PathBuf);

impl WorkDir {
    /// `parent/<prefix>-<pid>-<n>`, unique in this process (not created here).
    pub(crate) fn named(parent: &Path, prefix: &str) -> WorkDir {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        WorkDir(parent.join(format!("{prefix}-{}-{n}", std::process::id())))
    }

    /// A guard on `path` (not created here).
    pub(crate) fn at(path: PathBuf) -> WorkDir {
        WorkDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!("cannot remove the work directory {}: {e}", self.0.display());
            }
        }
    }
}
