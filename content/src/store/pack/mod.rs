//! Packs: small blocks stored many to a file, so that an import of a tree of small files does not
//! create one inode per block (the kernel's cost of a new file, about 25 µs here, was most of
//! what a store import paid over hashing). This file owns the two file formats; `writer.rs`
//! appends to a pack and seals it, `set.rs` finds blocks in the sealed packs of a store, and
//! `sweep.rs` is gc's part (dropping and rewriting packs).
//!
//! # Files
//!
//! ```text
//! packs/<name>.pack   WWPACK\0\x01, then records: u8 cid length, the CIDv1's bytes,
//!                     u32 LE data length, the data. Append-only while it is written; never
//!                     changed once sealed.
//! packs/<name>.idx    WWPIDX\0\x01, u32 LE count, then `count` entries sorted by CID bytes:
//!                     u8 cid length, the CIDv1's bytes, u64 LE offset of the record in the
//!                     pack, u32 LE data length; then the sha2-256 of everything before it.
//! ```
//!
//! A pack is **sealed** when its index exists: the index is written last (renamed into place
//! from `tmp/`), so a pack without one is being written, or its writer died; readers never look
//! at it and gc (which runs only when no writer holds the store) removes it. The index's digest
//! makes a torn index (a crash before the pin synced it) an index that does not load: its
//! blocks were never pinned, so nothing pinned is lost.
//!
//! Blocks are packed only by a [`Batch`](super::Batch) (`add`, `import`, `build`), and only
//! those of at most [`MAX_PACKED`] bytes; the rest of the store's writers and larger blocks keep
//! one file per block. The same promise holds as for block files: nothing is synced until the
//! pin, whose `syncfs` covers packs and indexes as it covers block files; every read is verified
//! against the CID; a record cut short by a crash reads as absent. A block file wins over a packed
//! copy of the same block, which is how a damaged packed block is repaired (a put writes the good
//! bytes as a block file).

use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::cid::Cid;

mod set;
mod sweep;
mod writer;

pub(super) use set::{Entry, PackSet};
pub(super) use writer::PackWriter;

/// The directory of packs, below the store's directory.
pub(super) const PACKS: &str = "packs";
/// Blocks of at most this many bytes are packed by a batch; larger ones are block files.
pub const MAX_PACKED: usize = 64 * 1024;
/// A pack is sealed and a new one started once it holds this many bytes, so that gc's rewrite
/// of a pack with a few unreachable blocks copies at most this much.
const PACK_TARGET: u64 = 64 << 20;
/// The largest index a store loads: far beyond what [`PACK_TARGET`] can produce (a pack of
/// 64 MiB of empty blocks has about 1.6 million records of 41 bytes).
const MAX_INDEX: u64 = 256 << 20;

const PACK_MAGIC: &[u8; 8] = b"WWPACK\0\x01";
const INDEX_MAGIC: &[u8; 8] = b"WWPIDX\0\x01";
const PACK_SUFFIX: &str = ".pack";
const INDEX_SUFFIX: &str = ".idx";

/// What the store holds of a block, as a writer of it sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Holding {
    /// A copy with the writer's bytes: nothing to write.
    Same,
    /// Only copies with other bytes (damaged): the writer's bytes repair it.
    Damaged,
    /// Nothing (or only copies cut short or gone).
    Absent,
}

/// Where a packed block's record is, as its pack's index says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Record {
    /// The block's CIDv1, as bytes.
    pub key: Box<[u8]>,
    /// Where the record starts in the pack.
    pub offset: u64,
    /// The data's length.
    pub len: u32,
}

impl Record {
    /// The record's size in the pack: its header and its data.
    fn size(&self) -> u64 {
        self.header() + u64::from(self.len)
    }

    /// The size of the record's header: the key's length, the key, the data's length.
    fn header(&self) -> u64 {
        1 + self.key.len() as u64 + 4
    }

    /// Where the record's data starts in the pack.
    pub fn data_offset(&self) -> u64 {
        self.offset.saturating_add(self.header())
    }

    /// Where the record ends in the pack; `None` past the largest offset.
    pub fn end(&self) -> Option<u64> {
        self.offset.checked_add(self.size())
    }
}

/// The key of a block in a pack: its CIDv1's bytes, if short enough for a record.
pub(super) fn key(cid: &Cid) -> Option<Box<[u8]>> {
    let bytes = cid.to_v1().to_bytes();
    (bytes.len() <= usize::from(u8::MAX)).then(|| bytes.into_boxed_slice())
}

/// The files of the pack `name` in the packs directory `dir`.
pub(super) fn pack_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}{PACK_SUFFIX}"))
}

pub(super) fn index_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}{INDEX_SUFFIX}"))
}

/// A record's header and data, as written to a pack.
fn encode_record(key: &[u8], data: &[u8], out: &mut Vec<u8>) {
    out.push(key.len() as u8);
    out.extend_from_slice(key);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
}

