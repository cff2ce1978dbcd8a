//! The membrane over Cap'n Proto RPC, end to end: a real `ww_runtime::rpc::Kernel` serves its
//! membrane on one end of an in-memory pipe, a real two-party RPC client drives it from the
//! other, and the children it starts are the real guests built by `wwpack build` (probe,
//! child-echo) running under wasmtime. A few tests boot pid0 with the real `ww` binary.

use std::path::Path;
use std::process::Command;

use e2e::probe;
use e2e::rpc::{connect, echo, graft, local, stream, try_graft, try_run_bytes, wait, Stdio};
use futures::FutureExt;
use stem::stem_capnp::Status;
use stem::{Epoch, Epochs};
use wetware_capnp::peer_capnp::{byte_stream, executor, host, process};
use ww_runtime::boot::BootPeer;
use ww_runtime::identity::Identity;
use ww_runtime::rpc::{Kernel, NodeIdentity};

fn node_with(identity: NodeIdentity, boot_peers: Vec<BootPeer>) -> Kernel {
    let engine = ww_runtime::engine::engine().expect("wasmtime engine");
    Kernel::new(engine, Epochs::new(Epoch::genesis()), identity, boot_peers)
}

fn node() -> Kernel {
    node_with(NodeIdentity::Key(Identity::from_seed([7; 32])), Vec::new())
}

async fn peer_id(host: &host::Client) -> Result<String, capnp::Error> {
    let response = host.id_request().send().promise.await?;
    Ok(response.get()?.get_peer_id()?.to_string()?)
}

async fn run_bytes(executor: &executor::Client, wasm: &[u8], args: &[&str]) -> process::Client {
    try_run_bytes(executor, wasm, args).await.expect("runBytes")
}

async fn read(stream: &byte_stream::Client, max_bytes: u32) -> Result<Vec<u8>, capnp::Error> {
    let mut request = stream.read_request();
    request.get().set_max_bytes(max_bytes);
    Ok(request.send().promise.await?.get()?.get_data()?.to_vec())
}

/// Everything up to the end of the stream.
async fn read_to_end(stream: &byte_stream::Client) -> Vec<u8> {
    let mut all = Vec::new();
    loop {
        let data = read(stream, 64 * 1024).await.expect("read");
        if data.is_empty() {
            return all;
        }
        all.extend_from_slice(&data);
    }
}

async fn write(stream: &byte_stream::Client, data: &[u8]) -> Result<(), capnp::Error> {
    let mut request = stream.write_request();
    request.get().set_data(data);
    request.send().promise.await.map(drop)
}

async fn close(stream: &byte_stream::Client) -> Result<(), capnp::Error> {
    stream.close_request().send().promise.await.map(drop)
}

/// A valid libp2p peer ID, different for each `n`.
fn peer(n: u8) -> String {
    Identity::from_seed([n; 32]).peer_id()
}

fn assert_error_contains<T>(result: Result<T, capnp::Error>, needles: &[&str]) {
    let Err(e) = result else {
        panic!("expected an error containing {needles:?}, got success");
    };
    let message = e.to_string();
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
}

#[test]
fn an_anonymous_graft_gets_a_session_in_the_current_epoch() {
    local(async {
        let node = node();
        let session = graft(&connect(&node)).await;
        assert_eq!(session.epoch, Epoch::genesis().seq);
        assert_eq!(session.status, Status::Ok);
        // Both capabilities of the session work.
        assert_eq!(echo(&session.executor, "x").await.expect("echo"), "x");
        assert!(peer_id(&session.host).await.is_ok());
    });
}

#[test]
fn host_id_is_the_stable_peer_id_of_the_identity_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    // `ww identity` creates the default key under XDG_DATA_HOME and prints its peer ID.
    let printed = e2e::output(
        Command::new(e2e::bin("ww"))
            .arg("identity")
            .env_remove("WW_IDENTITY")
            .env("XDG_DATA_HOME", &data),
    );
    assert!(printed.status.success(), "{printed:?}");
    let printed = String::from_utf8_lossy(&printed.stdout).trim().to_string();
    assert!(printed.starts_with("12D3KooW"), "{printed}");
    assert_eq!(printed.len(), 52, "{printed}");
    let file = data.join("ww/identity");

    local(async {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let node = node_with(NodeIdentity::CreateOnUse(Some(file.clone())), Vec::new());
            let session = graft(&connect(&node)).await;
            seen.push(peer_id(&session.host).await.expect("Host.id"));
        }
        assert_eq!(seen, vec![printed.clone(), printed.clone()]);
    });
    // And `--identity FILE` names the same key.
    let again = e2e::output(
        Command::new(e2e::bin("ww"))
            .args(["identity", "--identity"])
            .arg(&file),
    );
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), printed);
}

