//! Limits per process and clean stops, with the real `ww`: memory, tables, instances and the
//! wall-clock timeout for pid0, a child over its memory limit reported through `wait` while
//! pid0 goes on, and SIGTERM / SIGINT ending pid0 and its children with 143 / 130, leaving no
//! temporary file in the cache. And the limits all processes of a run share: `--max-processes`
//! (pid0 counts) refusing `runBytes` to a pid0 that goes on, the default bounding a pid0 that
//! tries 1000 children (in bounded host memory), and `--max-total-memory` failing the process
//! that would pass it. [`node_budget`] drives the same limits on a `Kernel` over RPC.

#[path = "limits/node_budget.rs"]
mod node_budget;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use e2e::{command_component, image, probe_overlay, wat, write_tree, Ww};

/// What a finished `ww` left: its status and output.
struct Ended {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// A running `ww`: its stdin is held open (so a guest reading it blocks), its stdout is read
/// line by line.
struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
    seen: String,
}

/// How long a test lets `ww` run before it kills it, so that a broken limit fails the test
/// instead of hanging it. Nothing is asserted about how fast anything is.
const HANG_GUARD: Duration = Duration::from_secs(300);

/// `ww run` in a [`Ww`] home, to its end or piped ([`Running`]).
trait RunExt {
    fn start(&self, layers: &[&Path], flags: &[&str], args: &[&str]) -> Running;
    fn run_to_end(&self, layers: &[&Path], flags: &[&str], args: &[&str], input: &[u8]) -> Ended;
}

impl RunExt for Ww {
    /// Starts `ww run` with piped stdio.
    fn start(&self, layers: &[&Path], flags: &[&str], args: &[&str]) -> Running {
        let mut child = self
            .run_command(layers, flags, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ww");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Running {
            child,
            stdin,
            stdout,
            seen: String::new(),
        }
    }

    /// Runs `ww run` to its end with `input` on stdin (then closed).
    fn run_to_end(&self, layers: &[&Path], flags: &[&str], args: &[&str], input: &[u8]) -> Ended {
        let mut running = self.start(layers, flags, args);
        running.write(input);
        drop(running.stdin.take());
        running.end()
    }
}

impl Running {
    fn write(&mut self, bytes: &[u8]) {
        if let Some(stdin) = &mut self.stdin {
            // The guest may have ended already; the status tells.
            let _ = stdin.write_all(bytes).and_then(|()| stdin.flush());
        }
    }

    /// Reads stdout until a line equal to `line` (panics if stdout ends first).
    fn wait_for_line(&mut self, line: &str) {
        loop {
            let mut next = String::new();
            let n = self.stdout.read_line(&mut next).expect("read ww's stdout");
            assert!(n > 0, "ww's stdout ended before `{line}`: {}", self.seen);
            self.seen.push_str(&next);
            if next.trim_end() == line {
                return;
            }
        }
    }

    fn signal(&self, signal: libc::c_int) {
        e2e::signal(&self.child, signal);
    }

    /// Waits for `ww` to end (stdin stays open until then), killing it after [`HANG_GUARD`].
    fn end(mut self) -> Ended {
        let mut stderr_pipe = self.child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr_pipe.read_to_string(&mut s);
            s
        });
        let mut rest = String::new();
        let mut stdout = self.stdout;
        let reader = std::thread::spawn(move || {
            let _ = stdout.read_to_string(&mut rest);
            rest
        });
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for ww") {
                break status;
            }
            if started.elapsed() > HANG_GUARD {
                let _ = self.child.kill();
                panic!("ww did not end within {HANG_GUARD:?}; killed");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        drop(self.stdin.take());
        let rest = reader.join().expect("stdout reader");
        Ended {
            status,
            stdout: self.seen + &rest,
            stderr: stderr.join().expect("stderr reader"),
        }
    }
}

/// An image `dir/name` whose pid0 is the WASI command whose core module holds `module_body`,
/// instantiated `instances` times; its `run` returns success.
fn wat_image(dir: &Path, name: &str, module_body: &str, instances: usize) -> PathBuf {
    let text = command_component(
        &format!("{module_body}\n    (func (export \"run\") (result i32) i32.const 0)"),
        instances,
    );
    let image = dir.join(name);
    write_tree(&image, &[("bin/main.wasm", &wat(&text))]);
    image
}

