//! Compiles `peer.capnp` and `membrane.capnp`. `stem.capnp`, which membrane.capnp imports, is
//! compiled by the `stem` crate: its generated types are referred to there (`crate_provides`),
//! never generated a second time.

/// The file ID at the top of `stem.capnp`.
const STEM_CAPNP: u64 = 0xf70d_458a_c3e7_f0a1;

fn main() {
    for file in ["peer.capnp", "membrane.capnp", "stem.capnp"] {
        println!("cargo:rerun-if-changed={file}");
    }
    if let Err(e) = capnpc::CompilerCommand::new()
        .file("peer.capnp")
        .file("membrane.capnp")
        .crate_provides("stem", [STEM_CAPNP])
        .run()
    {
        panic!("cannot compile peer.capnp and membrane.capnp (is the `capnp` tool installed? scripts/setup installs it): {e}");
    }
}
