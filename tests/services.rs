//! `svc/<name>/` services end to end: nested images of the union started by the real `ww`
//! beside pid0 (the `shell` image, fed its stdin only once the services' lines were seen, so
//! no test depends on timing), their output and their end logged on ww's stderr under their
//! name, and stopped with pid0.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Stdio};

use e2e::{image, image_file, spinning_command, trapping_command, write_tree};

/// `ww run <shell image> <overlay>` with its own store, cache and data directory, no IPFS node,
/// piped stdin and stderr.
struct Boot {
    child: Child,
    stderr: BufReader<std::process::ChildStderr>,
    /// Every stderr line read so far.
    seen: Vec<String>,
    _home: tempfile::TempDir,
}

impl Boot {
    fn start(overlay: &Path, log: Option<&str>) -> Boot {
        Boot::start_with(overlay, log, &[])
    }

    /// As [`Boot::start`], with `global` options before `run` (e.g. `--json-log`).
    fn start_with(overlay: &Path, log: Option<&str>, global: &[&str]) -> Boot {
        let home = tempfile::tempdir().expect("temp dir");
        let mut cmd = e2e::ww_in(home.path());
        if let Some(filter) = log {
            cmd.env("WW_LOG", filter);
        }
        let mut child = cmd
            .args(global)
            .arg("run")
            .arg(image("shell"))
            .arg(overlay)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ww");
        let stderr = BufReader::new(child.stderr.take().expect("stderr"));
        Boot {
            child,
            stderr,
            seen: Vec::new(),
            _home: home,
        }
    }

    /// Reads ww's stderr until every one of `wanted` has been a line, in any order; panics
    /// with what was seen when stderr ends first.
    fn wait_for_lines(&mut self, wanted: &[&str]) {
        self.wait_until(|seen| wanted.iter().all(|w| seen.iter().any(|l| l == w)));
    }

    fn wait_until(&mut self, done: impl Fn(&[String]) -> bool) {
        while !done(&self.seen) {
            let mut line = String::new();
            let n = self.stderr.read_line(&mut line).expect("read ww's stderr");
            assert!(
                n > 0,
                "ww's stderr ended first; it was:\n{}",
                self.seen.join("\n")
            );
            self.seen.push(line.trim_end_matches('\n').to_string());
        }
    }

    /// Writes `input` to pid0 (the shell), then waits for ww; returns its status and the rest of
    /// its stderr appended to what was seen.
    fn finish(mut self, input: &str) -> (Option<i32>, Vec<String>) {
        let mut stdin = self.child.stdin.take().expect("stdin");
        stdin
            .write_all(input.as_bytes())
            .expect("write the shell's input");
        drop(stdin);
        let mut rest = String::new();
        self.stderr
            .read_to_string(&mut rest)
            .expect("read ww's stderr");
        self.seen.extend(rest.lines().map(str::to_string));
        let status = self.child.wait().expect("wait for ww");
        (status.code(), self.seen)
    }
}

fn hello() -> Vec<u8> {
    image_file("hello", "bin/main.wasm")
}

#[test]
fn a_service_runs_in_its_own_root_and_logs_under_its_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let overlay = dir.path().join("overlay");
    write_tree(
        &overlay,
        &[
            ("svc/greeter/bin/main.wasm", &hello()),
            ("svc/greeter/etc/motd", b"the greeter's own motd\n"),
        ],
    );
    let mut ww = Boot::start(&overlay, None);
    let lines = [
        "[svc/greeter] Hello from Wetware!",
        "[svc/greeter] args: 0",
        "[svc/greeter] the greeter's own motd",
        "[svc/greeter] exited with status 0",
    ];
    ww.wait_for_lines(&lines[3..]);
    let (status, seen) = ww.finish("exit 7\n");
    assert_eq!(status, Some(7), "ww's status is pid0's: {seen:#?}");
    assert_eq!(
        seen, lines,
        "the service's lines, in order, and nothing else"
    );
}

#[test]
fn crashing_and_trapping_services_are_logged_and_pid0_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let overlay = dir.path().join("overlay");
    write_tree(
        &overlay,
        &[
            (
                "svc/crash/bin/main.wasm",
                &image_file("probe", "bin/main.wasm"),
            ),
            ("svc/trap/bin/main.wasm", &trapping_command()),
            ("svc/junk/bin/main.wasm", b"not wasm"),
            ("svc/empty/etc/motd", b"no program here\n"),
        ],
    );
    let mut ww = Boot::start(&overlay, None);
    ww.wait_until(|seen| {
        ["[svc/crash] exited with status 2", "[svc/trap] trapped: "]
            .iter()
            .all(|w| seen.iter().any(|l| l.starts_with(w)))
            && ["[svc/junk] not started: ", "[svc/empty] not started: "]
                .iter()
                .all(|w| seen.iter().any(|l| l.starts_with(w)))
    });
    let (status, seen) = ww.finish("echo still here\nexit 4\n");
    assert_eq!(status, Some(4), "{seen:#?}");
    let text = seen.join("\n");
    assert!(
        text.contains("[svc/crash] usage: probe"),
        "the probe's usage is relayed under its name: {text}"
    );
    assert!(text.contains("unreachable"), "the trap is named: {text}");
    assert!(
        text.contains("[svc/empty] not started: svc/empty/bin/main.wasm not found"),
        "{text}"
    );
    assert!(
        seen.iter().all(|l| l.starts_with("[svc/")),
        "every line is a service's: {text}"
    );
}

