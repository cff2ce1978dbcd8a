//! A layer named by a CID: the directory `CID[/path]`, read as the tree of its entries
//! (directories, files by CID and size, symlinks by target). `ww run` loads its content layers
//! with [`open_with`] (counting each file against the image's size budget as it is met) and
//! `wwpack diff` reads a side named by a CID with [`open`]; both see the same tree.
//!
//! The DAG is untrusted: it is read with [`Reader::resolve_dir`] and [`Reader::walk_with`] only,
//! so every bound of the reader holds (names, depth, blocks, bytes of blocks, bytes of paths;
//! see [`ww_content::unixfs::read`]), with the budgets the caller gave its [`Reader`]. A walk is
//! stopped by its block source: give the reader a source that checks a
//! [`ww_content::cancel::Cancel`] ([`ww_content::chain::ChainSource::with_cancel`]) and a raised
//! one ends the walk at the next block. No file's content is read here: a file's size is the
//! one its root node records, and the reader checks it against the content when it is read.

use ww_content::cid::Cid;
use ww_content::text::printable;
use ww_content::tree::RelPath;
use ww_content::unixfs::read::{Kind, ReadError, Reader};

#[cfg(test)]
mod tests;

/// The entries of a layer, as [`open`] read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentLayer {
    /// The directory that is the layer: the CID given, or the one its path names.
    pub root: Cid,
    /// Every entry below the root (the root itself left out), in walk order: depth-first, in
    /// name order, each directory before what it holds.
    pub entries: Vec<(RelPath, LayerEntry)>,
}

/// One entry of a [`ContentLayer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerEntry {
    Dir {
        cid: Cid,
    },
    File {
        cid: Cid,
        /// The bytes of its content.
        size: u64,
        /// The cumulative size its parent's link records (its size when the link has none).
        tsize: u64,
    },
    Symlink {
        cid: Cid,
        target: String,
    },
}

impl LayerEntry {
    pub fn cid(&self) -> &Cid {
        match self {
            LayerEntry::Dir { cid }
            | LayerEntry::File { cid, .. }
            | LayerEntry::Symlink { cid, .. } => cid,
        }
    }
}

/// Why a layer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The DAG could not be read, or broke one of the reader's bounds.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A path the walk made is not a [`RelPath`] (the path is printable).
    #[error("entry `{path}` {rule}")]
    BadPath { path: String, rule: &'static str },
    /// The caller's `admit` refused a file: its reason.
    #[error("{0}")]
    Refused(String),
}

/// The layer `root[/path]` (`path` relative, `""` for the root itself), which must be a
/// directory, read with `reader` and within its budgets.
pub fn open(reader: &Reader<'_>, root: &Cid, path: &str) -> Result<ContentLayer, LayerError> {
    open_with(reader, root, path, |_, _, _| Ok(()))
}

/// [`open`], handing each file to `admit` (its path, CID and size) as the walk meets it, before
/// the walk goes on: an `Err(reason)` stops the walk there, as [`LayerError::Refused`]. `ww`
/// counts the files against `--max-image-size` this way, so a layer too large is refused before
/// the rest of it is read.
pub fn open_with(
    reader: &Reader<'_>,
    root: &Cid,
    path: &str,
    mut admit: impl FnMut(&RelPath, &Cid, u64) -> Result<(), String>,
) -> Result<ContentLayer, LayerError> {
    let dir = reader.resolve_dir(root, path)?;
    let mut entries = Vec::new();
    // Why the walk was stopped from inside: the walk itself only sees `stop()`.
    let mut stopped = None;
    let walked = reader.walk_with(&dir, |e| {
        if e.path.is_empty() {
            return Ok(());
        }
        let rel = match RelPath::new(&e.path) {
            Ok(rel) => rel,
            Err(rule) => {
                stopped = Some(LayerError::BadPath {
                    path: printable(&e.path).into_owned(),
                    rule,
                });
                return Err(stop());
            }
        };
        let entry = match e.kind {
            Kind::Directory => LayerEntry::Dir { cid: e.cid },
            Kind::Symlink { target } => LayerEntry::Symlink { cid: e.cid, target },
            Kind::File { size } => {
                if let Err(why) = admit(&rel, &e.cid, size) {
                    stopped = Some(LayerError::Refused(why));
                    return Err(stop());
                }
                LayerEntry::File {
                    tsize: e.tsize.unwrap_or(size),
                    cid: e.cid,
                    size,
                }
            }
        };
        entries.push((rel, entry));
        Ok(())
    });
    if let Some(why) = stopped {
        return Err(why);
    }
    walked?;
    Ok(ContentLayer { root: dir, entries })
}

/// The error a walk callback returns to stop the walk; the real reason is kept beside it.
fn stop() -> ReadError {
    ReadError::Output(std::io::Error::other("stopped"))
}
