//! The behaviours on the probe's own stdio: `stdout N`, `stderr N`, `cat`.

use futures::io::{copy, AsyncWriteExt};
use wetware_guest::{stdio, AsyncOutput, Error};

/// Writes `count` bytes `x` to `out`, in chunks, then flushes.
pub async fn flood(mut out: AsyncOutput, count: u64) -> Result<u8, Error> {
    static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];
    let mut left = count;
    while left > 0 {
        let n = usize::try_from(left).map_or(CHUNK.len(), |left| left.min(CHUNK.len()));
        out.write_all(&CHUNK[..n]).await?;
        left -= n as u64;
    }
    out.flush().await?;
    Ok(0)
}

/// Copies stdin to stdout until end of stream.
pub async fn cat() -> Result<u8, Error> {
    let mut out = stdio::stdout();
    copy(stdio::stdin(), &mut out).await?;
    out.flush().await?;
    Ok(0)
}
