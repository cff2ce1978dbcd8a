//! `Executor`: starts child processes from wasm bytes, and echoes. Every call fails with
//! `staleEpoch` once the session's epoch has passed.

use std::future::{ready, Future};
use std::rc::Rc;

use stem::EpochGuard;
use wetware_capnp::peer_capnp::{env_var, executor};

use crate::rpc::node::Node;
use crate::rpc::process;

pub(crate) struct ExecutorServer {
    node: Node,
    guard: EpochGuard,
}

impl ExecutorServer {
    pub(crate) fn new(node: Node, guard: EpochGuard) -> ExecutorServer {
        ExecutorServer { node, guard }
    }
}

impl executor::Server for ExecutorServer {
    fn echo(
        self: Rc<Self>,
        params: executor::EchoParams,
        mut results: executor::EchoResults,
    ) -> impl Future<Output = capnp::Result<()>> + 'static {
        ready((|| {
            self.guard.check()?;
            let message = params.get()?.get_message()?;
            let message = message
                .to_str()
                .map_err(|e| failed(format!("echo: the message is not UTF-8: {e}")))?;
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
        let params = params.get()?;
        let wasm = params.get_wasm()?.to_vec();
        let args = params
            .get_args()?
            .iter()
            .enumerate()
            .map(|(i, arg)| {
                arg?.to_string()
                    .map_err(|e| failed(format!("runBytes: args[{i}] is not UTF-8: {e}")))
            })
            .collect::<capnp::Result<Vec<_>>>()?;
        let env = params
            .get_env()?
            .iter()
            .enumerate()
            .map(|(i, var)| env_pair(i, var))
            .collect::<capnp::Result<Vec<_>>>()?;
        let process = process::spawn(&self.node, wasm, args, env).await?;
        results.get().set_process(process);
        Ok(())
    }
}

/// One environment variable; its name must be non-empty and hold no `=`.
fn env_pair(i: usize, var: env_var::Reader<'_>) -> capnp::Result<(String, String)> {
    let utf8 = |what: &str, e: std::str::Utf8Error| {
        failed(format!("runBytes: env[{i}].{what} is not UTF-8: {e}"))
    };
    let name = var.get_name()?.to_string().map_err(|e| utf8("name", e))?;
    let value = var.get_value()?.to_string().map_err(|e| utf8("value", e))?;
    if name.is_empty() || name.contains('=') {
        return Err(failed(format!(
            "runBytes: env[{i}]: the name {name:?} must be non-empty and hold no `=`"
        )));
    }
    Ok((name, value))
}

pub(crate) fn failed(message: String) -> capnp::Error {
    capnp::Error::failed(message)
}
