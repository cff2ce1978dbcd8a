//! [`AsyncInput`]: a `wasi:io` input stream as a futures [`AsyncRead`].

use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures::io::AsyncRead;
use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, StreamError};

use crate::reactor;

/// Reads a `wasi:io` input stream without blocking the guest: when no bytes are available the
/// read registers the stream's pollable with the reactor and yields, so other futures (the RPC
/// system above all) keep running. A closed stream reads as end of file.
///
/// The pollable is created once, on the first read that has to wait, and dropped just before
/// the stream, as `wasi:io` requires of a child resource.
pub struct AsyncInput {
    /// Declared before `stream` and taken first in `Drop`: a child of `stream`.
    pollable: Option<Rc<Pollable>>,
    stream: InputStream,
    name: &'static str,
    eof: bool,
}

impl AsyncInput {
    /// Wraps `stream`; `name` (e.g. `"stdin"`) names it in errors.
    pub fn new(stream: InputStream, name: &'static str) -> AsyncInput {
        AsyncInput {
            pollable: None,
            stream,
            name,
            eof: false,
        }
    }

    /// The name errors give this stream.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn wait(&mut self, cx: &mut Context<'_>) {
        let pollable = self
            .pollable
            .get_or_insert_with(|| Rc::new(self.stream.subscribe()));
        reactor::register(pollable, cx.waker());
    }
}

impl AsyncRead for AsyncInput {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.eof || buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        match this.stream.read(buf.len() as u64) {
            Ok(bytes) if bytes.is_empty() => {
                this.wait(cx);
                Poll::Pending
            }
            Ok(bytes) => {
                // `read` never returns more than asked; `min` keeps a faulty host from panicking us.
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                Poll::Ready(Ok(n))
            }
            Err(StreamError::Closed) => {
                this.eof = true;
                Poll::Ready(Ok(0))
            }
            Err(StreamError::LastOperationFailed(e)) => Poll::Ready(Err(io::Error::other(
                format!("reading {}: {}", this.name, e.to_debug_string()),
            ))),
        }
    }
}

impl Drop for AsyncInput {
    fn drop(&mut self) {
        // The pollable goes before the stream it belongs to.
        self.pollable.take();
    }
}
