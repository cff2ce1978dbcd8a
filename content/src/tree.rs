//! Trees of files: the shape of a layer before it is named by a CID.
//!
//! A [`Tree`] maps normalized relative paths ([`RelPath`]) to entries: directories, regular files
//! (by the host path that holds their bytes) and symlinks (by their target). It is read from a host
//! directory with [`Tree::scan`] and can get files added at chosen paths (guest artifacts).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use crate::error::InsertError;
use crate::error::{Error, Result};
use crate::text::printable;

/// How many components a path of a tree may have: a tree nests at most this deep. Trees come
/// from images anyone can publish; the cap keeps every walk over them (and the directory handles
/// materializing one holds open) bounded. Linux's `PATH_MAX` of 4096 bytes allows at most 2048
/// levels by path; 256 is far beyond any real image.
pub const MAX_DEPTH: usize = 256;

/// A relative path inside a tree: `/`-separated, UTF-8, no empty, `.` or `..` components, no
/// NUL, at most [`MAX_DEPTH`] components.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelPath(String);

impl RelPath {
    /// Validates `s`; the error says which rule it broke.
    pub fn new(s: &str) -> std::result::Result<RelPath, &'static str> {
        if s.is_empty() {
            return Err("is empty");
        }
        if s.starts_with('/') {
            return Err("must be relative (it starts with `/`)");
        }
        for (i, part) in s.split('/').enumerate() {
            match part {
                _ if i >= MAX_DEPTH => return Err("nests deeper than 256 levels"),
                "" => return Err("has an empty component (`//` or a trailing `/`)"),
                "." | ".." => return Err("must not contain `.` or `..` components"),
                _ if part.contains('\0') => return Err("contains a NUL byte"),
                _ => {}
            }
        }
        Ok(RelPath(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The components, outermost first.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The parent path, or `None` at the top level.
    pub fn parent(&self) -> Option<RelPath> {
        self.0.rfind('/').map(|i| RelPath(self.0[..i].to_string()))
    }

    /// How many components the path has (1 at the top level).
    pub fn depth(&self) -> usize {
        self.0.bytes().filter(|&b| b == b'/').count() + 1
    }

    /// The last component.
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or_default()
    }

    /// Appends one component, which must follow the rules (one component: no `/`).
    pub fn join(&self, name: &str) -> std::result::Result<RelPath, &'static str> {
        if name.contains('/') {
            return Err("contains `/`");
        }
        RelPath::new(&format!("{}/{}", self.0, name))
    }

    /// This path below a host directory.
    pub fn under(&self, dir: &Path) -> PathBuf {
        self.components().fold(dir.to_path_buf(), |p, c| p.join(c))
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir,
    /// A regular file whose bytes are at `source` on the host.
    File {
        source: PathBuf,
    },
    /// A symbolic link with this target, stored as is.
    Symlink {
        target: String,
    },
}

impl Entry {
    /// A word for messages: "directory", "file", "symlink".
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::Dir => "directory",
            Entry::File { .. } => "file",
            Entry::Symlink { .. } => "symlink",
        }
    }
}

/// A tree of entries keyed by path; the parents of every entry are present, and are
/// directories: [`Tree::insert`] refuses an entry below a file or a symlink, so a tree can be
/// written out without ever creating something "under" a symlink.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    entries: BTreeMap<RelPath, Entry>,
}

/// A walk's error as ours, naming the path it failed on (`dir` when it does not say).
fn walk_error(dir: &Path, e: walkdir::Error) -> Error {
    let path = e.path().unwrap_or(dir).to_path_buf();
    let action = if e.depth() == 0 {
        "read"
    } else {
        "read directory"
    };
    match e.into_io_error() {
        Some(source) => Error::io(action, path)(source),
        // Only followed symlinks can loop, and the walk follows none.
        None => Error::Tree {
            path,
            rule: "is part of a filesystem loop".into(),
        },
    }
}

