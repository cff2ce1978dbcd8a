//! Reading UnixFS DAGs: stat, list directories (HAMT shards included), resolve paths, read whole
//! files or byte ranges, walk trees.
//!
//! Any valid UnixFS DAG is read, not only what this importer writes: balanced or trickle layouts,
//! raw or dag-pb leaves, data in internal nodes, CIDv0 or v1. Every block is checked against its
//! CID before use ([`crate::block::get_verified`]); a mismatch, an unknown codec or hash, or a
//! malformed node is an error that names the CID.
//!
//! DAGs come from anyone, so every read is bounded:
//! - **names**: a directory entry's name is one path component (non-empty, not `.` or `..`, no
//!   `/`, no NUL) and names are unique in their directory, HAMT shards included
//!   ([`ReadError::BadName`]); a reader of the tree can join names into paths safely;
//! - **blocks**: one [`Reader`] decodes at most [`DEFAULT_MAX_BLOCKS`] blocks
//!   ([`Reader::with_max_blocks`]) holding at most [`DEFAULT_MAX_BYTES`] bytes in all
//!   ([`Reader::with_max_bytes`]), so a DAG that links the same blocks over and over (a
//!   directory whose two entries name one child, 60 levels deep, is 2^60 paths) ends with
//!   [`ReadError::Budget`] instead of running for ever; a HAMT shard linked twice in one
//!   directory is malformed; a walk decodes each directory it meets once;
//! - **what a walk handles**: the paths and symlink targets it yields and the directory blocks
//!   it decodes add up to at most [`DEFAULT_MAX_WALK_BYTES`] bytes
//!   ([`Reader::with_max_walk_bytes`]), and a name is at most [`MAX_NAME_LEN`] bytes (as
//!   Linux's `NAME_MAX`), so what a walk holds, and the directories it reads again and again,
//!   are bounded too;
//! - **depth**: a file DAG nests at most [`MAX_FILE_DEPTH`] levels, a HAMT at most as deep as its
//!   hash bits allow, a directory tree at most [`crate::tree::MAX_DEPTH`] levels; every walk is
//!   iterative;
//! - **sizes**: sizes and offsets read from blocks are added with checked arithmetic (a sum past
//!   `u64` is a malformed node, not a panic), and a file's content must be exactly the sizes its
//!   nodes record, so the bytes written are the bytes declared.

use std::cell::Cell;

use crate::block::{decode_pb, get_verified, BlockError, BlockSource};
use crate::cid::{Cid, RAW};
use crate::dagpb::PbNode;
use crate::tree::MAX_DEPTH;

use super::data::{Data, DataType};

mod dir;
mod file;
use file::content_size;
mod name;
mod walk;

pub use name::{MAX_NAME_LEN, NAME_RULE};

/// How deep a file DAG may nest before it is refused (a file DAG of 1024-wide nodes holds 2^60
/// chunks at depth 6; trickle DAGs nest deeper, a few levels per 4 links).
pub const MAX_FILE_DEPTH: usize = 64;

/// How many blocks one [`Reader`] decodes before it refuses to go on: a tree of a million files,
/// or a file of a million chunks (a TiB at 1 MiB chunks).
pub const DEFAULT_MAX_BLOCKS: u64 = 1_000_000;

/// How many bytes of blocks one [`Reader`] decodes before it refuses to go on: 16 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 16 << 30;

/// How many bytes of paths, symlink targets and directory blocks one walk handles before it
/// refuses to go on: 256 MiB, the paths and directories of some million files.
pub const DEFAULT_MAX_WALK_BYTES: u64 = 256 << 20;

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Block(#[from] BlockError),
    #[error("{cid}: is a {found}, not a {expected}")]
    WrongKind {
        cid: Cid,
        expected: &'static str,
        found: &'static str,
    },
    #[error("no `{name}` in directory {dir} (resolving `{path}`)")]
    NoSuchEntry {
        dir: Cid,
        name: String,
        path: String,
    },
    /// A directory entry's name breaks [`NAME_RULE`].
    #[error("directory {dir}: the entry name `{name}` {rule}; {NAME_RULE}")]
    BadName {
        dir: Cid,
        /// The name, control characters escaped.
        name: String,
        rule: &'static str,
    },
    /// The reader used up a budget ([`Reader::with_max_blocks`], [`Reader::with_max_bytes`],
    /// [`Reader::with_max_walk_bytes`]); `what` says which: `blocks`, `bytes of blocks`, `bytes
    /// of paths and directories`.
    #[error(
        "block {cid}: reading this DAG took more than {limit} {what}; a DAG that large, or one \
         that links the same blocks over and over, is refused"
    )]
    Budget {
        cid: Cid,
        limit: u64,
        what: &'static str,
    },
    /// A directory tree nests deeper than [`MAX_DEPTH`].
    #[error("directory {cid} at `{path}`: the tree nests deeper than {MAX_DEPTH} levels")]
    TooDeep { cid: Cid, path: String },
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
}

