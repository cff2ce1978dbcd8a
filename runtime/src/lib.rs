//! The Wetware runtime behind `ww`.
//!
//! [`run`] boots an image: the per-file union of layer directories ([`root`]), whose
//! `bin/main.wasm` runs as a WASI 0.2 command in a [`cell`] under wasmtime. Its authority beyond
//! its stdio, arguments and the read-only root comes as Cap'n Proto capabilities ([`rpc`]):
//! the Host it runs on ([`identity`], [`boot`] peers) and an Executor for child processes.
//! The union's nested `svc/<name>/` images run beside pid0 as background [`services`].
//! Failures are [`error::BootError`]s: one line naming the file and the reason, with their own
//! exit status.

// One `unsafe` remains, loading compiled code (`compile_cache`), allowed there alone.
#![deny(unsafe_code)]

pub mod boot;
pub mod cache;
pub mod cell;
pub mod compile_cache;
pub mod engine;
pub mod env;
pub mod error;
pub mod follow;
mod host_layer;
pub mod identity;
pub mod layer;
pub mod limits;
pub mod loader;
pub mod logline;
pub mod names;
pub mod oci;
pub mod progress;
pub mod root;
pub mod rpc;
pub mod run;
pub mod services;
pub mod signals;
mod text_file;
pub mod units;
