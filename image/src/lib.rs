//! ww-image: Wetware images, as trees of files, built on [`ww_content`].
//!
//! An image is a list of layers, each a [`ww_content::tree::Tree`] of files; what boots is their
//! per-file [`union`] (a later layer's file shadows an earlier one's; a directory merges).
//! The [`fhs`] rules say what a layer and an image may hold (`bin/`, `boot/`, `etc/`, `svc/`;
//! `bin/main.wasm` is pid0, a WASI command component, checked by [`wasm`]); `wwpack build` and
//! `ww run` apply the same rules, so an image built and an image booted are the same tree.
//! A layer named by a CID is read as a tree of entries by [`layer`], within the bounds of the
//! UnixFS reader, by `ww run` and `wwpack diff` alike. A built image is recorded in a
//! [`manifest`]: the per-file union with each file's CID and layer, written to `wwpack.lock`,
//! whose one differ is [`manifest::compare`] (`wwpack diff` and `build --locked` both use it).

#![forbid(unsafe_code)]

pub mod error;
pub mod fhs;
pub mod layer;
pub mod manifest;
pub mod union;
pub mod wasm;

pub use error::{Error, Result};

/// Where pid0 lives in every image.
pub const PID0: &str = "bin/main.wasm";
