//! An OCI image of a Wetware image back into the block store: its layers unpacked, in order,
//! into their union ([`crate::unpack`]) in a work directory ww made, the union imported under the
//! profile the manifest names, and its root CID compared with the one the manifest's
//! annotation promises. Only a union whose root is that CID is pinned; a mismatch fails naming
//! both, and what was imported stays unpinned (the next `wwpack gc` removes it).

use std::path::{Path, PathBuf};

use ww_content::cid::Cid;
use ww_content::store::Store;
use ww_content::unixfs::{self, Profile};

use crate::digest::Digest;
use crate::layout::Layout;
use crate::spec;
use crate::unpack::{self, Limits, UnpackError, Unpacked};
use crate::work::WorkDir;

/// What [`import`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The image's root CID, as the manifest's annotation promised and the union gives.
    pub root: Cid,
    /// The profile the union was imported under.
    pub profile: String,
    /// The image's name in the lock it was built from, if the manifest says.
    pub image: Option<String>,
    /// The manifest's digest.
    pub manifest: Digest,
    pub unpacked: Unpacked,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Unpack(#[from] UnpackError),
    #[error("manifest {manifest}: {reason}")]
    Manifest { manifest: Digest, reason: String },
    #[error(
        "manifest {manifest}: its layers give the root {got}, not the {promised} its annotation \
         {annotation} promises"
    )]
    Mismatch {
        manifest: Digest,
        promised: Cid,
        got: Cid,
        annotation: &'static str,
    },
    #[error("importing the union into the block store {store}: {reason}")]
    Store { store: PathBuf, reason: String },
}

/// Imports the image of `layout` into `store`, unpacking it in a new directory below `work`
/// (ww's own, on any file system; removed before this returns), and pins its root as `pin_name`.
pub fn import(
    layout: &Layout,
    store: &Store,
    work: &Path,
    limits: Limits,
    pin_name: &str,
) -> Result<Imported, ImportError> {
    let manifest = layout.manifest_descriptor.digest;
    let annotation = |key: &str| layout.manifest.annotations.get(key).cloned();
    let bad = |reason: String| ImportError::Manifest { manifest, reason };
    let promised: Cid = annotation(spec::ANNOTATION_ROOT)
        .ok_or_else(|| {
            bad(format!(
                "no {} annotation: not an image `wwpack export --oci` wrote",
                spec::ANNOTATION_ROOT
            ))
        })?
        .parse()
        .map_err(|e| bad(format!("its {} annotation: {e}", spec::ANNOTATION_ROOT)))?;
    let profile_name = annotation(spec::ANNOTATION_PROFILE).ok_or_else(|| {
        bad(format!(
            "no {} annotation: the profile of its CIDs is unknown",
            spec::ANNOTATION_PROFILE
        ))
    })?;
    let profile: Profile = profile_name
        .parse()
        .map_err(|e| bad(format!("its {} annotation: {e}", spec::ANNOTATION_PROFILE)))?;
    std::fs::create_dir_all(work).map_err(|e| ImportError::Store {
        store: store.dir().to_path_buf(),
        reason: format!("cannot create {}: {e}", work.display()),
    })?;
    let union = WorkDir::named(work, "oci-union");
    let dir = union.path();
    let unpacked = unpack::unpack(layout, dir, limits)?;
    let store_err = |reason: String| ImportError::Store {
        store: store.dir().to_path_buf(),
        reason,
    };
    let guard = store.writer().map_err(|e| store_err(e.to_string()))?;
    let batch = store.batch().map_err(|e| store_err(e.to_string()))?;
    let imported =
        unixfs::import_path(dir, &profile, &batch).map_err(|e| store_err(e.to_string()))?;
    batch.finish().map_err(|e| store_err(e.to_string()))?;
    if imported.cid != promised {
        return Err(ImportError::Mismatch {
            manifest,
            promised,
            got: imported.cid,
            annotation: spec::ANNOTATION_ROOT,
        });
    }
    store
        .pin(&imported.cid, Some(pin_name))
        .map_err(|e| store_err(e.to_string()))?;
    drop(guard);
    Ok(Imported {
        root: imported.cid,
        profile: profile_name,
        image: annotation(spec::ANNOTATION_IMAGE),
        manifest,
        unpacked,
    })
}

#[cfg(test)]
mod tests;
