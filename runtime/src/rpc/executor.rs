//! `Executor`: starts child processes from wasm bytes, and echoes. Every call fails with
//! `staleEpoch` once the session's epoch has passed.
//!
//! `runBytes` is refused, before the wasm is even copied out of the message, when the kernel's
//! [`Budget`] has no room: `--max-processes` processes are alive, or less of the shared memory
//! budget is left than a process needs ([`MIN_PROCESS_MEMORY`]). The refusal is an RPC error to
//! the caller only; its session and every process go on, and once processes end, `runBytes`
//! starts children again.

use std::future::{ready, Future};
use std::rc::Rc;

use stem::EpochGuard;
use wetware_capnp::peer_capnp::{env_var, executor};

use crate::limits::{Budget, ProcessSlot, MIN_PROCESS_MEMORY};
use crate::rpc::process::{self, ProcessView};
use crate::units::Size;

/// What an Executor needs of the kernel it starts children on, beyond what a child needs
/// ([`ProcessView`]): the budget it admits them to.
pub(crate) trait ExecutorView: ProcessView {
    /// The processes and memory all processes of the kernel draw from.
    fn budget(&self) -> &Budget;
}

pub(crate) struct ExecutorServer<K> {
    kernel: K,
    guard: EpochGuard,
}

impl<K: ExecutorView> ExecutorServer<K> {
    pub(crate) fn new(kernel: K, guard: EpochGuard) -> ExecutorServer<K> {
        ExecutorServer { kernel, guard }
    }
}

impl<K: ExecutorView> executor::Server for ExecutorServer<K> {
    fn echo(
        self: Rc<Self>,
        params: executor::EchoParams,
        mut results: executor::EchoResults,
    ) -> impl Future<Output = capnp::Result<()>> + 'static {
        ready((|| {
            self.guard.check()?;
            let message = params.get()?.get_message()?;
            let message = message.to_str().map_err(|e| {
                capnp::Error::failed(format!("echo: the message is not UTF-8: {e}"))
            })?;
            results.get().set_response(message);
            Ok(())
        })())
    }

    async fn run_bytes(
        self: Rc<Self>,
        params: executor::RunBytesParams,
        mut results: executor::RunBytesResults,
    ) -> capnp::Result<()> {
        self.guard.check()?;
        let slot = admit(self.kernel.budget())?;
        let params = params.get()?;
        let wasm = params.get_wasm()?.to_vec();
        let args = params
            .get_args()?
            .iter()
            .enumerate()
            .map(|(i, arg)| {
                arg?.to_string().map_err(|e| {
                    capnp::Error::failed(format!("runBytes: args[{i}] is not UTF-8: {e}"))
                })
            })
            .collect::<capnp::Result<Vec<_>>>()?;
        let env = params
            .get_env()?
            .iter()
            .enumerate()
            .map(|(i, var)| env_pair(i, var))
            .collect::<capnp::Result<Vec<_>>>()?;
        let process = process::spawn(&self.kernel, slot, wasm, args, env).await?;
        results.get().set_process(process);
        Ok(())
    }
}

/// A slot for one more process, or why `budget` has no room for it.
fn admit(budget: &Budget) -> capnp::Result<ProcessSlot> {
    let slot = budget.process_slot().map_err(|_| {
        let max = budget.max_processes();
        capnp::Error::failed(format!(
            "runBytes: {max} processes are running, the limit of this ww run \
             (--max-processes {max})"
        ))
    })?;
    budget.memory_room().map_err(|_| {
        capnp::Error::failed(format!(
            "runBytes: {} of the memory budget of this ww run ({}, --max-total-memory) is left, \
             less than a process needs ({})",
            Size(budget.memory_left()),
            Size(budget.max_memory()),
            Size(MIN_PROCESS_MEMORY)
        ))
    })?;
    Ok(slot)
}

/// One environment variable; its name must be non-empty and hold no `=`.
fn env_pair(i: usize, var: env_var::Reader<'_>) -> capnp::Result<(String, String)> {
    let utf8 = |what: &str, e: std::str::Utf8Error| {
        capnp::Error::failed(format!("runBytes: env[{i}].{what} is not UTF-8: {e}"))
    };
    let name = var.get_name()?.to_string().map_err(|e| utf8("name", e))?;
    let value = var.get_value()?.to_string().map_err(|e| utf8("value", e))?;
    if name.is_empty() || name.contains('=') {
        return Err(capnp::Error::failed(format!(
            "runBytes: env[{i}]: the name {name:?} must be non-empty and hold no `=`"
        )));
    }
    Ok((name, value))
}
