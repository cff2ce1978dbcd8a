//! The ChainLoader: turns each layer argument of `ww run` (a CID, `/ipfs/CID[/path]`, or a host
//! directory) into a tree whose files are all in the [`Cache`], trying the embedded block store
//! first, then the IPFS node, then the host path.
//!
//! Blocks fetched from the node are verified and kept in the embedded store, so a later run needs
//! no node. Files of content layers are written to the cache once per CID; files of host layers
//! are hashed and copied there once per CID (never linked: a host file edited in place must not
//! change a cached root).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wwpack::block::{BlockSource, NullSink};
pub use wwpack::chain::ChainSource;
use wwpack::cid::Cid;
use wwpack::content::ContentPath;
use wwpack::store::Store;
use wwpack::tree::{Entry, RelPath, Tree};
use wwpack::unixfs::read::{Kind, Reader};
use wwpack::unixfs::{self, FileNodes, Node, Profile};

use crate::cache::Cache;
use crate::error::BootError;

/// A layer ready for the union: its tree (files in the cache), where each file came from, and
/// the nodes of its files (so the union's CID needs no re-hashing).
pub struct LoadedLayer {
    /// The argument as given.
    pub label: String,
    pub tree: Tree,
    /// Where each file came from, for messages: a host path or `/ipfs/CID/path`.
    pub origins: BTreeMap<RelPath, String>,
    pub nodes: Vec<(PathBuf, Node)>,
}

/// Resolves layer arguments: embedded store, then IPFS node, then host path.
pub struct ChainLoader<'a> {
    pub store: &'a Store,
    pub node: Option<&'a dyn BlockSource>,
    /// How the node is named in messages (its API URL).
    pub node_label: Option<String>,
    pub cache: &'a Cache,
}

impl ChainLoader<'_> {
    pub fn load(&self, arg: &str) -> Result<LoadedLayer, BootError> {
        let bad = |reason: String| BootError::Layer {
            dir: PathBuf::from(arg),
            reason,
        };
        if let Ok(target) = arg.parse::<ContentPath>() {
            let chain = ChainSource::new(self.store, self.node);
            match chain.get_unverified(&target.root) {
                Ok(Some(_)) => return self.load_content(arg, &target, &chain),
                Ok(None) => {}
                Err(e) if Path::new(arg).is_dir() => {
                    tracing::debug!("{arg}: not from the node ({e}); using the directory");
                }
                Err(e) => {
                    let label = self.node_label.as_deref();
                    return Err(bad(wwpack::chain::missing(
                        &target.root,
                        self.store,
                        label,
                        Some(&e),
                    )));
                }
            }
            if !Path::new(arg).is_dir() {
                let label = self.node_label.as_deref();
                return Err(bad(wwpack::chain::missing(
                    &target.root,
                    self.store,
                    label,
                    None,
                )));
            }
        }
        self.load_dir(arg)
    }

    fn load_content(
        &self,
        arg: &str,
        target: &ContentPath,
        chain: &ChainSource<'_>,
    ) -> Result<LoadedLayer, BootError> {
        let bad = |reason: String| BootError::Layer {
            dir: PathBuf::from(arg),
            reason,
        };
        let reader = Reader::new(chain);
        let root = reader
            .resolve_dir(&target.root, &target.path)
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
            format!("/ipfs/{}/{}", target.root, target.path)
        };
        let mut stack: Vec<(Option<RelPath>, Cid)> = vec![(None, root)];
        while let Some((dir, cid)) = stack.pop() {
            for entry in reader.list(&cid).map_err(|e| bad(e.to_string()))? {
                let path = match &dir {
                    Some(d) => format!("{d}/{}", entry.name),
                    None => entry.name.clone(),
                };
                let rel =
                    RelPath::new(&path).map_err(|rule| bad(format!("entry `{path}` {rule}")))?;
                match reader.stat(&entry.cid).map_err(|e| bad(e.to_string()))? {
                    Kind::Directory => {
                        layer.tree.insert(rel.clone(), Entry::Dir);
                        stack.push((Some(rel), entry.cid));
                    }
                    Kind::File { size } => {
                        let file = self.cache.put_file(&entry.cid, |out| {
                            reader
                                .read_to(&entry.cid, out)
                                .map(drop)
                                .map_err(|e| bad(e.to_string()))
                        })?;
                        layer.nodes.push((
                            file.clone(),
                            Node {
                                cid: entry.cid.clone(),
                                tsize: entry.tsize.unwrap_or(size),
                                filesize: size,
                            },
                        ));
                        layer.origins.insert(rel.clone(), format!("{base}/{path}"));
                        layer.tree.insert(rel, Entry::File { source: file });
                    }
                    Kind::Symlink { target } => {
                        layer.tree.insert(rel, Entry::Symlink { target });
                    }
                }
            }
        }
        Ok(layer)
    }

    fn load_dir(&self, arg: &str) -> Result<LoadedLayer, BootError> {
        let dir = PathBuf::from(arg);
        match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(BootError::Layer {
                    dir,
                    reason: "is not a directory (nor a CID)".into(),
                })
            }
            Err(e) => {
                return Err(BootError::Layer {
                    dir,
                    reason: format!("cannot open: {e}"),
                })
            }
        }
        let scanned = Tree::scan(&dir).map_err(|e| BootError::Layer {
            dir: dir.clone(),
            reason: strip_path_prefix(&e.to_string(), &dir),
        })?;
        let mut layer = LoadedLayer {
            label: arg.to_string(),
            tree: Tree::default(),
            origins: BTreeMap::new(),
            nodes: Vec::new(),
        };
        for (path, entry) in scanned.iter() {
            let entry = match entry {
                Entry::File { source } => {
                    let node = unixfs::import_host_file(source, &Profile::default(), &NullSink)
                        .map_err(|e| BootError::Layer {
                            dir: dir.clone(),
                            reason: e.to_string(),
                        })?;
                    let file = self.cache.put_file(&node.cid, |out| {
                        let mut f = std::fs::File::open(source).map_err(|e| {
                            BootError::Host(format!("cannot read {}: {e}", source.display()))
                        })?;
                        std::io::copy(&mut f, out).map(drop).map_err(|e| {
                            BootError::Host(format!("cannot copy {}: {e}", source.display()))
                        })
                    })?;
                    layer
                        .origins
                        .insert(path.clone(), source.display().to_string());
                    layer.nodes.push((file.clone(), node));
                    Entry::File { source: file }
                }
                other => other.clone(),
            };
            layer.tree.insert(path.clone(), entry);
        }
        Ok(layer)
    }
}

/// The key of a union root: its UnixFS CID (default profile), computed from the layers' known
/// file nodes, so no file is hashed again.
pub fn union_key(union: &wwpack::union::Union, layers: &[LoadedLayer]) -> Result<Cid, BootError> {
    let mut nodes = FileNodes::default();
    for layer in layers {
        for (path, node) in &layer.nodes {
            nodes.by_source.insert(path.clone(), node.clone());
        }
    }
    unixfs::import_tree_with(&union.to_tree(), &Profile::default(), &NullSink, &mut nodes)
        .map(|n| n.cid)
        .map_err(|e| BootError::Host(format!("cannot compute the union's CID: {e}")))
}

/// `wwpack` errors start with the path they concern; the boot error names the layer already.
fn strip_path_prefix(message: &str, dir: &Path) -> String {
    let prefix = format!("{}: ", dir.display());
    message.strip_prefix(&prefix).unwrap_or(message).to_string()
}
