//! The per-file union of an image's layers: a later layer wins per file, directories merge,
//! nothing is deleted.
//!
//! `wwpack build` and `ww run` both compute unions with this module, so an image built and an
//! image booted are the same tree.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::tree::{Entry, RelPath, Tree};

/// One path of a union: the entry that won, the layer it came from, and the layers it shadows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionEntry {
    pub entry: Entry,
    /// Index (into the union's layer list) of the layer that provides this entry.
    pub layer: usize,
    /// Indices of earlier layers whose file at this path is hidden by `layer`, oldest first.
    /// Always empty for directories, which merge.
    pub shadows: Vec<usize>,
}

/// A union of named layers.
#[derive(Debug, Clone)]
pub struct Union {
    layers: Vec<String>,
    entries: BTreeMap<RelPath, UnionEntry>,
}

/// How [`Union::materialize`] places file bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Copy the bytes: the result does not change when a layer's source file does.
    Copy,
    /// Hard-link when source and destination share a file system, copy otherwise.
    LinkOrCopy,
}

impl Union {
    /// The union of `layers` (name, tree), earliest first.
    ///
    /// A path that is a directory in one layer and a file or symlink in another cannot be merged
    /// and is an error naming both layers.
    pub fn of<'a>(layers: impl IntoIterator<Item = (&'a str, &'a Tree)>) -> Result<Union> {
        let mut names = Vec::new();
        let mut entries: BTreeMap<RelPath, UnionEntry> = BTreeMap::new();
        for (index, (name, tree)) in layers.into_iter().enumerate() {
            names.push(name.to_string());
            for (path, entry) in tree.iter() {
                match entries.get_mut(path) {
                    None => {
                        entries.insert(
                            path.clone(),
                            UnionEntry {
                                entry: entry.clone(),
                                layer: index,
                                shadows: Vec::new(),
                            },
                        );
                    }
                    Some(prev) => match (&prev.entry, entry) {
                        (Entry::Dir, Entry::Dir) => {}
                        (Entry::Dir, _) | (_, Entry::Dir) => {
                            return Err(Error::UnionConflict {
                                path: path.to_string(),
                                earlier: names[prev.layer].clone(),
                                earlier_kind: prev.entry.kind(),
                                later: name.to_string(),
                                later_kind: entry.kind(),
                            });
                        }
                        _ => {
                            prev.shadows.push(prev.layer);
                            prev.layer = index;
                            prev.entry = entry.clone();
                        }
                    },
                }
            }
        }
        Ok(Union {
            layers: names,
            entries,
        })
    }

    /// The layer names, earliest first.
    pub fn layers(&self) -> &[String] {
        &self.layers
    }

    pub fn get(&self, path: &str) -> Option<&UnionEntry> {
        RelPath::new(path).ok().and_then(|p| self.entries.get(&p))
    }

    /// Entries in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&RelPath, &UnionEntry)> {
        self.entries.iter()
    }

    /// The union as a plain tree (the winning entry at every path).
    pub fn to_tree(&self) -> Tree {
        let mut tree = Tree::default();
        for (path, item) in &self.entries {
            tree.insert(path.clone(), item.entry.clone());
        }
        tree
    }

    /// Writes the union below `dest`, which must not exist yet.
    pub fn materialize(&self, dest: &Path, placement: Placement) -> Result<()> {
        std::fs::create_dir(dest).map_err(Error::io("create directory", dest))?;
        for (path, item) in &self.entries {
            let to = path.under(dest);
            match &item.entry {
                Entry::Dir => {
                    std::fs::create_dir(&to).map_err(Error::io("create directory", &to))?;
                }
                Entry::File { source } => {
                    let linked = placement == Placement::LinkOrCopy
                        && std::fs::hard_link(source, &to).is_ok();
                    if !linked {
                        std::fs::copy(source, &to).map_err(Error::io("copy", source))?;
                    }
                }
                Entry::Symlink { target } => {
                    std::os::unix::fs::symlink(target, &to)
                        .map_err(Error::io("create symlink", &to))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn tree(files: &[(&str, &str)]) -> Tree {
        let mut t = Tree::default();
        for (path, source) in files {
            t.insert_file(RelPath::new(path).unwrap(), PathBuf::from(source));
        }
        t
    }

    #[test]
    fn later_layer_wins_per_file_and_directories_merge() {
        let base = tree(&[("etc/motd", "/base/motd"), ("etc/hosts", "/base/hosts")]);
        let app = tree(&[("etc/motd", "/app/motd"), ("bin/main.wasm", "/app/main")]);
        let top = tree(&[("etc/motd", "/top/motd")]);
        let u = Union::of([("base", &base), ("app", &app), ("top", &top)]).unwrap();
        let motd = u.get("etc/motd").unwrap();
        assert_eq!(
            motd.entry,
            Entry::File {
                source: "/top/motd".into()
            }
        );
        assert_eq!((motd.layer, motd.shadows.as_slice()), (2, &[0, 1][..]));
        assert_eq!(u.get("etc/hosts").unwrap().layer, 0);
        assert_eq!(u.get("bin/main.wasm").unwrap().layer, 1);
        assert!(u.get("etc").unwrap().shadows.is_empty());
        let paths: Vec<_> = u.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["bin", "bin/main.wasm", "etc", "etc/hosts", "etc/motd"]
        );
    }

    #[test]
    fn file_over_directory_is_an_error_naming_both_layers() {
        let a = tree(&[("etc/motd", "/a")]);
        let b = tree(&[("etc", "/b")]);
        let err = Union::of([("a", &a), ("b", &b)]).unwrap_err().to_string();
        assert!(
            err.contains("`etc`") && err.contains("layer `a`") && err.contains("layer `b`"),
            "{err}"
        );
    }

    #[test]
    fn materialize_writes_the_winning_bytes() {
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("one"), "one").unwrap();
        std::fs::write(src.path().join("two"), "two").unwrap();
        let a = tree(&[("etc/motd", src.path().join("one").to_str().unwrap())]);
        let b = tree(&[("etc/motd", src.path().join("two").to_str().unwrap())]);
        let u = Union::of([("a", &a), ("b", &b)]).unwrap();
        for placement in [Placement::Copy, Placement::LinkOrCopy] {
            let out = tempfile::tempdir().unwrap();
            let root = out.path().join("root");
            u.materialize(&root, placement).unwrap();
            assert_eq!(
                std::fs::read_to_string(root.join("etc/motd")).unwrap(),
                "two"
            );
        }
    }
}
