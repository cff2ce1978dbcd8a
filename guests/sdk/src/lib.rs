//! The Wetware guest SDK: what a Rust guest (a WASI 0.2 command run by `ww`) needs to reach its
//! host over Cap'n Proto without blocking.
//!
//! A guest gets its authority only as capabilities on its RPC connection
//! (`wetware:rpc/connection.open`, two `wasi:io` streams). This crate provides:
//!
//! - [`block_on`] and [`spawn`] ([`executor`]): a single-threaded executor. When nothing can run,
//!   it blocks in one `wasi:io/poll.poll` over every pollable that pending I/O registered with the
//!   [`reactor`], and wakes exactly the futures whose pollables are ready: no busy loop.
//! - [`AsyncInput`] and [`AsyncOutput`]: `wasi:io` streams as futures' `AsyncRead` and
//!   `AsyncWrite`, within `check-write`'s permits, flushing as `wasi:io` defines it, reading a
//!   closed stream as end of file.
//! - [`stdio`]: the guest's own stdin, stdout and stderr as those streams, so that an interactive
//!   guest waiting for input keeps serving its RPC connection.
//! - [`rpc::connect`] and [`session::graft`] (together [`connect_and_graft`]): the connection
//!   (two-party Cap'n Proto, client side, its `RpcSystem` run as a task of the executor) and the
//!   [`Session`] the membrane grants: `host` and `executor`.
//! - [`Session::epoch_status`] and [`Session::wait_epoch_end`] ([`epoch`]): whether the
//!   session's epoch is still the host's. The host advances it on an upgrade (`ww run
//!   --follow`), after which the session's capabilities fail with `staleEpoch`; a guest should
//!   then exit, or graft again.
//! - [`Child`] ([`process`]) and [`bytestream`]: start a child with `runBytes`, relay its stdout
//!   and stderr, wait for its status.
//! - [`sleep`] ([`timer`]): a `wasi:clocks` timer, waited on like any other pollable.
//! - [`run`]: a guest's whole `main`: the async main on the executor, then its exit status.
//!
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     wetware_guest::run("my-guest", async {
//!         let session = wetware_guest::connect_and_graft().await?;
//!         let reply = session.echo("hi").await?;
//!         wetware_guest::stdio::stdout().write_line(&reply).await?;
//!         Ok::<u8, wetware_guest::Error>(0)
//!     })
//! }
//! ```
//!
//! **Teardown.** `wasi:io` lets a host trap when a stream is dropped before the pollables made
//! from it, so every pollable is owned by the adapter of its stream and dropped just before the
//! stream; the reactor only holds them weakly. When the main future completes the executor drops
//! it (and the capabilities it held), then its tasks (the RPC system, which owns the
//! connection's streams), then the reactor's registrations; [`run`] exits only after that.
//! So await every call before the main future returns: a message still queued then is not sent.
//! Only `wasi:io` resources are used, so no handle is ever unknown to the host.

#![forbid(unsafe_code)]

pub mod bytestream;
mod connection;
pub mod epoch;
pub mod error;
pub mod executor;
pub mod exit;
pub mod input;
pub mod output;
pub mod process;
pub mod reactor;
pub mod rpc;
pub mod session;
pub mod stdio;
pub mod timer;

pub use epoch::EpochStatus;
pub use error::Error;
pub use executor::{block_on, spawn, ExecutorError};
pub use exit::run;
pub use input::AsyncInput;
pub use output::AsyncOutput;
pub use process::Child;
pub use session::{connect_and_graft, graft, Session};
pub use timer::sleep;

/// The Cap'n Proto runtime the generated code below is written against.
pub use capnp;

/// The generated Cap'n Proto code guests use: `peer_capnp` (Host, Executor, Process,
/// ByteStream), `membrane_capnp`, and `stem_capnp`.
pub mod capnp_types {
    pub use stem::stem_capnp;
    pub use wetware_capnp::{membrane_capnp, peer_capnp, WetwareMembrane};
}
