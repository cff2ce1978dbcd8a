//! wwpack: the reproducible, content-addressed image toolchain of Wetware.
//!
//! The data flows one way, a module per step:
//! [`config`] (`wwpack.toml`) → [`guests`] (cargo, `wasm32-wasip2`) → [`image`] (layer trees,
//! their [`union`], the pid0 check) → files on disk, written [`atomic`]ally.
//! [`build`] ties the steps together for `wwpack build`. The runtime `ww` uses [`tree`],
//! [`union`] and [`wasm`] so that an image built and an image booted are the same tree.

#![forbid(unsafe_code)]

pub mod build;
pub mod config;
pub mod error;
pub mod guests;
pub mod image;

pub use error::{Error, Result};
pub mod content;
pub mod diff;
pub mod fingerprint;
pub mod output;
pub mod plan;
pub mod statcache;
