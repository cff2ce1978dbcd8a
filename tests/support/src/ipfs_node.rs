//! A real js-ipfs node (from `tests/ipfs-node`, started by `scripts/ipfs-node`) for the tests
//! that push to, pull from and read through one: alone ([`IpfsNode::start`], no swarm listener)
//! or able to reach peers ([`IpfsNode::start_listening`], a swarm listener on 127.0.0.1, for
//! [`crate::swarm`]). Every call to it is bounded in time; it is stopped on drop.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::process::run_measured;
use crate::{node_api, repo};

/// How long `scripts/ipfs-node start`, `stop` or `connect` may take before the test fails: the
/// script bounds each itself (30 s to start, 20 s to stop, 10 s to connect); this is the guard
/// for the script.
const SCRIPT_HANG: Duration = Duration::from_secs(120);

/// How long the harness waits for each answer of a node's API.
pub const API_TIMEOUT: Duration = Duration::from_secs(10);

/// A real js-ipfs node (from `tests/ipfs-node`, via `scripts/ipfs-node`) on 127.0.0.1 with its
/// own repo; stopped on drop. Failing to start fails the test: it never skips.
pub struct IpfsNode {
    pub url: String,
    pub repo: PathBuf,
    port: u16,
    /// The port of its swarm listener, on 127.0.0.1, if it has one.
    swarm_port: Option<u16>,
    _dir: tempfile::TempDir,
}

impl IpfsNode {
    /// A node with no swarm listener (`--offline`): it talks to no other node.
    pub fn start() -> IpfsNode {
        let [port] = free_ports();
        IpfsNode::start_on(port, None)
    }

    /// A node with a swarm listener on 127.0.0.1, which peers can reach and which can
    /// [`connect`](IpfsNode::connect) to theirs; it exchanges blocks with the peers it is
    /// connected to (bitswap) and finds no others (no bootstrap peers, MDNS, DHT or
    /// auto-dialling: see `scripts/ipfs-node`).
    pub fn start_listening() -> IpfsNode {
        let [port, swarm] = free_ports();
        IpfsNode::start_on(port, Some(swarm))
    }

    fn start_on(port: u16, swarm_port: Option<u16>) -> IpfsNode {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut node = IpfsNode {
            url: String::new(),
            repo: dir.path().join("repo"),
            port,
            swarm_port,
            _dir: dir,
        };
        node.url = node.run_start();
        node
    }

    fn script(&self, command: &str) -> Command {
        let mut cmd = Command::new(repo().join("scripts/ipfs-node"));
        cmd.arg(command).arg(&self.repo);
        cmd
    }

    fn run_start(&self) -> String {
        let mut cmd = self.script("start");
        cmd.arg(self.port.to_string());
        if std::env::var_os("IPFS_NODE_START_TIMEOUT").is_none() {
            // The script's 30 s, doubled: tests start nodes in parallel on shared cores.
            cmd.env("IPFS_NODE_START_TIMEOUT", "60");
        }
        if let Some(swarm) = self.swarm_port {
            cmd.arg("--swarm").arg(swarm.to_string());
        }
        let o = run_measured(&mut cmd, SCRIPT_HANG);
        assert!(
            o.status.success(),
            "the IPFS test node did not start: {}",
            o.stderr
        );
        o.stdout.trim().to_string()
    }

    /// Stops the node (its repo is kept).
    pub fn stop(&self) {
        let o = run_measured(&mut self.script("stop"), SCRIPT_HANG);
        assert!(
            o.status.success(),
            "the IPFS test node did not stop: {}",
            o.stderr
        );
    }

    /// Starts the node again on the same repo and ports (its blocks and identity are kept;
    /// its connections are not: see [`crate::swarm::Swarm::restart`]).
    pub fn restart(&self) {
        let url = self.run_start();
        assert_eq!(url, self.url);
    }

    /// The API's port, on 127.0.0.1.
    pub fn api_port(&self) -> u16 {
        self.port
    }

    /// The port of its swarm listener on 127.0.0.1, if it has one.
    pub fn swarm_port(&self) -> Option<u16> {
        self.swarm_port
    }

    /// Its peer ID (from its repo's config).
    pub fn peer_id(&self) -> String {
        self.config()["Identity"]["PeerID"]
            .as_str()
            .unwrap_or_else(|| panic!("no Identity.PeerID in {}/config", self.repo.display()))
            .to_string()
    }

