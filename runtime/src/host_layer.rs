//! A host directory as a layer (`ww run DIR`, or an overlay): read beneath directory handles,
//! never by path, so that nothing in it is followed even if it changes while ww reads it.
//!
//! The directory the user named is opened once (following a symlink there: the path is the
//! user's); every entry below is reached from its parent's handle without following a link
//! ([`ww_content::beneath`]): a directory swapped for a symlink mid-run is an error, not a way out.
//! Each file is opened once, beneath its directory, and copied into the cache while its CID is
//! computed from the very bytes copied ([`Cache::put_host_file`]). The rules are
//! `Tree::scan`'s: names are UTF-8 and form valid paths, and device files, FIFOs and sockets
//! are refused.

use std::collections::BTreeMap;
use std::path::Path;

use ww_content::beneath::{Dir, Kind};
use ww_content::cancel::Cancel;
use ww_content::text::printable;
use ww_content::tree::{Entry, RelPath, Tree};

use crate::cache::Cache;
use crate::error::BootError;
use crate::layer::{ImageBudget, LoadedLayer};

/// Loads the host directory `dir` (named `arg` on the command line) into `cache`.
pub(crate) fn load(
    arg: &str,
    dir: &Path,
    cache: &Cache,
    budget: &mut ImageBudget,
    cancel: &Cancel,
) -> Result<LoadedLayer, BootError> {
    let bad = |reason: String| BootError::Layer {
        dir: dir.to_path_buf(),
        reason,
    };
    let at = |what: &str, e: std::io::Error| bad(format!("{what}: {e}"));
    let root = Dir::open_following(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => bad(format!("cannot open: {e}")),
        _ if !dir.is_dir() => bad("is not a directory (nor a CID)".into()),
        _ => bad(format!("cannot open: {e}")),
    })?;
    let mut layer = LoadedLayer {
        label: arg.to_string(),
        tree: Tree::default(),
        origins: BTreeMap::new(),
        nodes: Vec::new(),
    };
    let top = sorted_names(&root).map_err(|e| at("cannot list", e))?;
    // One open directory per level (a tree nests at most `tree::MAX_DEPTH` levels).
    let mut stack: Vec<(Dir, Option<RelPath>, std::vec::IntoIter<Vec<u8>>)> =
        vec![(root, None, top.into_iter())];
    while let Some((parent, prefix, pending)) = stack.last_mut() {
        let Some(name) = pending.next() else {
            stack.pop();
            continue;
        };
        cancel.check().map_err(|e| bad(e.to_string()))?;
        let lossy = String::from_utf8_lossy(&name).into_owned();
        let host = parent.path().join(&lossy);
        // Messages name the entry below the layer; origins (for pid0's messages) the host file.
        let here = match prefix {
            Some(p) => printable(&format!("{p}/{lossy}")).into_owned(),
            None => printable(&lossy).into_owned(),
        };
        let Ok(name) = String::from_utf8(name) else {
            return Err(bad(format!("{here}: file names must be UTF-8")));
        };
        let rel = match prefix {
            Some(p) => p.join(&name),
            None => RelPath::new(&name),
        }
        .map_err(|rule| bad(format!("{here}: {rule}")))?;
        let stat = parent.stat(&name).map_err(|e| at(&here, e))?;
        match ww_content::beneath::kind_of(&stat) {
            Kind::Dir => {
                let sub = parent.open_dir(&name).map_err(|e| {
                    bad(format!(
                        "{here}: changed while ww read it, or cannot be opened: {e}"
                    ))
                })?;
                let names = sorted_names(&sub).map_err(|e| at(&here, e))?;
                insert(&mut layer.tree, rel.clone(), Entry::Dir, &bad)?;
                stack.push((sub, Some(rel), names.into_iter()));
            }
            Kind::File => {
                let file = parent.open_file(&name).map_err(|e| {
                    bad(format!(
                        "{here}: changed while ww read it, or cannot be read: {e}"
                    ))
                })?;
                let size = file.metadata().map_err(|e| at(&here, e))?.len();
                budget.charge_size(size, rel.as_str()).map_err(&bad)?;
                let shown = printable(&host.display().to_string()).into_owned();
                let (cached, node) = cache.put_host_file(file, size, &shown)?;
                layer.origins.insert(rel.clone(), shown);
                layer.nodes.push((cached.clone(), node));
                insert(&mut layer.tree, rel, Entry::File { source: cached }, &bad)?;
            }
            Kind::Symlink => {
                let target = parent.read_link(&name).map_err(|e| at(&here, e))?;
                let target = String::from_utf8(target)
                    .map_err(|_| bad(format!("{here}: symlink targets must be UTF-8")))?;
                insert(&mut layer.tree, rel, Entry::Symlink { target }, &bad)?;
            }
            Kind::Other => {
                return Err(bad(format!(
                    "{here}: is a device file, FIFO or socket; a layer holds only directories, \
                     regular files and symlinks"
                )))
            }
        }
    }
    Ok(layer)
}

/// The names in `dir`, sorted (so a layer reads the same in every run).
fn sorted_names(dir: &Dir) -> std::io::Result<Vec<Vec<u8>>> {
    let mut names = dir.names()?;
    names.sort();
    Ok(names)
}

fn insert(
    tree: &mut Tree,
    path: RelPath,
    entry: Entry,
    bad: &impl Fn(String) -> BootError,
) -> Result<(), BootError> {
    tree.insert(path, entry)
        .map(drop)
        .map_err(|e| bad(e.to_string()))
}
