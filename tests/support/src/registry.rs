//! A real registry for the tests: the Debian package `docker-registry` (the CNCF distribution
//! registry, v2.8) serving on a free port of 127.0.0.1, with filesystem storage in a temporary
//! directory, no authentication (or a user and password, [`Registry::start_with_basic_auth`])
//! and deletes enabled; stopped on drop. A missing
//! `docker-registry` fails the test: it never skips.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The registry's binary, from the Debian package `docker-registry`.
pub const DOCKER_REGISTRY: &str = "/usr/bin/docker-registry";

/// How long the registry may take to answer `GET /v2/` after it is started.
pub const START_DEADLINE: Duration = Duration::from_secs(30);

/// The user of [`Registry::start_with_basic_auth`].
pub const USER: &str = "ww";
/// Their password.
pub const PASSWORD: &str = "secret";
/// Its bcrypt hash (the registry's htpasswd takes bcrypt only), cost 5.
const PASSWORD_BCRYPT: &str = "$2a$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a";

/// A running `docker-registry serve` on 127.0.0.1; killed and waited for on drop.
pub struct Registry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry with its storage in a new temporary directory and waits until
    /// `GET /v2/` answers 200; panics (with the tail of its log) if it does not.
    pub fn start() -> Registry {
        Registry::start_auth(false)
    }

    /// A registry that asks for [`USER`] and [`PASSWORD`] (`WWW-Authenticate: Basic`).
    pub fn start_with_basic_auth() -> Registry {
        Registry::start_auth(true)
    }

    fn start_auth(basic: bool) -> Registry {
        assert!(
            Path::new(DOCKER_REGISTRY).exists(),
            "{DOCKER_REGISTRY} is missing: install the Debian package `docker-registry` \
             (apt-get install docker-registry)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        if basic {
            std::fs::write(
                dir.path().join("htpasswd"),
                format!("{USER}:{PASSWORD_BCRYPT}\n"),
            )
            .expect("write the htpasswd file");
        }
        // A port found free may be taken before the registry binds it: try a few.
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            match start_on(dir.path(), port, basic) {
                Ok(child) => return Registry { child, port, dir },
                Err(log) if log.contains("address already in use") => last_log = log,
                Err(log) => panic!("docker-registry did not start: its log ends with:\n{log}"),
            }
        }
        panic!("docker-registry found no free port: its log ends with:\n{last_log}")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.host())
    }

    /// `127.0.0.1:PORT`, the registry part of a reference.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The storage's root directory (the registry keeps blobs at
    /// `docker/registry/v2/blobs/sha256/<2 hex>/<hex>/data`).
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// The file holding the blob with this hex digest in the storage.
    pub fn blob_data(&self, hex: &str) -> PathBuf {
        self.storage_dir()
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

/// Writes the config and starts the registry on `port`; the child once `GET /v2/` answers
/// 200 (401 with `basic`), else the tail of its log.
fn start_on(dir: &Path, port: u16, basic: bool) -> Result<Child, String> {
    let storage = dir.join("storage");
    std::fs::create_dir_all(&storage).expect("create the storage");
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\n\
             log:\n  level: info\n  formatter: text\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n{}",
            storage.display(),
            if basic {
                format!(
                    "auth:\n  htpasswd:\n    realm: ww-test\n    path: {}\n",
                    dir.join("htpasswd").display()
                )
            } else {
                String::new()
            }
        ),
    )
    .expect("write the registry's config");
    let log_path = dir.join("registry.log");
    let log = std::fs::File::create(&log_path).expect("create the registry's log");
    let mut child = Command::new(DOCKER_REGISTRY)
        .arg("serve")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone the log file"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {DOCKER_REGISTRY}: {e}"));
    let tail = || {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    };
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("(exited with {status})\n{}", tail()));
        }
        // With a user and password, `/v2/` answers 401 to a request without them.
        if v2_status(port) == Some(if basic { 401 } else { 200 }) {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "docker-registry did not answer GET /v2/ with 200 within {START_DEADLINE:?}; \
                 its log ends with:\n{}",
                tail()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The status of `GET /v2/` on 127.0.0.1:`port`, if it answers.
fn v2_status(port: u16) -> Option<u16> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n").ok()?;
    let mut head = [0u8; 64];
    let n = s.read(&mut head).ok()?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split(' ').nth(1)?.parse().ok()
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
