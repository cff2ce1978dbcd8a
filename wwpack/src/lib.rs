//! wwpack: the reproducible, content-addressed image toolchain of Wetware.
//!
//! The data flows one way, a module per step: [`config`] (`wwpack.toml`) → [`guests`] (the
//! guests' cargo graph, [`guests::graph`], and the cargo invocation for `wasm32-wasip2`,
//! [`guests::cargo`]) → [`plan`] (the graph cut into waves) → [`build`] (orchestrates: the plan
//! built wave by wave, each image's layers assembled, validated and hashed, [`build::assemble`];
//! the no-op stamp, [`build::stamp`]; the stat cache, [`build::statcache`]) → the image crate
//! ([`ww_image`]: the FHS rules, the union, the manifest and `wwpack.lock` with its one differ)
//! → the content crate ([`ww_content`]: UnixFS blocks and CIDs, the embedded store, CAR, the
//! IPFS node). [`diff`] reads two versions of images (locks, `--git`, directories, CIDs, the
//! working tree) and compares and renders them; `build --locked` prints its mismatch with it.
//!
//! The command line is cargo-shaped: `main.rs` parses arguments and calls the verb's function
//! in [`ops`] (one module per verb or family: build, content, diff, push, pull), which uses the
//! plumbing of [`cli`] (global flags, the store, the node and the project they find, logging,
//! stdout and progress). Nothing below [`ops`] prints to stdout.

#![forbid(unsafe_code)]

pub mod build;
pub mod cli;
pub mod config;
pub mod diff;
pub mod error;
pub mod guests;
pub mod ops;
pub mod plan;

pub use error::{Error, Result};
