//! `ww run` of a CID that only the IPFS node (a real js-ipfs one) has, with stderr on a real
//! pseudo-terminal: a bar shows the files fetched into the cache, bytes of their total, the
//! rate and the time left, and is cleared before pid0 runs; with stderr a pipe or with
//! `--json-log`, no escape code reaches stderr.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use e2e::{bin, exiting_command, ok, output, repo, s, write_tree, IpfsNode, Ww};
use rustix::fs::{Mode, OFlags};
use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};

/// What a command wrote: its stdout (a pipe) and what its terminal stderr showed.
struct OnTerminal {
    status: std::process::ExitStatus,
    stdout: String,
    terminal: String,
}

/// Runs `cmd` with stderr on a new pseudo-terminal of 120 columns (stdout a pipe, stdin empty)
/// and collects both until it exits.
fn on_terminal(cmd: &mut Command) -> OnTerminal {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .expect("open a pseudo-terminal");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let slave: OwnedFd = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .expect("open the terminal's slave side");
    rustix::termios::tcsetwinsize(
        &slave,
        rustix::termios::Winsize {
            ws_row: 40,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )
    .expect("set the terminal's size");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(slave))
        .spawn()
        .expect("spawn the command");
    // `cmd` keeps a copy of the slave side: drop it, so that reading the master ends (EIO)
    // once the child has exited.
    cmd.stderr(Stdio::null());
    let reader = std::thread::spawn(move || {
        let mut master = std::fs::File::from(master);
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match master.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
        all
    });
    let out = child.wait_with_output().expect("wait for the command");
    let terminal = reader.join().expect("the terminal's reader");
    OnTerminal {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        terminal: String::from_utf8_lossy(&terminal).into_owned(),
    }
}

impl OnTerminal {
    /// Asserts success and that the terminal showed every one of `parts`; returns stdout.
    fn shows(&self, parts: &[&str]) -> &str {
        assert!(
            self.status.success(),
            "failed: {:?}\n{}",
            self.status,
            self.terminal
        );
        for part in parts {
            assert!(
                self.terminal.contains(part),
                "the terminal did not show {part:?}:\n{:?}",
                self.terminal
            );
        }
        &self.stdout
    }
}

/// `n` files of 1 MiB of distinct bytes under `dir`.
fn big_tree(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n {
        let bytes: Vec<u8> = (0..1 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(dir.join(format!("f{i}")), bytes).unwrap();
    }
}

/// A project of static layers (a WAT pid0 that exits 0, 4 MiB of data), built into `store`
/// and pushed to `node`; returns its root CID.
fn pushed_image(work: &Path, store: &Path, node: &IpfsNode) -> String {
    let project = work.join("p");
    big_tree(&project.join("layers/data/etc"), 4);
    write_tree(
        &project.join("layers/app"),
        &[("bin/main.wasm", &exiting_command(0))],
    );
    write_tree(
        &project,
        &[(
            "wwpack.toml",
            b"[layers.base]\npath = \"layers/base\"\n[layers.app]\npath = \"layers/app\"\n\
              [layers.data]\npath = \"layers/data\"\n\
              [images.big]\nlayers = [\"base\", \"app\", \"data\"]\n",
        )],
    );
    let status = Command::new("cp")
        .arg("-r")
        .arg(repo().join("layers/base"))
        .arg(project.join("layers"))
        .status()
        .unwrap();
    assert!(status.success());
    let manifest: PathBuf = project.join("wwpack.toml");
    let wwpack = |args: &[&str]| {
        ok(&output(
            Command::new(bin("wwpack"))
                .env_remove("IPFS_API")
                .args(["--manifest-path", s(&manifest), "--store", s(store)])
                .args(args),
        ))
    };
    let built = wwpack(&["build", "-q", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&built).unwrap();
    let root = report["images"][0]["root"].as_str().unwrap().to_string();
    wwpack(&["--api", &node.url, "push", "-q"]);
    root
}

#[test]
fn ww_run_of_a_cid_on_the_node_draws_a_bar_and_clears_it_before_pid0() {
    let node = IpfsNode::start();
    let work = tempfile::tempdir().unwrap();
    let root = pushed_image(work.path(), &work.path().join("store"), &node);

    // A home with an empty store and cache: every block comes from the node.
    let ww = Ww::new();
    let run = on_terminal(&mut ww.run_command(&[&root], &["--api", &node.url], &[]));
    run.shows(&["fetching", " MiB/", "4.00 MiB", "/s", "ETA ", " files"]);
    // The last thing on the terminal is the bar being cleared: pid0 started on a clean line.
    assert!(run.terminal.ends_with("\r\x1b[2K"), "{:?}", run.terminal);

    // stderr a pipe, in a fresh home: nothing drawn.
    let piped = Ww::new();
    let out = output(&mut piped.run_command(&[&root], &["--api", &node.url], &[]));
    assert!(out.status.success(), "{out:?}");
    assert!(!out.stderr.contains(&0x1b), "{out:?}");

    // --json-log on a terminal, in a fresh home: nothing drawn either.
    let json = Ww::new();
    let mut cmd = json.command();
    cmd.args(["--json-log", "run", &root, "--api", &node.url]);
    let run = on_terminal(&mut cmd);
    run.shows(&[]);
    assert!(!run.terminal.contains('\x1b'), "{:?}", run.terminal);
}
