//! The import of `wetware:rpc/connection@0.1.0` (`wit/connection.wit`): the process's Cap'n Proto
//! connection to its host, as a pair of standard `wasi:io` streams.
//!
//! The bindings reuse the `wasip2` crate's `wasi:io` types, so the streams `open` returns are the
//! same resources every other WASI call of the guest uses, and the same `wasi:io/poll` loop
//! drives them (see [`crate::executor`]).

wit_bindgen::generate!({
    path: "../../wit",
    world: "wetware:rpc/guest",
    with: {
        "wasi:io/streams@0.2.12": wasip2::io::streams,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:io/error@0.2.12": wasip2::io::error,
    },
});

use wasip2::io::streams::{InputStream, OutputStream};

/// Opens a new connection to the host: read the host's messages from the input stream, write
/// ours to the output stream. Each call opens an independent connection; dropping both streams
/// closes it.
pub fn open() -> (InputStream, OutputStream) {
    wetware::rpc::connection::open()
}
