//! The union root of a boot: the per-file union of the loaded layers (computed by
//! `ww_image::union`, the same code `wwpack build` uses), materialized in the cache under the
//! union's CID and reused by later runs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ww_content::cid::Cid;
use ww_content::tree::{Entry, RelPath};
use ww_image::union::Union;

use crate::cache::Cache;
use crate::error::BootError;
use crate::loader::{union_key, LoadedLayer};

/// A union root in the cache.
pub struct UnionRoot {
    path: PathBuf,
    key: Cid,
    union: Union,
    origins: Vec<BTreeMap<RelPath, String>>,
}

impl UnionRoot {
    /// The union of `layers` (earliest first), materialized in `cache`.
    pub fn materialize(layers: Vec<LoadedLayer>, cache: &Cache) -> Result<UnionRoot, BootError> {
        let union = Union::of(layers.iter().map(|l| (l.label.as_str(), &l.tree)))
            .map_err(|e| BootError::Union(e.to_string()))?;
        // Each layer's links were checked alone; together they must stay inside too.
        ww_image::fhs::check_union_symlinks(&union).map_err(BootError::Union)?;
        let key = union_key(&union, &layers)?;
        let path = cache.root(&union, &key)?;
        Ok(UnionRoot {
            path,
            key,
            union,
            origins: layers.into_iter().map(|l| l.origins).collect(),
        })
    }

    /// The host directory holding the union.
    pub fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The union's CID (default profile), which names the root in the cache.
    pub fn cid(&self) -> &Cid {
        &self.key
    }

    /// The cached file that provides `path` in the union, and where it came from (a host path
    /// or `/ipfs/CID/path`).
    pub fn source_of(&self, path: &str) -> Option<(PathBuf, String)> {
        let rel = RelPath::new(path).ok()?;
        let item = self.union.get(path)?;
        match &item.entry {
            Entry::File { source } => {
                let origin = self.origins[item.layer]
                    .get(&rel)
                    .cloned()
                    .unwrap_or_else(|| source.display().to_string());
                Some((source.clone(), origin))
            }
            _ => None,
        }
    }

    /// What `path` is in the union (`file`, `directory`, `symlink`), if present.
    pub fn kind_of(&self, path: &str) -> Option<&'static str> {
        self.union.get(path).map(|item| item.entry.kind())
    }

    /// Every path of the union (files, directories, symlinks), sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.union.iter().map(|(path, _)| path.as_str())
    }

    /// The union itself.
    pub fn union(&self) -> &Union {
        &self.union
    }

    /// The layers, earliest first, as given.
    pub fn layers(&self) -> &[String] {
        self.union.layers()
    }
}
