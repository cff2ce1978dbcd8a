//! Helpers for the end-to-end tests: the repository's paths, its real binaries (`wwpack`, `ww`),
//! and small files and directories to boot.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub mod dag;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The path of one of the workspace's binaries, built once per test process with the same cargo
/// and profile that runs the tests. `--workspace --tests` resolves features exactly as
/// `cargo test --workspace` does, so the binaries reuse the dependencies the tests were built
/// with (a narrower `-p` build would compile wasmtime a second time on a clean machine).
pub fn bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(repo())
            .args(["build", "--quiet", "--workspace", "--bins", "--tests"])
            .status()
            .expect("run cargo build for the wwpack and ww binaries");
        assert!(status.success(), "cargo build of wwpack and ww failed");
        // Test binaries live in target/<profile>/deps; the bins one level up.
        let exe = std::env::current_exe().expect("current test executable");
        exe.parent()
            .and_then(Path::parent)
            .expect("target/<profile>")
            .to_path_buf()
    });
    dir.join(name)
}

/// The real `ww`, kept away from the user's files and network: its block store, cache and data
/// directory (the node identity) under `home`, no identity file, log filters or IPFS node from
/// the environment (`IPFS_API` is port 9, discard, which refuses at once on loopback).
pub fn ww_in(home: &Path) -> Command {
    let mut cmd = Command::new(bin("ww"));
    hermetic(&mut cmd, home);
    cmd
}

/// Gives `cmd` (`ww`, or a command that runs it, e.g. under `setpriv`) the environment of
/// [`ww_in`].
pub fn hermetic<'c>(cmd: &'c mut Command, home: &Path) -> &'c mut Command {
    cmd.env("WW_STORE", home.join("store"))
        .env("WW_CACHE", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("IPFS_API", "http://127.0.0.1:9")
        .env_remove("WW_IDENTITY")
        .env_remove("WW_LOG")
        .env_remove("RUST_LOG")
}

/// Runs `cmd`, returning its output; panics only if it cannot be started.
pub fn output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Builds the repository's images with `wwpack build` into `out` and returns the directory of
/// `image`. All images are built, not only `image`: tests run in parallel and each build rewrites
/// the repository's `wwpack.lock`, which must end up holding every image.
pub fn build_image(out: &Path, image: &str) -> PathBuf {
    let result = output(
        Command::new(bin("wwpack"))
            .arg("--manifest-path")
            .arg(repo().join("wwpack.toml"))
            .arg("--store")
            .arg(out.join("store"))
            .args(["build", "--out-dir"])
            .arg(out),
    );
    assert!(
        result.status.success(),
        "wwpack build {image} failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    out.join("images").join(image)
}

/// Builds the repository's default image (pid0 and its children) into `out`.
pub fn build_default_image(out: &Path) -> PathBuf {
    build_image(out, "default")
}

/// All images of the repository, built once per test process with `wwpack build` (real guests
/// from source) into a directory that lives as long as the process. Returns `<out>`, whose
/// `images/<name>/` are the images and `store/` their block store.
pub fn built_images() -> &'static Path {
    static OUT: OnceLock<tempfile::TempDir> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = tempfile::tempdir().expect("temp dir for the images");
        build_image(out.path(), "default");
        out
    })
    .path()
}

/// A file of one of the repository's built images, e.g. `image_file("probe", "bin/main.wasm")`.
pub fn image_file(image: &str, path: &str) -> Vec<u8> {
    let file = built_images().join("images").join(image).join(path);
    std::fs::read(&file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()))
}

/// Writes `files` (relative path, bytes) below `dir`, creating parents.
pub fn write_tree(dir: &Path, files: &[(&str, &[u8])]) {
    for (path, bytes) in files {
        let to = dir.join(path);
        std::fs::create_dir_all(to.parent().expect("a parent")).expect("create parent");
        std::fs::write(&to, bytes).expect("write file");
    }
}

/// Compiles WebAssembly text (core module or component) to bytes.
pub fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap_or_else(|e| panic!("bad test WAT: {e}"))
}

/// A WASI 0.2 command component whose `run` returns at once: `Ok` for `status` 0, `Err` (exit
/// status 1) for 1.
pub fn exiting_command(status: u8) -> Vec<u8> {
    wat(&format!(
        r#"(component
  (core module $m (func (export "run") (result i32) i32.const {status}))
  (core instance $i (instantiate $m))
  (type $run-type (func (result (result))))
  (func $run (type $run-type) (canon lift (core func $i "run")))
  (instance $run-instance (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run-instance)))"#
    ))
}

