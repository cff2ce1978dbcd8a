//! A fake IPFS node on 127.0.0.1 that answers `version` and then misbehaves (an endless block,
//! an endless or over-long `refs/local`, a huge `version`), and what a command run against it
//! must do: fail with a message naming the CID, the URL and the limit, within a bounded time
//! and in bounded memory ([`run`] measures the child's peak RSS with `wait4`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{run_measured, Outcome};
use crate::{output, write_tree};

/// The most memory a command may use against a hostile node (the attack grew it past 2 GB).
pub const MAX_RSS: u64 = 200 << 20;

/// A hang is caught after this long (a generous bound, not a performance claim).
pub const HANG: Duration = Duration::from_secs(90);

/// The largest valid block, as the client must say it.
pub const BLOCK_LIMIT: &str = "2097152";

/// A CID no store or node here holds.
pub const CID: &str = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";

/// How a [`HostileNode`] misbehaves after a normal answer to `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostility {
    /// `block/get` answers 2 GiB (chunked), far past the largest block.
    EndlessBlock,
    /// `refs/local` answers valid lines without end.
    EndlessRefs,
    /// `refs/local` answers one line without end.
    LongRefsLine,
    /// `version` itself answers without end.
    HugeVersion,
}

/// A fake node on 127.0.0.1, one thread per connection, `Connection: close` on every answer.
pub struct HostileNode {
    pub url: String,
}

impl HostileNode {
    pub fn start(how: Hostility) -> HostileNode {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    // The client hanging up ends the answer: that is the point.
                    let _ = answer(stream, how);
                });
            }
        });
        HostileNode { url }
    }
}

/// Reads one request (head, and a Content-Length body if any) and answers it.
fn answer(mut stream: TcpStream, how: Hostility) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_string();
    let mut length = 0u64;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    std::io::copy(&mut reader.by_ref().take(length), &mut std::io::sink())?;
    let command = path
        .strip_prefix("/api/v0/")
        .and_then(|p| p.split('?').next())
        .unwrap_or("");
    match (command, how) {
        ("version", Hostility::HugeVersion) => endless(
            &mut stream,
            b"{\"Version\":\"",
            b"0.0.0.0.0.0.0.0.",
            u64::MAX,
        ),
        ("version", _) => {
            let body = br#"{"Version":"0.0.0-hostile","Commit":"","Repo":"0"}"#;
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(body)
        }
        ("block/get", Hostility::EndlessBlock) => {
            endless(&mut stream, b"", &[0u8; 1 << 16], 2 << 30)
        }
        ("refs/local", Hostility::EndlessRefs) => {
            let line = format!("{{\"Ref\":\"{CID}\",\"Err\":\"\"}}\n").repeat(512);
            endless(&mut stream, b"", line.as_bytes(), u64::MAX)
        }
        ("refs/local", Hostility::LongRefsLine) => {
            endless(&mut stream, b"{\"Ref\":\"", &[b'b'; 1 << 16], u64::MAX)
        }
        _ => {
            let body = br#"{"Message":"not served by the hostile node","Code":0,"Type":"error"}"#;
            write!(
                stream,
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(body)
        }
    }
}

/// A 200 answer, chunked: `first`, then `piece` over and over until `total` bytes have gone
/// (generated as it goes, never held) or the client hangs up.
fn endless(stream: &mut TcpStream, first: &[u8], piece: &[u8], total: u64) -> std::io::Result<()> {
    stream
        .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")?;
    let mut sent = 0u64;
    let chunk = |data: &[u8], stream: &mut TcpStream| -> std::io::Result<()> {
        write!(stream, "{:x}\r\n", data.len())?;
        stream.write_all(data)?;
        stream.write_all(b"\r\n")
    };
    if !first.is_empty() {
        chunk(first, stream)?;
    }
    while sent < total {
        let n = (total - sent).min(piece.len() as u64) as usize;
        chunk(&piece[..n], stream)?;
        sent += n as u64;
    }
    stream.write_all(b"0\r\n\r\n")
}

impl Outcome {
    /// Failed with `code`, without panicking, quickly and in bounded memory ([`MAX_RSS`]).
    pub fn failed_cleanly(&self, code: i32) -> &Self {
        assert_eq!(self.status.code(), Some(code), "{}", self.describe());
        assert!(!self.stderr.contains("panicked"), "{}", self.describe());
        assert!(self.peak_rss < MAX_RSS, "{}", self.describe());
        self
    }

    /// Said every one of `parts` on stderr.
    pub fn says(&self, parts: &[&str]) -> &Self {
        for part in parts {
            assert!(
                self.stderr.contains(part),
                "no `{part}`: {}",
                self.describe()
            );
        }
        self
    }
}

/// Runs `cmd` to its end (killing it past [`HANG`]), measuring its peak RSS with `wait4`.
pub fn run(cmd: &mut Command) -> Outcome {
    run_measured(cmd, HANG)
}

/// A project of static layers only (no guest to compile) in `dir`, built by `wwpack` (a
/// `wwpack` command with its `--store`): its `wwpack.toml` and the image's root CID.
pub fn tiny_project(dir: &Path, wwpack: &mut Command) -> (PathBuf, String) {
    write_tree(
        dir,
        &[
            (
                "wwpack.toml",
                b"[layers.app]\npath = \"layers/app\"\n[images.tiny]\nlayers = [\"app\"]\n",
            ),
            ("layers/app/bin/main.wasm", &crate::exiting_command(0)),
            ("layers/app/etc/motd", b"a tiny image\n"),
        ],
    );
    let built = output(wwpack.current_dir(dir).args(["build", "-q"]));
    assert!(
        built.status.success(),
        "wwpack build: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let lock: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("wwpack.lock")).expect("wwpack.lock"),
    )
    .expect("lock is JSON");
    let root = lock["images"]["tiny"]["root"]
        .as_str()
        .expect("a root")
        .to_string();
    (dir.join("wwpack.toml"), root)
}
