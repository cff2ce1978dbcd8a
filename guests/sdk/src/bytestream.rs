//! Moving bytes through a remote `ByteStream` (peer.capnp): a child process's stdio.

use futures::io::{AsyncWrite, AsyncWriteExt};
use wetware_capnp::peer_capnp::byte_stream;

use crate::error::Error;

/// How many bytes one `read` call asks for.
pub const READ_CHUNK: u32 = 64 * 1024;

/// Reads up to `max` bytes from `stream`, waiting for at least one; empty means end of stream.
pub async fn read(stream: &byte_stream::Client, max: u32) -> Result<Vec<u8>, Error> {
    let mut request = stream.read_request();
    request.get().set_max_bytes(max);
    let response = request
        .send()
        .promise
        .await
        .map_err(|e| Error::rpc("ByteStream.read", e))?;
    let data = response
        .get()
        .and_then(|r| r.get_data())
        .map_err(|e| Error::rpc("ByteStream.read: reading the data", e))?;
    Ok(data.to_vec())
}

/// Writes all of `data` to `stream` (returns once the host accepted it).
pub async fn write(stream: &byte_stream::Client, data: &[u8]) -> Result<(), Error> {
    let mut request = stream.write_request();
    request.get().set_data(data);
    request
        .send()
        .promise
        .await
        .map_err(|e| Error::rpc("ByteStream.write", e))?;
    Ok(())
}

/// Closes `stream`: for a process's stdin, the process reads end of stream.
pub async fn close(stream: &byte_stream::Client) -> Result<(), Error> {
    stream
        .close_request()
        .send()
        .promise
        .await
        .map_err(|e| Error::rpc("ByteStream.close", e))?;
    Ok(())
}

/// Copies `stream` to `out` until end of stream, flushing after every chunk so that output
/// appears as the remote side produces it. Returns the number of bytes copied.
pub async fn copy_to<W: AsyncWrite + Unpin>(
    stream: &byte_stream::Client,
    out: &mut W,
) -> Result<u64, Error> {
    let mut copied = 0u64;
    loop {
        let chunk = read(stream, READ_CHUNK).await?;
        if chunk.is_empty() {
            return Ok(copied);
        }
        out.write_all(&chunk).await?;
        out.flush().await?;
        copied += chunk.len() as u64;
    }
}
