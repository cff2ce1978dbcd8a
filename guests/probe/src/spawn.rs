//! `spawn N [MIB]`: many children at once, to test ww's limits on processes and on the memory
//! they share. The children are the probe itself (its own wasm, read from the path in
//! `argv[0]`), each running `hold MIB`: it allocates, says `holding`, and stays alive until its
//! stdin ends, so every child started is alive at the same time.
//!
//! Children are started one at a time, each waited for until it says `holding` (or ends), and
//! every refusal is counted; then the probe prints
//!
//! ```text
//! started S of N
//! refused R
//! first refusal: <runBytes error>          (when R > 0)
//! failed F
//! first failure: <Process.wait error>      (when F > 0: a child that ended before holding)
//! ```
//!
//! closes every child's stdin, waits for them all (`ended E`: how many exited 0), and starts
//! one more child (`exit 0`) to show that the session lives on: `again: exited with status 0`.
//! It exits 0 when it could do all that, whatever the counts.

use std::io;

use wetware_guest::{bytestream, connect_and_graft, stdio, Child, Error};

/// The longest first line read from a child.
const MAX_LINE: u32 = 256;

/// How many times something happened, and the first message it came with.
#[derive(Default)]
struct Tally {
    count: u32,
    first: Option<String>,
}

impl Tally {
    fn add(&mut self, message: String) {
        self.count += 1;
        self.first.get_or_insert(message);
    }
}

pub async fn spawn(count: u32, mib: u32) -> Result<u8, Error> {
    let me = std::env::args().next().unwrap_or_default();
    let wasm = std::fs::read(&me).map_err(|e| {
        Error::Io(io::Error::new(
            e.kind(),
            format!("spawn: cannot read my own wasm at `{me}`: {e}"),
        ))
    })?;
    let session = connect_and_graft().await?;
    let mib = mib.to_string();
    let mut held = Vec::new();
    let (mut refused, mut failed) = (Tally::default(), Tally::default());
    for _ in 0..count {
        let child = match Child::spawn(&session.executor, &wasm, &["hold", &mib], &[]).await {
            Ok(child) => child,
            Err(e) => {
                refused.add(e.to_string());
                continue;
            }
        };
        if first_line(&child).await?.starts_with("holding") {
            held.push(child);
        } else {
            failed.add(match child.wait().await {
                Ok(status) => format!("exited with status {status} before holding"),
                Err(e) => e.to_string(),
            });
        }
    }

    let mut out = stdio::stdout();
    out.write_line(&format!("started {} of {count}", held.len()))
        .await?;
    for (verb, what, tally) in [
        ("refused", "refusal", &refused),
        ("failed", "failure", &failed),
    ] {
        out.write_line(&format!("{verb} {}", tally.count)).await?;
        if let Some(first) = &tally.first {
            out.write_line(&format!("first {what}: {first}")).await?;
        }
    }

    for child in &held {
        child.close_stdin().await?;
    }
    let mut ended = 0;
    for child in &held {
        if child.wait().await? == 0 {
            ended += 1;
        }
    }
    out.write_line(&format!("ended {ended}")).await?;

    let again = Child::spawn(&session.executor, &wasm, &["exit", "0"], &[]).await?;
    let status = again.wait().await?;
    out.write_line(&format!("again: exited with status {status}"))
        .await?;
    Ok(0)
}

/// The child's stdout up to its first newline (without it), or all of it if it ends first.
async fn first_line(child: &Child) -> Result<String, Error> {
    let stdout = child.stdout();
    let mut line = Vec::new();
    loop {
        let data = bytestream::read(&stdout, MAX_LINE).await?;
        if data.is_empty() {
            break;
        }
        line.extend_from_slice(&data);
        if let Some(end) = line.iter().position(|b| *b == b'\n') {
            line.truncate(end);
            break;
        }
        if line.len() >= MAX_LINE as usize {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}
