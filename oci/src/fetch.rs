//! An image from a registry into the block store: pulled into an OCI layout in a work
//! directory ww made ([`crate::registry`], every blob verified), its layers unpacked into their
//! union and imported ([`crate::import`]): the store then holds the image under the root CID
//! its manifest promises, pinned as `oci:REFERENCE`. The work directory is removed however the
//! fetch ends.

use std::path::{Path, PathBuf};

use ww_content::store::Store;

use crate::import::{self, ImportError, Imported};
use crate::layout::{Layout, LayoutError};
use crate::registry::{Client, ClientOptions, PullLimits, PullReport, Reference, RegistryError};
use crate::unpack;
use crate::work::WorkDir;

/// What [`fetch`] did.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub pulled: PullReport,
    pub imported: Imported,
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{reference}: {source}")]
    Layout {
        reference: String,
        source: LayoutError,
    },
    #[error("{reference}: {source}")]
    Import {
        reference: String,
        source: ImportError,
    },
    #[error("cannot make a work directory in {dir}: {reason}")]
    Work { dir: PathBuf, reason: String },
}

/// Pulls `reference` within `limits` and imports it into `store` within `unpack_limits` (the
/// files of the union: their bytes decompressed, their count), working in a new directory
/// below `work`.
pub fn fetch(
    reference: &Reference,
    opts: ClientOptions,
    store: &Store,
    work: &Path,
    limits: PullLimits,
    unpack_limits: unpack::Limits,
) -> Result<Fetched, FetchError> {
    let guard = WorkDir::named(work, "oci-fetch");
    let dir = guard.path();
    std::fs::create_dir_all(dir).map_err(|e| FetchError::Work {
        dir: work.to_path_buf(),
        reason: e.to_string(),
    })?;
    let client = Client::new(&reference.registry, opts)?;
    let pulled = client.pull_to_layout(reference, &dir.join("layout"), limits)?;
    let named = |source| FetchError::Layout {
        reference: reference.to_string(),
        source,
    };
    let layout = Layout::open(&pulled.layout, reference.tag.as_deref()).map_err(named)?;
    let imported = import::import(
        &layout,
        store,
        &dir.join("work"),
        unpack_limits,
        &format!("oci:{reference}"),
    )
    .map_err(|source| FetchError::Import {
        reference: reference.to_string(),
        source,
    })?;
    Ok(Fetched { pulled, imported })
}
