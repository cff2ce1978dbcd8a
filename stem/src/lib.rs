//! stem: the membrane primitives of Wetware.
//!
//! A process gets its authority by grafting onto a [`MembraneServer`]: `graft` issues a
//! `Session` in the current [`Epoch`], and every capability of the session is guarded by an
//! [`EpochGuard`] that fails its calls with a `staleEpoch` error once the epoch has advanced.
//! The membrane is generic in what a session grants (`Membrane(SessionExt)` in `stem.capnp`);
//! [`SessionExtension`] builds that part.
//!
//! The crate owns the code generated from `capnp/stem.capnp` ([`stem_capnp`]); other crates
//! refer to it (`capnpc`'s `crate_provides`). It builds for the host and for `wasm32-wasip2`.

#![forbid(unsafe_code)]

pub mod epoch;
pub mod membrane;

pub use epoch::{Epoch, EpochGuard, Epochs, STALE_EPOCH};
pub use membrane::{MembraneServer, SessionExtension};

#[allow(clippy::all, unused_qualifications)]
pub mod stem_capnp {
    include!(concat!(env!("OUT_DIR"), "/stem_capnp.rs"));
}
