//! Child processes: start one with `Executor.runBytes`, relay its output, wait for its status.

use futures::future::join3;
use futures::io::AsyncWrite;
use wetware_capnp::peer_capnp::{byte_stream, executor, process};

use crate::bytestream;
use crate::error::Error;

/// The largest `wasm` [`Child::spawn`] sends: 60 MiB. The host reads each Cap'n Proto message
/// within 64 MiB (`ww_runtime`'s `MAX_MESSAGE_BYTES`) and drops the whole connection on a larger
/// one, so bigger bytes are refused here, before sending, leaving 4 MiB for the args, the
/// environment and the message's framing.
pub const MAX_WASM_BYTES: usize = 60 << 20;

/// A process started by [`Child::spawn`].
pub struct Child {
    process: process::Client,
}

impl Child {
    /// Starts the WASI command component `wasm` as a child process with `args` after its
    /// program name and the environment `env`. The host refuses bytes that are not a WASI command
    /// component; that is an error here and the session stays usable. `wasm` larger than
    /// [`MAX_WASM_BYTES`] is refused without sending anything.
    pub async fn spawn(
        executor: &executor::Client,
        wasm: &[u8],
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Child, Error> {
        if wasm.len() > MAX_WASM_BYTES {
            return Err(Error::rpc(
                "runBytes",
                capnp::Error::failed(format!(
                    "the wasm is {} bytes, more than the {MAX_WASM_BYTES} bytes (60 MiB) \
                     a runBytes message may carry",
                    wasm.len()
                )),
            ));
        }
        let mut request = executor.run_bytes_request();
        let mut params = request.get();
        params.set_wasm(wasm);
        let mut list = params.reborrow().init_args(len_u32(args.len())?);
        for (i, arg) in (0u32..).zip(args) {
            list.set(i, *arg);
        }
        let mut vars = params.init_env(len_u32(env.len())?);
        for (i, (name, value)) in (0u32..).zip(env) {
            let mut var = vars.reborrow().get(i);
            var.set_name(*name);
            var.set_value(*value);
        }
        let response = request
            .send()
            .promise
            .await
            .map_err(|e| Error::rpc("runBytes", e))?;
        let process = response
            .get()
            .and_then(|r| r.get_process())
            .map_err(|e| Error::rpc("runBytes: reading the process", e))?;
        Ok(Child { process })
    }

    /// The process capability.
    pub fn process(&self) -> &process::Client {
        &self.process
    }

    /// The process's stdin (write-only). Pipelined: usable at once, without a round trip; an
    /// error of `Process.stdin` shows on the first call made on it.
    pub fn stdin(&self) -> byte_stream::Client {
        self.process.stdin_request().send().pipeline.get_stream()
    }

    /// The process's stdout (read-only), pipelined as [`Child::stdin`].
    pub fn stdout(&self) -> byte_stream::Client {
        self.process.stdout_request().send().pipeline.get_stream()
    }

    /// The process's stderr (read-only), pipelined as [`Child::stdin`].
    pub fn stderr(&self) -> byte_stream::Client {
        self.process.stderr_request().send().pipeline.get_stream()
    }

    /// Closes the process's stdin, so that a process reading it sees end of stream.
    pub async fn close_stdin(&self) -> Result<(), Error> {
        bytestream::close(&self.stdin()).await
    }

    /// Waits for the process to end and returns its exit status (0-255). Fails when it trapped
    /// or could not start.
    pub async fn wait(&self) -> Result<i32, Error> {
        let response = self
            .process
            .wait_request()
            .send()
            .promise
            .await
            .map_err(|e| Error::rpc("Process.wait", e))?;
        response
            .get()
            .map(|r| r.get_exit_code())
            .map_err(|e| Error::rpc("Process.wait: reading the status", e))
    }

    /// Copies the process's stdout to `out` and its stderr to `err` until both end, waiting for
    /// its exit status meanwhile, and returns the status once all three are done. All three run
    /// concurrently, so a process filling one pipe never blocks on the other.
    pub async fn relay<O, E>(&self, out: &mut O, err: &mut E) -> Result<i32, Error>
    where
        O: AsyncWrite + Unpin,
        E: AsyncWrite + Unpin,
    {
        let (stdout, stderr) = (self.stdout(), self.stderr());
        let (copied_out, copied_err, status) = join3(
            bytestream::copy_to(&stdout, out),
            bytestream::copy_to(&stderr, err),
            self.wait(),
        )
        .await;
        copied_out?;
        copied_err?;
        status
    }
}

fn len_u32(len: usize) -> Result<u32, Error> {
    u32::try_from(len).map_err(|_| {
        Error::rpc(
            "runBytes",
            capnp::Error::failed(format!("{len} list entries do not fit a Cap'n Proto list")),
        )
    })
}
