//! ww-content: content addressing, as IPFS does it, knowing nothing of images.
//!
//! Everything here is named by a [`cid::Cid`]: a version, a codec (`dag-pb` for UnixFS nodes,
//! `raw` for file chunks) and a multihash of the bytes (its varints are [`varint`]'s, the one
//! reader). Bytes named so are [`block`]s; a block is only used after its bytes are checked
//! against its CID ([`block::get_verified`]), because every block may come from someone else.
//!
//! The data flows in two directions:
//! - **import**: a [`tree::Tree`] of host files goes through [`unixfs`] (chunked, laid out and
//!   linked as [`dagpb`] nodes under a [`unixfs::Profile`], giving the same CIDs as Kubo) into a
//!   [`block::BlockSink`]: the embedded [`store`], or one that keeps nothing (to compute CIDs);
//! - **read**: a [`block::BlockSource`] (the store, an IPFS node through [`ipfs`], or the
//!   [`chain`] of the two) is read back by [`unixfs::read`], whose walks are bounded in depth,
//!   count and bytes, since DAGs are untrusted input. A [`path::ContentPath`] names what to read.
//!
//! Whole DAGs, whatever their codec's files mean, are walked by the one [`walk`] (with its
//! budgets): to export and import them as [`car`] files, to move them between the store and a
//! node with [`transfer`] (push, pull), and to find what the store's gc may remove.
//!
//! On the host, a file is written [`atomic`]ally (a temporary sibling, synced, renamed into
//! place) or [`beneath`] a directory handle without following symlinks; ww's directories are
//! found by [`dirs`] (XDG). A long operation stops when its [`cancel::Cancel`] is raised; text
//! from outside is made [`text::printable`] before it is shown; boot peers and node addresses
//! are parsed as [`multiaddr`]s. How far a long operation has got is counted on a
//! [`progress::Meter`], which the command lines draw.

#![forbid(unsafe_code)]

pub mod atomic;
pub mod beneath;
pub mod block;
pub mod cancel;
pub mod car;
pub mod chain;
pub mod cid;
pub mod dagpb;
pub mod dirs;
pub mod error;
pub mod ipfs;
pub mod multiaddr;
pub mod path;
pub mod pb;
pub mod prefetch;
pub mod progress;
pub mod store;
pub mod text;
pub mod transfer;
pub mod tree;
pub mod unixfs;
pub mod varint;
pub mod walk;

#[cfg(test)]
mod test_dags;

pub use error::{Error, Result};
