//! A cell: one WASI 0.2 command component running under wasmtime. pid0 and every child process
//! run through this code; they differ only in their [`CellSpec`]: pid0 inherits ww's stdio and
//! sees the union root read-only at `/`, a child gets in-memory pipes and no filesystem at all.
//! Every cell is offered `wetware:rpc/connection` (see `rpc::connection`), its only source of
//! authority beyond its arguments, environment, stdio and (pid0) the read-only root.

use std::path::PathBuf;

use tokio::io::DuplexStream;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::cli::{AsyncStdinStream, AsyncStdoutStream};
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxView, WasiView};

use crate::error::BootError;
use crate::limits::{LimitExceeded, Limiter};
use crate::rpc::connection::{self, ConnectionSink, ConnectionView};

/// A compiled and linked command, ready to run (any number of times).
pub type Command = CommandPre<CellState>;

/// How many bytes a stdio pipe of a child buffers, and how many a child may hand its stdout or
/// stderr before it waits for the pipe to drain.
pub const PIPE_CAPACITY: usize = 64 * 1024;

/// What a cell runs with.
pub struct CellSpec {
    /// How the component is named in messages, e.g. `bin/main.wasm (from layer /x)`.
    pub name: String,
    /// `argv`, including the program name at index 0.
    pub args: Vec<String>,
    /// The environment variables, in order.
    pub env: Vec<(String, String)>,
    /// Host directory preopened read-only at `/`, if any.
    pub root: Option<PathBuf>,
    pub stdio: Stdio,
}

/// Where a cell's stdin, stdout and stderr go.
pub enum Stdio {
    /// ww's own.
    Inherit,
    /// stdin from the cell's end of an in-memory pipe, stdout and stderr ww's own: pid0 of
    /// `ww run --follow`, whose stdin ww closes to ask it to end.
    PipedStdin(DuplexStream),
    /// The child's ends of three in-memory pipes (see [`PIPE_CAPACITY`]): it reads `stdin`,
    /// writes `stdout` and `stderr`. Dropping an end closes it for the other side.
    Pipes {
        stdin: DuplexStream,
        stdout: DuplexStream,
        stderr: DuplexStream,
    },
}

/// The host state of one cell's store.
pub struct CellState {
    ctx: WasiCtx,
    table: ResourceTable,
    connections: ConnectionSink,
    limiter: Limiter,
}

impl ConnectionView for CellState {
    fn connections(&self) -> &ConnectionSink {
        &self.connections
    }

    fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

impl WasiView for CellState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// Checks that `bytes` are a WASI command component and compiles them. CPU-bound: callers on the
/// RPC thread run it on a blocking thread.
pub fn compile(engine: &Engine, name: &str, bytes: &[u8]) -> Result<Component, BootError> {
    let unbootable = |reason: String| BootError::Unbootable {
        file: name.to_string(),
        reason,
    };
    ww_image::wasm::check_command(bytes).map_err(unbootable)?;
    Component::new(engine, bytes).map_err(|e| unbootable(one_line(&e)))
}

/// Resolves the imports of `component` against WASI 0.2 and `wetware:rpc/connection`.
pub fn link(engine: &Engine, name: &str, component: &Component) -> Result<Command, BootError> {
    let unbootable = |reason: String| BootError::Unbootable {
        file: name.to_string(),
        reason,
    };
    let mut linker = Linker::<CellState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)
        .map_err(|e| BootError::Host(format!("cannot set up WASI: {}", one_line(&e))))?;
    connection::add_to_linker(&mut linker).map_err(|e| {
        BootError::Host(format!(
            "cannot set up {}: {}",
            connection::INTERFACE,
            one_line(&e)
        ))
    })?;
    let pre = linker
        .instantiate_pre(component)
        .map_err(|e| unbootable(format!("cannot be linked: {}", one_line(&e))))?;
    CommandPre::new(pre).map_err(|e| unbootable(format!("is not a WASI command: {}", one_line(&e))))
}

