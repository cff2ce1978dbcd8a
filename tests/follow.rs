//! `ww run --follow` end to end: a real `ww` following an IPNS name of a real IPFS node, a head
//! file and a `wwpack.lock`, switching images while it runs. pid0 is the real probe guest's
//! `epoch` behaviour: it prints its files and its session's epoch, waits for the epoch to end,
//! tries its old Host capability and exits; each image differs by its `etc/version`.
//!
//! No assertion is about time: each wait has a generous hang guard, and what is checked is the
//! order of events and what each generation printed.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::{bin, ok, output, s, write_tree, IpfsNode};

/// How long any one wait may take before the test gives up (a hang guard, not a measurement).
const HANG: Duration = Duration::from_secs(120);

/// An image of the repository's `layers/base`, the probe as pid0 (or `pid0`), and
/// `etc/version` holding `version`, written to `dir/<version>`.
fn version_image(dir: &Path, version: &str, pid0: Option<&[u8]>) -> PathBuf {
    let image = dir.join(version);
    e2e::copy_dir(&e2e::repo().join("layers/base"), &image);
    let probe = e2e::probe();
    write_tree(
        &image,
        &[
            ("bin/main.wasm", pid0.unwrap_or(&probe)),
            ("etc/version", format!("{version}\n").as_bytes()),
        ],
    );
    image
}

/// `wwpack` with the block store `store` and the node at `api`, outside any project.
fn wwpack(store: &Path, api: &str, args: &[&str]) -> String {
    let mut all = vec!["--store", s(store), "--api", api];
    all.extend_from_slice(args);
    ok(&output(
        Command::new(bin("wwpack"))
            .env_remove("IPFS_API")
            .env_remove("IPFS_PATH")
            .args(&all),
    ))
    .trim()
    .to_string()
}

