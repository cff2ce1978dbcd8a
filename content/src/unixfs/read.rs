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
use std::collections::HashSet;
use std::io::Write;

use crate::block::{decode_pb, get_verified, BlockError, BlockSource};
use crate::cid::{Cid, RAW};
use crate::dagpb::PbNode;
use crate::text::printable;
use crate::tree::MAX_DEPTH;

use super::data::{Data, DataType};

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

/// The longest name of a directory entry: 255 bytes, the longest file name Linux stores.
pub const MAX_NAME_LEN: usize = 255;

/// The rule every directory entry name follows, quoted in [`ReadError::BadName`].
pub const NAME_RULE: &str = "a name is one path component (non-empty, not `.` or `..`, no `/` \
     or NUL, at most 255 bytes) and unique in its directory";

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

    fn list_decoded(&self, cid: &Cid, decoded: Decoded) -> Result<Vec<DirEntry>, ReadError> {
        let mut out = Vec::new();
        match decoded {
            Decoded::Pb(node, data) if data.kind == DataType::Directory => {
                for link in node.links {
                    let name = link
                        .name
                        .ok_or_else(|| malformed(cid, "directory link without a name"))?;
                    out.push(DirEntry {
                        name,
                        cid: link.cid,
                        tsize: link.tsize,
                    });
                }
            }
            Decoded::Pb(node, data) if data.kind == DataType::HamtShard => {
                self.list_shard(cid, node, &data, &mut out)?;
            }
            other => {
                return Err(ReadError::WrongKind {
                    cid: cid.clone(),
                    expected: "directory",
                    found: decoded_word(&other),
                })
            }
        }
        for entry in &out {
            check_name(cid, &entry.name)?;
        }
        out.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        if let Some(pair) = out.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(ReadError::BadName {
                dir: cid.clone(),
                name: printable(&pair[0].name).into_owned(),
                rule: "appears twice",
            });
        }
        Ok(out)
    }

    /// The entries of the HAMT whose root shard is `cid`, iteratively. Every shard has the root's
    /// fanout, nests no deeper than the 64 hash bits allow, and is met once: a shard linked twice
    /// would list the same names twice (and, repeated at every level, take 2^60 visits).
    fn list_shard(
        &self,
        cid: &Cid,
        node: PbNode,
        data: &Data,
        out: &mut Vec<DirEntry>,
    ) -> Result<(), ReadError> {
        let fanout = shard_fanout(cid, data)?;
        let bits = fanout.trailing_zeros() as usize;
        let max_depth = 64usize.div_ceil(bits);
        let width = format!("{:X}", fanout - 1).len();
        let mut seen: HashSet<Cid> = HashSet::from([cid.to_v1()]);
        let mut stack = vec![(cid.clone(), node, 0usize)];
        while let Some((shard, node, depth)) = stack.pop() {
            for link in node.links {
                let name = link
                    .name
                    .ok_or_else(|| malformed(&shard, "HAMT link without a name"))?;
                if name.len() < width
                    || !name.is_char_boundary(width)
                    || !name[..width].bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(malformed(
                        &shard,
                        format!(
                            "HAMT link name `{}` does not start with a {width}-digit hex slot",
                            printable(&name)
                        ),
                    ));
                }
                if name.len() > width {
                    out.push(DirEntry {
                        name: name[width..].to_string(),
                        cid: link.cid,
                        tsize: link.tsize,
                    });
                    continue;
                }
                if depth + 1 >= max_depth {
                    return Err(malformed(
                        &link.cid,
                        format!("HAMT nests deeper than its {max_depth} levels of hash bits"),
                    ));
                }
                if !seen.insert(link.cid.to_v1()) {
                    return Err(malformed(
                        &shard,
                        format!("HAMT shard {} is linked twice in one directory", link.cid),
                    ));
                }
                match self.decode(&link.cid)? {
                    Decoded::Pb(child, child_data) if child_data.kind == DataType::HamtShard => {
                        if shard_fanout(&link.cid, &child_data)? != fanout {
                            return Err(malformed(
                                &link.cid,
                                format!("HAMT shard's fanout differs from its root's {fanout}"),
                            ));
                        }
                        stack.push((link.cid, child, depth + 1));
                    }
                    _ => return Err(malformed(&link.cid, "HAMT child is not a HAMT shard")),
                }
            }
        }
        Ok(())
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

    /// Writes the whole file `cid` to `out`; returns the bytes written.
    pub fn read_to(&self, cid: &Cid, out: &mut dyn Write) -> Result<u64, ReadError> {
        self.read_range(cid, 0, u64::MAX, out)
    }

    /// Writes up to `len` bytes of file `cid` from `offset` to `out`; returns the bytes written.
    pub fn read_range(
        &self,
        cid: &Cid,
        offset: u64,
        len: u64,
        out: &mut dyn Write,
    ) -> Result<u64, ReadError> {
        let end = offset.saturating_add(len);
        let mut written = 0;
        self.read_node(cid, offset, end, 0, out, &mut written, None)?;
        Ok(written)
    }

    /// Writes bytes `[start, end)` of the file node `cid` (positions relative to it). When the
    /// parent recorded the node's size, `expect` checks it.
    #[allow(clippy::too_many_arguments)]
    fn read_node(
        &self,
        cid: &Cid,
        start: u64,
        end: u64,
        depth: usize,
        out: &mut dyn Write,
        written: &mut u64,
        expect: Option<u64>,
    ) -> Result<(), ReadError> {
        if depth > MAX_FILE_DEPTH {
            return Err(malformed(
                cid,
                format!("file DAG nests deeper than {MAX_FILE_DEPTH} levels"),
            ));
        }
        let (node, data) = match self.decode(cid)? {
            Decoded::Raw(bytes) => {
                check_size(cid, expect, bytes.len() as u64)?;
                write_slice(&bytes, start, end, out, written)?;
                return Ok(());
            }
            Decoded::Pb(node, data) => (node, data),
        };
        if !matches!(data.kind, DataType::File | DataType::Raw) {
            return Err(ReadError::WrongKind {
                cid: cid.clone(),
                expected: "file",
                found: kind_of(cid, &node, &data)?.word(),
            });
        }
        if data.blocksizes.len() != node.links.len() {
            return Err(malformed(
                cid,
                format!(
                    "{} links but {} blocksizes",
                    node.links.len(),
                    data.blocksizes.len()
                ),
            ));
        }
        let own = data.data.as_deref().unwrap_or_default();
        let total = content_size(cid, own.len(), &data.blocksizes)?;
        check_size(cid, expect, total)?;
        if let Some(filesize) = data.filesize {
            if filesize != total {
                return Err(malformed(
                    cid,
                    format!("filesize {filesize} but content of {total} bytes"),
                ));
            }
        }
        write_slice(own, start, end, out, written)?;
        let mut pos = own.len() as u64;
        for (link, &size) in node.links.iter().zip(&data.blocksizes) {
            // Cannot overflow: the sizes summed to `total` above.
            let child_end = pos.saturating_add(size);
            if child_end > start && pos < end {
                self.read_node(
                    &link.cid,
                    start.saturating_sub(pos),
                    end.saturating_sub(pos).min(size),
                    depth + 1,
                    out,
                    written,
                    Some(size),
                )?;
            }
            pos = child_end;
            if pos >= end {
                break;
            }
        }
        Ok(())
    }

    /// Every entry below `root` (the root first, then depth-first in name order). Iterative;
    /// a tree deeper than [`MAX_DEPTH`] is [`ReadError::TooDeep`], and the reader's block budget
    /// bounds the rest.
    pub fn walk(&self, root: &Cid) -> Result<Vec<WalkEntry>, ReadError> {
        let mut out = Vec::new();
        self.walk_with(root, |entry| {
            out.push(entry);
            Ok(())
        })?;
        Ok(out)
    }

    /// [`Reader::walk`], handing each entry to `visit` as it is met (so a caller can stop, or
    /// count, before the whole tree is in memory).
    pub fn walk_with(
        &self,
        root: &Cid,
        mut visit: impl FnMut(WalkEntry) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        let mut stack = vec![(String::new(), root.clone(), None, 0usize)];
        // Bytes of the paths made (counted as they are made, stack included) and targets met.
        let mut kept = 0u64;
        let mut keep = |cid: &Cid, bytes: usize| {
            kept = kept.saturating_add(bytes as u64);
            if kept > self.max_walk_bytes {
                return Err(ReadError::Budget {
                    cid: cid.clone(),
                    limit: self.max_walk_bytes,
                    what: "bytes of paths and directories",
                });
            }
            Ok(())
        };
        while let Some((path, cid, tsize, depth)) = stack.pop() {
            let before = self.decoded_bytes.get();
            let (kind, entries) = self.describe(&cid)?;
            match &kind {
                Kind::Symlink { target } => keep(&cid, target.len())?,
                Kind::Directory => {
                    let block = self.decoded_bytes.get().saturating_sub(before);
                    keep(&cid, usize::try_from(block).unwrap_or(usize::MAX))?;
                }
                Kind::File { .. } => {}
            }
            if let Some(entries) = entries {
                if !entries.is_empty() && depth >= MAX_DEPTH {
                    return Err(ReadError::TooDeep {
                        cid,
                        path: printable(&path).into_owned(),
                    });
                }
                for e in entries.into_iter().rev() {
                    keep(&cid, path.len() + 1 + e.name.len())?;
                    let child = if path.is_empty() {
                        e.name
                    } else {
                        format!("{path}/{}", e.name)
                    };
                    stack.push((child, e.cid, e.tsize, depth + 1));
                }
            }
            visit(WalkEntry {
                path,
                cid,
                kind,
                tsize,
            })?;
        }
        Ok(())
    }
}