    /// Its repo's config (`<repo>/config`), as the script last wrote it.
    pub fn config(&self) -> serde_json::Value {
        let file = self.repo.join("config");
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
    }

    /// Where peers reach it: `/ip4/127.0.0.1/tcp/PORT/p2p/ID`; panics for a node without a
    /// swarm listener.
    pub fn swarm_addr(&self) -> String {
        let port = self
            .swarm_port
            .unwrap_or_else(|| panic!("{} has no swarm listener", self.url));
        format!("/ip4/127.0.0.1/tcp/{port}/p2p/{}", self.peer_id())
    }

    /// The pid of its daemon (`<repo>/daemon.pid`), while it runs.
    pub fn pid(&self) -> u32 {
        let file = self.repo.join("daemon.pid");
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{} is not running ({}: {e})", self.url, file.display()));
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{}: not a pid: {text:?}", file.display()))
    }

    /// `POST /api/v0/<command>`, which must answer 200 with JSON within [`API_TIMEOUT`].
    pub fn api(&self, command: &str) -> serde_json::Value {
        node_api::post_json(&self.url, command, API_TIMEOUT).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `POST /api/v0/<command>` within `timeout`: the status and body, or why there was none.
    pub fn call(&self, command: &str, timeout: Duration) -> Result<node_api::Answer, String> {
        node_api::post(&self.url, command, timeout)
    }

    /// Puts `bytes` into the node as a raw block (`block/put`); returns its CID as the node
    /// gives it (CIDv1, raw codec).
    pub fn put_block(&self, bytes: &[u8]) -> String {
        let answer = node_api::post_file(&self.url, "block/put?format=raw", bytes, API_TIMEOUT)
            .unwrap_or_else(|e| panic!("{e}"));
        let json = answer.json().unwrap_or_else(|e| panic!("block/put: {e}"));
        json["Key"]
            .as_str()
            .unwrap_or_else(|| panic!("{} block/put answered {json}", self.url))
            .to_string()
    }

    /// The block `cid` as the node gives it (`block/get`), fetching it from its peers if it
    /// does not hold it; `Err` with the node's answer if it cannot within `timeout`.
    pub fn get_block(&self, cid: &str, timeout: Duration) -> Result<Vec<u8>, String> {
        let answer = self.call(&format!("block/get?arg={cid}"), timeout)?;
        if answer.status == 200 {
            Ok(answer.body)
        } else {
            Err(format!(
                "{} answered {} to block/get {cid}: {}",
                self.url,
                answer.status,
                String::from_utf8_lossy(&answer.body)
            ))
        }
    }

    /// How many blocks the node holds itself (`refs/local`).
    pub fn local_blocks(&self) -> usize {
        let answer = self
            .call("refs/local", API_TIMEOUT)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            answer.status,
            200,
            "{} refs/local: {}",
            self.url,
            String::from_utf8_lossy(&answer.body)
        );
        String::from_utf8_lossy(&answer.body)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
    }

    /// Dials `peer` (`swarm/connect`) and returns once the connection is up.
    pub fn connect(&self, peer: &IpfsNode) {
        let addr = peer.swarm_addr();
        self.api(&format!("swarm/connect?arg={addr}"));
        assert!(
            self.peers().contains(&peer.peer_id()),
            "{} connected to {addr} but does not list it among its peers",
            self.url
        );
    }

    /// The peer IDs it is connected to (`swarm/peers`).
    pub fn peers(&self) -> Vec<String> {
        let answer = self.api("swarm/peers");
        answer["Peers"]
            .as_array()
            .map(|peers| {
                peers
                    .iter()
                    .filter_map(|p| p["Peer"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The addresses it listens on, as it reports them (`swarm/addrs/local`).
    pub fn listen_addrs(&self) -> Vec<String> {
        strings(&self.api("swarm/addrs/local")["Strings"])
    }

    /// The addresses it gives peers about itself (`id`'s `Addresses`).
    pub fn announced_addrs(&self) -> Vec<String> {
        strings(&self.api("id")["Addresses"])
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `N` distinct free ports on 127.0.0.1 (all held at once while they are picked).
fn free_ports<const N: usize>() -> [u16; N] {
    let held: Vec<_> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    std::array::from_fn(|i| held[i].local_addr().expect("a local address").port())
}

impl Drop for IpfsNode {
    fn drop(&mut self) {
        // Not `stop`: a failure to stop must not panic while a test is already unwinding.
        let mut stop = self.script("stop");
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            run_measured(&mut stop, SCRIPT_HANG)
        }));
    }
}