/// Runs the command to completion, within the limits of `limiter` (which also charges its
/// memory to the budget it shares with other processes), and returns its exit status. The
/// connections it opens are handed to `connections`. The store, and with it every stream the
/// cell held and the memory it was granted, is dropped before this returns, so the other ends
/// of its pipes see the end of their streams and the shared budget has its memory back.
pub async fn run(
    engine: &Engine,
    command: &Command,
    spec: CellSpec,
    connections: ConnectionSink,
    limiter: Limiter,
) -> Result<u8, BootError> {
    let limits = limiter.limits();
    let mut wasi = WasiCtx::builder();
    wasi.args(&spec.args).envs(&spec.env);
    match spec.stdio {
        Stdio::Inherit => {
            wasi.inherit_stdio();
        }
        Stdio::PipedStdin(stdin) => {
            wasi.stdin(AsyncStdinStream::new(stdin))
                .inherit_stdout()
                .inherit_stderr();
        }
        Stdio::Pipes {
            stdin,
            stdout,
            stderr,
        } => {
            wasi.stdin(AsyncStdinStream::new(stdin))
                .stdout(AsyncStdoutStream::new(PIPE_CAPACITY, stdout))
                .stderr(AsyncStdoutStream::new(PIPE_CAPACITY, stderr));
        }
    }
    if let Some(root) = &spec.root {
        wasi.preopened_dir(root, "/", FsPerms::ReadOnly)
            .map_err(|e| {
                BootError::Host(format!(
                    "cannot preopen the union root {}: {}",
                    root.display(),
                    one_line(&e)
                ))
            })?;
    }
    let mut store = Store::new(
        engine,
        CellState {
            ctx: wasi.build(),
            table: ResourceTable::new(),
            connections,
            limiter,
        },
    );
    store.limiter(|state| &mut state.limiter);
    // Give the other cells a turn at every epoch tick (see `engine`), and stop a cell that
    // computes past its timeout there.
    let deadline = limits.timeout.map(|t| (tokio::time::Instant::now() + t, t));
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| match deadline {
        Some((at, timeout)) if tokio::time::Instant::now() >= at => {
            Err(LimitExceeded::Timeout(timeout).into())
        }
        _ => Ok(UpdateDeadline::Yield(1)),
    });

    let running = async {
        match command.instantiate_async(&mut store).await {
            Ok(command) => command.wasi_cli_run().call_run(&mut store).await,
            Err(e) => Err(e),
        }
    };
    // A cell waiting in a host call (e.g. for input) runs no wasm, so no epoch stops it: the
    // timer does, dropping the call.
    let outcome = match deadline {
        Some((at, timeout)) => tokio::time::timeout_at(at, running)
            .await
            .unwrap_or_else(|_| Err(LimitExceeded::Timeout(timeout).into())),
        None => running.await,
    };
    drop(store);
    match outcome {
        Ok(Ok(())) => Ok(0),
        Ok(Err(())) => Ok(1),
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<I32Exit>() {
                // WASI exit codes are u8 on the wire; clamp anything else to a failure.
                return Ok(u8::try_from(exit.0).unwrap_or(1));
            }
            if let Some(exceeded) = LimitExceeded::of(&e, &limits) {
                tracing::debug!("limit details: {e:?}");
                return Err(BootError::Limit {
                    file: spec.name,
                    exceeded,
                });
            }
            if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
                tracing::debug!("trap details: {e:?}");
                return Err(BootError::Trap {
                    file: spec.name,
                    trap: trap.to_string(),
                });
            }
            Err(BootError::Aborted {
                file: spec.name,
                reason: one_line(&e),
            })
        }
    }
}

/// An error chain on one line: messages joined by `: `, newlines folded.
pub(crate) fn one_line(e: &wasmtime::Error) -> String {
    format!("{e:#}")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