#[test]
fn a_service_gets_the_environment_of_its_own_image_and_nothing_of_pid0s() {
    let dir = tempfile::tempdir().expect("temp dir");
    let overlay = dir.path().join("overlay");
    let probe = image_file("probe", "bin/main.wasm");
    write_tree(
        &overlay,
        &[
            // pid0's image environment, which no service sees.
            ("etc/environment", b"PID0_ONLY=the union's\n"),
            ("svc/env/bin/main.wasm", &probe),
            (
                "svc/env/etc/environment",
                b"# the probe's behaviour, as it has no arguments\nPROBE_ARGS=env\nGREETING=from the service's image\n",
            ),
            ("svc/bad/bin/main.wasm", &probe),
            ("svc/bad/etc/environment", b"GOOD=1\nnot a pair\n"),
        ],
    );
    let mut ww = Boot::start(&overlay, None);
    ww.wait_until(|seen| {
        seen.iter().any(|l| l == "[svc/env] exited with status 0")
            && seen
                .iter()
                .any(|l| l.starts_with("[svc/bad] not started: "))
    });
    let (status, seen) = ww.finish("exit 0\n");
    assert_eq!(status, Some(0), "{seen:#?}");
    let env: Vec<&String> = seen
        .iter()
        .filter(|l| l.starts_with("[svc/env] ") && !l.contains("exited"))
        .collect();
    assert_eq!(
        env,
        [
            "[svc/env] PROBE_ARGS=env",
            "[svc/env] GREETING=from the service's image"
        ],
        "{seen:#?}"
    );
    let bad = seen
        .iter()
        .find(|l| l.starts_with("[svc/bad] not started: "))
        .unwrap();
    assert!(
        bad.contains("svc/bad/etc/environment") && bad.contains("line 2: not NAME=VALUE"),
        "{bad}"
    );
}

#[test]
fn nested_services_start_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let overlay = dir.path().join("overlay");
    write_tree(
        &overlay,
        &[
            ("svc/a/bin/main.wasm", &hello()),
            ("svc/a/etc/motd", b"motd of a\n"),
            ("svc/a/svc/b/bin/main.wasm", &hello()),
            ("svc/a/svc/b/etc/motd", b"motd of b\n"),
        ],
    );
    let mut ww = Boot::start(&overlay, None);
    ww.wait_for_lines(&[
        "[svc/a] motd of a",
        "[svc/a] exited with status 0",
        "[svc/a/svc/b] motd of b",
        "[svc/a/svc/b] exited with status 0",
    ]);
    let (status, seen) = ww.finish("exit\n");
    assert_eq!(status, Some(0), "{seen:#?}");
}

#[test]
fn services_still_running_are_stopped_when_pid0_ends() {
    let dir = tempfile::tempdir().expect("temp dir");
    let overlay = dir.path().join("overlay");
    write_tree(&overlay, &[("svc/spin/bin/main.wasm", &spinning_command())]);
    let mut ww = Boot::start(&overlay, Some("ww::services=debug"));
    ww.wait_until(|seen| seen.iter().any(|l| l.contains("started svc/spin")));
    // If the spinning service were not stopped, ww would never exit and this would hang.
    let (status, seen) = ww.finish("exit 5\n");
    assert_eq!(status, Some(5), "{seen:#?}");
    assert_eq!(
        seen.last().map(String::as_str),
        Some("[svc/spin] stopped: pid0 ended"),
        "{seen:#?}"
    );
}

#[test]
fn a_signal_stops_the_services_with_pid0() {
    let dir = tempfile::tempdir().expect("temp dir");
    let overlay = dir.path().join("overlay");
    write_tree(&overlay, &[("svc/spin/bin/main.wasm", &spinning_command())]);
    let mut ww = Boot::start(&overlay, Some("ww::services=debug"));
    ww.wait_until(|seen| seen.iter().any(|l| l.contains("started svc/spin")));
    e2e::signal(&ww.child, libc::SIGTERM);
    // The shell's stdin stays open: only the signal can end this run.
    let mut rest = String::new();
    ww.stderr
        .read_to_string(&mut rest)
        .expect("read ww's stderr");
    let status = ww.child.wait().expect("wait for ww");
    assert_eq!(status.code(), Some(143), "{rest}");
    assert!(
        rest.lines().any(|l| l == "[svc/spin] stopped: SIGTERM"),
        "{rest}"
    );
}

#[test]
fn with_json_log_the_service_lines_are_json_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let overlay = dir.path().join("overlay");
    write_tree(
        &overlay,
        &[
            ("svc/greeter/bin/main.wasm", &hello()),
            ("svc/greeter/etc/motd", b"json motd\n"),
        ],
    );
    let mut ww = Boot::start_with(&overlay, None, &["--json-log"]);
    let event = |line: &str| -> serde_json::Value {
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    };
    ww.wait_until(|seen| {
        seen.iter().any(|l| {
            let message = event(l)["fields"]["message"].clone();
            message
                .as_str()
                .is_some_and(|m| m.starts_with("exited with status"))
        })
    });
    let (status, seen) = ww.finish("exit\n");
    assert_eq!(status, Some(0), "{seen:#?}");
    let messages: Vec<(String, String)> = seen
        .iter()
        .map(|l| event(l))
        .filter(|e| e["target"] == "ww::services")
        .map(|e| {
            (
                e["fields"]["service"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                e["fields"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        messages.first(),
        Some(&("svc/greeter".to_string(), "Hello from Wetware!".to_string())),
        "{seen:#?}"
    );
    assert!(
        messages.iter().any(|(_, m)| m == "exited with status 0"),
        "{seen:#?}"
    );
}
