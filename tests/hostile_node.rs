//! The real `wwpack` and `ww` against hostile IPFS nodes written here (a tiny HTTP/1.1 server
//! on 127.0.0.1 that answers `version` and then misbehaves: an endless block, an endless or
//! over-long `refs/local`, a huge `version`), and against bad `--api`/`$IPFS_API` values. Each
//! must fail with a message naming the CID, the URL and the limit, within a bounded time and in
//! bounded memory (the child's peak RSS, from `wait4`); no bad address may panic; and the
//! `HOST:PORT` and multiaddr forms must reach a real js-ipfs node.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use e2e::{bin, output, write_tree, IpfsNode};

/// The most memory a command may use against a hostile node (the attack grew it past 2 GB).
const MAX_RSS: u64 = 200 << 20;

/// A hang is caught after this long (a generous bound, not a performance claim).
const HANG: Duration = Duration::from_secs(90);

/// The largest valid block, as the client must say it.
const BLOCK_LIMIT: &str = "2097152";

/// A CID no store or node here holds.
const CID: &str = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";

/// How a [`HostileNode`] misbehaves after a normal answer to `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hostility {
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
struct HostileNode {
    url: String,
}

impl HostileNode {
    fn start(how: Hostility) -> HostileNode {
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

/// What a child did: its status, output, peak resident memory and time taken.
struct Outcome {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    peak_rss: u64,
    took: Duration,
}

impl Outcome {
    fn describe(&self) -> String {
        format!(
            "{:?} after {:?}, peak RSS {} MiB; stderr: {}",
            self.status,
            self.took,
            self.peak_rss >> 20,
            self.stderr
        )
    }

    /// Failed with `code`, without panicking, quickly and in bounded memory.
    fn failed_cleanly(&self, code: i32) -> &Self {
        assert_eq!(self.status.code(), Some(code), "{}", self.describe());
        assert!(!self.stderr.contains("panicked"), "{}", self.describe());
        assert!(self.peak_rss < MAX_RSS, "{}", self.describe());
        self
    }

    fn says(&self, parts: &[&str]) -> &Self {
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
fn run(cmd: &mut Command) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let started = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let pid = child.id() as libc::pid_t;
    // The status and usage are collected here, with wait4, not by `child`.
    std::mem::forget(child);
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet waited for; both pointers are valid.
        let rc = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if rc == pid {
            break;
        }
        assert_eq!(rc, 0, "wait4 failed: {}", std::io::Error::last_os_error());
        if started.elapsed() > HANG {
            // SAFETY: signalling our own child, which has not been waited for.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            // SAFETY: as above.
            unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            panic!("{cmd:?} hung: killed after {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Outcome {
        status: ExitStatus::from_raw(status),
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
        peak_rss: usage.ru_maxrss as u64 * 1024,
        took: started.elapsed(),
    }
}

fn wwpack(store: &Path) -> Command {
    let mut cmd = Command::new(bin("wwpack"));
    cmd.env_remove("IPFS_API").arg("--store").arg(store);
    cmd
}

/// A project of static layers only (no guest to compile), built into `store`: its
/// `wwpack.toml` and the image's root CID.
fn tiny_project(dir: &Path, store: &Path) -> (PathBuf, String) {
    write_tree(
        dir,
        &[
            (
                "wwpack.toml",
                b"[layers.app]\npath = \"layers/app\"\n[images.tiny]\nlayers = [\"app\"]\n",
            ),
            ("layers/app/bin/main.wasm", &e2e::exiting_command(0)),
            ("layers/app/etc/motd", b"a tiny image\n"),
        ],
    );
    let built = output(wwpack(store).current_dir(dir).args(["build", "-q"]));
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

#[test]
fn pull_stops_reading_a_block_at_the_largest_valid_block() {
    let node = HostileNode::start(Hostility::EndlessBlock);
    let work = tempfile::tempdir().unwrap();
    let o = run(wwpack(&work.path().join("store")).args([
        "--api",
        &node.url,
        "--timeout",
        "30",
        "pull",
        CID,
    ]));
    o.failed_cleanly(1).says(&[
        "wwpack: error: ",
        CID,
        &node.url,
        BLOCK_LIMIT,
        "connection dropped",
    ]);
    // Nothing of it was stored.
    let stored = std::fs::read_dir(work.path().join("store/blocks")).map_or(0, |d| d.count());
    assert_eq!(stored, 0);
}

#[test]
fn ww_run_stops_reading_a_block_at_the_largest_valid_block() {
    let node = HostileNode::start(Hostility::EndlessBlock);
    let home = tempfile::tempdir().unwrap();
    let o =
        run(e2e::ww_in(home.path()).args(["run", "--api", &node.url, "--api-timeout", "30", CID]));
    o.failed_cleanly(125).says(&[CID, &node.url, BLOCK_LIMIT]);
}

#[test]
fn push_reads_an_endless_refs_listing_in_bounded_memory_and_time() {
    let node = HostileNode::start(Hostility::EndlessRefs);
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let (manifest, _) = tiny_project(&work.path().join("p"), &store);
    let o = run(wwpack(&store).arg("--manifest-path").arg(&manifest).args([
        "--api",
        &node.url,
        "--timeout",
        "2",
        "push",
    ]));
    // The listing never ends: the deadline (timeout + 2 s) does.
    o.failed_cleanly(1)
        .says(&[&node.url, "refs/local", "no complete answer within 4s"]);
}

#[test]
fn push_refuses_an_over_long_refs_line() {
    let node = HostileNode::start(Hostility::LongRefsLine);
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let (manifest, _) = tiny_project(&work.path().join("p"), &store);
    let o = run(wwpack(&store).arg("--manifest-path").arg(&manifest).args([
        "--api",
        &node.url,
        "--timeout",
        "30",
        "push",
    ]));
    o.failed_cleanly(1)
        .says(&[&node.url, "refs/local", "line longer than 4096 bytes"]);
}

#[test]
fn a_huge_version_answer_is_refused() {
    let node = HostileNode::start(Hostility::HugeVersion);
    let work = tempfile::tempdir().unwrap();
    let o = run(wwpack(&work.path().join("store")).args([
        "--api",
        &node.url,
        "--timeout",
        "30",
        "pull",
        CID,
    ]));
    o.failed_cleanly(1)
        .says(&[&node.url, "version", "larger than 1048576 bytes"]);
    let o =
        run(e2e::ww_in(work.path()).args(["run", "--api", &node.url, "--api-timeout", "30", CID]));
    o.failed_cleanly(125)
        .says(&[CID, &node.url, "larger than 1048576 bytes"]);
}

/// Bad addresses and a word the message must contain for each.
const BAD_ADDRESSES: &[(&str, &str)] = &[
    ("https://127.0.0.1:5001", "only http is supported"),
    ("http://127.0.0.1:5001/api/v0", "no path"),
    ("127.0.0.1", "the port is missing"),
    ("http://127.0.0.1", "the port is missing"),
    ("127.0.0.1:65536", "not in 1..=65535"),
    ("/ip4/127.0.0.1/tcp", "a multiaddr here is"),
    ("/ip4/127.0.0.1/udp/5001", "must be tcp"),
    ("/ip4/999.0.0.1/tcp/5001", "not an IPv4 address"),
    ("not an address", "spaces"),
    ("\u{1b}]0;owned\u{7}:1", "control characters"),
];

/// The value as a message shows it (control characters escaped).
fn shown(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_control() {
                format!("\\x{:02x}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn assert_clear_address_error(o: &Outcome, code: i32, value: &str, why: &str) {
    o.failed_cleanly(code).says(&[
        "invalid IPFS API address",
        &format!("`{}`", shown(value)),
        why,
        "accepted: http://HOST:PORT, HOST:PORT, /ip4/A.B.C.D/tcp/PORT",
    ]);
    assert!(!o.stderr.contains('\u{1b}'), "{}", o.describe());
    assert_eq!(o.stderr.trim_end().lines().count(), 1, "{}", o.describe());
}

#[test]
fn a_bad_api_address_is_a_clear_error_in_pull_diff_and_ww_run() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let other = "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq";
    for &(value, why) in BAD_ADDRESSES {
        for from_env in [false, true] {
            let api = |cmd: &mut Command| {
                if from_env {
                    cmd.env("IPFS_API", value);
                } else {
                    cmd.args(["--api", value]);
                }
            };
            let origin = if from_env {
                "(from $IPFS_API)"
            } else {
                "(from --api)"
            };

            // The subcommand first: `--api` is an option of `ww run`, global in wwpack.
            let mut pull = wwpack(&store);
            pull.arg("pull");
            api(&mut pull);
            let o = run(pull.arg(CID));
            assert_clear_address_error(&o, 1, value, why);
            o.says(&["wwpack: error: ", origin]);

            // diff(1)'s convention: 2 is trouble.
            let mut diff = wwpack(&store);
            diff.current_dir(work.path()).arg("diff");
            api(&mut diff);
            let o = run(diff.args([CID, other]));
            assert_clear_address_error(&o, 2, value, why);
            o.says(&["wwpack: error: ", origin]);

            let mut ww = e2e::ww_in(work.path());
            ww.arg("run");
            api(&mut ww);
            let o = run(ww.arg(CID));
            assert_clear_address_error(&o, 125, value, why);
            o.says(&[origin]);
        }
    }
    // An empty --api is no address either.
    let o = run(wwpack(&store).args(["--api", "", "pull", CID]));
    assert_clear_address_error(&o, 1, "", "it is empty");
}

#[test]
fn host_port_and_multiaddr_forms_reach_a_real_node() {
    let node = IpfsNode::start();
    let port = node
        .url
        .rsplit(':')
        .next()
        .expect("the node's URL has a port")
        .to_string();
    let host_port = format!("127.0.0.1:{port}");
    let multiaddr = format!("/ip4/127.0.0.1/tcp/{port}");
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let (manifest, root) = tiny_project(&work.path().join("p"), &store);

    // push with HOST:PORT: the node reports the normalized URL.
    let o = run(wwpack(&store)
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--api", &host_port, "push", "--json"]));
    assert!(o.status.success(), "{}", o.describe());
    let json: serde_json::Value = serde_json::from_str(&o.stdout).expect("push --json");
    assert_eq!(json["api"], node.url.as_str(), "{json}");
    assert!(json["counts"]["blocks_sent"].as_u64() > Some(0), "{json}");
    // Again, from $IPFS_API: everything is there already.
    let o = run(wwpack(&store)
        .env("IPFS_API", &host_port)
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["push", "--json"]));
    assert!(o.status.success(), "{}", o.describe());
    let json: serde_json::Value = serde_json::from_str(&o.stdout).expect("push --json");
    assert_eq!(json["counts"]["blocks_sent"], 0, "{json}");

    // pull with the multiaddr into an empty store: the same file comes back.
    let other = work.path().join("other");
    let o = run(wwpack(&other).args(["--api", &multiaddr, "pull", &root]));
    assert!(o.status.success(), "{}", o.describe());
    let cat = output(wwpack(&other).args(["cat", &format!("{root}/etc/motd")]));
    assert_eq!(cat.stdout, b"a tiny image\n");

    // diff with HOST:PORT, from an empty store: both sides come from the node.
    let o = run(wwpack(&work.path().join("empty"))
        .current_dir(work.path())
        .args(["--api", &host_port, "diff", &root, &root]));
    assert_eq!(o.status.code(), Some(0), "{}", o.describe());

    // ww boots it from the node with $IPFS_API as a multiaddr ending in /http.
    let home = tempfile::tempdir().unwrap();
    let o = run(e2e::ww_in(home.path())
        .env("IPFS_API", format!("{multiaddr}/http"))
        .args(["run", "--api-timeout", "10", &root]));
    assert_eq!(o.status.code(), Some(0), "{}", o.describe());
}
