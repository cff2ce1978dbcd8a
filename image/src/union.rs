//! The per-file union of an image's layers: a later layer wins per file, directories merge,
//! nothing is deleted.
//!
//! `wwpack build` and `ww run` both compute unions with this module, so an image built and an
//! image booted are the same tree.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use ww_content::beneath::Dir;
use ww_content::cancel::Cancel;
use ww_content::tree::{Entry, RelPath, Tree};

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
    /// Copy the bytes into new files of mode 0644 (less the umask): the result does not change
    /// when a layer's source file does.
    Copy,
    /// Hard-link when source and destination share a file system (the sources are ww's
    /// read-only cache files), else copy into read-only (0444) files.
    LinkOrCopy,
}

/// The mode of directories [`Union::materialize`] creates (less the umask).
const DIR_MODE: u32 = 0o755;

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
                                path: ww_content::text::printable(path.as_str()).into_owned(),
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
    pub fn to_tree(&self) -> Result<Tree> {
        let mut tree = Tree::default();
        for (path, item) in &self.entries {
            tree.insert(path.clone(), item.entry.clone())?;
        }
        Ok(tree)
    }

    /// The entries directly below `dir` (`None`: the root), for each directory of the union.
    fn children(&self) -> BTreeMap<Option<&RelPath>, Vec<(&RelPath, &UnionEntry)>> {
        let mut children: BTreeMap<Option<&RelPath>, Vec<(&RelPath, &UnionEntry)>> =
            BTreeMap::new();
        let by_path: BTreeMap<&str, &RelPath> =
            self.entries.keys().map(|p| (p.as_str(), p)).collect();
        for (path, item) in &self.entries {
            let key = match path.parent() {
                None => None,
                Some(parent) => match by_path.get(parent.as_str()) {
                    Some(&p) => Some(p),
                    // No such parent: never placed, and reported by `materialize`.
                    None => continue,
                },
            };
            children.entry(key).or_default().push((path, item));
        }
        children
    }

    /// Writes the union below `dest`, which must not exist yet (its parent is trusted).
    ///
    /// Nothing is written through a link: every directory, file and symlink is created beneath
    /// the handle of its parent directory, which this call created itself, with create-exclusive
    /// calls that never follow a symlink ([`ww_content::beneath`]); file bytes are hard-linked or
    /// copied from their sources, which are opened without following a symlink. The walk is
    /// depth-first with one open directory per level (at most [`ww_content::tree::MAX_DEPTH`]).
    /// Checks `cancel` before each entry. On an error, what was written stays below `dest` for
    /// the caller to remove.
    pub fn materialize(&self, dest: &Path, placement: Placement, cancel: &Cancel) -> Result<()> {
        let root = Dir::create_new(dest, DIR_MODE).map_err(Error::io("create directory", dest))?;
        let mut children = self.children();
        let mut placed = 0usize;
        let top = children.remove(&None).unwrap_or_default();
        let mut stack = vec![(root, top.into_iter())];
        while let Some((dir, pending)) = stack.last_mut() {
            let Some((path, item)) = pending.next() else {
                stack.pop();
                continue;
            };
            cancel
                .check()
                .map_err(ww_content::block::BlockError::from)?;
            placed += 1;
            let name = path.name();
            let at = dir.path_of(name);
            match &item.entry {
                Entry::Dir => {
                    let sub = dir
                        .create_dir(name, DIR_MODE)
                        .map_err(Error::io("create directory", &at))?;
                    let below = children.remove(&Some(path)).unwrap_or_default();
                    stack.push((sub, below.into_iter()));
                }
                Entry::File { source } => place_file(dir, name, source, placement)?,
                Entry::Symlink { target } => dir
                    .symlink(name, target)
                    .map_err(Error::io("create symlink", &at))?,
            }
        }
        if placed != self.entries.len() {
            // Entries whose parent is not a directory of the union: a tree never holds them.
            return Err(ww_content::Error::Tree {
                path: dest.to_path_buf(),
                rule: format!(
                    "{} entries of the union are not below a directory",
                    self.entries.len() - placed
                ),
            }
            .into());
        }
        Ok(())
    }
}

