//! A real registry for the tests: the Debian package `docker-registry` (the CNCF distribution
//! registry, v2.8) serving on a free port of 127.0.0.1, with filesystem storage in a temporary
//! directory, no authentication (or a user and password, [`Registry::start_with_basic_auth`])
//! and deletes enabled; stopped on drop. A missing
//! `docker-registry` fails the test: it never skips.
//!
//! And [`HostileRegistry`], a registry that says what its test tells it to, for what a real one
//! does not do: lie about a digest, redirect to `file:`, hand out a document without end, or ask
//! for a token from a realm (`Bearer`).

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

/// A request as [`HostileRegistry`] read it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path and query.
    pub target: String,
    /// The headers, names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer of [`HostileRegistry`]: a status, headers and a body (`Content-Length` is added
/// unless given).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn new(status: u16, body: &[u8]) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: body.to_vec(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

type Handler = dyn Fn(&Request) -> Answer + Send + Sync;

/// An HTTP server on 127.0.0.1 answering each request (one a connection) with what `handler`
/// says, and keeping every request it read; stopped on drop.
pub struct HostileRegistry {
    port: u16,
    requests: std::sync::Arc<std::sync::Mutex<Vec<Request>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HostileRegistry {
    pub fn start(handler: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> HostileRegistry {
        use std::sync::{atomic::AtomicBool, Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("a local address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (reqs, stopping) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                let Some(request) = read_request(&mut conn) else {
                    continue;
                };
                let answer = handler(&request);
                reqs.lock().expect("the requests").push(request);
                let _ = write_answer(&mut conn, &answer);
            }
        });
        HostileRegistry {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The requests read so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("the requests").clone()
    }
}

/// One request from `conn`: its head (at most 64 KiB) and its `Content-Length` body (at most
/// 64 MiB).
fn read_request(conn: &mut TcpStream) -> Option<Request> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 << 10 || conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
        .min(64 << 20);
    let mut body = vec![0; len];
    conn.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn write_answer(conn: &mut TcpStream, answer: &Answer) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} Hostile\r\nConnection: close\r\n",
        answer.status
    );
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !answer
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        head.push_str(&format!("Content-Length: {}\r\n", answer.body.len()));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    conn.write_all(&answer.body)?;
    conn.flush()
}

impl Drop for HostileRegistry {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
