//! [`AsyncOutput`]: a `wasi:io` output stream as a futures [`AsyncWrite`].

use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures::io::{AsyncWrite, AsyncWriteExt};
use wasip2::io::poll::Pollable;
use wasip2::io::streams::{OutputStream, StreamError};

use crate::reactor;

/// Writes a `wasi:io` output stream without blocking the guest, within the stream's rules:
///
/// - a write never passes more bytes than `check-write` permits (the host traps otherwise);
///   when it permits none, the write registers the stream's pollable and yields;
/// - a flush requests `flush` once, then waits until `check-write` permits bytes again, which
///   `wasi:io` defines as the flush having completed;
/// - a closed stream is an error ([`io::ErrorKind::BrokenPipe`]) naming the stream.
///
/// The pollable is created once, on the first write that has to wait, and dropped just before
/// the stream, as `wasi:io` requires of a child resource. Flush before dropping: a stream
/// dropped with a write in progress may lose it.
pub struct AsyncOutput {
    /// Declared before `stream` and taken first in `Drop`: a child of `stream`.
    pollable: Option<Rc<Pollable>>,
    stream: OutputStream,
    name: &'static str,
    /// A flush was requested and has not been seen to complete.
    flushing: bool,
}

impl AsyncOutput {
    /// Wraps `stream`; `name` (e.g. `"stdout"`) names it in errors.
    pub fn new(stream: OutputStream, name: &'static str) -> AsyncOutput {
        AsyncOutput {
            pollable: None,
            stream,
            name,
            flushing: false,
        }
    }

    /// The name errors give this stream.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Writes `text` and a newline, then flushes: one line of a guest's output.
    pub async fn write_line(&mut self, text: &str) -> io::Result<()> {
        let mut line = Vec::with_capacity(text.len() + 1);
        line.extend_from_slice(text.as_bytes());
        line.push(b'\n');
        self.write_all(&line).await?;
        self.flush().await
    }

    fn wait(&mut self, cx: &mut Context<'_>) {
        let pollable = self
            .pollable
            .get_or_insert_with(|| Rc::new(self.stream.subscribe()));
        reactor::register(pollable, cx.waker());
    }

    fn error(&self, doing: &str, err: StreamError) -> io::Error {
        match err {
            StreamError::Closed => io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("{doing} {}: the stream is closed", self.name),
            ),
            StreamError::LastOperationFailed(e) => {
                io::Error::other(format!("{doing} {}: {}", self.name, e.to_debug_string()))
            }
        }
    }
}

impl AsyncWrite for AsyncOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        match this.stream.check_write() {
            Ok(0) => {
                this.wait(cx);
                Poll::Pending
            }
            Ok(permitted) => {
                let n = usize::try_from(permitted)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                match this.stream.write(&buf[..n]) {
                    Ok(()) => {
                        // These bytes are not covered by any earlier flush.
                        this.flushing = false;
                        Poll::Ready(Ok(n))
                    }
                    Err(e) => Poll::Ready(Err(this.error("writing", e))),
                }
            }
            Err(e) => Poll::Ready(Err(this.error("writing", e))),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.flushing {
            if let Err(e) = this.stream.flush() {
                return Poll::Ready(Err(this.error("flushing", e)));
            }
            this.flushing = true;
        }
        match this.stream.check_write() {
            Ok(0) => {
                this.wait(cx);
                Poll::Pending
            }
            Ok(_) => {
                this.flushing = false;
                Poll::Ready(Ok(()))
            }
            Err(e) => {
                this.flushing = false;
                Poll::Ready(Err(this.error("flushing", e)))
            }
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Dropping the stream closes it; closing here means having nothing left in flight.
        self.poll_flush(cx)
    }
}

impl Drop for AsyncOutput {
    fn drop(&mut self) {
        // The pollable goes before the stream it belongs to.
        self.pollable.take();
    }
}
