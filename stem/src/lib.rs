//! stem: the membrane primitives of Wetware.
//!
//! This crate will own the code generated from `capnp/stem.capnp` and provide `Epoch`, an
//! `EpochGuard` that fails calls once the epoch has advanced, and a generic `MembraneServer`
//! (issue 6). It is empty until then; it exists so the workspace has its final shape.
