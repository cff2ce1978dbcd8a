//! The errors of images: each names the layer or image and the rule it broke.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
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

    #[error("image `{image}`: {message}")]
    Image { image: String, message: String },

    #[error("{file}: {message}")]
    Lock { file: PathBuf, message: String },

    #[error(transparent)]
    Content(#[from] ww_content::Error),
}

impl Error {
    /// An I/O error on `path`, for use with `map_err` ([`ww_content::Error::io`]).
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let io = ww_content::Error::io(action, path);
        move |source| Error::Content(io(source))
    }
}

impl From<ww_content::block::BlockError> for Error {
    fn from(e: ww_content::block::BlockError) -> Error {
        Error::Content(e.into())
    }
}

impl From<ww_content::tree::InsertError> for Error {
    fn from(e: ww_content::tree::InsertError) -> Error {
        Error::Content(e.into())
    }
}
