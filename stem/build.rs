//! Compiles `capnp/stem.capnp`, the one schema this crate owns.

fn main() {
    println!("cargo:rerun-if-changed=../capnp/stem.capnp");
    if let Err(e) = capnpc::CompilerCommand::new()
        .src_prefix("../capnp")
        .file("../capnp/stem.capnp")
        .run()
    {
        panic!("cannot compile ../capnp/stem.capnp (is the `capnp` tool installed? scripts/setup installs it): {e}");
    }
}