fn assert_status(o: &Ended, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        o.stdout,
        o.stderr
    );
}

#[test]
fn pid0_over_its_memory_limit_is_stopped_with_137_and_under_it_runs() {
    let ww = Ww::new();
    let probe = image("probe");
    let o = ww.run_to_end(&[&probe], &["--max-memory", "64MiB"], &["alloc", "16"], b"");
    assert_status(&o, 0);
    assert!(o.stdout.starts_with("allocated 16 MiB"), "{}", o.stdout);

    let o = ww.run_to_end(
        &[&probe],
        &["--max-memory", "64MiB"],
        &["alloc", "100"],
        b"",
    );
    assert_status(&o, 137);
    assert!(
        o.stderr
            .contains("bin/main.wasm: memory limit of 64 MiB exceeded"),
        "{}",
        o.stderr
    );
    assert_eq!(o.stderr.lines().count(), 1, "one line: {}", o.stderr);
}

#[test]
fn the_default_memory_limit_is_256_mib() {
    let work = tempfile::tempdir().expect("temp dir");
    let ww = Ww::new();
    // Exactly 256 MiB of linear memory (4096 pages of 64 KiB) boots; one page more does not.
    let fits = wat_image(work.path(), "fits", "(memory 4096)", 1);
    let o = ww.run_to_end(&[&fits], &[], &[], b"");
    assert_status(&o, 0);
    let over = wat_image(work.path(), "over", "(memory 4097)", 1);
    let o = ww.run_to_end(&[&over], &[], &[], b"");
    assert_status(&o, 137);
    assert!(
        o.stderr.contains("memory limit of 256 MiB exceeded"),
        "{}",
        o.stderr
    );
}

#[test]
fn a_table_over_its_limit_stops_pid0_with_137() {
    let work = tempfile::tempdir().expect("temp dir");
    let ww = Ww::new();
    let image = wat_image(work.path(), "table", "(table 200 funcref)", 1);
    let o = ww.run_to_end(&[&image], &["--max-table-elements", "200"], &[], b"");
    assert_status(&o, 0);
    let o = ww.run_to_end(&[&image], &["--max-table-elements", "100"], &[], b"");
    assert_status(&o, 137);
    assert!(
        o.stderr
            .contains("bin/main.wasm: table limit of 100 elements exceeded"),
        "{}",
        o.stderr
    );
}

#[test]
fn too_many_instances_stop_pid0_with_137() {
    let work = tempfile::tempdir().expect("temp dir");
    let ww = Ww::new();
    let image = wat_image(work.path(), "instances", "", 3);
    let o = ww.run_to_end(&[&image], &["--max-instances", "3"], &[], b"");
    assert_status(&o, 0);
    let o = ww.run_to_end(&[&image], &["--max-instances", "2"], &[], b"");
    assert_status(&o, 137);
    assert!(
        o.stderr
            .contains("bin/main.wasm: instance limit of 2 exceeded"),
        "{}",
        o.stderr
    );
}

#[test]
fn pid0_computing_past_its_timeout_is_stopped_with_124() {
    let ww = Ww::new();
    let o = ww.run_to_end(&[&image("probe")], &["--timeout", "1s"], &["spin"], b"");
    assert_status(&o, 124);
    assert_eq!(o.stdout, "spinning\n");
    assert!(
        o.stderr.contains("bin/main.wasm: timeout of 1s exceeded"),
        "{}",
        o.stderr
    );
}

#[test]
fn pid0_waiting_for_input_past_its_timeout_is_stopped_with_124() {
    let ww = Ww::new();
    // `cat` with stdin held open waits in a host call, where no epoch tick reaches it.
    let running = ww.start(&[&image("probe")], &["--timeout", "1s"], &["cat"]);
    let o = running.end();
    assert_status(&o, 124);
    assert!(o.stderr.contains("timeout of 1s exceeded"), "{}", o.stderr);
}

/// The lines of `text`.
fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

/// The number after `prefix` on the line that starts with it in `stdout`.
fn count_after(stdout: &str, prefix: &str) -> u32 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `{prefix}N` line in {stdout:?}"))
}

