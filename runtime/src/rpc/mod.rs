//! The capabilities a process gets, over Cap'n Proto RPC.
//!
//! Every process (pid0 and each child) imports `wetware:rpc/connection@0.1.0`; each `open` gives
//! it a new in-memory connection ([`connection`]) whose bootstrap capability is a fresh
//! `Membrane(WetwareSession)` issued by the process's [`Kernel`]. `graft` returns a session in the
//! current epoch with:
//!
//! - `Host`: `id` (the node's libp2p peer ID), `addrs` (none: ww does not listen yet), `peers`
//!   (the image's `boot/` peers), `connect` (always an error in this release), `executor`;
//! - `Executor`: `echo`, and `runBytes`, which starts a child process (see [`process`]) and
//!   returns its `Process` (stdin, stdout, stderr as `ByteStream`s, and `wait`).
//!
//! Host and Executor check the session's epoch on every call and fail with `staleEpoch` once
//! [`Kernel::epochs`] has advanced, which `ww run --follow` does on every upgrade to a new root
//! ([`crate::follow`]); a plain `ww run` stays in its first epoch.
//! Everything here lives on one thread, in a [`tokio::task::LocalSet`]: Cap'n Proto objects are
//! not `Send`.
//!
//! [`Kernel::serve`] serves the same membrane over any in-memory or OS stream, which is how the
//! tests drive it without a wasm pid0.

pub mod byte_stream;
pub mod connection;
mod executor;
pub mod host;
pub mod kernel;
pub mod process;
mod session;

pub use kernel::{Kernel, NodeIdentity};
