//! Reading UnixFS DAGs: stat, list directories (HAMT shards included), resolve paths, read whole
//! files or byte ranges, walk trees.
//!
//! Any valid UnixFS DAG is read, not only what this importer writes: balanced or trickle layouts,
//! raw or dag-pb leaves, data in internal nodes, CIDv0 or v1. Every block is checked against its
//! CID before use ([`crate::block::get_verified`]); a mismatch, an unknown codec or hash, or a
//! malformed node is an error that names the CID.

use std::io::Write;

use crate::block::{decode_pb, get_verified, BlockError, BlockSource};
use crate::cid::{Cid, RAW};
use crate::dagpb::PbNode;

use super::data::{Data, DataType};

/// How deep a DAG may nest before it is refused (a file DAG of 1024-wide nodes holds 2^60 chunks
/// at depth 6; a HAMT of fanout 256 is at most 8 deep).
const MAX_DEPTH: usize = 64;

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
}

enum Decoded {
    Raw(Vec<u8>),
    Pb(PbNode, Data),
}

/// Reads UnixFS from a block source.
pub struct Reader<'a> {
    source: &'a dyn BlockSource,
}

fn malformed(cid: &Cid, reason: impl Into<String>) -> ReadError {
    ReadError::Block(BlockError::Malformed {
        cid: cid.clone(),
        what: "UnixFS node",
        reason: reason.into(),
    })
}

impl<'a> Reader<'a> {
    pub fn new(source: &'a dyn BlockSource) -> Reader<'a> {
        Reader { source }
    }

    fn decode(&self, cid: &Cid) -> Result<Decoded, ReadError> {
        let bytes = get_verified(self.source, cid)?;
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

    /// The entries of directory `cid`, sorted by name.
    pub fn list(&self, cid: &Cid) -> Result<Vec<DirEntry>, ReadError> {
        let mut out = Vec::new();
        match self.decode(cid)? {
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
                self.list_shard(cid, node, &data, 0, &mut out)?;
            }
            other => {
                return Err(ReadError::WrongKind {
                    cid: cid.clone(),
                    expected: "directory",
                    found: decoded_word(&other),
                })
            }
        }
        out.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        Ok(out)
    }

    fn list_shard(
        &self,
        cid: &Cid,
        node: PbNode,
        data: &Data,
        depth: usize,
        out: &mut Vec<DirEntry>,
    ) -> Result<(), ReadError> {
        if depth > MAX_DEPTH {
            return Err(malformed(cid, "HAMT nests too deep"));
        }
        let fanout = data
            .fanout
            .ok_or_else(|| malformed(cid, "HAMT shard has no fanout"))?;
        if !fanout.is_power_of_two() || !(2..=1024).contains(&fanout) {
            return Err(malformed(
                cid,
                format!("HAMT fanout {fanout} is not a power of two up to 1024"),
            ));
        }
        let width = format!("{:X}", fanout - 1).len();
        for link in node.links {
            let name = link
                .name
                .ok_or_else(|| malformed(cid, "HAMT link without a name"))?;
            if name.len() < width || !name.is_char_boundary(width) {
                return Err(malformed(
                    cid,
                    format!("HAMT link name `{name}` is shorter than its {width}-digit prefix"),
                ));
            }
            if name.len() == width {
                match self.decode(&link.cid)? {
                    Decoded::Pb(child, child_data) if child_data.kind == DataType::HamtShard => {
                        self.list_shard(&link.cid, child, &child_data, depth + 1, out)?
                    }
                    _ => return Err(malformed(&link.cid, "HAMT child is not a HAMT shard")),
                }
            } else {
                out.push(DirEntry {
                    name: name[width..].to_string(),
                    cid: link.cid,
                    tsize: link.tsize,
                });
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
        if depth > MAX_DEPTH {
            return Err(malformed(cid, "file DAG nests too deep"));
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
        let total = own.len() as u64 + data.blocksizes.iter().sum::<u64>();
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
            let child_end = pos + size;
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

    /// Every entry below `root` (the root first, then depth-first in name order).
    pub fn walk(&self, root: &Cid) -> Result<Vec<WalkEntry>, ReadError> {
        let mut out = Vec::new();
        let mut stack = vec![(String::new(), root.clone(), 0usize)];
        while let Some((path, cid, depth)) = stack.pop() {
            if depth > MAX_DEPTH * 64 {
                return Err(malformed(&cid, "directory tree nests too deep"));
            }
            let kind = self.stat(&cid)?;
            if kind == Kind::Directory {
                let entries = self.list(&cid)?;
                for e in entries.into_iter().rev() {
                    let child = if path.is_empty() {
                        e.name
                    } else {
                        format!("{path}/{}", e.name)
                    };
                    stack.push((child, e.cid, depth + 1));
                }
            }
            out.push(WalkEntry { path, cid, kind });
        }
        Ok(out)
    }
}

fn kind_of(cid: &Cid, node: &PbNode, data: &Data) -> Result<Kind, ReadError> {
    Ok(match data.kind {
        DataType::Directory | DataType::HamtShard => Kind::Directory,
        DataType::File | DataType::Raw => {
            let own = data.data.as_ref().map_or(0, |d| d.len() as u64);
            let size = data
                .filesize
                .unwrap_or_else(|| own + data.blocksizes.iter().sum::<u64>());
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