#[test]
fn a_missing_or_corrupt_identity_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing-key");
    let o = e2e::output(
        Command::new(e2e::bin("ww"))
            .args(["identity", "--identity"])
            .arg(&missing),
    );
    assert_eq!(o.status.code(), Some(125));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
    assert!(!missing.exists(), "an explicit key file is never created");

    let corrupt = dir.path().join("corrupt-key");
    std::fs::write(&corrupt, b"not a key").expect("write");
    let image = e2e::built_images().join("images/probe");
    let o = e2e::output(
        e2e::ww_in(dir.path())
            .arg("run")
            .arg(&image)
            .arg("--identity")
            .arg(&corrupt)
            .args(["--", "exit", "0"]),
    );
    assert_eq!(o.status.code(), Some(125));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains(&corrupt.display().to_string()), "{stderr}");
    assert!(stderr.contains("not a libp2p private key"), "{stderr}");
}

#[test]
fn host_reports_no_addrs_the_boot_peers_and_refuses_connect() {
    let root = tempfile::tempdir().expect("temp dir");
    let ids = [peer(10), peer(11)];
    e2e::write_tree(
        root.path(),
        &[
            (
                &format!("boot/{}", ids[0]),
                b"/ip4/10.0.0.2/tcp/4001\n/ip4/10.0.0.2/udp/4001/quic-v1\n",
            ),
            (
                &format!("boot/{}", ids[1]),
                b"/dns4/boot.example/tcp/4001\n",
            ),
        ],
    );
    let addrs_of = |id: &str| -> Vec<String> {
        if id == ids[0] {
            vec![
                "/ip4/10.0.0.2/tcp/4001".into(),
                "/ip4/10.0.0.2/udp/4001/quic-v1".into(),
            ]
        } else {
            vec!["/dns4/boot.example/tcp/4001".into()]
        }
    };
    let mut expected: Vec<(String, Vec<String>)> =
        ids.iter().map(|id| (id.clone(), addrs_of(id))).collect();
    expected.sort();
    let peers = ww_runtime::boot::peers_of_dir(root.path()).expect("boot peers");
    local(async {
        let node = node_with(NodeIdentity::Key(Identity::from_seed([1; 32])), peers);
        let session = graft(&connect(&node)).await;
        let host = &session.host;

        let addrs = host.addrs_request().send().promise.await.expect("addrs");
        assert_eq!(
            addrs.get().expect("addrs").get_addrs().expect("list").len(),
            0
        );

        let response = host.peers_request().send().promise.await.expect("peers");
        let list = response.get().expect("peers").get_peers().expect("list");
        let got: Vec<(String, Vec<String>)> = list
            .iter()
            .map(|p| {
                let addrs = p.get_addrs().expect("addrs");
                (
                    p.get_id().expect("id").to_string().expect("utf-8"),
                    addrs
                        .iter()
                        .map(|a| a.expect("addr").to_string().expect("utf-8"))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(got, expected);

        let mut request = host.connect_request();
        request.get().init_peer().set_id(peer(10).as_str());
        assert_error_contains(
            request.send().promise.await,
            &["connect is not supported in this release"],
        );

        let executor = host
            .executor_request()
            .send()
            .promise
            .await
            .expect("executor");
        let executor = executor
            .get()
            .expect("executor")
            .get_executor()
            .expect("cap");
        assert_eq!(echo(&executor, "via host").await.expect("echo"), "via host");
    });
}

#[test]
fn echo_answers_and_concurrent_echoes_each_get_their_own_reply() {
    local(async {
        let session = graft(&connect(&node())).await;
        assert_eq!(
            echo(&session.executor, "hello").await.expect("echo"),
            "hello"
        );
        // Both calls are sent before either reply is awaited.
        let (a, b) = futures::join!(
            echo(&session.executor, "first"),
            echo(&session.executor, "second")
        );
        assert_eq!(a.expect("first"), "first");
        assert_eq!(b.expect("second"), "second");
    });
}

#[test]
fn a_child_reads_stdin_writes_stdout_and_its_status_can_be_awaited_twice() {
    let wasm = probe();
    local(async {
        let session = graft(&connect(&node())).await;
        let child = run_bytes(&session.executor, &wasm, &["cat"]).await;
        let stdin = stream(&child, Stdio::Stdin).await;
        let stdout = stream(&child, Stdio::Stdout).await;
        write(&stdin, b"hello, ").await.expect("write");
        write(&stdin, b"child\n").await.expect("write");
        close(&stdin).await.expect("close");
        assert_error_contains(write(&stdin, b"late").await, &["stdin", "closed"]);
        assert_eq!(read_to_end(&stdout).await, b"hello, child\n");
        let (first, second) = futures::join!(wait(&child), wait(&child));
        assert_eq!(first.expect("wait"), 0);
        assert_eq!(second.expect("wait"), 0);
        assert_eq!(wait(&child).await.expect("wait again"), 0);
    });
}

#[test]
fn stdio_streams_refuse_the_wrong_direction_and_an_empty_read() {
    let wasm = probe();
    local(async {
        let session = graft(&connect(&node())).await;
        let child = run_bytes(&session.executor, &wasm, &["cat"]).await;
        let stdin = stream(&child, Stdio::Stdin).await;
        let stdout = stream(&child, Stdio::Stdout).await;
        let stderr = stream(&child, Stdio::Stderr).await;
        assert_error_contains(read(&stdin, 10).await, &["stdin", "write-only"]);
        assert_error_contains(write(&stdout, b"x").await, &["stdout", "read-only"]);
        assert_error_contains(write(&stderr, b"x").await, &["stderr", "read-only"]);
        assert_error_contains(read(&stdout, 0).await, &["maxBytes must be at least 1"]);
        close(&stdin).await.expect("close");
        assert_eq!(read_to_end(&stdout).await, b"");
        assert_eq!(wait(&child).await.expect("wait"), 0);
    });
}

#[test]
fn closing_stdin_ends_a_write_the_child_does_not_read() {
    let wasm = probe();
    local(async {
        let session = graft(&connect(&node())).await;
        // The child writes 1 MiB to stdout and never reads stdin.
        let child = run_bytes(&session.executor, &wasm, &["stdout", "1048576"]).await;
        let stdin = stream(&child, Stdio::Stdin).await;
        let big = vec![b'y'; 1024 * 1024];
        let (written, closed) = futures::join!(write(&stdin, &big), close(&stdin));
        assert_error_contains(written, &["stdin", "closed"]);
        closed.expect("close");
        let stdout = read_to_end(&stream(&child, Stdio::Stdout).await).await;
        assert_eq!(stdout.len(), 1024 * 1024);
        assert_eq!(wait(&child).await.expect("wait"), 0);
    });
}

#[test]
fn writing_to_the_stdin_of_an_ended_child_fails() {
    let wasm = probe();
    local(async {
        let session = graft(&connect(&node())).await;
        let child = run_bytes(&session.executor, &wasm, &["exit", "0"]).await;
        assert_eq!(wait(&child).await.expect("wait"), 0);
        let stdin = stream(&child, Stdio::Stdin).await;
        let big = vec![b'z'; 1024 * 1024];
        assert_error_contains(write(&stdin, &big).await, &["stdin", "no longer reads"]);
    });
}

#[test]
fn a_non_zero_exit_status_reaches_the_caller() {
    let wasm = probe();
    local(async {
        let session = graft(&connect(&node())).await;
        for status in [7, 255] {
            let child = run_bytes(&session.executor, &wasm, &["exit", &status.to_string()]).await;
            assert_eq!(wait(&child).await.expect("wait"), status);
        }
        // Unknown arguments: the probe prints its usage on stderr and exits 2.
        let child = run_bytes(&session.executor, &wasm, &["frobnicate"]).await;
        let stderr = read_to_end(&stream(&child, Stdio::Stderr).await).await;
        assert!(String::from_utf8_lossy(&stderr).contains("usage: probe"));
        assert_eq!(wait(&child).await.expect("wait"), 2);
    });
}

#[test]
fn a_child_blocked_on_a_full_stderr_does_not_block_the_host() {
    const MIB: usize = 1024 * 1024;
    let wasm = probe();
    local(async {
        let session = graft(&connect(&node())).await;
        let child = run_bytes(&session.executor, &wasm, &["stderr", &MIB.to_string()]).await;
        // Sent now, answered when the child ends.
        let mut waiting = child.wait_request().send().promise;
        // Nobody reads stderr yet, so the child cannot be done, and the host still answers.
        assert_eq!(
            echo(&session.executor, "still here").await.expect("echo"),
            "still here"
        );
        assert!(
            (&mut waiting).now_or_never().is_none(),
            "the child finished writing 1 MiB that nobody read"
        );
        let stderr = read_to_end(&stream(&child, Stdio::Stderr).await).await;
        assert_eq!(stderr.len(), MIB);
        assert!(stderr.iter().all(|b| *b == b'x'));
        let status = waiting.await.and_then(|r| Ok(r.get()?.get_exit_code()));
        assert_eq!(status.expect("wait"), 0);
    });
}

#[test]
fn a_trapping_child_makes_wait_fail_naming_the_trap() {
    let wasm = probe();
    local(async {
        let session = graft(&connect(&node())).await;
        let child = run_bytes(&session.executor, &wasm, &["trap"]).await;
        assert_error_contains(
            wait(&child).await,
            &["child.wasm", "trapped", "unreachable"],
        );
        // So does a command that traps without any WASI import.
        let bare = e2e::trapping_command();
        let child = run_bytes(&session.executor, &bare, &[]).await;
        assert_error_contains(wait(&child).await, &["trapped", "unreachable"]);
        assert_eq!(
            echo(&session.executor, "after").await.expect("echo"),
            "after"
        );
    });
}

#[test]
fn run_bytes_refuses_what_is_not_a_wasi_command_and_the_connection_goes_on() {
    let core_module = e2e::wat("(module)");
    let library = e2e::library_component();
    let probe = probe();
    let truncated = &probe[..probe.len() / 2];
    local(async {
        let session = graft(&connect(&node())).await;
        let executor = &session.executor;
        assert_error_contains(
            try_run_bytes(executor, b"garbage", &[]).await,
            &["runBytes", "not WebAssembly"],
        );
        assert_error_contains(
            try_run_bytes(executor, truncated, &[]).await,
            &["runBytes", "not a valid WebAssembly component"],
        );
        assert_error_contains(
            try_run_bytes(executor, &core_module, &[]).await,
            &["runBytes", "component"],
        );
        assert_error_contains(
            try_run_bytes(executor, &library, &[]).await,
            &["runBytes", "wasi:cli/run"],
        );
        assert_eq!(echo(executor, "alive").await.expect("echo"), "alive");
    });
}

#[test]
fn a_child_spawns_a_grandchild_over_its_own_connection() {
    let wasm = probe();
    local(async {
        let session = graft(&connect(&node())).await;
        let child = run_bytes(&session.executor, &wasm, &["nest"]).await;
        let stdout = read_to_end(&stream(&child, Stdio::Stdout).await).await;
        assert_eq!(
            String::from_utf8_lossy(&stdout),
            "CHILD_OK\nping 1\nping 2\nchild exited with status 0\n"
        );
        assert_eq!(wait(&child).await.expect("wait"), 0);
    });
}

#[test]
fn child_echo_itself_grafts_and_echoes_twice() {
    let wasm = e2e::image_file("default", "bin/child-echo.wasm");
    local(async {
        let session = graft(&connect(&node())).await;
        let child = run_bytes(&session.executor, &wasm, &[]).await;
        let stdout = read_to_end(&stream(&child, Stdio::Stdout).await).await;
        assert_eq!(
            String::from_utf8_lossy(&stdout),
            "CHILD_OK\nping 1\nping 2\n"
        );
        assert_eq!(wait(&child).await.expect("wait"), 0);
    });
}

#[test]
fn a_child_sees_the_same_host_and_its_concurrent_echoes_match() {
    let wasm = probe();
    let peers = vec![BootPeer {
        id: peer(12),
        addrs: vec!["/ip4/10.0.0.3/tcp/1".into(), "/ip4/10.0.0.3/tcp/2".into()],
    }];
    local(async {
        let node = node_with(NodeIdentity::Key(Identity::from_seed([3; 32])), peers);
        let expected_id = node.peer_id().expect("peer id");
        let session = graft(&connect(&node)).await;
        let child = run_bytes(&session.executor, &wasm, &["host"]).await;
        let stdout = read_to_end(&stream(&child, Stdio::Stdout).await).await;
        let stdout = String::from_utf8_lossy(&stdout);
        assert!(stdout.contains(&format!("id {expected_id}\n")), "{stdout}");
        assert!(stdout.contains("addrs 0\n"), "{stdout}");
        assert!(
            stdout.contains(&format!(
                "peer {} /ip4/10.0.0.3/tcp/1,/ip4/10.0.0.3/tcp/2\n",
                peer(12)
            )),
            "{stdout}"
        );
        assert!(
            stdout.contains("connect is not supported in this release"),
            "{stdout}"
        );
        assert_eq!(wait(&child).await.expect("wait"), 0);

        let child = run_bytes(&session.executor, &wasm, &["echo-many", "16"]).await;
        let stdout = read_to_end(&stream(&child, Stdio::Stdout).await).await;
        assert_eq!(String::from_utf8_lossy(&stdout), "matched 16/16\n");
        assert_eq!(wait(&child).await.expect("wait"), 0);
    });
}

#[test]
fn after_the_epoch_advances_old_sessions_and_membranes_are_stale() {
    local(async {
        let node = node();
        let membrane = connect(&node);
        let session = graft(&membrane).await;
        let poller = {
            let response = membrane
                .graft_request()
                .send()
                .promise
                .await
                .expect("graft");
            response
                .get()
                .and_then(|r| r.get_session()?.get_status_poller())
                .expect("poller")
        };
        node.epochs()
            .advance(Epoch {
                seq: 2,
                head: b"next".to_vec(),
                adopted_block: 0,
            })
            .expect("advance");

        assert_error_contains(try_graft(&membrane).await, &[stem::STALE_EPOCH]);
        assert_error_contains(peer_id(&session.host).await, &[stem::STALE_EPOCH]);
        assert_error_contains(
            session.host.executor_request().send().promise.await,
            &[stem::STALE_EPOCH],
        );
        assert_error_contains(echo(&session.executor, "x").await, &[stem::STALE_EPOCH]);
        assert_error_contains(
            try_run_bytes(&session.executor, &e2e::trapping_command(), &[]).await,
            &[stem::STALE_EPOCH],
        );
        assert_error_contains(
            poller.poll_status_request().send().promise.await,
            &[stem::STALE_EPOCH],
        );

        // A new connection bootstraps a membrane of the new epoch.
        let fresh = graft(&connect(&node)).await;
        assert_eq!(fresh.epoch, 2);
        assert_eq!(echo(&fresh.executor, "y").await.expect("echo"), "y");
    });
}

#[test]
fn pid0_reaches_the_host_over_its_connection() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("key");
    std::fs::write(&key, Identity::from_seed([9; 32]).encode()).expect("write key");
    let expected = Identity::from_seed([9; 32]).peer_id();
    let image = e2e::built_images().join("images/probe");
    let overlay = dir.path().join("overlay");
    e2e::write_tree(
        &overlay,
        &[(&format!("boot/{}", peer(13)), b"/ip4/10.0.0.4/tcp/4001\n")],
    );
    let o = ww_run(&[&image, &overlay], dir.path(), &key, &["host"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(stdout.contains(&format!("id {expected}\n")), "{stdout}");
    assert!(
        stdout.contains(&format!("peer {} /ip4/10.0.0.4/tcp/4001\n", peer(13))),
        "{stdout}"
    );

    let o = ww_run(&[&image], dir.path(), &key, &["nest"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "CHILD_OK\nping 1\nping 2\nchild exited with status 0\n"
    );
}

fn ww_run(layers: &[&Path], home: &Path, key: &Path, args: &[&str]) -> std::process::Output {
    e2e::output(e2e::ww_run(home, layers, &[], args).env("WW_IDENTITY", key))
}
