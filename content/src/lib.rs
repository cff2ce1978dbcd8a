//! ww-content: content addressing, as IPFS does it, knowing nothing of images.
//!
//! Everything here is named by a [`cid::Cid`]: a version, a codec (`dag-pb` for UnixFS nodes,
//! `raw` for file chunks) and a multihash of the bytes. Bytes named so are [`block`]s; a block
//! is only used after its bytes are checked against its CID ([`block::get_verified`]), because
//! every block may come from someone else.
//!
//! The data flows in two directions:
//! - **import**: a [`tree::Tree`] of host files goes through [`unixfs`] (chunked, laid out and
//!   linked under a [`unixfs::Profile`], giving the same CIDs as Kubo) into a
//!   [`block::BlockSink`]: the embedded [`store`], or one that keeps nothing (to compute CIDs);
//! - **read**: a [`block::BlockSource`] (the store, an IPFS node through [`ipfs`], or the
//!   [`chain`] of the two) is read back by [`unixfs::read`], whose walks are bounded in depth,
//!   count and bytes, since DAGs are untrusted input.
//!
//! Blocks travel as [`car`] files (export, import) and between the store and a node with
//! [`transfer`] (push, pull). Host-side writes are [`atomic`] (a temporary sibling renamed into
//! place) or made [`beneath`] a directory handle without following symlinks. A long operation
//! stops when its [`cancel::Cancel`] is raised.

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
pub mod store;
pub mod text;
pub mod transfer;
pub mod tree;
pub mod unixfs;
pub mod varint;
pub mod walk;

pub use error::{Error, Result};
