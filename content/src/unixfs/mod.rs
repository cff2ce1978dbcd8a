//! UnixFS: files, directories and symlinks as dag-pb and raw blocks, with CIDs computed exactly
//! as the IPFS implementations compute them under a [`Profile`].
//!
//! - [`import_file`] chunks a reader into a balanced DAG, streaming.
//! - [`build_dir`] makes a directory node, or a HAMT once the profile's threshold is passed.
//! - [`import_tree`] / [`import_path`] import a whole tree. Every entry is imported, hidden files
//!   included (an image is an exact tree; this is `ipfs add -r --hidden`). Symlinks are stored as
//!   symlink nodes and never followed, so a symlink loop cannot make an import loop; devices,
//!   FIFOs and sockets are errors. No mode or mtime is recorded.
//! - [`read`] reads any valid UnixFS DAG back, verifying every block.

mod data;
mod dir;
mod entry;
mod file;
mod hamt;
mod murmur3;
mod profile;
pub mod read;

use std::collections::BTreeMap;
use std::path::Path;

pub use data::{Data, DataType};
pub use dir::build_dir;
pub use entry::Entry;
pub use file::{import_file, import_file_metered};
pub use profile::{HamtThreshold, Profile, KUBO_CIDV1, PROFILES, UNIXFS_V0_2015, UNIXFS_V1_2025};

use crate::block::{BlockError, BlockSink};
use crate::cid::{Cid, Multihash, Version, DAG_PB};
use crate::dagpb::{PbLink, PbNode};
use crate::progress::Meter;
use crate::tree::{Entry as TreeEntry, RelPath, Tree};

