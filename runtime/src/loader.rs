//! The ChainLoader: turns each layer argument of `ww run` (a CID, `/ipfs/CID[/path]`, or a host
//! directory) into a tree whose files are all in the [`Cache`], trying the embedded block store
//! first, then the IPFS node, then the host path.
//!
//! Blocks fetched from the node are verified and kept in the embedded store, so a later run needs
//! no node. Files of content layers are written to the cache once per CID; files of host layers
//! are hashed and copied there once per CID (never linked: a host file edited in place must not
//! change a cached root).
//!
//! Layers are untrusted. A content layer is read by [`ww_image::layer::open_with`] (through
//! [`Reader::walk_with`], which enforces the name rule, the depth cap and the block budget); every layer then passes the rules `wwpack
//! build` applies to a layer ([`ww_image::fhs::validate_layer`]: symlinks stay inside it; a host
//! directory's FIFOs, devices and sockets are refused when it is scanned). Before any file is
//! written, the sizes of the distinct files of all layers together are checked against
//! `--max-image-size` ([`ImageBudget`]).
//!
//! While a content layer loads, a bar on a terminal ([`crate::progress`]) shows its files as the
//! walk finds them, then the bytes written to the cache of their total; it is cleared when the
//! layer is loaded (or fails), before pid0 runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ww_content::block::{BlockSource, NullSink};
use ww_content::cancel::Cancel;
pub use ww_content::chain::ChainSource;
use ww_content::cid::Cid;
use ww_content::path::ContentPath;
use ww_content::progress::{Meter, MeteredWrite};
use ww_content::store::Store;
use ww_content::tree::{Entry, RelPath, Tree};
use ww_content::unixfs::read::Reader;
use ww_content::unixfs::{self, FileNodes, Imported, Profile};

use ww_content::text::printable;
use ww_image::layer::LayerEntry;

use crate::cache::Cache;
use crate::error::BootError;
pub use crate::layer::{ImageBudget, LoadedLayer};

/// The default of `--max-image-size`: the bytes of files one `ww run` may materialize.
pub const DEFAULT_MAX_IMAGE_SIZE: u64 = 4 << 30;

/// The bytes of blocks a content layer's reader may decode beyond twice `--max-image-size`
/// (each file's blocks are read to learn its size, then to write it): 1 GiB for directories.
pub const DIRECTORY_BYTES: u64 = 1 << 30;

/// Resolves layer arguments: embedded store, then IPFS node, then host path.
pub struct ChainLoader<'a> {
    pub store: &'a Store,
    pub node: Option<&'a dyn BlockSource>,
    /// How the node is named in messages (its API URL).
    pub node_label: Option<String>,
    pub cache: &'a Cache,
    /// Checked between every block, entry and write: a raised one stops the load.
    pub cancel: Cancel,
}

/// A file of a content layer, found by the walk and written once all are counted.
struct ContentFile {
    rel: RelPath,
    cid: Cid,
    size: u64,
    tsize: u64,
}

