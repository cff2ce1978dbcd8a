//! The errors of the wwpack library. Each names the thing (file, layer, image, guest) and the
//! rule it broke. Files, trees and blocks fail with [`ww_content::Error`], the rules of layers
//! and images with [`ww_image::Error`]; both pass through unchanged.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no wwpack.toml in {start} or any parent directory")]
    ConfigNotFound { start: PathBuf },

    #[error("{file}: {message}")]
    Config { file: PathBuf, message: String },

    #[error("no image `{name}` in wwpack.toml (images: {})", known.join(", "))]
    UnknownImage { name: String, known: Vec<String> },

    #[error("guest `{guest}`: {message}")]
    Guest { guest: String, message: String },

    #[error("building guests in {workspace}: {message}")]
    Cargo { workspace: PathBuf, message: String },

    #[error("{side}: {message}")]
    Diff { side: String, message: String },

    /// `build --locked` found the result different from `lock`; `diff` holds the lines of the
    /// mismatch as `wwpack diff` prints it.
    #[error("the build does not match {lock} (--locked):\n  {}", .diff.join("\n  "))]
    Locked { lock: PathBuf, diff: Vec<String> },

    /// Files, trees and blocks (an I/O error names the file).
    #[error(transparent)]
    Content(#[from] ww_content::Error),

    /// The rules of layers and images, and the lock's format.
    #[error(transparent)]
    Image(#[from] ww_image::Error),
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

    /// A layer broke a rule.
    pub fn layer(layer: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Image(ww_image::Error::Layer {
            layer: layer.into(),
            message: message.into(),
        })
    }

    /// An image broke a rule.
    pub fn image(image: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Image(ww_image::Error::Image {
            image: image.into(),
            message: message.into(),
        })
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
