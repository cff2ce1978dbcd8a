//! The behaviour that watches the session's epoch: `epoch [FILE ...]`.

use std::time::Duration;

use wetware_guest::{connect_and_graft, stdio, Error};

/// How often `pollStatus` is asked whether the epoch has ended.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// Prints `FILE: <content>` (without its trailing newline) or `FILE: <error>` for each of
/// `files` read from the probe's root filesystem (so that a test can tell which image root
/// runs), grafts, prints `epoch N`, waits for the host to end that epoch, prints
/// `epoch N ended`, then calls `Host.id` with the old session's host and prints
/// `host: <error>` (a `staleEpoch` refusal) or `host: ok`. Each line is flushed as written.
pub async fn epoch(files: &[String]) -> Result<u8, Error> {
    let mut out = stdio::stdout();
    for file in files {
        let line = match std::fs::read_to_string(file) {
            Ok(content) => format!("{file}: {}", content.trim_end_matches(['\n', '\r'])),
            Err(e) => format!("{file}: {e}"),
        };
        out.write_line(&line).await?;
    }
    let session = connect_and_graft().await?;
    let seq = session.epoch;
    out.write_line(&format!("epoch {seq}")).await?;
    session.wait_epoch_end(POLL_EVERY).await?;
    out.write_line(&format!("epoch {seq} ended")).await?;
    let line = match session.host.id_request().send().promise.await {
        Ok(_) => "host: ok".to_string(),
        Err(e) => format!("host: {}", Error::rpc("Host.id", e)),
    };
    out.write_line(&line).await?;
    Ok(0)
}
