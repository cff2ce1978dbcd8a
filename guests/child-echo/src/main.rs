//! `child-echo`: the child process of the example. It opens its own RPC connection, grafts onto
//! the membrane, makes two `echo` calls at once (both sent before either reply is awaited), and
//! prints:
//!
//! ```text
//! CHILD_OK
//! ping 1
//! ping 2
//! ```
//!
//! (the two replies in the order the calls were made), then exits 0.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use futures::future::try_join;
use wetware_guest::{connect_and_graft, stdio, Error};

const MESSAGES: [&str; 2] = ["ping 1", "ping 2"];

fn main() -> ExitCode {
    wetware_guest::run("child-echo", child_echo())
}

async fn child_echo() -> Result<u8, Error> {
    let session = connect_and_graft().await?;
    let (first, second) = try_join(session.echo(MESSAGES[0]), session.echo(MESSAGES[1])).await?;
    let mut out = stdio::stdout();
    out.write_line("CHILD_OK").await?;
    out.write_line(&first).await?;
    out.write_line(&second).await?;
    Ok(0)
}