/// A WASI 0.2 command component whose `run` executes `unreachable`.
pub const TRAPPING_COMMAND: &str = r#"
(component
  (core module $m
    (func (export "run") (result i32) unreachable))
  (core instance $i (instantiate $m))
  (type $run-type (func (result (result))))
  (func $run (type $run-type) (canon lift (core func $i "run")))
  (instance $run-instance (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run-instance)))
"#;

/// A component that exports a function but is not a WASI command.
pub const LIBRARY_COMPONENT: &str = r#"
(component
  (core module $m
    (func (export "answer") (result i32) i32.const 42))
  (core instance $i (instantiate $m))
  (func $answer (result u32) (canon lift (core func $i "answer")))
  (export "answer" (func $answer)))
"#;

/// A real js-ipfs node (from `tests/ipfs-node`, via `scripts/ipfs-node`) on 127.0.0.1 with its
/// own repo; stopped on drop. Failing to start fails the test: it never skips.
pub struct IpfsNode {
    pub url: String,
    pub repo: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl IpfsNode {
    pub fn start() -> IpfsNode {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = dir.path().join("repo");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut node = IpfsNode {
            url: String::new(),
            repo,
            port,
            _dir: dir,
        };
        node.url = node.run_start();
        node
    }

    fn run_start(&self) -> String {
        let o = output(
            Command::new(repo().join("scripts/ipfs-node"))
                .arg("start")
                .arg(&self.repo)
                .arg(self.port.to_string()),
        );
        assert!(
            o.status.success(),
            "the IPFS test node did not start: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// Stops the node (its repo is kept).
    pub fn stop(&self) {
        let _ = output(
            Command::new(repo().join("scripts/ipfs-node"))
                .arg("stop")
                .arg(&self.repo),
        );
    }

    /// Starts the node again on the same repo and port.
    pub fn restart(&self) {
        let url = self.run_start();
        assert_eq!(url, self.url);
    }
}

impl Drop for IpfsNode {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How a [`LyingNode`] lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lie {
    /// `block/put` answers with the CID of other bytes.
    WrongCid,
    /// `block/get` answers with bytes that are not the block's.
    CorruptBytes,
}

/// A fake IPFS RPC endpoint on 127.0.0.1 that lies, for the one thing a real node cannot be
/// made to do: answer wrongly. It speaks just enough of the API (version, refs/local,
/// block/put, block/get, pin/add) over HTTP/1.1, one request per connection.
pub struct LyingNode {
    pub url: String,
}

impl LyingNode {
    pub fn start(lie: Lie) -> LyingNode {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = answer(stream, lie);
            }
        });
        LyingNode { url }
    }
}

fn answer(mut stream: std::net::TcpStream, lie: Lie) -> std::io::Result<()> {
    use std::io::{Read, Write};
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    // Headers, then the body (Content-Length or chunked), so the client sees its upload read.
    let header_end = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
    if head.contains("transfer-encoding: chunked") {
        while !buf.ends_with(b"0\r\n\r\n") {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(len) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        while buf.len() < header_end + len {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }
    let body: Vec<u8> = if path.starts_with("/api/v0/version") {
        br#"{"Version":"0.0.0-lying","Commit":"","Repo":"0"}"#.to_vec()
    } else if path.starts_with("/api/v0/refs/local") {
        Vec::new()
    } else if path.starts_with("/api/v0/block/put") && lie == Lie::WrongCid {
        // The CID of the 11 bytes "hello world", whatever was sent.
        br#"{"Key":"bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e","Size":11}"#
            .to_vec()
    } else if path.starts_with("/api/v0/block/get") && lie == Lie::CorruptBytes {
        b"these are not the bytes you are looking for".to_vec()
    } else if path.starts_with("/api/v0/pin/add") {
        br#"{"Pins":[]}"#.to_vec()
    } else {
        let msg = br#"{"Message":"not served by the lying node","Code":0,"Type":"error"}"#;
        let head = format!(
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            msg.len()
        );
        stream.write_all(head.as_bytes())?;
        return stream.write_all(msg);
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)
}