/// What a node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File { size: u64 },
    Directory,
    Symlink { target: String },
}

impl Kind {
    pub fn word(&self) -> &'static str {
        match self {
            Kind::File { .. } => "file",
            Kind::Directory => "directory",
            Kind::Symlink { .. } => "symlink",
        }
    }
}

/// A directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub cid: Cid,
    /// The cumulative size the link records, if any.
    pub tsize: Option<u64>,
}

/// An entry met by [`Reader::walk`]: its path below the root (`""` for the root itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkEntry {
    pub path: String,
    pub cid: Cid,
    pub kind: Kind,
    /// The cumulative size the parent's link records, if any (`None` for the root).
    pub tsize: Option<u64>,
}

enum Decoded {
    Raw(Vec<u8>),
    Pb(PbNode, Data),
}

/// Reads UnixFS from a block source, within budgets of blocks, bytes and paths (see the module
/// docs).
pub struct Reader<'a> {
    source: &'a dyn BlockSource,
    decoded: Cell<u64>,
    decoded_bytes: Cell<u64>,
    max_blocks: u64,
    max_bytes: u64,
    max_walk_bytes: u64,
}

fn malformed(cid: &Cid, reason: impl Into<String>) -> ReadError {
    ReadError::Block(BlockError::Malformed {
        cid: cid.clone(),
        what: "UnixFS node",
        reason: reason.into(),
    })
}

impl<'a> Reader<'a> {
    /// A reader of `source` with the default budgets: [`DEFAULT_MAX_BLOCKS`] blocks of
    /// [`DEFAULT_MAX_BYTES`] bytes, walks of [`DEFAULT_MAX_WALK_BYTES`] bytes of paths.
    pub fn new(source: &'a dyn BlockSource) -> Reader<'a> {
        Reader {
            source,
            decoded: Cell::new(0),
            decoded_bytes: Cell::new(0),
            max_blocks: DEFAULT_MAX_BLOCKS,
            max_bytes: DEFAULT_MAX_BYTES,
            max_walk_bytes: DEFAULT_MAX_WALK_BYTES,
        }
    }

    /// This reader with a budget of `max` decoded blocks in all (every call counts).
    pub fn with_max_blocks(mut self, max: u64) -> Reader<'a> {
        self.max_blocks = max;
        self
    }

