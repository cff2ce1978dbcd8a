//! The capability guests end to end: the real guests (`pid0`, `child-echo`, `shell`, `probe`),
//! built from source by `wwpack build`, booted by the real `ww`, talking Cap'n Proto to it over
//! their `wetware:rpc/connection` streams.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use e2e::{image, output, probe_overlay, text, write_tree, Ww};

#[test]
fn pid0_grafts_spawns_child_echo_and_reports_its_status() {
    let ww = Ww::new();
    let o = ww.run(&[&image("default")], &[], b"");
    assert_eq!(
        text(&o.stdout),
        "CHILD_OK\nping 1\nping 2\nchild-echo exited with status 0\n",
        "stderr: {}",
        text(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "stderr: {}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "", "a clean run prints nothing on stderr");
}

#[test]
fn the_shell_runs_echo_run_help_and_exit_from_its_stdin() {
    let ww = Ww::new();
    let script = "echo hello shell\nrun /bin/child-echo.wasm\nrun /bin/hello.wasm\n\
                  run /etc/motd\nbogus\nhelp\nexit 3\necho never\n";
    let o = ww.run(&[&image("shell")], &[], script.as_bytes());
    let out = text(&o.stdout);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "stdout: {out}\nstderr: {err}");
    let expected_start = "hello shell\nCHILD_OK\nping 1\nping 2\n\
                          /bin/child-echo.wasm exited with status 0\n\
                          Hello from Wetware!\nargs: 0\n/bin/hello.wasm exited with status 1\n\
                          commands:\n";
    assert!(
        out.starts_with(expected_start),
        "stdout: {out}\nstderr: {err}"
    );
    assert!(
        !out.contains("never"),
        "the shell went on after exit: {out}"
    );
    // A child has no filesystem: hello cannot read the motd, and its non-zero status reaches
    // the shell (pid0) above.
    assert!(err.contains("hello: cannot read /etc/motd"), "{err}");
    assert!(
        err.contains("shell: run: /etc/motd: runBytes:") && err.contains("not WebAssembly"),
        "invalid bytes to runBytes are an error the shell reports and survives: {err}"
    );
    assert!(err.contains("shell: unknown command `bogus`"), "{err}");
}

#[test]
fn the_shell_ends_at_the_end_of_its_input() {
    let ww = Ww::new();
    let o = ww.run(&[&image("shell")], &[], b"echo last\n");
    assert_eq!(text(&o.stdout), "last\n", "stderr: {}", text(&o.stderr));
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn the_shell_reports_its_session_epoch_as_current() {
    let ww = Ww::new();
    let o = ww.run(&[&image("shell")], &[], b"epoch\nexit\n");
    assert_eq!(
        text(&o.stdout),
        "epoch 1 (current)\n",
        "stderr: {}",
        text(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "stderr: {}", text(&o.stderr));
}

#[test]
fn the_probe_prints_its_files_and_epoch_then_waits_for_the_epoch_to_end() {
    let work = tempfile::tempdir().unwrap();
    let version = work.path().join("version-overlay");
    write_tree(&version, &[("etc/version", b"v1\n")]);
    let ww = Ww::new();
    // Without `--follow` the host never advances its epoch: the probe waits until `--timeout`
    // stops it, having printed what it read and the epoch it grafted in.
    let o = output(
        ww.run_command(
            &[&image("probe"), &version],
            &["--timeout", "5s"],
            &["epoch", "/etc/version", "/etc/missing"],
        )
        .stdin(Stdio::null()),
    );
    let out = text(&o.stdout);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(124), "stdout: {out}\nstderr: {err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "stdout: {out}\nstderr: {err}");
    assert_eq!(lines[0], "/etc/version: v1", "{out}");
    assert!(
        lines[1].starts_with("/etc/missing: ") && lines[1].contains("No such file"),
        "{out}"
    );
    assert_eq!(lines[2], "epoch 1", "{out}");
    assert!(err.contains("timeout of 5s exceeded"), "{err}");
}

/// `ww run -e` and `--env-file` give pid0 its environment over its image's `etc/environment`:
/// the image's first, then files, then the flags, a later value of a name winning, `-e NAME`
/// passing ww's own value; a bad one stops the run (125).
#[test]
fn pid0_gets_the_environment_of_its_image_env_files_and_e_flags() {
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("app.env");
    std::fs::write(&file, "# the app's\nGREETING=hello\nEMPTY=\n").unwrap();
    let ww = Ww::new();
    let o = output(
        ww.run_command(
            &[&image("probe")],
            &[
                "--env-file",
                e2e::s(&file),
                "-e",
                "GREETING=hi there",
                "-e",
                "FROM_WW",
                "--env",
                "SECOND=a=b",
            ],
            &["env"],
        )
        .env("FROM_WW", "ww's own")
        .stdin(Stdio::null()),
    );
    assert_eq!(
        text(&o.stdout),
        "GREETING=hi there\nEMPTY=\nFROM_WW=ww's own\nSECOND=a=b\n",
        "{}",
        text(&o.stderr)
    );
    // The image's own `etc/environment` comes first, under the command line's.
    let overlay = work.path().join("env-overlay");
    write_tree(
        &overlay,
        &[(
            "etc/environment",
            b"# set by the image\nGREETING=the image's\nIMAGE_ONLY=kept\n",
        )],
    );
    let o = output(
        ww.run_command(
            &[&image("probe"), &overlay],
            &["--env-file", e2e::s(&file)],
            &["env"],
        )
        .stdin(Stdio::null()),
    );
    assert_eq!(
        text(&o.stdout),
        "GREETING=hello\nIMAGE_ONLY=kept\nEMPTY=\n",
        "{}",
        text(&o.stderr)
    );
    std::fs::write(overlay.join("etc/environment"), "=nameless\n").unwrap();
    let o = output(
        ww.run_command(&[&image("probe"), &overlay], &[], &["env"])
            .stdin(Stdio::null()),
    );
    assert_eq!(o.status.code(), Some(125), "{o:?}");
    assert!(
        text(&o.stderr).contains("etc/environment") && text(&o.stderr).contains("line 1"),
        "{o:?}"
    );
    let o = output(
        ww.run_command(&[&image("probe")], &["-e", "NOT_SET_ANYWHERE_X"], &["env"])
            .stdin(Stdio::null()),
    );
    assert_eq!(o.status.code(), Some(125), "{o:?}");
    assert!(
        text(&o.stderr).contains("`NOT_SET_ANYWHERE_X` is not set"),
        "{o:?}"
    );
}

#[test]
fn children_nest_report_their_status_and_flood_their_stderr() {
    let work = tempfile::tempdir().unwrap();
    let overlay = probe_overlay(work.path());
    let ww = Ww::new();
    // shell (pid0) -> probe (child) -> child-echo (grandchild, over the probe's own RPC
    // connection); then a child exit status, a trapping child, and 1 MiB on a child's stderr.
    let script = "run /bin/probe.wasm nest\nrun /bin/probe.wasm exit 7\n\
                  run /bin/probe.wasm trap\nrun /bin/probe.wasm stderr 1048576\n\
                  echo still here\n";
    let o = ww.run(&[&image("shell"), &overlay], &[], script.as_bytes());
    let out = text(&o.stdout);
    let err = text(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {out}\nstderr: {}",
        &err[..err.len().min(2000)]
    );
    assert!(
        out.starts_with(
            "CHILD_OK\nping 1\nping 2\nchild exited with status 0\n\
             /bin/probe.wasm exited with status 0\n\
             /bin/probe.wasm exited with status 7\n"
        ),
        "{out}"
    );
    assert!(out.ends_with("still here\n"), "{out}");
    assert!(
        out.contains("/bin/probe.wasm exited with status 0\nstill here\n"),
        "the stderr flood ends with status 0: {out}"
    );
    assert!(
        err.contains("unreachable"),
        "the child's trap reaches the shell through wait: {}",
        &err[..err.len().min(2000)]
    );
    let flood = err.bytes().filter(|&b| b == b'x').count();
    assert!(
        flood >= 1 << 20,
        "1 MiB of the child's stderr relayed, got {flood} bytes"
    );
}

#[test]
fn the_host_reports_a_stable_identity_the_boot_peers_and_refuses_connect() {
    let work = tempfile::tempdir().unwrap();
    let ww = Ww::new();
    let me = ww.peer_id();
    assert!(
        me.starts_with("12D3KooW"),
        "an ed25519 libp2p peer ID: {me}"
    );
    // A boot peer with two multiaddrs, named by another node's identity.
    let other = Ww::new().peer_id();
    assert_ne!(other, me, "two data directories, two identities");
    let boot = work.path().join("boot-overlay");
    let addrs = "/ip4/127.0.0.1/tcp/4001\n/ip6/::1/udp/4001/quic-v1\n";
    write_tree(&boot, &[(&format!("boot/{other}"), addrs.as_bytes())]);

    let o = ww.run(&[&image("probe"), &boot], &["host"], b"");
    let out = text(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {out}\nstderr: {}",
        text(&o.stderr)
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("id {me}"), "{out}");
    assert_eq!(lines[1], "addrs 0", "{out}");
    assert_eq!(
        lines[2],
        format!("peer {other} /ip4/127.0.0.1/tcp/4001,/ip6/::1/udp/4001/quic-v1"),
        "{out}"
    );
    assert!(
        lines[3].starts_with("connect: ") && lines[3].contains("not supported in this release"),
        "{out}"
    );
    assert_eq!(lines.len(), 4, "{out}");

    // The identity is created once and stays.
    let again = ww.run(&[&image("probe")], &["host"], b"");
    assert_eq!(
        text(&again.stdout).lines().next(),
        Some(&*format!("id {me}"))
    );
    assert_eq!(ww.peer_id(), me);
}

#[test]
fn many_concurrent_echo_calls_all_come_back() {
    let ww = Ww::new();
    let o = ww.run(&[&image("probe")], &["echo-many", "64"], b"");
    assert_eq!(
        text(&o.stdout),
        "matched 64/64\n",
        "stderr: {}",
        text(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn pid0_stdin_reaches_the_guest_and_traps_are_reported() {
    let ww = Ww::new();
    let o = ww.run(&[&image("probe")], &["cat"], b"through stdin\n");
    assert_eq!(
        text(&o.stdout),
        "through stdin\n",
        "stderr: {}",
        text(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0));
    let o = ww.run(&[&image("probe")], &["trap"], b"");
    assert_eq!(o.status.code(), Some(134), "stderr: {}", text(&o.stderr));
}

/// The guests' own unit tests (the SDK's executor and session, the shell's and probe's parsers)
/// are wasm32-wasip2 binaries: built here with cargo and run under `ww` as pid0, where the
/// session tests get a real membrane.
#[test]
fn the_guests_unit_tests_pass_under_ww() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = e2e::repo().join("target").join("guest-tests");
    let o = output(
        Command::new(cargo)
            .current_dir(e2e::repo().join("guests"))
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            // pid0 and probe embed child-echo; wwpack hands it over the same way.
            .env(
                "WWPACK_ARTIFACT_CHILD_ECHO",
                image("default").join("bin/child-echo.wasm"),
            )
            .args(["test", "--locked", "--no-run", "--workspace"])
            .args([
                "--target",
                "wasm32-wasip2",
                "--message-format=json",
                "--target-dir",
            ])
            .arg(&target),
    );
    assert!(
        o.status.success(),
        "cargo test --no-run of the guests: {}",
        text(&o.stderr)
    );
    let mut binaries = Vec::new();
    for line in text(&o.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] == "compiler-artifact" && msg["profile"]["test"] == true {
            if let Some(exe) = msg["executable"].as_str() {
                binaries.push((msg["target"]["name"].to_string(), PathBuf::from(exe)));
            }
        }
    }
    let names: Vec<&str> = binaries.iter().map(|(n, _)| n.as_str()).collect();
    for expected in ["wetware_guest", "shell", "probe"] {
        assert!(
            names.iter().any(|n| n.contains(expected)),
            "no test binary for {expected} in {names:?}"
        );
    }
    let work = tempfile::tempdir().unwrap();
    let ww = Ww::new();
    for (name, wasm) in &binaries {
        let layer = work.path().join(name.trim_matches('"'));
        write_tree(&layer, &[("bin/main.wasm", &std::fs::read(wasm).unwrap())]);
        let o = ww.run(&[&layer], &[], b"");
        let out = text(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{name}: {out}\nstderr: {}",
            text(&o.stderr)
        );
        assert!(out.contains("test result: ok."), "{name}: {out}");
    }
}
