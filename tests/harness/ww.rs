//! The real `ww` in the tests, kept away from the user's files and network: [`ww_in`] (a `ww`
//! whose block store, cache and data directory are under a home of the test's), [`ww_run`] (its
//! `run` command line) and [`Ww`] (a home of its own, removed with it).

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::{bin, output, text};

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

/// `ww run LAYERS FLAGS [-- ARGS]` in `home` (see [`ww_in`]); `--` only when there are `args`.
pub fn ww_run<L: AsRef<OsStr>>(
    home: &Path,
    layers: &[L],
    flags: &[&str],
    args: &[&str],
) -> Command {
    let mut cmd = ww_in(home);
    cmd.arg("run").args(layers).args(flags);
    if !args.is_empty() {
        cmd.arg("--").args(args);
    }
    cmd
}

/// A `ww` with a block store, cache and data directory (the node identity) of its own, and no
/// IPFS node.
pub struct Ww {
    home: tempfile::TempDir,
}

impl Default for Ww {
    fn default() -> Ww {
        Ww::new()
    }
}

impl Ww {
    pub fn new() -> Ww {
        Ww {
            home: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The home: `store/`, `cache/` and `data/` are below it.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn store(&self) -> PathBuf {
        self.home().join("store")
    }

    pub fn cache(&self) -> PathBuf {
        self.home().join("cache")
    }

    /// `ww` in this home, no subcommand yet.
    pub fn command(&self) -> Command {
        ww_in(self.home())
    }

    /// `ww run LAYERS FLAGS [-- ARGS]` in this home.
    pub fn run_command<L: AsRef<OsStr>>(
        &self,
        layers: &[L],
        flags: &[&str],
        args: &[&str],
    ) -> Command {
        ww_run(self.home(), layers, flags, args)
    }

    /// `ww run LAYERS [-- ARGS]` to its end, with `stdin` as its standard input (written by a
    /// thread of its own, so that a guest that does not read it cannot block the test).
    pub fn run(&self, layers: &[&Path], args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .run_command(layers, &[], args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ww");
        let mut input = child.stdin.take().expect("stdin");
        let stdin = stdin.to_vec();
        let writer = std::thread::spawn(move || {
            // The guest may exit before reading everything; that is its business.
            let _ = input.write_all(&stdin);
        });
        let out = child.wait_with_output().expect("wait for ww");
        writer.join().expect("stdin writer");
        out
    }

    /// `ww identity`: the peer ID of this home's node identity.
    pub fn peer_id(&self) -> String {
        let o = output(self.command().arg("identity"));
        assert!(o.status.success(), "ww identity: {}", text(&o.stderr));
        text(&o.stdout).trim().to_string()
    }
}
