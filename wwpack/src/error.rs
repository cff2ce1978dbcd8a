//! The errors of the wwpack library. Each names the thing (file, layer, image, guest) and the
//! rule it broke.

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

    #[error("no wwpack.toml in {start} or any parent directory")]
    ConfigNotFound { start: PathBuf },

    #[error("{file}: {message}")]
    Config { file: PathBuf, message: String },

    #[error("no image `{name}` in wwpack.toml (images: {})", known.join(", "))]
    UnknownImage { name: String, known: Vec<String> },

    #[error("{path}: {rule}")]
    Tree { path: PathBuf, rule: String },

    #[error("layer `{layer}`: {message}")]
    Layer { layer: String, message: String },

    #[error("`{path}` is a {earlier_kind} in layer `{earlier}` but a {later_kind} in layer `{later}`; a union cannot merge the two")]
    UnionConflict {
        path: String,
        earlier: String,
        earlier_kind: &'static str,
        later: String,
        later_kind: &'static str,
    },

    #[error("guest `{guest}`: {message}")]
    Guest { guest: String, message: String },

    #[error("building guests in {workspace}: {message}")]
    Cargo { workspace: PathBuf, message: String },

    #[error("image `{image}`: {message}")]
    Image { image: String, message: String },

    #[error("wwpack diff: {side}: {message}")]
    Diff { side: String, message: String },

    #[error(transparent)]
    Block(#[from] crate::block::BlockError),

    #[error(transparent)]
    Insert(#[from] InsertError),

    #[error("the build does not match {lock} (--locked):\n  {}", .diff.join("\n  "))]
    Locked { lock: PathBuf, diff: Vec<String> },
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
