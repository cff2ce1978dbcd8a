//! The errors of the content crate's file-level work (trees of host files, atomic writes). Each
//! names the file and the rule it broke. Blocks, CARs, UnixFS and the node have their own error
//! types beside their code.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot {action} {path}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: {rule}")]
    Tree { path: PathBuf, rule: String },

    #[error(transparent)]
    Block(#[from] crate::block::BlockError),

    #[error(transparent)]
    Insert(#[from] InsertError),
}

impl Error {
    /// An I/O error on `path`, for use with `map_err`.
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            path,
            action,
            source,
        }
    }
}

/// Why [`crate::tree::Tree::insert`] refused an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InsertError {
    /// A parent of the path is a file or a symlink.
    #[error("`{path}` cannot be added below `{parent}`, which is a {kind}, not a directory")]
    ParentNotDir {
        path: String,
        parent: String,
        kind: &'static str,
    },
    /// The path is a directory with entries, and the new entry is not a directory.
    #[error("`{path}` is a directory with entries; it cannot become a {kind}")]
    DirNotEmpty { path: String, kind: &'static str },
}
