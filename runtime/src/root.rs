//! The union root of a boot: the per-file union of the layer directories given to `ww run`,
//! materialized in a private temporary directory that is removed when the boot ends.
//!
//! Files are hard-linked from the layers where they share a file system (no bytes copied) and
//! copied otherwise. The union is computed by `wwpack::union`, the same code `wwpack build` uses.

use std::path::{Path, PathBuf};

use wwpack::tree::{Entry, Tree};
use wwpack::union::{Placement, Union};

use crate::error::BootError;

/// A materialized union root; deleted on drop.
pub struct UnionRoot {
    dir: tempfile::TempDir,
    union: Union,
}

impl UnionRoot {
    /// Materializes the union of `layers` (host directories, earliest first).
    pub fn materialize(layers: &[PathBuf]) -> Result<UnionRoot, BootError> {
        let mut trees = Vec::with_capacity(layers.len());
        for dir in layers {
            let tree = Tree::scan(dir).map_err(|e| BootError::Layer {
                dir: dir.clone(),
                reason: strip_path_prefix(&e.to_string(), dir),
            })?;
            trees.push((dir.display().to_string(), tree));
        }
        let union = Union::of(trees.iter().map(|(n, t)| (n.as_str(), t)))
            .map_err(|e| BootError::Union(e.to_string()))?;
        let dir = tempfile::Builder::new()
            .prefix("ww-root-")
            .tempdir()
            .map_err(|e| BootError::Host(format!("cannot create a temporary union root: {e}")))?;
        let root = dir.path().join("root");
        union
            .materialize(&root, Placement::LinkOrCopy)
            .map_err(|e| BootError::Host(format!("cannot materialize the union root: {e}")))?;
        Ok(UnionRoot { dir, union })
    }

    /// The host directory holding the union.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// The host file that provides `path` in the union, and the layer it comes from.
    pub fn source_of(&self, path: &str) -> Option<(&Path, &str)> {
        let item = self.union.get(path)?;
        match &item.entry {
            Entry::File { source } => Some((source.as_path(), &self.union.layers()[item.layer])),
            _ => None,
        }
    }

    /// The layers, earliest first, as given.
    pub fn layers(&self) -> &[String] {
        self.union.layers()
    }
}

/// `wwpack` errors start with the path they concern; the boot error names the layer already.
fn strip_path_prefix(message: &str, dir: &Path) -> String {
    let prefix = format!("{}: ", dir.display());
    message.strip_prefix(&prefix).unwrap_or(message).to_string()
}
