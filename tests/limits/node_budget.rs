//! The limits all processes of a node share, driven over RPC on a real
//! `ww_runtime::rpc::Kernel` (no pid0: only the children started here count), with the probe
//! built by `wwpack build` as the child: `runBytes` is refused at `max_processes` and when the
//! shared memory budget has no room, before anything is compiled; a refusal, a failed start, a
//! trap, an exit and the end of the run each leave the count and the memory as they were.

use e2e::probe;
use e2e::rpc::{self, connect, graft, local, stream, try_run_bytes as run_bytes, wait, Stdio};
use stem::{Epoch, Epochs};
use wetware_capnp::peer_capnp::{byte_stream, executor, process};
use ww_runtime::compile_cache::CompileCache;
use ww_runtime::identity::Identity;
use ww_runtime::limits::Limits;
use ww_runtime::rpc::{Kernel, NodeIdentity};

/// A node under `limits`, compiling into a cache of its own (so the probe compiles once).
fn node(limits: Limits, cache: &tempfile::TempDir) -> Kernel {
    let engine = ww_runtime::engine::engine().expect("wasmtime engine");
    let identity = NodeIdentity::Key(Identity::from_seed([7; 32]));
    Kernel::new(engine, Epochs::new(Epoch::genesis()), identity, Vec::new())
        .with_limits(limits)
        .with_compile_cache(CompileCache::new(cache.path()))
}

/// Grafts over a new in-memory connection to `node`; returns the session's executor.
async fn executor(node: &Kernel) -> executor::Client {
    graft(&connect(node)).await.executor
}

async fn echo(executor: &executor::Client) -> String {
    rpc::echo(executor, "still here").await.expect("echo")
}

async fn stdio(process: &process::Client, stdin: bool) -> byte_stream::Client {
    let which = if stdin { Stdio::Stdin } else { Stdio::Stdout };
    stream(process, which).await
}

/// Starts the probe as `hold 0` and waits until it says it is holding: alive.
async fn holding_child(executor: &executor::Client, wasm: &[u8]) -> process::Client {
    let child = run_bytes(executor, wasm, &["hold", "0"])
        .await
        .expect("runBytes");
    let stdout = stdio(&child, false).await;
    let mut line = Vec::new();
    while !line.contains(&b'\n') {
        let mut request = stdout.read_request();
        request.get().set_max_bytes(256);
        let response = request.send().promise.await.expect("read stdout");
        let data = response.get().and_then(|r| r.get_data()).expect("data");
        assert!(
            !data.is_empty(),
            "stdout ended: {:?}",
            String::from_utf8_lossy(&line)
        );
        line.extend_from_slice(data);
    }
    assert!(
        line.starts_with(b"holding"),
        "{:?}",
        String::from_utf8_lossy(&line)
    );
    child
}

/// Closes the child's stdin (a `hold` child then exits 0) and waits for it.
async fn release(child: &process::Client) {
    let stdin = stdio(child, true).await;
    stdin
        .close_request()
        .send()
        .promise
        .await
        .expect("close stdin");
    assert_eq!(wait(child).await.expect("wait"), 0);
}

