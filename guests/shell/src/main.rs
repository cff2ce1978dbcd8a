//! `shell`: an interactive Wetware shell, one command per line on stdin (see [`command::HELP`]).
//!
//! `echo TEXT` prints TEXT as returned by the host's `Executor.echo`; `run PATH [ARGS...]` reads
//! the component at PATH from the image (pid0 has the image root preopened read-only at `/`),
//! runs it with `Executor.runBytes` (its stdin closed, its stdout and stderr relayed), and
//! prints `PATH exited with status N`; `epoch` prints `epoch N (current)`, or
//! `epoch N (ended: <message>)` once the host has advanced the epoch (on an upgrade, `ww run
//! --follow`) and the session's capabilities fail with `staleEpoch`; `help` lists the
//! commands; `exit [N]` leaves with status N. End of input leaves with status 0. A line the
//! shell cannot parse or run prints `shell: <message>` on stderr and the shell reads the next
//! line.
//!
//! The prompt `ww> ` is printed on stdout only when stdin is a terminal
//! (`wasi:cli/terminal-stdin`), so piped input gives exactly the commands' output. Input is read
//! asynchronously: the RPC connection keeps being served while the shell waits for a line.

#![forbid(unsafe_code)]

mod command;
mod execute;

use std::process::ExitCode;

use futures::io::{AsyncBufReadExt, AsyncWriteExt};
use wetware_guest::{connect_and_graft, stdio, Error};

use crate::execute::{Next, Shell};

const PROMPT: &[u8] = b"ww> ";

fn main() -> ExitCode {
    wetware_guest::run("shell", shell())
}

async fn shell() -> Result<u8, Error> {
    let interactive = stdio::stdin_is_terminal();
    let mut shell = Shell {
        session: connect_and_graft().await?,
        out: stdio::stdout(),
        err: stdio::stderr(),
    };
    let mut input = stdio::stdin_lines();
    let mut line = Vec::new();
    loop {
        if interactive {
            shell.out.write_all(PROMPT).await?;
            shell.out.flush().await?;
        }
        line.clear();
        if input.read_until(b'\n', &mut line).await? == 0 {
            if interactive {
                shell.out.write_line("").await?;
            }
            return Ok(0);
        }
        let text = String::from_utf8_lossy(&line);
        match command::parse(&text) {
            Ok(None) => {}
            Ok(Some(command)) => {
                if let Next::Exit(status) = shell.execute(command).await? {
                    return Ok(status);
                }
            }
            Err(message) => shell.error(&message).await?,
        }
    }
}
