//! The Wetware runtime behind `ww`.
//!
//! [`run`] boots an image: the per-file union of layer directories ([`root`]), whose
//! `bin/main.wasm` runs as a WASI 0.2 command in a [`cell`] under wasmtime. Failures are
//! [`error::BootError`]s: one line naming the file and the reason, with their own exit status.

pub mod cache;
pub mod cell;
pub mod error;
pub mod loader;
pub mod root;
pub mod run;