impl Tree {
    /// Reads the tree below `dir`. Hidden files are included. Device files, FIFOs and sockets are
    /// errors, and so are names that are not UTF-8. Symlinks are read, never followed (but `dir`
    /// itself may be one); the walk stops with an error at the first path deeper than
    /// [`MAX_DEPTH`]. Each directory is read in name order, so the first error is always the same.
    pub fn scan(dir: &Path) -> Result<Tree> {
        let meta = std::fs::metadata(dir).map_err(Error::io("read", dir))?;
        if !meta.is_dir() {
            return Err(Error::Tree {
                path: dir.to_path_buf(),
                rule: "is not a directory".into(),
            });
        }
        let mut tree = Tree::default();
        // The relative paths of the directories above the current entry, outermost first.
        let mut parents: Vec<RelPath> = Vec::new();
        let walk = walkdir::WalkDir::new(dir)
            .min_depth(1)
            .follow_links(false)
            .sort_by_file_name();
        for item in walk {
            let item = item.map_err(|e| walk_error(dir, e))?;
            parents.truncate(item.depth() - 1);
            let path = item.path();
            let name = item.file_name().to_str().ok_or_else(|| Error::Tree {
                path: path.to_path_buf(),
                rule: "file names must be UTF-8".into(),
            })?;
            let rel = match parents.last() {
                Some(p) => p.join(name),
                None => RelPath::new(name),
            }
            .map_err(|rule| Error::Tree {
                path: path.to_path_buf(),
                rule: rule.into(),
            })?;
            let ft = item.file_type();
            if ft.is_dir() {
                tree.entries.insert(rel.clone(), Entry::Dir);
                parents.push(rel);
            } else if ft.is_file() {
                tree.entries.insert(
                    rel,
                    Entry::File {
                        source: item.into_path(),
                    },
                );
            } else if ft.is_symlink() {
                let target = std::fs::read_link(path).map_err(Error::io("read link", path))?;
                let target = target.to_str().ok_or_else(|| Error::Tree {
                    path: path.to_path_buf(),
                    rule: "symlink targets must be UTF-8".into(),
                })?;
                tree.entries.insert(
                    rel,
                    Entry::Symlink {
                        target: target.to_string(),
                    },
                );
            } else {
                return Err(Error::Tree {
                    path: item.into_path(),
                    rule: "is a device file, FIFO or socket; a layer holds only directories, regular files and symlinks".into(),
                });
            }
        }
        Ok(tree)
    }

    /// Adds a file at `path`, creating its parent directories. Returns the entry it replaced.
    pub fn insert_file(
        &mut self,
        path: RelPath,
        source: PathBuf,
    ) -> std::result::Result<Option<Entry>, InsertError> {
        self.insert(path, Entry::File { source })
    }

    /// Adds `entry` at `path`, creating its missing parent directories; returns the entry it
    /// replaced. Refused, changing nothing, when a parent is not a directory or when `path` is a
    /// directory with entries and `entry` is not one.
    pub fn insert(
        &mut self,
        path: RelPath,
        entry: Entry,
    ) -> std::result::Result<Option<Entry>, InsertError> {
        let mut missing = Vec::new();
        let mut parent = path.parent();
        while let Some(p) = parent {
            parent = p.parent();
            match self.entries.get(&p) {
                Some(Entry::Dir) => break,
                Some(other) => {
                    return Err(InsertError::ParentNotDir {
                        path: printable(path.as_str()).into_owned(),
                        parent: printable(p.as_str()).into_owned(),
                        kind: other.kind(),
                    })
                }
                None => missing.push(p),
            }
        }
        if entry != Entry::Dir
            && self.entries.get(&path) == Some(&Entry::Dir)
            && self.has_children(&path)
        {
            return Err(InsertError::DirNotEmpty {
                path: printable(path.as_str()).into_owned(),
                kind: entry.kind(),
            });
        }
        for p in missing {
            self.entries.insert(p, Entry::Dir);
        }
        Ok(self.entries.insert(path, entry))
    }

    /// Whether some entry lies below `dir`.
    fn has_children(&self, dir: &RelPath) -> bool {
        let prefix = format!("{dir}/");
        self.entries
            .range(RelPath(prefix.clone())..)
            .next()
            .is_some_and(|(p, _)| p.0.starts_with(&prefix))
    }

    pub fn get(&self, path: &RelPath) -> Option<&Entry> {
        self.entries.get(path)
    }

    /// Entries in path order (a parent always comes before its children).
    pub fn iter(&self) -> impl Iterator<Item = (&RelPath, &Entry)> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests;