fn error_of<T>(result: Result<T, capnp::Error>) -> String {
    match result {
        Ok(_) => panic!("expected an error, got success"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn run_bytes_is_refused_at_the_process_limit_before_compiling_and_no_slot_leaks() {
    let wasm = probe();
    let cache = tempfile::tempdir().expect("temp dir");
    let node = node(
        Limits {
            max_processes: 2,
            ..Limits::default()
        },
        &cache,
    );
    local(async {
        let executor = executor(&node).await;
        let a = holding_child(&executor, &wasm).await;
        let b = holding_child(&executor, &wasm).await;
        assert_eq!(node.budget().processes(), 2);
        let limit = "runBytes: 2 processes are running, the limit of this ww run \
                     (--max-processes 2)";
        let refused = error_of(run_bytes(&executor, &wasm, &["exit", "0"]).await);
        assert!(refused.contains(limit), "{refused}");
        // Refused before the bytes are looked at: garbage gets the same answer.
        let garbage = error_of(run_bytes(&executor, b"garbage", &[]).await);
        assert!(garbage.contains(limit), "{garbage}");
        assert_eq!(node.budget().processes(), 2, "refusals take no slot");
        assert_eq!(echo(&executor).await, "still here");

        // An exit frees its slot; a start that fails and a child that traps free theirs.
        release(&a).await;
        assert_eq!(node.budget().processes(), 1);
        let bad = error_of(run_bytes(&executor, b"garbage", &[]).await);
        assert!(bad.contains("not WebAssembly"), "{bad}");
        let trapping = run_bytes(&executor, &wasm, &["trap"])
            .await
            .expect("runBytes");
        let trapped = error_of(wait(&trapping).await);
        assert!(trapped.contains("trapped"), "{trapped}");
        assert_eq!(node.budget().processes(), 1);
        let c = holding_child(&executor, &wasm).await;
        assert_eq!(node.budget().processes(), 2);
        release(&b).await;
        release(&c).await;
        assert_eq!(node.budget().processes(), 0);
        assert_eq!(node.budget().memory_in_use(), 0);
    });
}

#[test]
fn children_still_running_when_the_run_ends_give_their_slots_and_memory_back() {
    let wasm = probe();
    let cache = tempfile::tempdir().expect("temp dir");
    let node = node(Limits::default(), &cache);
    local(async {
        let executor = executor(&node).await;
        // Held, so that their stdin stays open: a child whose Process is dropped reads the
        // end of its stdin.
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(holding_child(&executor, &wasm).await);
        }
        assert_eq!(node.budget().processes(), 3);
        assert!(node.budget().memory_in_use() > 0);
        held
    });
    assert_eq!(node.budget().processes(), 0);
    assert_eq!(node.budget().memory_in_use(), 0);
}

#[test]
fn run_bytes_is_refused_when_the_shared_memory_budget_has_no_room() {
    let wasm = probe();
    let cache = tempfile::tempdir().expect("temp dir");
    let node = node(
        Limits {
            max_total_memory: 32 << 10,
            ..Limits::default()
        },
        &cache,
    );
    local(async {
        let executor = executor(&node).await;
        let refused = error_of(run_bytes(&executor, &wasm, &["exit", "0"]).await);
        assert!(
            refused.contains(
                "runBytes: 32 KiB of the memory budget of this ww run (32 KiB, \
                 --max-total-memory) is left, less than a process needs (64 KiB)"
            ),
            "{refused}"
        );
        assert_eq!(echo(&executor).await, "still here");
        assert_eq!(node.budget().processes(), 0);
    });
}

#[test]
fn a_child_past_the_shared_memory_budget_fails_its_wait_and_gives_the_memory_back() {
    let wasm = probe();
    let cache = tempfile::tempdir().expect("temp dir");
    let node = node(
        Limits {
            max_total_memory: 8 << 20,
            ..Limits::default()
        },
        &cache,
    );
    local(async {
        let executor = executor(&node).await;
        // Within its own limit (256 MiB), past the budget all processes share.
        let child = run_bytes(&executor, &wasm, &["alloc", "16"])
            .await
            .expect("runBytes");
        let failed = error_of(wait(&child).await);
        assert!(
            failed.contains(
                "child.wasm: memory budget of 8 MiB shared by all processes of this ww run \
                 exceeded (--max-total-memory)"
            ),
            "{failed}"
        );
        assert_eq!(node.budget().memory_in_use(), 0);
        assert_eq!(node.budget().processes(), 0);
        let small = run_bytes(&executor, &wasm, &["alloc", "2"])
            .await
            .expect("runBytes");
        assert_eq!(wait(&small).await.expect("wait"), 0);
    });
}