impl ChainLoader<'_> {
    /// Loads the layer `arg`, counting its files against `budget`.
    pub fn load(&self, arg: &str, budget: &mut ImageBudget) -> Result<LoadedLayer, BootError> {
        let bad = |reason: String| BootError::Layer {
            dir: PathBuf::from(arg),
            reason,
        };
        let layer = match arg.parse::<ContentPath>() {
            Ok(target) => match self.content_root(arg, &target)? {
                Some(chain) => self.load_content(arg, &target, &chain, budget)?,
                None => self.load_dir(arg, budget)?,
            },
            Err(_) => self.load_dir(arg, budget)?,
        };
        ww_image::fhs::validate_layer(arg, &layer.tree).map_err(|e| bad(layer_rule(&e)))?;
        Ok(layer)
    }

    /// The chain to read `target` through when its root is to be had there; `None` when it is
    /// not, but `arg` is a host directory.
    fn content_root(
        &self,
        arg: &str,
        target: &ContentPath,
    ) -> Result<Option<ChainSource<'_>>, BootError> {
        let bad = |reason: String| BootError::Layer {
            dir: PathBuf::from(arg),
            reason,
        };
        let label = self.node_label.as_deref();
        let chain = ChainSource::new(self.store, self.node)
            .with_cancel(self.cancel.clone())
            .explaining(
                self.node_label.clone(),
                ww_content::chain::pull_hint(&target.root),
            );
        match chain.get_unverified(&target.root) {
            Ok(Some(_)) => return Ok(Some(chain)),
            Ok(None) if Path::new(arg).is_dir() => {}
            Ok(None) => {
                return Err(bad(ww_content::chain::missing(
                    &target.root,
                    self.store,
                    label,
                    None,
                )))
            }
            Err(e) if Path::new(arg).is_dir() && self.cancel.raised().is_none() => {
                tracing::debug!("{arg}: not from the node ({e}); using the directory");
            }
            Err(e) => {
                return Err(bad(ww_content::chain::missing(
                    &target.root,
                    self.store,
                    label,
                    Some(&e),
                )))
            }
        }
        Ok(None)
    }

    fn load_content(
        &self,
        arg: &str,
        target: &ContentPath,
        chain: &ChainSource<'_>,
        budget: &mut ImageBudget,
    ) -> Result<LoadedLayer, BootError> {
        let bad = |reason: String| BootError::Layer {
            dir: PathBuf::from(arg),
            reason,
        };
        let meter = Meter::new();
        let bar = crate::progress::Bar::start(
            crate::progress::wanted(),
            "fetching",
            &meter,
            crate::progress::Items::Files,
        );
        // Each file's block is read once to learn its size and once to write it; directories
        // get a budget of their own.
        let reader = Reader::new(chain).with_max_bytes(
            budget
                .max()
                .saturating_mul(2)
                .saturating_add(DIRECTORY_BYTES),
        );
        // Every file is counted before any is written.
        let content =
            ww_image::layer::open_with(&reader, &target.root, &target.path, |rel, cid, size| {
                meter.add_items(1);
                budget.charge(cid, size, rel.as_str())
            })
            .map_err(|e| bad(e.to_string()))?;
        let mut layer = LoadedLayer {
            label: arg.to_string(),
            tree: Tree::default(),
            origins: BTreeMap::new(),
            nodes: Vec::new(),
        };
        let base = if target.path.is_empty() {
            format!("/ipfs/{}", target.root)
        } else {
            format!("/ipfs/{}/{}", target.root, printable(&target.path))
        };
        let mut files = Vec::new();
        for (rel, entry) in content.entries {
            let entry = match entry {
                LayerEntry::Dir { .. } => Entry::Dir,
                LayerEntry::Symlink { target, .. } => Entry::Symlink { target },
                LayerEntry::File { cid, size, tsize } => {
                    files.push(ContentFile {
                        rel,
                        cid,
                        size,
                        tsize,
                    });
                    continue;
                }
            };
            layer
                .tree
                .insert(rel, entry)
                .map_err(|e| bad(e.to_string()))?;
        }

        // The sizes the DAG claims for its files (within the budget): the total to show.
        meter.set_items_total(files.len() as u64);
        meter.set_items(0);
        meter.set_bytes_total(
            files
                .iter()
                .fold(0u64, |sum, file| sum.saturating_add(file.size)),
        );
        let mut written = 0u64;
        for file in files {
            let path = format!("{base}/{}", printable(file.rel.as_str()));
            let cached = self.cache.put_file(&file.cid, file.size, &|out| {
                reader
                    .read_to(&file.cid, &mut MeteredWrite::new(out, meter.clone()))
                    .map(drop)
                    .map_err(|e| bad(e.to_string()))
            })?;
            // Written, or found in the cache: this file's bytes are done, counted once.
            written = written.saturating_add(file.size);
            meter.set_bytes(written);
            meter.add_items(1);
            layer.nodes.push((
                cached.clone(),
                Imported {
                    cid: file.cid,
                    tsize: file.tsize,
                    filesize: file.size,
                },
            ));
            layer.origins.insert(file.rel.clone(), path);
            layer
                .tree
                .insert(file.rel, Entry::File { source: cached })
                .map_err(|e| bad(e.to_string()))?;
        }
        bar.finish();
        Ok(layer)
    }

    fn load_dir(&self, arg: &str, budget: &mut ImageBudget) -> Result<LoadedLayer, BootError> {
        crate::host_layer::load(arg, Path::new(arg), self.cache, budget, &self.cancel)
    }
}

/// The key of a union root: its UnixFS CID (default profile), computed from the layers' known
/// file nodes, so no file is hashed again.
pub fn union_key(union: &ww_image::union::Union, layers: &[LoadedLayer]) -> Result<Cid, BootError> {
    let mut nodes = FileNodes::default();
    for layer in layers {
        for (path, node) in &layer.nodes {
            nodes.by_source.insert(path.clone(), node.clone());
        }
    }
    let tree = union
        .to_tree()
        .map_err(|e| BootError::Union(e.to_string()))?;
    unixfs::import_tree_with(&tree, &Profile::default(), &NullSink, &mut nodes)
        .map(|n| n.cid)
        .map_err(|e| BootError::Host(format!("cannot compute the union's CID: {e}")))
}

/// The rule a layer broke, without the layer's name: the boot error names it already.
fn layer_rule(e: &ww_image::Error) -> String {
    match e {
        ww_image::Error::Layer { message, .. } => message.clone(),
        other => other.to_string(),
    }
}
