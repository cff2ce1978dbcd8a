//! Images: the trees of their layers and the union written to disk. (Validation is in
//! [`ww_image::fhs`], manifests in [`ww_image::manifest`].)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::Layer;
use crate::error::{Error, Result};
use ww_content::atomic;
use ww_content::tree::{Entry, RelPath, Tree};
use ww_image::union::{Placement, Union};

/// The tree of `layer`: its static files plus the guest artifacts it installs.
/// `artifacts` maps guest package names to built `.wasm` files.
pub fn layer_tree(layer: &Layer, artifacts: &BTreeMap<String, PathBuf>) -> Result<Tree> {
    let mut tree = match &layer.path {
        Some(path) => {
            Tree::scan(path).map_err(|e| Error::layer(layer.name.clone(), e.to_string()))?
        }
        None => Tree::default(),
    };
    for (dest, guest) in &layer.install {
        let artifact = artifacts.get(guest).ok_or_else(|| Error::Guest {
            guest: guest.clone(),
            message: format!("layer `{}` installs it but it was not built", layer.name),
        })?;
        if let Some(existing) = conflicting_entry(&tree, dest) {
            return Err(Error::layer(
                layer.name.clone(),
                format!(
                    "installs guest `{guest}` at `{dest}`, where its static files already have a {existing}"
                ),
            ));
        }
        tree.insert_file(dest.clone(), artifact.clone())
            .map_err(|e| Error::layer(layer.name.clone(), e.to_string()))?;
    }
    Ok(tree)
}

/// What in `tree` stands in the way of a file at `dest`: the path itself, or a parent that is
/// not a directory.
fn conflicting_entry(tree: &Tree, dest: &RelPath) -> Option<&'static str> {
    if let Some(e) = tree.get(dest) {
        return Some(e.kind());
    }
    let mut parent = dest.parent();
    while let Some(p) = parent {
        match tree.get(&p) {
            Some(Entry::Dir) | None => {}
            Some(e) => return Some(e.kind()),
        }
        parent = p.parent();
    }
    None
}

/// Writes the union to `dest` atomically: built beside it, then swapped into place, so an
/// interrupted build leaves the previous image intact.
pub fn write(union: &Union, dest: &Path) -> Result<()> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io("create directory", parent))?;
    }
    atomic::remove_stale_siblings(dest);
    let staging = atomic::sibling_temp(dest, "new");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(Error::io("remove", &staging))?;
    }
    let result: Result<()> = (|| {
        union.materialize(
            &staging,
            Placement::Copy,
            &ww_content::cancel::Cancel::new(),
        )?;
        atomic::sync_tree(&staging)?;
        atomic::replace_dir(&staging, dest)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}
