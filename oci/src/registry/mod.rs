//! A client of the OCI distribution API that moves an OCI image layout to and from a registry:
//! [`Client::push_layout`] sends the blobs the registry lacks (asked one by one with `HEAD`),
//! then the manifest; [`Client::pull_to_layout`] fetches a manifest (or picks one from an
//! index), then every blob, each streamed into a [`crate::layout::LayoutWriter`] and refused
//! unless its size and digest are the descriptor's.
//!
//! - [`reference`][]: `REGISTRY/REPOSITORY[:TAG][@DIGEST]`;
//! - [`auth`][]: credentials (the Docker config file format) and `WWW-Authenticate` challenges;
//! - [`client`][]: the HTTP side (HTTPS, or plain HTTP when asked; redirects; bounded answers);
//! - `push`, `pull`: the two directions.
//!
//! The registry is untrusted: every answer is bounded (documents by
//! [`crate::spec::MAX_DOCUMENT_BYTES`], blobs by [`PullLimits`], error bodies by
//! [`client::MAX_ERROR_BODY`]), every manifest and blob is verified against its digest before it
//! lands in the layout, and redirects go only to `http(s)` (never from HTTPS down to HTTP unless
//! plain HTTP was allowed), without the registry's credentials when they leave its origin.

pub mod auth;
pub mod client;
mod pull;
mod push;
pub mod reference;

use std::path::PathBuf;

pub use auth::Credentials;
pub use client::{Client, ClientOptions};
pub use reference::{BadReference, Reference};

use crate::digest::Digest;
use crate::layout::LayoutError;

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// The digest of the manifest pushed.
    pub manifest: Digest,
    /// Blobs uploaded, and their bytes.
    pub blobs_sent: usize,
    pub bytes_sent: u64,
    /// Blobs the registry already had, and their bytes.
    pub blobs_skipped: usize,
    pub bytes_skipped: u64,
}

/// The bounds of a pull: the largest layer blob, and the most bytes of all the blobs together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullLimits {
    pub max_blob_bytes: u64,
    pub max_total_bytes: u64,
}

impl Default for PullLimits {
    /// 1 GiB a blob, 4 GiB in all.
    fn default() -> PullLimits {
        PullLimits {
            max_blob_bytes: 1 << 30,
            max_total_bytes: 4 << 30,
        }
    }
}

/// What a pull did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullReport {
    /// The digest of the manifest, as the registry served it (the one a `@DIGEST` names).
    pub manifest: Digest,
    /// The digest of the manifest in the layout's index: the registry's bytes are kept, so it
    /// is `manifest`.
    pub layout_manifest: Digest,
    /// The layout's directory.
    pub layout: PathBuf,
    /// Blobs fetched (config and layers) and their bytes.
    pub blobs: usize,
    pub bytes: u64,
}

/// A push or pull that failed: the registry, the repository (when one was concerned), what was
/// being done, and why.
#[derive(Debug, thiserror::Error)]
#[error("registry {registry}{}: {action}: {problem}", repository.as_ref().map(|r| format!(", repository {r}")).unwrap_or_default())]
pub struct RegistryError {
    pub registry: String,
    pub repository: Option<String>,
    pub action: String,
    /// Boxed: errors travel in `Result`s, which stay small.
    pub problem: Box<Problem>,
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The registry answered with an unexpected status (its body quoted, bounded, printable).
    #[error("HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Status { status: u16, body: String },
    /// The connection failed.
    #[error("{0}")]
    Transport(String),
    /// A rule was broken: by the registry's answer, the reference or the options.
    #[error("{0}")]
    Refused(String),
    /// The local layout could not be read or written.
    #[error(transparent)]
    Layout(#[from] LayoutError),
}

impl RegistryError {
    /// The HTTP status, when the registry answered with an unexpected one.
    pub fn status(&self) -> Option<u16> {
        match *self.problem {
            Problem::Status { status, .. } => Some(status),
            _ => None,
        }
    }
}
