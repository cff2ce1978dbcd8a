//! Assembly of images: the tree of each layer (its static files plus the guests it installs),
//! validated by the FHS rules ([`ww_image::fhs`]), hashed into blocks, their per-file union and
//! its manifest ([`ww_image::manifest`]), and the union written to disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::BuildOptions;
use crate::config::{Config, Image, Layer};
use crate::error::{Error, Result};
use ww_content::atomic;
use ww_content::block::BlockSink;
use ww_content::tree::{Entry, RelPath, Tree};
use ww_content::unixfs::{self, FileNodes, Profile};
use ww_image::fhs;
use ww_image::manifest::{FileRecord, ImageManifest, LayerRecord};
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

/// Layers, validation, union, CIDs and the manifest of one image. Blocks go to `store`.
pub(super) fn manifest_of(
    config: &Config,
    image: &Image,
    artifacts: &BTreeMap<String, PathBuf>,
    store: &dyn BlockSink,
    nodes: &mut FileNodes,
    opts: &BuildOptions,
    warnings: &mut Vec<String>,
) -> Result<(ImageManifest, Union, Vec<Tree>)> {
    let profile = &image.profile;
    let import_err = |e: unixfs::ImportError| Error::image(image.name.clone(), e.to_string());
    let mut trees = Vec::new();
    let mut layers = Vec::new();
    for layer in config.layers_of(image) {
        let tree = layer_tree(layer, artifacts)?;
        fhs::validate_layer(&layer.name, &tree)?;
        let node = unixfs::import_tree_with(&tree, profile, store, nodes).map_err(import_err)?;
        layers.push(LayerRecord {
            cid: node.cid.to_string(),
            name: layer.name.clone(),
        });
        trees.push((layer.name.clone(), tree));
    }
    let union = Union::of(trees.iter().map(|(n, t)| (n.as_str(), t)))
        .map_err(|e| Error::image(image.name.clone(), e.to_string()))?;
    for w in fhs::validate_image(&image.name, &union)? {
        warnings.push(format!("image `{}`: {w}", image.name));
    }
    let root =
        unixfs::import_tree_with(&union.to_tree()?, profile, store, nodes).map_err(import_err)?;

    let mut files = BTreeMap::new();
    for (path, item) in union.iter() {
        let shadows: Vec<String> = item
            .shadows
            .iter()
            .map(|&i| union.layers()[i].clone())
            .collect();
        let layer = union.layers()[item.layer].clone();
        if !shadows.is_empty() && fhs::is_pid0_path(path.as_str()) {
            let message = format!(
                "`{path}` from layer `{layer}` shadows the pid0 of layer(s) {}",
                shadows.join(", ")
            );
            if opts.deny_shadowing {
                return Err(Error::image(
                    image.name.clone(),
                    format!("{message} (--deny-shadowing)"),
                ));
            }
            warnings.push(format!("image `{}`: {message}", image.name));
        }
        let record = match &item.entry {
            Entry::Dir => continue,
            Entry::File { source } => {
                let node = nodes
                    .get_or_import(source, profile, store)
                    .map_err(import_err)?;
                FileRecord {
                    cid: node.cid.to_string(),
                    layer,
                    shadows,
                    size: node.filesize,
                    target: None,
                }
            }
            Entry::Symlink { target } => {
                let node = unixfs::symlink(target, profile, store).map_err(import_err)?;
                FileRecord {
                    cid: node.cid.to_string(),
                    layer,
                    shadows,
                    size: target.len() as u64,
                    target: Some(target.clone()),
                }
            }
        };
        files.insert(path.to_string(), record);
    }
    Ok((
        ImageManifest {
            files,
            layers,
            profile: profile.name.to_string(),
            root: root.cid.to_string(),
        },
        union,
        trees.into_iter().map(|(_, t)| t).collect(),
    ))
}

/// Stores the blocks of every layer, image and guest (after a `--locked` check passed).
pub(super) fn store_blocks(
    images: &[&Image],
    layer_trees: &[Vec<Tree>],
    unions: &[Union],
    artifacts: &BTreeMap<String, PathBuf>,
    store: &dyn BlockSink,
) -> Result<()> {
    let mut nodes: BTreeMap<&str, FileNodes> = BTreeMap::new();
    for ((image, layers), union) in images.iter().zip(layer_trees).zip(unions) {
        let profile = &image.profile;
        let nodes = nodes.entry(profile.name).or_default();
        let err = |e: unixfs::ImportError| Error::image(image.name.clone(), e.to_string());
        for tree in layers {
            unixfs::import_tree_with(tree, profile, store, nodes).map_err(err)?;
        }
        unixfs::import_tree_with(&union.to_tree()?, profile, store, nodes).map_err(err)?;
    }
    let nodes = nodes.entry(Profile::default().name).or_default();
    for (name, artifact) in artifacts {
        nodes
            .get_or_import(artifact, &Profile::default(), store)
            .map_err(|e| Error::Guest {
                guest: name.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(())
}
