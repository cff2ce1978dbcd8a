//! `ByteStream`: one end of a child's stdio pipe, readable (stdout, stderr) or writable (stdin).
//!
//! `read` waits for at least one byte and returns at most [`MAX_READ`]; empty data is the end
//! of the stream. `write` returns once the pipe has taken every byte, so a child that does not
//! read makes its writer wait (backpressure). `close` ends the stream at once, even while a read
//! or write is waiting: the waiting call fails, later calls fail, and the other side sees the
//! end of the stream (stdin) or a closed pipe (stdout, stderr). Reads and writes are served
//! one at a time, in the order they arrive.

use std::future::Future;
use std::rc::Rc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{watch, Mutex};
use wetware_capnp::peer_capnp::byte_stream;

/// The most bytes one `read` returns.
pub const MAX_READ: u32 = 1024 * 1024;

type Reader = Box<dyn AsyncRead + Unpin>;
type Writer = Box<dyn AsyncWrite + Unpin>;

pub(crate) struct ByteStreamServer {
    /// `stdin`, `stdout` or `stderr`, for messages.
    name: &'static str,
    end: End,
    closed: watch::Sender<bool>,
}

enum End {
    Read(Mutex<Option<Reader>>),
    Write(Mutex<Option<Writer>>),
}

impl ByteStreamServer {
    pub(crate) fn reader(
        name: &'static str,
        from: impl AsyncRead + Unpin + 'static,
    ) -> ByteStreamServer {
        ByteStreamServer {
            name,
            end: End::Read(Mutex::new(Some(Box::new(from)))),
            closed: watch::Sender::new(false),
        }
    }

    pub(crate) fn writer(
        name: &'static str,
        to: impl AsyncWrite + Unpin + 'static,
    ) -> ByteStreamServer {
        ByteStreamServer {
            name,
            end: End::Write(Mutex::new(Some(Box::new(to)))),
            closed: watch::Sender::new(false),
        }
    }

    fn closed_error(&self, op: &str) -> capnp::Error {
        capnp::Error::failed(format!("{}: {op}: the stream was closed", self.name))
    }

    /// Runs `op` unless the stream is or gets closed first.
    async fn unless_closed<T>(
        &self,
        op_name: &str,
        op: impl Future<Output = capnp::Result<T>>,
    ) -> capnp::Result<T> {
        let mut closed = self.closed.subscribe();
        if *closed.borrow_and_update() {
            return Err(self.closed_error(op_name));
        }
        tokio::select! {
            result = op => result,
            _ = closed.wait_for(|c| *c) => Err(self.closed_error(op_name)),
        }
    }

    async fn read_some(&self, max_bytes: u32) -> capnp::Result<Vec<u8>> {
        let End::Read(reader) = &self.end else {
            return Err(capnp::Error::failed(format!(
                "{}: read: the stream is write-only (the process reads it)",
                self.name
            )));
        };
        if max_bytes == 0 {
            return Err(capnp::Error::failed(format!(
                "{}: read: maxBytes must be at least 1",
                self.name
            )));
        }
        let len = max_bytes.min(MAX_READ) as usize;
        self.unless_closed("read", async {
            let mut reader = reader.lock().await;
            let Some(reader) = reader.as_mut() else {
                return Err(self.closed_error("read"));
            };
            let mut data = Vec::with_capacity(len);
            reader
                .read_buf(&mut data)
                .await
                .map_err(|e| capnp::Error::failed(format!("{}: read: {e}", self.name)))?;
            Ok(data)
        })
        .await
    }

    async fn write_all(&self, data: &[u8]) -> capnp::Result<()> {
        let End::Write(writer) = &self.end else {
            return Err(capnp::Error::failed(format!(
                "{}: write: the stream is read-only (the process writes it)",
                self.name
            )));
        };
        self.unless_closed("write", async {
            let mut writer = writer.lock().await;
            let Some(writer) = writer.as_mut() else {
                return Err(self.closed_error("write"));
            };
            writer.write_all(data).await.map_err(|e| {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    capnp::Error::failed(format!(
                        "{}: write: the process no longer reads it (it ended)",
                        self.name
                    ))
                } else {
                    capnp::Error::failed(format!("{}: write: {e}", self.name))
                }
            })
        })
        .await
    }

    async fn close_now(&self) {
        // Waiting calls give up their lock at once (see `unless_closed`).
        self.closed.send_replace(true);
        match &self.end {
            End::Read(reader) => drop(reader.lock().await.take()),
            End::Write(writer) => {
                if let Some(mut writer) = writer.lock().await.take() {
                    // The pipe ends for the reader when the writer shuts it down or drops it.
                    let _ = writer.shutdown().await;
                }
            }
        }
    }
}

impl byte_stream::Server for ByteStreamServer {
    async fn read(
        self: Rc<Self>,
        params: byte_stream::ReadParams,
        mut results: byte_stream::ReadResults,
    ) -> capnp::Result<()> {
        let max_bytes = params.get()?.get_max_bytes();
        let data = self.read_some(max_bytes).await?;
        results.get().set_data(&data);
        Ok(())
    }

    async fn write(
        self: Rc<Self>,
        params: byte_stream::WriteParams,
        _: byte_stream::WriteResults,
    ) -> capnp::Result<()> {
        let data = params.get()?.get_data()?;
        self.write_all(data).await
    }

    async fn close(
        self: Rc<Self>,
        _: byte_stream::CloseParams,
        _: byte_stream::CloseResults,
    ) -> capnp::Result<()> {
        self.close_now().await;
        Ok(())
    }
}