/// A running `ww run --follow`, its stdout and stderr lines collected as they come.
struct Following {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Following {
    fn start(mut cmd: Command) -> Following {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ww");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        for (prefix, stream) in [
            ("out", Box::new(out) as Box<dyn std::io::Read + Send>),
            ("err", Box::new(err)),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    lines.lock().unwrap().push(format!("{prefix}: {line}"));
                }
            });
        }
        Following { child, lines }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until a line contains every one of `parts`; returns its index.
    fn wait_for(&self, parts: &[&str]) -> usize {
        self.wait_for_after(0, parts)
    }

    /// Waits until a line at or after `from` contains every one of `parts`; returns its index.
    fn wait_for_after(&self, from: usize, parts: &[&str]) -> usize {
        let start = Instant::now();
        loop {
            let lines = self.lines();
            let found = lines
                .iter()
                .enumerate()
                .skip(from)
                .find(|(_, l)| parts.iter().all(|p| l.contains(p)));
            if let Some((i, _)) = found {
                return i;
            }
            assert!(
                start.elapsed() < HANG,
                "no line with {parts:?}; ww said:\n{}",
                lines.join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The line that contains every one of `parts`, once it is there.
    fn line(&self, parts: &[&str]) -> String {
        let i = self.wait_for(parts);
        self.lines()[i].clone()
    }

    /// Sends `signal` and waits for ww to exit; its status code.
    fn stop(mut self, signal: libc::c_int) -> (Option<i32>, Vec<String>) {
        e2e::signal(&self.child, signal);
        let status = self.child.wait().expect("wait for ww");
        // Let the reader threads take the last lines.
        std::thread::sleep(Duration::from_millis(200));
        (status.code(), self.lines())
    }

    fn wait(mut self) -> (Option<i32>, Vec<String>) {
        let status = self.child.wait().expect("wait for ww");
        std::thread::sleep(Duration::from_millis(200));
        (status.code(), self.lines())
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ww run --follow SOURCE OVERLAY -- epoch /etc/version /etc/overlay` with its own store and
/// cache under `home`, the node at `api`, polling every 100 ms.
fn follow(
    home: &Path,
    api: &str,
    source: &str,
    overlay: impl AsRef<std::ffi::OsStr>,
    extra: &[&str],
) -> Following {
    let mut cmd = e2e::ww_in(home);
    cmd.args(["--json-log", "run", "--api", api, "--follow", source])
        .args(["--poll-interval", "100ms"])
        .args(extra)
        .arg(overlay)
        .args(["--", "epoch", "/etc/version", "/etc/overlay"]);
    Following::start(cmd)
}

/// The switch from `from` to `to`: the old pid0 saw its epoch end and its Host go stale and
/// exited by itself, within the grace; the new one printed its version, the overlay and the
/// next epoch; the transition was logged.
fn assert_switched(ww: &Following, from: (&str, u64), to: (&str, &str, u64)) {
    let ended = ww.wait_for(&[&format!("out: epoch {} ended", from.1)]);
    let stale = ww.wait_for_after(ended, &["out: host: ", "staleEpoch"]);
    let version = ww.wait_for_after(stale, &[&format!("out: /etc/version: {}", to.0)]);
    ww.wait_for_after(version, &["out: /etc/overlay: from the overlay"]);
    ww.wait_for_after(version, &[&format!("out: epoch {}", to.2)]);
    let log: serde_json::Value = serde_json::from_str(
        ww.line(&["\"ww::follow\"", "\"switch_ms\"", to.1])
            .strip_prefix("err: ")
            .unwrap(),
    )
    .unwrap();
    let fields = &log["fields"];
    assert_eq!(
        fields["from"],
        format!("/ipfs/{}", from.0).as_str(),
        "{log}"
    );
    assert_eq!(fields["to"], format!("/ipfs/{}", to.1).as_str(), "{log}");
    assert_eq!(fields["epoch"], to.2, "{log}");
    let old = fields["old_pid0"].as_str().unwrap();
    assert!(
        old.starts_with("exited (status 0)") && !old.contains("stdin"),
        "the old pid0 should exit by itself, within the grace: {log}"
    );
    eprintln!(
        "switch {} -> {}: {} ms from the change seen to the new pid0 (load {} ms)",
        from.0, to.1, fields["switch_ms"], fields["load_ms"]
    );
}

#[test]
fn following_a_name_upgrades_on_publish_skips_a_broken_root_and_stops_cleanly() {
    let node = IpfsNode::start();
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("publisher");
    let add = |dir: &Path| wwpack(&store, &node.url, &["add", s(dir)]);
    let publish = |cid: &str, create: bool| {
        let mut args = vec!["publish", cid, "--name", "fleet", "--json"];
        if create {
            args.push("--create-key");
        }
        let published: serde_json::Value =
            serde_json::from_str(&wwpack(&store, &node.url, &args)).unwrap();
        let first = &published["published"][0];
        assert_eq!(first["value"], format!("/ipfs/{cid}").as_str());
        first["name"].as_str().unwrap().to_string()
    };
    let v1 = add(&version_image(work.path(), "v1", None));
    let v2 = add(&version_image(work.path(), "v2", None));
    let v3 = add(&version_image(
        work.path(),
        "v3",
        Some(b"not a component\n"),
    ));
    let v4 = add(&version_image(work.path(), "v4", None));
    let name = publish(&v1, true);
    let overlay = work.path().join("overlay");
    write_tree(&overlay, &[("etc/overlay", b"from the overlay\n")]);
    let home = work.path().join("runner");

    let ww = follow(
        &home,
        &node.url,
        &name,
        &overlay,
        &["--upgrade-grace", "60s"],
    );
    ww.wait_for(&["out: /etc/version: v1"]);
    ww.wait_for(&["out: /etc/overlay: from the overlay"]);
    ww.wait_for(&["out: epoch 1"]);

    let published = Instant::now();
    publish(&v2, false);
    ww.wait_for(&["out: epoch 2"]);
    eprintln!(
        "publish of v2 to its pid0 printing its epoch: {:.2} s (poll interval 100 ms)",
        published.elapsed().as_secs_f64()
    );
    assert_switched(&ww, (&v1, 1), ("v2", &v2, 2));

    // A root whose pid0 is not a component: skipped with the reason, v2 goes on.
    publish(&v3, false);
    let skipped = ww.line(&["\"skipped\"", &v3]);
    assert!(
        skipped.contains("bin/main.wasm") && skipped.contains(&format!("/ipfs/{v2} keeps running")),
        "{skipped}"
    );
    // v2 was still running: the next good root ends its epoch 2, and the epoch goes to 3.
    publish(&v4, false);
    assert_switched(&ww, (&v2, 2), ("v4", &v4, 3));
    assert!(
        !ww.lines().iter().any(|l| l.contains("version: v3")),
        "{:#?}",
        ww.lines()
    );

    let (code, lines) = ww.stop(libc::SIGTERM);
    assert_eq!(code, Some(143), "{lines:#?}");
    e2e::assert_no_temp_files(&home.join("cache"));
}

/// A head file (as `wwpack publish --head` writes it) and a SIGTERM in the middle of a switch:
/// the old pid0 never exits (`spin`), so the switch waits in its grace when the signal comes.
#[test]
fn following_a_head_file_upgrades_and_a_sigterm_mid_switch_leaves_nothing_behind() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("runner");
    let store = home.join("store");
    let no_node = "http://127.0.0.1:9";
    let add = |dir: &Path| wwpack(&store, no_node, &["add", s(dir)]);
    let head = work.path().join("HEAD");
    let point = |cid: &str| wwpack(&store, no_node, &["publish", cid, "--head", s(&head)]);
    let v1 = add(&version_image(work.path(), "v1", None));
    let v2 = add(&version_image(work.path(), "v2", None));
    point(&v1);
    let overlay = work.path().join("overlay");
    write_tree(&overlay, &[("etc/overlay", b"from the overlay\n")]);

    let ww = follow(
        &home,
        no_node,
        s(&head),
        &overlay,
        &["--upgrade-grace", "30s"],
    );
    ww.wait_for(&["out: epoch 1"]);
    point(&v2);
    assert_switched(&ww, (&v1, 1), ("v2", &v2, 2));
    let (code, _) = ww.stop(libc::SIGTERM);
    assert_eq!(code, Some(143));

    // Now pid0 spins: it never looks at its epoch, so the switch to v1 waits out the grace.
    let mut cmd = e2e::ww_in(&home);
    cmd.args(["run", "--api", no_node, "--follow", s(&head)])
        .args(["--poll-interval", "100ms", "--upgrade-grace", "60s"])
        .arg(&overlay)
        .args(["--", "spin"]);
    let ww = Following::start(cmd);
    ww.wait_for(&["out: spinning"]);
    point(&v1);
    ww.wait_for(&[
        "err: ww: ",
        &format!("now points at /ipfs/{v1}: loading it"),
    ]);
    // Loaded, the epoch advanced, and v2's pid0 is in its grace (it never exits): signal now.
    ww.wait_for(&["err: ww: epoch 2 began", &v1, "60.00 s to exit"]);
    let (code, lines) = ww.stop(libc::SIGTERM);
    assert_eq!(code, Some(143), "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("stopped by SIGTERM") && l.contains("bin/main.wasm")),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("upgraded")),
        "the switch never finished: {lines:#?}"
    );
    e2e::assert_no_temp_files(&home.join("cache"));
}

/// The development loop: `wwpack build` of a project whose static layer changed rewrites
/// `wwpack.lock`, and the running ww follows it (no guest is compiled: pid0 is a static file).
#[test]
fn following_a_lock_upgrades_when_wwpack_build_changes_a_static_layer() {
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("project");
    let home = work.path().join("runner");
    let store = home.join("store");
    e2e::copy_dir(
        &e2e::repo().join("layers/base"),
        &project.join("layers/base"),
    );
    write_tree(
        &project,
        &[
            ("layers/app/bin/main.wasm", &e2e::probe()),
            ("layers/app/etc/version", b"v1\n"),
            (
                "wwpack.toml",
                b"[layers.base]\npath = \"layers/base\"\n[layers.app]\npath = \"layers/app\"\n\
                  [images.app]\nlayers = [\"base\", \"app\"]\n",
            ),
        ],
    );
    let build = || {
        let manifest = project.join("wwpack.toml");
        wwpack(
            &store,
            "http://127.0.0.1:9",
            &["--manifest-path", s(&manifest), "build", "-q"],
        );
        let lock: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(project.join("wwpack.lock")).unwrap())
                .unwrap();
        lock["images"]["app"]["root"].as_str().unwrap().to_string()
    };
    let v1 = build();
    let overlay = work.path().join("overlay");
    write_tree(&overlay, &[("etc/overlay", b"from the overlay\n")]);
    let lock = format!("{}:app", project.join("wwpack.lock").display());
    let ww = follow(&home, "http://127.0.0.1:9", &lock, &overlay, &[]);
    ww.wait_for(&["out: /etc/version: v1"]);
    ww.wait_for(&["out: epoch 1"]);

    std::fs::write(project.join("layers/app/etc/version"), "v2\n").unwrap();
    let v2 = build();
    assert_ne!(v1, v2);
    assert_switched(&ww, (&v1, 1), ("v2", &v2, 2));
    let (code, lines) = ww.stop(libc::SIGINT);
    assert_eq!(code, Some(130), "{lines:#?}");
}

/// `--on-exit`: by default the run ends with pid0's status; with `wait` it boots the next root.
#[test]
fn when_pid0_exits_by_itself_the_run_ends_with_its_status_or_waits_for_the_next_root() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("runner");
    let store = home.join("store");
    let no_node = "http://127.0.0.1:9";
    let head = work.path().join("HEAD");
    let point = |dir: &Path| {
        let cid = wwpack(&store, no_node, &["add", s(dir)]);
        wwpack(&store, no_node, &["publish", &cid, "--head", s(&head)]);
        cid
    };
    let v1 = point(&version_image(work.path(), "v1", None));
    let run = |on_exit: &[&str]| {
        let mut cmd = e2e::ww_in(&home);
        cmd.args(["run", "--api", no_node, "--follow", s(&head)])
            .args(["--poll-interval", "100ms"])
            .args(on_exit)
            .args(["--", "exit", "7"]);
        Following::start(cmd)
    };
    let (code, lines) = run(&[]).wait();
    assert_eq!(code, Some(7), "{lines:#?}");

    let ww = run(&["--on-exit", "wait"]);
    ww.wait_for(&["pid0 of", &v1, "exited with status 7", "waiting for"]);
    let v2 = point(&version_image(work.path(), "v2", None));
    ww.wait_for(&[&format!("upgraded /ipfs/{v1} -> /ipfs/{v2} (epoch 2)")]);
    ww.wait_for(&["pid0 of", &v2, "exited with status 7", "waiting for"]);
    let (code, lines) = ww.stop(libc::SIGTERM);
    assert_eq!(code, Some(143), "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("stopped by SIGTERM while waiting for a new root")),
        "{lines:#?}"
    );
}

/// Sources that cannot work are refused before anything runs, naming the source and the rule.
#[test]
fn a_follow_source_that_cannot_be_followed_is_refused_with_the_reason() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("runner");
    let run = |source: &str| {
        output(e2e::ww_in(&home).args(["run", "--follow", source, "--api", "http://127.0.0.1:9"]))
    };
    let missing = work.path().join("no-such-head");
    for (source, says) in [
        (
            "/ipfs/bafybeigxuoa5q3bh36wxuex2ijt7s2gxc5fh7uhzowypfnokoobaewflfe",
            "never changes".to_string(),
        ),
        (s(&missing), missing.display().to_string()),
        (
            "/ipns/k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8",
            "IPFS node at http://127.0.0.1:9".to_string(),
        ),
    ] {
        let o = run(source);
        assert_eq!(o.status.code(), Some(125), "{source}: {o:?}");
        let err = e2e::stderr(&o);
        assert!(err.contains(&says), "{source}: {err}");
    }
    let o = output(e2e::ww_in(&home).args(["run", "--upgrade-grace", "1s", "x"]));
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(e2e::stderr(&o).contains("--follow"), "{o:?}");
}
