//! Child processes: `Executor.runBytes` starts one, `Process` watches it.
//!
//! A child is a cell with no filesystem (its authority comes only through capabilities), the
//! arguments and environment it was given (`argv[0]` is [`CHILD_NAME`]), three in-memory pipes
//! for stdio, and its own RPC connections, served by the same kernel (so it can start children
//! of its own). It runs as a local task until it exits or ww does (when pid0 ends), in the
//! [`ProcessSlot`] `runBytes` took for it before anything was compiled: a start that fails
//! gives the slot back at once, a child when it ends, however it ends. There is no
//! kill in this release: once its `Process` and every reference to its stdout (or stderr) are
//! dropped, or the stream is closed, its writes there fail as on a closed pipe.

use std::future::{ready, Future};
use std::rc::Rc;

use tokio::sync::watch;
use wasmtime::Engine;
use wetware_capnp::peer_capnp::{byte_stream, process};

use crate::cell::{self, CellSpec, Command, Stdio, PIPE_CAPACITY};
use crate::compile_cache::CompileCache;
use crate::error::BootError;
use crate::limits::ProcessSlot;
use crate::rpc::byte_stream::ByteStreamServer;

/// What a child needs of the kernel that runs it, as wasmtime-wasi's `WasiView` is what WASI
/// needs of a store's state: the kernel ([`crate::rpc::Kernel`]) implements it, and this module
/// never names the kernel, which serves the child's connections with servers that start
/// children here.
pub(crate) trait ProcessView: Clone + 'static {
    /// The engine children are compiled for.
    fn engine(&self) -> &Engine;
    /// Where children's components are compiled, or loaded from.
    fn compile_cache(&self) -> &CompileCache;
    /// Runs `command` as a process in `slot`, its connections served, until it ends.
    fn run_in_slot(
        &self,
        slot: ProcessSlot,
        command: &Command,
        spec: CellSpec,
    ) -> impl Future<Output = Result<u8, BootError>>;
}

/// The program name of every child (`argv[0]`), and its name in error messages.
pub const CHILD_NAME: &str = "child.wasm";

/// How a child ended: its exit status, or why it did not exit (a trap, a failed start).
type Outcome = Option<Result<u8, String>>;

/// Checks, compiles and links `wasm`, then starts it in `slot`. Fails, without starting
/// anything, when the bytes are not a WASI command component or need imports ww does not
/// provide. The slot travels with the compile, so a caller that gives up on the call does not
/// free it before the compiler is done.
pub(crate) async fn spawn<K: ProcessView>(
    kernel: &K,
    slot: ProcessSlot,
    wasm: Vec<u8>,
    args: Vec<String>,
    env: Vec<(String, String)>,
) -> capnp::Result<process::Client> {
    let engine = kernel.engine().clone();
    let cache = kernel.compile_cache().clone();
    let (compiled, slot) =
        tokio::task::spawn_blocking(move || (cache.component(&engine, CHILD_NAME, &wasm), slot))
            .await
            .map_err(|e| capnp::Error::failed(format!("runBytes: the compiler stopped: {e}")))?;
    let command = compiled
        .and_then(|component| cell::link(kernel.engine(), CHILD_NAME, &component))
        .map_err(|e| match e {
            BootError::Unbootable { reason, .. } => {
                capnp::Error::failed(format!("runBytes: the wasm {reason}"))
            }
            other => capnp::Error::failed(format!("runBytes: {other}")),
        })?;

    let (stdin_host, stdin_child) = tokio::io::duplex(PIPE_CAPACITY);
    let (stdout_host, stdout_child) = tokio::io::duplex(PIPE_CAPACITY);
    let (stderr_host, stderr_child) = tokio::io::duplex(PIPE_CAPACITY);
    let mut argv = vec![CHILD_NAME.to_string()];
    argv.extend(args);
    let spec = CellSpec {
        name: CHILD_NAME.to_string(),
        args: argv,
        env,
        root: None,
        stdio: Stdio::Pipes {
            stdin: stdin_child,
            stdout: stdout_child,
            stderr: stderr_child,
        },
    };
    let (outcome_tx, outcome) = watch::channel::<Outcome>(None);
    let child_kernel = kernel.clone();
    tokio::task::spawn_local(async move {
        let ended = child_kernel.run_in_slot(slot, &command, spec).await;
        if let Err(e) = &ended {
            tracing::debug!("a child did not exit: {e}");
        }
        outcome_tx.send_replace(Some(ended.map_err(|e| e.to_string())));
    });

    Ok(capnp_rpc::new_client(ProcessServer {
        stdin: capnp_rpc::new_client(ByteStreamServer::writer("stdin", stdin_host)),
        stdout: capnp_rpc::new_client(ByteStreamServer::reader("stdout", stdout_host)),
        stderr: capnp_rpc::new_client(ByteStreamServer::reader("stderr", stderr_host)),
        outcome,
    }))
}

struct ProcessServer {
    stdin: byte_stream::Client,
    stdout: byte_stream::Client,
    stderr: byte_stream::Client,
    outcome: watch::Receiver<Outcome>,
}

impl process::Server for ProcessServer {
    fn stdin(
        self: Rc<Self>,
        _: process::StdinParams,
        mut results: process::StdinResults,
    ) -> impl Future<Output = capnp::Result<()>> + 'static {
        results.get().set_stream(self.stdin.clone());
        ready(Ok(()))
    }

    fn stdout(
        self: Rc<Self>,
        _: process::StdoutParams,
        mut results: process::StdoutResults,
    ) -> impl Future<Output = capnp::Result<()>> + 'static {
        results.get().set_stream(self.stdout.clone());
        ready(Ok(()))
    }

    fn stderr(
        self: Rc<Self>,
        _: process::StderrParams,
        mut results: process::StderrResults,
    ) -> impl Future<Output = capnp::Result<()>> + 'static {
        results.get().set_stream(self.stderr.clone());
        ready(Ok(()))
    }

    fn wait(
        self: Rc<Self>,
        _: process::WaitParams,
        mut results: process::WaitResults,
    ) -> impl Future<Output = capnp::Result<()>> + 'static {
        let mut outcome = self.outcome.clone();
        async move {
            let ended = outcome
                .wait_for(Option::is_some)
                .await
                .map_err(|_| {
                    capnp::Error::failed("wait: the process was stopped before it ended".into())
                })?
                .clone();
            match ended {
                Some(Ok(status)) => {
                    results.get().set_exit_code(i32::from(status));
                    Ok(())
                }
                Some(Err(why)) => Err(capnp::Error::failed(why)),
                None => Err(capnp::Error::failed(
                    "wait: the process has not ended".into(),
                )),
            }
        }
    }
}