/// A node written by the importer: its CID, the cumulative size of its DAG (the `Tsize` a link
/// to it carries), and for files the number of content bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub cid: Cid,
    pub tsize: u64,
    pub filesize: u64,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Block(#[from] BlockError),
    #[error(transparent)]
    Tree(#[from] crate::Error),
    #[error("{0}")]
    Invalid(String),
}

/// The CID of a block of `codec` under `profile`: CIDv0 only exists for dag-pb.
pub(crate) fn make_cid(profile: &Profile, codec: u64, bytes: &[u8]) -> Cid {
    let hash = Multihash::sha2_256(bytes);
    match profile.cid_version {
        Version::V0 if codec == DAG_PB => {
            Cid::new_v0(hash).unwrap_or_else(|_| Cid::new_v1(codec, Multihash::sha2_256(bytes)))
        }
        _ => Cid::new_v1(codec, hash),
    }
}

/// Encodes and stores a dag-pb node; its cumulative size is its block plus its links' sizes.
pub(crate) fn put_pb(
    profile: &Profile,
    sink: &dyn BlockSink,
    links: Vec<PbLink>,
    data: Data,
    filesize: u64,
) -> Result<Imported, ImportError> {
    let below: u64 = links.iter().map(|l| l.tsize.unwrap_or(0)).sum();
    let block = PbNode {
        links,
        data: Some(data.encode()),
    }
    .encode();
    let cid = make_cid(profile, DAG_PB, &block);
    sink.put_hashed(&cid, &block)?;
    Ok(Imported {
        cid,
        tsize: block.len() as u64 + below,
        filesize,
    })
}

/// A symlink node with `target`.
pub fn symlink(
    target: &str,
    profile: &Profile,
    sink: &dyn BlockSink,
) -> Result<Imported, ImportError> {
    let mut data = Data::new(DataType::Symlink);
    data.data = Some(target.as_bytes().to_vec());
    put_pb(profile, sink, Vec::new(), data, 0)
}

/// Imports a file, directory tree or symlink at `path` (a symlink at `path` itself is stored as
/// a symlink, as `ipfs add` does without `--dereference-args`).
pub fn import_path(
    path: &Path,
    profile: &Profile,
    sink: &dyn BlockSink,
) -> Result<Imported, ImportError> {
    let meta = std::fs::symlink_metadata(path).map_err(|source| ImportError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = read_link(path)?;
        symlink(&target, profile, sink)
    } else if ft.is_file() {
        import_host_file(path, profile, sink)
    } else if ft.is_dir() {
        let tree = Tree::scan(path)?;
        import_tree(&tree, profile, sink)
    } else {
        Err(ImportError::Invalid(format!(
            "{}: is a device file, FIFO or socket; only directories, regular files and symlinks can be imported",
            path.display()
        )))
    }
}

fn read_link(path: &Path) -> Result<String, ImportError> {
    let target = std::fs::read_link(path).map_err(|source| ImportError::Read {
        path: path.display().to_string(),
        source,
    })?;
    target.into_os_string().into_string().map_err(|_| {
        ImportError::Invalid(format!("{}: symlink target is not UTF-8", path.display()))
    })
}

/// Imports the host file at `path`.
pub fn import_host_file(
    path: &Path,
    profile: &Profile,
    sink: &dyn BlockSink,
) -> Result<Imported, ImportError> {
    import_host_file_metered(path, profile, sink, None)
}

/// [`import_host_file`], counting its bytes as they are read, and the file once imported, on
/// `meter`.
pub fn import_host_file_metered(
    path: &Path,
    profile: &Profile,
    sink: &dyn BlockSink,
    meter: Option<&Meter>,
) -> Result<Imported, ImportError> {
    let what = path.display().to_string();
    let mut file = std::fs::File::open(path).map_err(|source| ImportError::Read {
        path: what.clone(),
        source,
    })?;
    let node = import_file_metered(&mut file, &what, profile, sink, meter)?;
    if let Some(meter) = meter {
        meter.add_items(1);
    }
    Ok(node)
}

/// Imports a [`Tree`] as a directory (the tree's root). Files are read from their host paths.
pub fn import_tree(
    tree: &Tree,
    profile: &Profile,
    sink: &dyn BlockSink,
) -> Result<Imported, ImportError> {
    import_tree_with(tree, profile, sink, &mut FileNodes::default())
}

/// The nodes of host files imported so far, by host path: a file met again (in a layer and then
/// in the union of an image) is not read and hashed again. Keep one per profile.
#[derive(Debug, Default)]
pub struct FileNodes {
    pub by_source: BTreeMap<std::path::PathBuf, Imported>,
    /// How many files were read and hashed (the others were known already).
    pub hashed: usize,
    /// Where the bytes and files read and hashed are counted, if anywhere.
    pub meter: Option<Meter>,
}

impl FileNodes {
    /// The node of the host file `source`: known, or imported now and remembered.
    pub fn get_or_import(
        &mut self,
        source: &Path,
        profile: &Profile,
        sink: &dyn BlockSink,
    ) -> Result<Imported, ImportError> {
        if let Some(node) = self.by_source.get(source) {
            return Ok(node.clone());
        }
        let node = import_host_file_metered(source, profile, sink, self.meter.as_ref())?;
        self.hashed += 1;
        self.by_source.insert(source.to_path_buf(), node.clone());
        Ok(node)
    }
}

/// [`import_tree`], reusing and recording file nodes in `files`.
pub fn import_tree_with(
    tree: &Tree,
    profile: &Profile,
    sink: &dyn BlockSink,
    files: &mut FileNodes,
) -> Result<Imported, ImportError> {
    let mut children: Children<'_> = BTreeMap::new();
    for (path, entry) in tree.iter() {
        children
            .entry(path.parent())
            .or_default()
            .push((path, entry));
    }
    build_tree_dir(None, &children, profile, sink, files)
}

type Children<'a> = BTreeMap<Option<RelPath>, Vec<(&'a RelPath, &'a TreeEntry)>>;

fn build_tree_dir(
    dir: Option<RelPath>,
    children: &Children<'_>,
    profile: &Profile,
    sink: &dyn BlockSink,
    files: &mut FileNodes,
) -> Result<Imported, ImportError> {
    let mut entries = Vec::new();
    for (path, entry) in children.get(&dir).map(Vec::as_slice).unwrap_or_default() {
        let name = path.components().last().unwrap_or_default().to_string();
        let node = match entry {
            TreeEntry::Dir => {
                build_tree_dir(Some((*path).clone()), children, profile, sink, files)?
            }
            TreeEntry::File { source } => files.get_or_import(source, profile, sink)?,
            TreeEntry::Symlink { target } => symlink(target, profile, sink)?,
        };
        entries.push(Entry { name, node });
    }
    build_dir(entries, profile, sink)
}

#[cfg(test)]
mod tests;
