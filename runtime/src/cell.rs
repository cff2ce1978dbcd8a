//! A cell: one WASI 0.2 command component running under wasmtime, with stdio inherited, a root
//! directory preopened read-only at `/`, and the arguments it was given.

use std::path::Path;

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxView, WasiView};

use crate::error::BootError;

/// What a cell runs.
pub struct CellSpec<'a> {
    /// How the component is named in messages, e.g. `bin/main.wasm (from layer /x)`.
    pub name: &'a str,
    pub bytes: &'a [u8],
    /// Host directory preopened read-only at `/`.
    pub root: &'a Path,
    /// `argv`, including the program name at index 0.
    pub args: &'a [String],
}

struct Host {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// Runs the command to completion and returns its exit status.
pub async fn run(engine: &Engine, spec: CellSpec<'_>) -> Result<u8, BootError> {
    let unbootable = |reason: String| BootError::Unbootable {
        file: spec.name.to_string(),
        reason,
    };
    wwpack::wasm::check_command(spec.bytes).map_err(unbootable)?;
    let component = Component::new(engine, spec.bytes).map_err(|e| unbootable(one_line(&e)))?;

    let mut linker = Linker::<Host>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)
        .map_err(|e| BootError::Host(format!("cannot set up WASI: {}", one_line(&e))))?;
    let pre = linker
        .instantiate_pre(&component)
        .map_err(|e| unbootable(format!("cannot be linked: {}", one_line(&e))))?;
    let pre = CommandPre::new(pre)
        .map_err(|e| unbootable(format!("is not a WASI command: {}", one_line(&e))))?;

    let mut wasi = WasiCtx::builder();
    wasi.inherit_stdio().args(spec.args);
    wasi.preopened_dir(spec.root, "/", FsPerms::ReadOnly)
        .map_err(|e| {
            BootError::Host(format!(
                "cannot preopen the union root {}: {}",
                spec.root.display(),
                one_line(&e)
            ))
        })?;
    let mut store = Store::new(
        engine,
        Host {
            ctx: wasi.build(),
            table: ResourceTable::new(),
        },
    );

    let outcome = match pre.instantiate_async(&mut store).await {
        Ok(command) => command.wasi_cli_run().call_run(&mut store).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(Ok(())) => Ok(0),
        Ok(Err(())) => Ok(1),
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<I32Exit>() {
                // WASI exit codes are u8 on the wire; clamp anything else to a failure.
                return Ok(u8::try_from(exit.0).unwrap_or(1));
            }
            if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
                tracing::debug!("trap details: {e:?}");
                return Err(BootError::Trap {
                    file: spec.name.to_string(),
                    trap: trap.to_string(),
                });
            }
            Err(BootError::Aborted {
                file: spec.name.to_string(),
                reason: one_line(&e),
            })
        }
    }
}

/// An error chain on one line: messages joined by `: `, newlines folded.
fn one_line(e: &wasmtime::Error) -> String {
    format!("{e:#}")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
