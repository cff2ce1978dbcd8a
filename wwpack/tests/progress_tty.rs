//! The progress bars of `wwpack` on a real pseudo-terminal: `add`, `export`, `import`, `build`,
//! `push` and `pull` (with a real js-ipfs node) draw a bar on a terminal stderr, with the total,
//! the rate and the time left, and clear it before their normal output; with stderr a pipe, with
//! `-q`, or with `--json`, no escape code reaches stderr.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};

use rustix::fs::{Mode, OFlags};
use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
use ww_test_support::{exiting_command, ok, output, repo, s, write_tree, IpfsNode};

const WWPACK: &str = env!("CARGO_BIN_EXE_wwpack");

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

    /// Asserts that the last bar drawn was cleared before the line `line` (the command's normal
    /// output on stderr, printed after the bar).
    fn cleared_before(&self, line: &str) {
        let at = self
            .terminal
            .find(line)
            .unwrap_or_else(|| panic!("no {line:?} on the terminal:\n{:?}", self.terminal));
        let before = &self.terminal[..at];
        assert!(
            before.ends_with("\r\x1b[2K") || before.ends_with("\x1b[1A"),
            "the bar was not cleared before {line:?}:\n{before:?}"
        );
    }
}

/// The parts every bar with a total shows: the label, bytes of a total in MiB, a rate, the
/// time left.
fn bar_parts(label: &'static str) -> [&'static str; 4] {
    [label, " MiB/", "/s", "ETA "]
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

fn wwpack(store: &Path) -> Command {
    let mut cmd = Command::new(WWPACK);
    cmd.env_remove("IPFS_API").args(["--store", s(store)]);
    cmd
}

#[test]
fn add_export_and_import_draw_a_bar_then_their_output() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    big_tree(&tree, 6);
    let store = work.path().join("store");

    let add = on_terminal(wwpack(&store).args(["add", s(&tree)]));
    let cid = add.shows(&bar_parts("adding")).trim().to_string();
    assert!(cid.starts_with("bafy"), "{cid}");
    add.shows(&["6.00 MiB", "6/6 files"]);
    assert!(add.terminal.ends_with("\r\x1b[2K"), "{:?}", add.terminal);

    let car = work.path().join("tree.car");
    let export = on_terminal(wwpack(&store).args(["export", &cid, "-o", s(&car)]));
    export.shows(&bar_parts("exporting"));
    export.shows(&["blocks", "wrote "]);
    export.cleared_before("wrote ");

    let fresh = work.path().join("fresh");
    let import = on_terminal(wwpack(&fresh).args(["import", s(&car)]));
    assert_eq!(import.shows(&bar_parts("importing")).trim(), cid);
    import.cleared_before("imported ");
}

#[test]
fn no_escape_codes_on_a_pipe_with_quiet_or_with_json() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    big_tree(&tree, 3);
    let store = work.path().join("store");

    // stderr a pipe: the normal output, no bar.
    let piped = output(wwpack(&store).args(["add", s(&tree)]));
    let cid = ok(&piped).trim().to_string();
    assert!(!piped.stderr.contains(&0x1b), "{piped:?}");
    let car = work.path().join("tree.car");
    let piped = output(wwpack(&store).args(["export", &cid, "-o", s(&car)]));
    ok(&piped);
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(
        stderr.starts_with("wrote ") && !stderr.contains('\x1b'),
        "{stderr:?}"
    );

    // On a terminal, with -q or --json: nothing drawn.
    let checks: [(&str, Vec<&str>); 4] = [
        ("add -q", vec!["add", "-q", s(&tree)]),
        ("add --json", vec!["add", "--json", s(&tree)]),
        ("export -q", vec!["-q", "export", &cid, "-o", s(&car)]),
        ("import -q", vec!["-q", "import", s(&car)]),
    ];
    for (what, args) in checks {
        let run = on_terminal(wwpack(&store).args(&args));
        run.shows(&[]);
        assert!(
            !run.terminal.contains('\x1b'),
            "{what} drew on the terminal: {:?}",
            run.terminal
        );
    }
    // And the bar really is drawn on that terminal without them.
    on_terminal(wwpack(&store).args(["add", s(&tree)])).shows(&bar_parts("adding"));
}

/// A project of static layers only (a WAT pid0, `data` of `mib` MiB), built into `store`
/// with the build on a terminal; returns the project's manifest.
fn built_project(work: &Path, store: &Path, mib: usize) -> (std::path::PathBuf, OnTerminal) {
    let project = work.join("p");
    big_tree(&project.join("layers/data/etc"), mib);
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
    let manifest = project.join("wwpack.toml");
    let build = on_terminal(wwpack(store).args(["--manifest-path", s(&manifest), "build"]));
    (manifest, build)
}

#[test]
fn build_push_and_pull_draw_a_bar_with_a_real_node() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let (manifest, build) = built_project(work.path(), &store, 4);
    let line = build
        .shows(&["hashing", " files", "/s", " MiB"])
        .to_string();
    assert!(line.starts_with("big\tbafy"), "{line}");
    let root = line.split('\t').nth(1).unwrap().to_string();

    let node = IpfsNode::start();
    let push = on_terminal(wwpack(&store).args([
        "--manifest-path",
        s(&manifest),
        "--api",
        &node.url,
        "push",
    ]));
    assert!(push.shows(&bar_parts("pushing")).starts_with("big\t"));
    push.shows(&[" blocks"]);
    push.cleared_before("sent ");

    let fresh = work.path().join("fresh");
    let pull = on_terminal(wwpack(&fresh).args(["--api", &node.url, "pull", &root]));
    assert_eq!(pull.shows(&bar_parts("pulling")).trim(), root);
    pull.cleared_before("fetched ");

    // With --json on a terminal, push draws nothing; its report is on stdout.
    let json = on_terminal(wwpack(&store).args([
        "--manifest-path",
        s(&manifest),
        "--api",
        &node.url,
        "push",
        "--json",
    ]));
    let report: serde_json::Value = serde_json::from_str(json.shows(&[])).unwrap();
    assert_eq!(report["images"][0]["root"], root.as_str());
    assert!(!json.terminal.contains('\x1b'), "{:?}", json.terminal);
}