impl Union {
    /// Checks that `dest` holds exactly what [`Union::materialize`] would write there: the same
    /// names in every directory, each of the same kind, every symlink with the union's target,
    /// every file the source itself (a hard link: same device and inode) or byte for byte the
    /// same. Nothing is followed. The error says what differs first.
    pub fn check_materialized(&self, dest: &Path) -> std::result::Result<(), String> {
        let same_names = |dir: &Dir, entries: &[(&RelPath, &UnionEntry)]| {
            let mut names = dir.names().map_err(io(dir.path()))?;
            names.sort();
            let mut expected: Vec<&[u8]> =
                entries.iter().map(|(p, _)| p.name().as_bytes()).collect();
            expected.sort();
            if names.iter().map(Vec::as_slice).ne(expected.iter().copied()) {
                return Err(format!(
                    "{} holds other entries than the union",
                    dir.path().display()
                ));
            }
            Ok(())
        };
        let root = Dir::open(dest).map_err(io(dest))?;
        let mut children = self.children();
        let top = children.remove(&None).unwrap_or_default();
        same_names(&root, &top)?;
        // One open directory per level, as in `materialize`.
        let mut stack = vec![(root, top.into_iter())];
        let mut seen = 0usize;
        while let Some((dir, pending)) = stack.last_mut() {
            let Some((path, item)) = pending.next() else {
                stack.pop();
                continue;
            };
            seen += 1;
            let name = path.name();
            let at = dir.path_of(name);
            let stat = dir.stat(name).map_err(io(&at))?;
            let kind = ww_content::beneath::kind_of(&stat);
            match &item.entry {
                Entry::Dir if kind == ww_content::beneath::Kind::Dir => {
                    let sub = dir.open_dir(name).map_err(io(&at))?;
                    let below = children.remove(&Some(path)).unwrap_or_default();
                    same_names(&sub, &below)?;
                    stack.push((sub, below.into_iter()));
                }
                Entry::Symlink { target } if kind == ww_content::beneath::Kind::Symlink => {
                    if dir.read_link(name).map_err(io(&at))? != target.as_bytes() {
                        return Err(format!("{} has another target", at.display()));
                    }
                }
                Entry::File { source } if kind == ww_content::beneath::Kind::File => {
                    use std::os::unix::fs::MetadataExt;
                    let src = ww_content::beneath::open_regular(source).map_err(io(source))?;
                    let meta = src.metadata().map_err(io(source))?;
                    if (meta.dev(), meta.ino()) != (stat.st_dev, stat.st_ino)
                        && !same_bytes(src, dir.open_file(name).map_err(io(&at))?)
                            .map_err(io(&at))?
                    {
                        return Err(format!("{} holds other bytes", at.display()));
                    }
                }
                other => {
                    return Err(format!(
                        "{} is not a {} as in the union",
                        at.display(),
                        other.kind()
                    ))
                }
            }
        }
        if seen != self.entries.len() {
            return Err("entries of the union are not below a directory".into());
        }
        Ok(())
    }
}

/// A message for an I/O error at `what`.
fn io(what: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", what.display())
}

/// Whether two readers hold the same bytes.
fn same_bytes(a: impl std::io::Read, b: impl std::io::Read) -> std::io::Result<bool> {
    use std::io::Read;
    let (mut a, mut b) = (std::io::BufReader::new(a), std::io::BufReader::new(b));
    let (mut x, mut y) = ([0u8; 8192], [0u8; 8192]);
    loop {
        let n = a.read(&mut x)?;
        if n == 0 {
            return Ok(b.read(&mut y[..1])? == 0);
        }
        if b.read_exact(&mut y[..n]).is_err() || x[..n] != y[..n] {
            return Ok(false);
        }
    }
}

/// Puts the bytes of `source` at `name` in `dir`, as `placement` says.
fn place_file(dir: &Dir, name: &str, source: &Path, placement: Placement) -> Result<()> {
    let at = dir.path_of(name);
    let mode = match placement {
        Placement::LinkOrCopy => match dir.link_from(name, source) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::io("create", &at)(e))
            }
            Err(_) => 0o444,
        },
        Placement::Copy => 0o644,
    };
    let mut from = ww_content::beneath::open_regular(source).map_err(Error::io("read", source))?;
    let mut to = dir
        .create_file(name, mode)
        .map_err(Error::io("create", &at))?;
    std::io::copy(&mut from, &mut to).map_err(Error::io("copy", source))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn tree(files: &[(&str, &str)]) -> Tree {
        let mut t = Tree::default();
        for (path, source) in files {
            t.insert_file(RelPath::new(path).unwrap(), PathBuf::from(source))
                .unwrap();
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
            u.materialize(&root, placement, &Cancel::new()).unwrap();
            assert_eq!(
                std::fs::read_to_string(root.join("etc/motd")).unwrap(),
                "two"
            );
        }
    }
}
