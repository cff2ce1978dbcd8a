//! The generated code of `peer.capnp` (Host, Executor, Process, ByteStream) and
//! `membrane.capnp` (WetwareSession), shared by `ww` and the guest SDK. `stem.capnp`'s types
//! come from the `stem` crate.

#![forbid(unsafe_code)]
#![allow(clippy::all, unused_qualifications)]

pub mod peer_capnp {
    include!(concat!(env!("OUT_DIR"), "/peer_capnp.rs"));
}

pub mod membrane_capnp {
    include!(concat!(env!("OUT_DIR"), "/membrane_capnp.rs"));
}

/// The bootstrap capability of every process's RPC connection.
pub type WetwareMembrane =
    stem::stem_capnp::membrane::Client<membrane_capnp::wetware_session::Owned>;
