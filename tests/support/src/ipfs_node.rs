//! A real js-ipfs node (from `tests/ipfs-node`, started by `scripts/ipfs-node`) for the tests
//! that push to, pull from and read through one.

use std::path::PathBuf;
use std::process::Command;

use crate::{output, repo};

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