/// Checks one directory entry name against [`NAME_RULE`] (uniqueness is checked by the caller).
fn check_name(dir: &Cid, name: &str) -> Result<(), ReadError> {
    let rule = if name.is_empty() {
        "is empty"
    } else if name.len() > MAX_NAME_LEN {
        "is longer than 255 bytes"
    } else if name == "." || name == ".." {
        "is `.` or `..`"
    } else if name.contains('/') {
        "contains `/`"
    } else if name.contains('\0') {
        "contains a NUL byte"
    } else {
        return Ok(());
    };
    Err(ReadError::BadName {
        dir: dir.clone(),
        name: printable(name).into_owned(),
        rule,
    })
}

/// The fanout of a HAMT shard: a power of two from 2 to 1024.
fn shard_fanout(cid: &Cid, data: &Data) -> Result<u64, ReadError> {
    let fanout = data
        .fanout
        .ok_or_else(|| malformed(cid, "HAMT shard has no fanout"))?;
    if !fanout.is_power_of_two() || !(2..=1024).contains(&fanout) {
        return Err(malformed(
            cid,
            format!("HAMT fanout {fanout} is not a power of two from 2 to 1024"),
        ));
    }
    Ok(fanout)
}

/// The bytes a file node holds: its own data plus its children's, summed with checked
/// arithmetic (sizes come from the block).
fn content_size(cid: &Cid, own: usize, blocksizes: &[u64]) -> Result<u64, ReadError> {
    blocksizes
        .iter()
        .try_fold(own as u64, |sum, &size| sum.checked_add(size))
        .ok_or_else(|| malformed(cid, "its block sizes add up past 2^64 bytes"))
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

fn check_size(cid: &Cid, expect: Option<u64>, actual: u64) -> Result<(), ReadError> {
    match expect {
        Some(e) if e != actual => Err(malformed(
            cid,
            format!("parent records {e} bytes but the node holds {actual}"),
        )),
        _ => Ok(()),
    }
}

fn write_slice(
    bytes: &[u8],
    start: u64,
    end: u64,
    out: &mut dyn Write,
    written: &mut u64,
) -> Result<(), ReadError> {
    let len = bytes.len() as u64;
    let (s, e) = (start.min(len), end.min(len));
    if s < e {
        out.write_all(&bytes[s as usize..e as usize])
            .map_err(ReadError::Output)?;
        *written += e - s;
    }
    Ok(())
}
