//! pid0's stdin under `ww run --follow`: ww's own stdin, read by one thread for the whole run,
//! handed to each generation's pid0 through a pipe of its own, so that ww can close it (the
//! polite way to ask an old pid0 to end) without closing its own stdin for the next one.

use std::io::Read;

use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;

/// How many chunks of stdin wait for pid0 before the reading thread waits.
const QUEUE: usize = 16;

/// ww's stdin, as chunks read by a thread of its own.
pub struct StdinHub {
    chunks: mpsc::Receiver<Vec<u8>>,
    ended: bool,
}

impl StdinHub {
    /// Starts reading ww's stdin. The thread is not joined: it may wait in `read` until ww exits.
    pub fn start() -> StdinHub {
        let (send, chunks) = mpsc::channel(QUEUE);
        let started = std::thread::Builder::new()
            .name("ww-stdin".into())
            .spawn(move || {
                let mut stdin = std::io::stdin();
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    match stdin.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if send.blocking_send(buf[..n].to_vec()).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        if let Err(e) = started {
            tracing::warn!("cannot read stdin for pid0 (it sees an empty stdin): {e}");
        }
        StdinHub {
            chunks,
            ended: false,
        }
    }

    /// A pipe for one pid0: its end, and the writing end to give [`StdinHub::forward`].
    pub fn pipe() -> (DuplexStream, DuplexStream) {
        tokio::io::duplex(crate::cell::PIPE_CAPACITY)
    }

    /// Copies stdin into `to` until ww's stdin ends or pid0 stops reading; then `to` is
    /// dropped, which pid0 sees as the end of its stdin. Dropping the future closes it too.
    pub async fn forward(&mut self, mut to: DuplexStream) {
        while !self.ended {
            match self.chunks.recv().await {
                Some(chunk) => {
                    if to.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
                None => self.ended = true,
            }
        }
    }
}
