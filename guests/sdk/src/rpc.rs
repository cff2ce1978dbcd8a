//! The process's RPC connection to its host: `wetware:rpc/connection.open`, Cap'n Proto
//! two-party framing over the two streams, and the RPC system run as a task of the executor.

use capnp::message::ReaderOptions;
use capnp_rpc::rpc_twoparty_capnp::Side;
use capnp_rpc::{twoparty, RpcSystem};
use futures::io::{BufReader, BufWriter};
use wetware_capnp::WetwareMembrane;

use crate::connection;
use crate::executor::{self, ExecutorError};
use crate::input::AsyncInput;
use crate::output::AsyncOutput;

/// How the connection's streams are named in errors.
const CONNECTION: &str = "the RPC connection";

/// Opens a connection to the host and returns its bootstrap capability, the process's
/// membrane. The RPC system runs as a task of the running executor (call this inside
/// [`crate::block_on`]) until the main future completes; it owns the connection's streams.
///
/// Each call opens an independent connection.
pub fn connect() -> Result<WetwareMembrane, ExecutorError> {
    let (input, output) = connection::open();
    let reader = BufReader::new(AsyncInput::new(input, CONNECTION));
    let writer = BufWriter::new(AsyncOutput::new(output, CONNECTION));
    let network = twoparty::VatNetwork::new(reader, writer, Side::Client, ReaderOptions::new());
    let mut system = RpcSystem::new(Box::new(network), None);
    let membrane: WetwareMembrane = system.bootstrap(Side::Server);
    executor::spawn(async move {
        // A host that closes the connection ends the system with Ok; anything else is worth a
        // line on stderr, since every call on the connection fails from now on.
        if let Err(e) = system.await {
            eprintln!("wetware-guest: {CONNECTION} failed: {e}");
        }
    })?;
    Ok(membrane)
}