    /// This reader with a budget of `max` bytes of decoded blocks in all (every call counts;
    /// `u64::MAX` for a read as long as the file, e.g. `wwpack cat`).
    pub fn with_max_bytes(mut self, max: u64) -> Reader<'a> {
        self.max_bytes = max;
        self
    }

    /// This reader with walks that handle at most `max` bytes of paths, symlink targets and
    /// directory blocks.
    pub fn with_max_walk_bytes(mut self, max: u64) -> Reader<'a> {
        self.max_walk_bytes = max;
        self
    }

    /// How many blocks this reader has decoded so far.
    pub fn blocks_decoded(&self) -> u64 {
        self.decoded.get()
    }

    fn decode(&self, cid: &Cid) -> Result<Decoded, ReadError> {
        let n = self.decoded.get() + 1;
        if n > self.max_blocks {
            return Err(ReadError::Budget {
                cid: cid.clone(),
                limit: self.max_blocks,
                what: "blocks",
            });
        }
        self.decoded.set(n);
        let bytes = get_verified(self.source, cid)?;
        let total = self.decoded_bytes.get().saturating_add(bytes.len() as u64);
        if total > self.max_bytes {
            return Err(ReadError::Budget {
                cid: cid.clone(),
                limit: self.max_bytes,
                what: "bytes of blocks",
            });
        }
        self.decoded_bytes.set(total);
        if cid.codec() == RAW {
            return Ok(Decoded::Raw(bytes));
        }
        let node = decode_pb(cid, &bytes)?;
        let data = node
            .data
            .as_deref()
            .ok_or_else(|| malformed(cid, "dag-pb node has no Data"))?;
        let data = Data::decode(data).map_err(|e| malformed(cid, e))?;
        Ok(Decoded::Pb(node, data))
    }

    /// What `cid` is.
    pub fn stat(&self, cid: &Cid) -> Result<Kind, ReadError> {
        Ok(match self.decode(cid)? {
            Decoded::Raw(bytes) => Kind::File {
                size: bytes.len() as u64,
            },
            Decoded::Pb(node, data) => kind_of(cid, &node, &data)?,
        })
    }

    /// The entries of directory `cid`, sorted by name. Every name follows [`NAME_RULE`].
    pub fn list(&self, cid: &Cid) -> Result<Vec<DirEntry>, ReadError> {
        let decoded = self.decode(cid)?;
        self.list_decoded(cid, decoded)
    }

    /// What `cid` is and, for a directory, its entries: one decode of its block.
    fn describe(&self, cid: &Cid) -> Result<(Kind, Option<Vec<DirEntry>>), ReadError> {
        match self.decode(cid)? {
            Decoded::Raw(bytes) => Ok((
                Kind::File {
                    size: bytes.len() as u64,
                },
                None,
            )),
            Decoded::Pb(node, data) => {
                let kind = kind_of(cid, &node, &data)?;
                if kind == Kind::Directory {
                    let entries = self.list_decoded(cid, Decoded::Pb(node, data))?;
                    Ok((kind, Some(entries)))
                } else {
                    Ok((kind, None))
                }
            }
        }
    }

    /// The CID at `path` (`/`-separated, relative) below `root`.
    pub fn resolve(&self, root: &Cid, path: &str) -> Result<Cid, ReadError> {
        let mut cid = root.clone();
        for name in path.split('/').filter(|c| !c.is_empty()) {
            let entries = self.list(&cid)?;
            let entry = entries
                .into_iter()
                .find(|e| e.name == name)
                .ok_or_else(|| ReadError::NoSuchEntry {
                    dir: cid.clone(),
                    name: name.to_string(),
                    path: path.to_string(),
                })?;
            cid = entry.cid;
        }
        Ok(cid)
    }

    /// The directory at `path` below `root`: [`ReadError::WrongKind`] when it is a file or a
    /// symlink (an image or a layer named by `CID/path` must be a directory).
    pub fn resolve_dir(&self, root: &Cid, path: &str) -> Result<Cid, ReadError> {
        let cid = self.resolve(root, path)?;
        match self.stat(&cid)? {
            Kind::Directory => Ok(cid),
            other => Err(ReadError::WrongKind {
                cid,
                expected: "directory",
                found: other.word(),
            }),
        }
    }
}

fn kind_of(cid: &Cid, node: &PbNode, data: &Data) -> Result<Kind, ReadError> {
    Ok(match data.kind {
        DataType::Directory | DataType::HamtShard => Kind::Directory,
        DataType::File | DataType::Raw => {
            let own = data.data.as_ref().map_or(0, Vec::len);
            let size = match data.filesize {
                Some(size) => size,
                None => content_size(cid, own, &data.blocksizes)?,
            };
            Kind::File { size }
        }
        DataType::Symlink => {
            let target = data.data.clone().unwrap_or_default();
            let target = String::from_utf8(target)
                .map_err(|_| malformed(cid, "symlink target is not UTF-8"))?;
            if !node.links.is_empty() {
                return Err(malformed(cid, "symlink node has links"));
            }
            Kind::Symlink { target }
        }
        DataType::Metadata => {
            return Err(malformed(cid, "UnixFS Metadata nodes are not supported"))
        }
    })
}

fn decoded_word(d: &Decoded) -> &'static str {
    match d {
        Decoded::Raw(_) => "file",
        Decoded::Pb(_, data) => match data.kind {
            DataType::Directory | DataType::HamtShard => "directory",
            DataType::Symlink => "symlink",
            DataType::Metadata => "metadata node",
            DataType::File | DataType::Raw => "file",
        },
    }
}

#[cfg(test)]
mod tests;
