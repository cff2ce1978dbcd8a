//! Wetware images in the OCI world.
//!
//! An image of `wwpack.lock` becomes an OCI image: one layer blob per wwpack layer, each a
//! deterministic tar compressed with zstd (or gzip), an image config and a manifest whose
//! annotations carry the image's IPFS root CID, its profile and each layer's CID
//! ([`spec::annotations`]). The same sources give the same bytes, so the same digests, on any
//! machine and from any checkout path.
//!
//! - [`digest`]: `sha256:<hex>` digests, computed while bytes stream, verified on read;
//! - [`spec`]: the OCI JSON documents this crate writes and reads (descriptor, manifest, index,
//!   config), byte for byte under our control, since their digests name them;
//! - `layer`: packing a layer's tree into a tar blob, and unpacking blobs into a per-file union
//!   with the hardening rules (no absolute paths, no `..`, no links out, no devices);
//! - `layout`: the OCI image layout directory (`oci-layout`, `index.json`, `blobs/`), or a tar
//!   of it;
//! - `registry`: a client of the OCI distribution API that moves a layout to and from a
//!   registry (blobs the registry has are not sent again), every digest verified.
//!
//! Registries and the blobs they serve are untrusted: every size is bounded and every blob is
//! verified against its digest before use.

pub mod digest;
pub mod export;
pub mod layout;
pub mod pack;
pub mod spec;
