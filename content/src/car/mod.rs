//! CAR v1 (Content Addressable aRchive) export and import, interoperable with `ipfs dag export`
//! and `ipfs dag import`.
//!
//! A CAR v1 is a header and a run of sections:
//!
//! ```text
//! varint(len(header)) header  varint(len(cid) + len(data)) cid data  varint(...) cid data ...
//! ```
//!
//! The header is the DAG-CBOR map `{"roots": [CID, ...], "version": 1}`; a CID in DAG-CBOR is
//! tag 42 around a byte string holding a 0x00 byte and the binary CID. [`export`] writes the
//! header byte for byte as go-car (and so `ipfs dag export`) does: canonical DAG-CBOR, keys
//! sorted by length ("roots" before "version"), every integer in its shortest form. It then walks
//! each root depth-first, pre-order (a block, then its links in link order), writing each block
//! once, which is the order go-car writes a DAG in.
//!
//! [`import`] streams: it holds one section in memory at a time, plus the set of CIDs seen. Every
//! block is checked against its CID before it reaches the sink, and the CAR must be closed: every
//! root and every block linked from a block in the CAR must be in the CAR. CAR v1 has no end
//! marker, so that check is what makes a file cut at a section boundary an error.
//!
//! Limits, so a hostile file cannot make us allocate much: a header is at most
//! [`MAX_HEADER_LEN`] bytes, a block at most [`MAX_BLOCK_LEN`] bytes (the 2 MiB block limit of
//! Kubo and bitswap), a section's CID at most [`MAX_CID_LEN`] bytes, so a section at most
//! [`MAX_SECTION_LEN`] bytes. Varints must be minimal and at most 9 bytes long. Export refuses
//! what import would refuse, so whatever we export we can import.
//!
//! The code: `export.rs` (the writer, over the one DAG walk), `import.rs` (the closed-CAR check
//! over the reader), `reader.rs` (the streaming section reader, [`CarReader`]) and `header.rs`
//! (the DAG-CBOR of the header, and why it is our own).

use std::io;

use crate::block::BlockError;
use crate::cid::{Cid, IDENTITY};

mod export;
mod header;
mod import;
mod reader;

pub use export::{export, export_metered, ExportReport};
pub use header::encode_header;
pub use import::{import, ImportReport};
pub use reader::{read_header, CarBlock, CarReader};

/// The largest header (the DAG-CBOR map, without its length varint) we write or read: 1 MiB.
pub const MAX_HEADER_LEN: usize = 1 << 20;
/// The largest block we write or read: 2 MiB, the block size limit of Kubo and bitswap.
pub const MAX_BLOCK_LEN: usize = 2 << 20;
/// The longest binary CID we write or read in a section. A sha2-256 CIDv1 is 36 bytes; the rest
/// is room for long codec numbers and small identity CIDs.
pub const MAX_CID_LEN: usize = 256;
/// The largest section (CID and block, without the length varint) we write or read.
pub const MAX_SECTION_LEN: usize = MAX_BLOCK_LEN + MAX_CID_LEN;

/// Why a CAR could not be written or read. Messages name the CID where there is one and the byte
/// offset in the CAR where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum CarError {
    /// Reading a block from the store, or storing one, failed; the error names the CID.
    #[error(transparent)]
    Block(#[from] BlockError),
    /// The block of the section at `offset` does not match its CID, has a codec or hash function
    /// we do not read, or is a malformed dag-pb node. The error names the CID.
    #[error("CAR section at byte {offset}: {source}")]
    Section {
        offset: u64,
        #[source]
        source: BlockError,
    },
    /// The header breaks a rule of CAR v1 or DAG-CBOR.
    #[error("malformed CAR header at byte {offset}: {rule}")]
    Header { offset: u64, rule: String },
    /// A section, or a length prefix, breaks a rule of CAR v1.
    #[error("malformed CAR at byte {offset}: {rule}")]
    Format { offset: u64, rule: String },
    /// The input ends in the middle of something; `offset` is where it ends.
    #[error("CAR is truncated at byte {offset}: {what}")]
    Truncated { offset: u64, what: String },
    /// A root named in the header is not in the CAR.
    #[error("CAR is incomplete: root {cid} is not in it (truncated file?)")]
    MissingRoot { cid: Cid },
    /// A block in the CAR links to a block that is not in it.
    #[error(
        "CAR is incomplete: {missing} linked block(s) are not in it, the first {cid} \
         (linked from {parent}) (truncated file?)"
    )]
    MissingLink {
        cid: Cid,
        parent: Cid,
        missing: usize,
    },
    /// Reading or writing the CAR stream failed.
    #[error("cannot {action} the CAR at byte {offset}: {source}")]
    Io {
        action: &'static str,
        offset: u64,
        #[source]
        source: io::Error,
    },
    /// [`export`] was given no roots. go-car, and so older Kubo, cannot read a CAR without one.
    #[error("a CAR needs at least one root")]
    NoRoots,
    /// The header for this many roots would be over [`MAX_HEADER_LEN`].
    #[error("the CAR header for {roots} roots would be {len} bytes, over the {MAX_HEADER_LEN}-byte limit")]
    HeaderTooLarge { roots: usize, len: usize },
    /// A block, or its CID, is too large for a section we would read back.
    #[error("block {cid}: {what} is {len} bytes, over the {limit}-byte limit of a CAR section")]
    TooLarge {
        cid: Cid,
        what: &'static str,
        len: usize,
        limit: usize,
    },
}

/// Whether `cid` is an identity CID: its bytes are in it, a CAR need not carry them.
fn is_identity(cid: &Cid) -> bool {
    cid.hash().code() == IDENTITY
}

#[cfg(test)]
mod tests;
