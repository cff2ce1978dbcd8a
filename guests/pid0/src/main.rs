//! `pid0`: the example image's first process. It grafts onto its membrane, starts `child-echo`
//! (embedded at build time by `wwpack build`) with `Executor.runBytes`, relays the child's
//! stdout to its own stdout and stderr to stderr, waits for it, and prints
//!
//! ```text
//! child-echo exited with status 0
//! ```
//!
//! It exits 0 when the child exited 0, and 1 with a message on stderr otherwise (a failed
//! graft or spawn, a trapped child, a child's non-zero status).

#![forbid(unsafe_code)]

use std::process::ExitCode;

use wetware_guest::{connect_and_graft, stdio, Child};

/// The child-echo component, built in an earlier wave by `wwpack build`.
const CHILD_ECHO: &[u8] = include_bytes!(env!("WWPACK_ARTIFACT_CHILD_ECHO"));

fn main() -> ExitCode {
    wetware_guest::run("pid0", pid0())
}

async fn pid0() -> Result<u8, String> {
    let session = connect_and_graft().await.map_err(|e| e.to_string())?;
    let child = Child::spawn(&session.executor, CHILD_ECHO, &[], &[])
        .await
        .map_err(|e| format!("cannot start child-echo: {e}"))?;
    child
        .close_stdin()
        .await
        .map_err(|e| format!("child-echo: {e}"))?;
    let (mut out, mut err) = (stdio::stdout(), stdio::stderr());
    let status = child
        .relay(&mut out, &mut err)
        .await
        .map_err(|e| format!("child-echo: {e}"))?;
    out.write_line(&format!("child-echo exited with status {status}"))
        .await
        .map_err(|e| e.to_string())?;
    if status == 0 {
        Ok(0)
    } else {
        Err(format!("child-echo failed with status {status}"))
    }
}