/// Runs `cmd` (stdin closed) to its end and returns what it left and its peak resident memory
/// in bytes, from `wait4`'s rusage; kills it after [`HANG_GUARD`].
fn run_measuring_peak_rss(cmd: &mut Command) -> (Ended, u64) {
    let o = e2e::process::run_measured(cmd, HANG_GUARD);
    let ended = Ended {
        status: o.status,
        stdout: o.stdout,
        stderr: o.stderr,
    };
    (ended, o.peak_rss)
}

#[test]
fn pid0_gets_max_processes_minus_one_children_and_spawns_again_once_they_end() {
    let ww = Ww::new();
    let o = ww.run_to_end(
        &[&image("probe")],
        &["--max-processes", "8"],
        &["spawn", "12"],
        b"",
    );
    assert_status(&o, 0);
    assert_eq!(
        lines(&o.stdout),
        [
            "started 7 of 12",
            "refused 5",
            "first refusal: runBytes: 8 processes are running, the limit of this ww run \
             (--max-processes 8)",
            "failed 0",
            "ended 7",
            "again: exited with status 0",
        ],
        "stderr: {}",
        o.stderr
    );
}

#[test]
fn the_default_process_limit_bounds_a_pid0_that_tries_1000_children() {
    let ww = Ww::new();
    let probe = image("probe");
    // Both measured runs load the probe from the compiled cache: neither pays for a compile.
    assert_status(&ww.run_to_end(&[&probe], &[], &["exit", "0"], b""), 0);
    let (o, peak) = run_measuring_peak_rss(&mut ww.run_command(&[&probe], &[], &["spawn", "1000"]));
    assert_status(&o, 0);
    assert_eq!(
        lines(&o.stdout),
        [
            "started 255 of 1000",
            "refused 745",
            "first refusal: runBytes: 256 processes are running, the limit of this ww run \
             (--max-processes 256)",
            "failed 0",
            "ended 255",
            "again: exited with status 0",
        ],
        "stderr: {}",
        o.stderr
    );
    // What the 1000 would have taken: the same run with a limit above them.
    let (all, peak_all) = run_measuring_peak_rss(&mut ww.run_command(
        &[&probe],
        &["--max-processes", "1001"],
        &["spawn", "1000"],
    ));
    assert_status(&all, 0);
    assert!(
        all.stdout.starts_with("started 1000 of 1000\n"),
        "{}",
        all.stdout
    );
    eprintln!(
        "peak RSS of ww: {} MiB with 255 children, {} MiB with 1000",
        peak >> 20,
        peak_all >> 20
    );
    assert!(
        peak < peak_all / 2,
        "peak RSS {} MiB with 255 children, not far below the {} MiB of 1000",
        peak >> 20,
        peak_all >> 20
    );
}

#[test]
fn children_past_the_shared_memory_budget_fail_naming_it_and_pid0_goes_on() {
    let ww = Ww::new();
    let probe = image("probe");
    // Eight children holding 16 MiB each fit the default budget...
    let o = ww.run_to_end(&[&probe], &[], &["spawn", "8", "16"], b"");
    assert_status(&o, 0);
    assert_eq!(count_after(&o.stdout, "started "), 8, "{}", o.stdout);

    // ... but not one of 96 MiB: each child that would pass it fails, pid0 and the others go on.
    let o = ww.run_to_end(
        &[&probe],
        &["--max-total-memory", "96MiB"],
        &["spawn", "8", "16"],
        b"",
    );
    assert_status(&o, 0);
    let started = count_after(&o.stdout, "started ");
    let failed = count_after(&o.stdout, "failed ");
    assert!((1..8).contains(&started), "{}", o.stdout);
    assert!(failed >= 1, "{}", o.stdout);
    assert_eq!(started + failed + count_after(&o.stdout, "refused "), 8);
    assert!(
        o.stdout.contains(
            "first failure: Process.wait: child.wasm: memory budget of 96 MiB shared by all \
             processes of this ww run exceeded (--max-total-memory)"
        ),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains(&format!("ended {started}\n"))
            && o.stdout.ends_with("again: exited with status 0\n"),
        "{}",
        o.stdout
    );
}