/// An index of `records` (sorted here), with its digest.
fn encode_index(records: &mut [Record]) -> Vec<u8> {
    records.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = Vec::with_capacity(12 + records.len() * 50 + 32);
    out.extend_from_slice(INDEX_MAGIC);
    out.extend_from_slice(&(records.len() as u32).to_le_bytes());
    for r in records.iter() {
        out.push(r.key.len() as u8);
        out.extend_from_slice(&r.key);
        out.extend_from_slice(&r.offset.to_le_bytes());
        out.extend_from_slice(&r.len.to_le_bytes());
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

/// Reads the index at `path`: its records, or why it is not a whole index of this format.
fn read_index(path: &Path) -> Result<Vec<Record>, String> {
    let file = File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let len = file
        .metadata()
        .map_err(|e| format!("cannot inspect it: {e}"))?
        .len();
    if len > MAX_INDEX {
        return Err(format!(
            "it has {len} bytes, more than the {MAX_INDEX} allowed"
        ));
    }
    let mut bytes = vec![0; len as usize];
    file.read_exact_at(&mut bytes, 0)
        .map_err(|e| format!("cannot read it: {e}"))?;
    decode_index(&bytes)
}

fn decode_index(bytes: &[u8]) -> Result<Vec<Record>, String> {
    let Some((body, digest)) = bytes.split_last_chunk::<32>() else {
        return Err("it is too short".into());
    };
    if Sha256::digest(body).as_slice() != digest {
        return Err("its digest does not match (torn by a crash before its pin)".into());
    }
    let Some(rest) = body.strip_prefix(INDEX_MAGIC) else {
        return Err("it does not start with the index magic".into());
    };
    let (count, mut rest) = rest
        .split_first_chunk::<4>()
        .ok_or("it has no record count")?;
    let count = u32::from_le_bytes(*count) as usize;
    // Each entry takes at least 13 bytes: bound the allocation by what is there.
    let mut records = Vec::with_capacity(count.min(rest.len() / 13));
    for _ in 0..count {
        let (&n, tail) = rest.split_first().ok_or("it ends inside an entry")?;
        let n = usize::from(n);
        if tail.len() < n + 12 {
            return Err("it ends inside an entry".into());
        }
        let (key, tail) = tail.split_at(n);
        let (offset, tail) = tail.split_first_chunk::<8>().ok_or("short entry")?;
        let (len, tail) = tail.split_first_chunk::<4>().ok_or("short entry")?;
        let record = Record {
            key: key.into(),
            offset: u64::from_le_bytes(*offset),
            len: u32::from_le_bytes(*len),
        };
        if n == 0 || record.len as usize > MAX_PACKED || record.end().is_none() {
            return Err(format!(
                "an entry breaks the format: a {n}-byte CID, {} bytes at {}",
                record.len, record.offset
            ));
        }
        records.push(record);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(format!("{} bytes follow its last entry", rest.len()));
    }
    Ok(records)
}

/// Reads `record`'s data from `pack`: `None` if the pack ends before the record does (cut short
/// by a crash: the block is not there). A header that does not name the record's block gives the
/// bytes anyway, which then fail verification: the pack is damaged.
fn read_record(pack: &File, record: &Record) -> std::io::Result<Option<Vec<u8>>> {
    // Bounded by the index's rules (a record of at most [`MAX_PACKED`] bytes).
    let mut buf = vec![0; record.size().min(MAX_PACKED as u64 + 260) as usize];
    match pack.read_exact_at(&mut buf, record.offset) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let header = 1 + record.key.len() + 4;
    let names_it = usize::from(buf[0]) == record.key.len()
        && buf[1..1 + record.key.len()] == *record.key
        && buf[header - 4..header] == record.len.to_le_bytes();
    if !names_it {
        tracing::debug!(
            offset = record.offset,
            "a pack record's header does not name its block"
        );
    }
    buf.drain(..header);
    Ok(Some(buf))
}

/// The whole records of `pack`, read in order from its start: for a pack whose index is gone
/// or torn (gc recovers what a pin reaches from it). Stops at the first record cut short.
fn scan_records(pack: &File) -> std::io::Result<Vec<Record>> {
    use std::io::{BufReader, Read, Seek, SeekFrom};
    let len = pack.metadata()?.len();
    let mut input = BufReader::new(pack);
    input.seek(SeekFrom::Start(0))?;
    let mut magic = [0; 8];
    if input.read_exact(&mut magic).is_err() || magic != *PACK_MAGIC {
        return Ok(Vec::new());
    }
    let mut records = Vec::new();
    let mut offset = PACK_MAGIC.len() as u64;
    loop {
        let mut n = [0];
        if input.read_exact(&mut n).is_err() {
            break;
        }
        let mut key = vec![0; usize::from(n[0])];
        let mut data_len = [0; 4];
        if input.read_exact(&mut key).is_err() || input.read_exact(&mut data_len).is_err() {
            break;
        }
        let record = Record {
            key: key.into(),
            offset,
            len: u32::from_le_bytes(data_len),
        };
        // Not a record a writer made (zeros where a crash left a hole, say): the end of what
        // can be recovered.
        if n[0] == 0 || record.len as usize > MAX_PACKED || record.end().is_none_or(|e| e > len) {
            break;
        }
        input.seek_relative(i64::from(record.len))?;
        offset += record.size();
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests;
