//! Wetware images in the OCI world.
//!
//! An image of `wwpack.lock` becomes an OCI image: one layer blob per wwpack layer, each a
//! deterministic tar compressed with zstd (or gzip), an image config and a manifest whose
//! annotations carry the image's IPFS root CID, its profile and each layer's CID
//! ([`spec::ANNOTATION_ROOT`] and its siblings). The same sources give the same bytes, so the
//! same digests, on any machine and from any checkout path.
//!
//! - [`digest`]: `sha256:<hex>` digests, computed while bytes stream, verified on read;
//! - [`spec`]: the OCI JSON documents this crate writes and reads (descriptor, manifest, index,
//!   config), byte for byte under our control, since their digests name them;
//! - [`pack`]: a layer's tree, read from the block store, as a deterministic ustar tar
//!   ([`pack::ustar`]) compressed with zstd or gzip;
//! - [`layout`]: the OCI image layout directory (`oci-layout`, `index.json`, `blobs/`);
//! - [`export`]: an image of the lock as a layout (a directory or a `.tar` of one);
//! - [`registry`]: a client of the OCI distribution API that moves a layout to and from a
//!   registry (blobs the registry has are not sent again), every digest verified;
//! - [`unpack`]: the layers of a layout, in order, into their per-file union, with the hardening
//!   rules (no absolute paths, no `..`, no links out, no devices), bounded;
//! - [`import`]: that union into the block store, pinned only when its root is the CID the
//!   manifest promises; [`fetch`]: a registry's image into the store (pull, unpack, import).
//!
//! Registries and the blobs they serve are untrusted: every size is bounded and every blob is
//! verified against its digest before use.

pub mod digest;
pub mod export;
pub mod fetch;
pub mod import;
pub mod layout;
pub mod pack;
pub mod registry;
pub mod spec;
pub mod unpack;
mod work;
