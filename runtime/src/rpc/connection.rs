//! The transport of a process's RPC connections: `wetware:rpc/connection@0.1.0`'s `open`
//! (wit/connection.wit), defined on the component linker directly.
//!
//! Each call creates an independent in-memory duplex pipe of [`BUFFER`] bytes each way. The
//! guest gets its end as a standard `wasi:io/streams` input-stream and output-stream (the very
//! resource types wasmtime-wasi's own linker uses, so no WIT bindings are generated here); they
//! honour `check-write` backpressure. The host end goes to the process's [`ConnectionSink`],
//! whose receiver serves the process's membrane on it (`Kernel::serve`).
//!
//! The linker's store state is reached through [`ConnectionView`], as wasmtime-wasi reaches it
//! through `WasiView`: this module does not know the cell whose state implements it.

use tokio::io::DuplexStream;
use tokio::sync::mpsc;
use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime::StoreContextMut;
use wasmtime_wasi::p2::pipe::{AsyncReadStream, AsyncWriteStream};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream};

/// The WIT interface this module provides.
pub const INTERFACE: &str = "wetware:rpc/connection@0.1.0";

/// The bytes an RPC connection buffers in each direction; a writer that gets this far ahead of
/// its reader waits.
pub const BUFFER: usize = 64 * 1024;

/// Where the host ends of a process's connections go, one per `open` call.
#[derive(Clone, Debug)]
pub struct ConnectionSink(mpsc::UnboundedSender<DuplexStream>);

/// The host ends of a process's connections, in the order the process opened them.
#[derive(Debug)]
pub struct Incoming(mpsc::UnboundedReceiver<DuplexStream>);

impl Incoming {
    /// The next connection; `None` once the process has ended.
    pub async fn next(&mut self) -> Option<DuplexStream> {
        self.0.recv().await
    }
}

/// A sink for one process's connections and the receiver its server reads them from.
pub fn channel() -> (ConnectionSink, Incoming) {
    let (tx, rx) = mpsc::unbounded_channel();
    (ConnectionSink(tx), Incoming(rx))
}

/// What `open` needs of a store's state: where the host ends go, and the resource table the
/// guest's stream ends are pushed to (the one WASI's streams live in).
pub trait ConnectionView {
    /// The sink of this process's connections.
    fn connections(&self) -> &ConnectionSink;
    /// The store's resource table.
    fn table(&mut self) -> &mut ResourceTable;
}

/// Defines `open` on `linker`.
pub fn add_to_linker<T: ConnectionView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker
        .instance(INTERFACE)?
        .func_wrap("open", |mut store: StoreContextMut<'_, T>, (): ()| {
            open(store.data_mut()).map(|pair| (pair,))
        })
}

type StreamPair = (Resource<DynInputStream>, Resource<DynOutputStream>);

fn open(state: &mut impl ConnectionView) -> wasmtime::Result<StreamPair> {
    let (host, guest) = tokio::io::duplex(BUFFER);
    state.connections().0.send(host).map_err(|_| {
        wasmtime::format_err!("{INTERFACE}: open: the host no longer serves this process")
    })?;
    let (from_host, to_host) = tokio::io::split(guest);
    let input: DynInputStream = Box::new(AsyncReadStream::new(from_host));
    let output: DynOutputStream = Box::new(AsyncWriteStream::new(BUFFER, to_host));
    // Both are top-level resources (no parent), so the guest may drop them in any order.
    let table = state.table();
    let input = table.push(input)?;
    match table.push(output) {
        Ok(output) => Ok((input, output)),
        Err(e) => {
            let _ = table.delete(input);
            Err(e.into())
        }
    }
}