#[test]
fn pid0_past_the_shared_memory_budget_is_stopped_with_137() {
    let ww = Ww::new();
    let probe = image("probe");
    let flags = ["--max-total-memory", "32MiB"];
    let o = ww.run_to_end(&[&probe], &flags, &["alloc", "8"], b"");
    assert_status(&o, 0);
    // Within its own limit (256 MiB), past the budget of the run.
    let o = ww.run_to_end(&[&probe], &flags, &["alloc", "64"], b"");
    assert_status(&o, 137);
    assert!(
        o.stderr.contains(
            "bin/main.wasm: memory budget of 32 MiB shared by all processes of this ww run \
             exceeded (--max-total-memory)"
        ),
        "{}",
        o.stderr
    );
}

#[test]
fn bad_limit_values_are_usage_errors() {
    let ww = Ww::new();
    let o = ww.run_to_end(
        &[&image("probe")],
        &["--max-memory", "64MB"],
        &["exit", "0"],
        b"",
    );
    assert_status(&o, 2);
    assert!(o.stderr.contains("`64MB` is not a size"), "{}", o.stderr);
    let o = ww.run_to_end(
        &[&image("probe")],
        &["--timeout", "soon"],
        &["exit", "0"],
        b"",
    );
    assert_status(&o, 2);
    assert!(
        o.stderr.contains("`soon` is not a duration"),
        "{}",
        o.stderr
    );
    let o = ww.run_to_end(
        &[&image("probe")],
        &["--max-total-memory", "1GB"],
        &["exit", "0"],
        b"",
    );
    assert_status(&o, 2);
    assert!(o.stderr.contains("`1GB` is not a size"), "{}", o.stderr);
    let o = ww.run_to_end(
        &[&image("probe")],
        &["--max-processes", "0"],
        &["exit", "0"],
        b"",
    );
    assert_status(&o, 2);
    assert!(
        o.stderr.contains("--max-processes") && o.stderr.contains("at least 1"),
        "{}",
        o.stderr
    );
}

#[test]
fn a_child_over_its_memory_limit_fails_its_wait_and_pid0_goes_on() {
    let work = tempfile::tempdir().expect("temp dir");
    let overlay = probe_overlay(work.path());
    let ww = Ww::new();
    let script = "run /bin/probe.wasm alloc 100\nrun /bin/probe.wasm alloc 8\necho still here\n";
    let o = ww.run_to_end(
        &[&image("shell"), &overlay],
        &["--max-memory", "64MiB"],
        &[],
        script.as_bytes(),
    );
    assert_status(&o, 0);
    assert!(
        o.stderr
            .contains("child.wasm: memory limit of 64 MiB exceeded"),
        "{}",
        o.stderr
    );
    assert!(
        o.stdout.contains("allocated 8 MiB") && o.stdout.ends_with("still here\n"),
        "{}",
        o.stdout
    );
}

#[test]
fn sigterm_stops_pid0_with_143() {
    let ww = Ww::new();
    let mut running = ww.start(&[&image("probe")], &[], &["spin"]);
    running.wait_for_line("spinning");
    running.signal(libc::SIGTERM);
    let o = running.end();
    assert_status(&o, 143);
    assert!(o.stderr.contains("stopped by SIGTERM"), "{}", o.stderr);
    e2e::assert_no_temp_files(&ww.cache());
}

#[test]
fn sigterm_stops_pid0_and_its_spinning_child_with_143() {
    let work = tempfile::tempdir().expect("temp dir");
    let overlay = probe_overlay(work.path());
    let ww = Ww::new();
    let mut running = ww.start(&[&image("shell"), &overlay], &[], &[]);
    running.write(b"run /bin/probe.wasm spin\n");
    // The shell relays the child's output: the child is running.
    running.wait_for_line("spinning");
    running.signal(libc::SIGTERM);
    let o = running.end();
    assert_status(&o, 143);
    assert!(o.stderr.contains("stopped by SIGTERM"), "{}", o.stderr);
    e2e::assert_no_temp_files(&ww.cache());
}

#[test]
fn sigint_stops_pid0_waiting_for_input_with_130() {
    let ww = Ww::new();
    let mut running = ww.start(&[&image("probe")], &[], &["cat"]);
    running.write(b"ready\n");
    running.wait_for_line("ready");
    running.signal(libc::SIGINT);
    let o = running.end();
    assert_status(&o, 130);
    assert!(o.stderr.contains("stopped by SIGINT"), "{}", o.stderr);
    e2e::assert_no_temp_files(&ww.cache());
}
