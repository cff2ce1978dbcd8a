//! The client side of a `ww_runtime::rpc::Kernel` in the tests, as a guest sees it over its
//! connection: [`local`] runs a test as `ww` runs RPC (a `LocalSet` on one thread), [`connect`]
//! gives a membrane over an in-memory pipe, [`graft`] a session on it, and the calls the tests make on an executor and a
//! process ([`echo`], [`try_run_bytes`], [`wait`], [`stream`]).

use std::future::Future;

use capnp_rpc::rpc_twoparty_capnp::Side;
use capnp_rpc::{twoparty, RpcSystem};
use stem::stem_capnp::Status;
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};
use wetware_capnp::peer_capnp::{byte_stream, executor, host, process};
use wetware_capnp::WetwareMembrane;
use ww_runtime::rpc::Kernel;

/// Runs `test` on a current-thread runtime inside a `LocalSet`, as `ww` does; every task left
/// (children still running) is dropped when it returns.
pub fn local<F: Future>(test: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    tokio::task::LocalSet::new().block_on(&runtime, test)
}

/// Connects a two-party RPC client to `node` over an in-memory pipe; returns the membrane.
/// Must run inside [`local`].
pub fn connect(node: &Kernel) -> WetwareMembrane {
    let (client, server) = tokio::io::duplex(64 * 1024);
    node.serve(server);
    let (read, write) = tokio::io::split(client);
    let network = twoparty::VatNetwork::new(
        read.compat(),
        write.compat_write(),
        Side::Client,
        Default::default(),
    );
    let mut rpc = RpcSystem::new(Box::new(network), None);
    let membrane: WetwareMembrane = rpc.bootstrap(Side::Server);
    tokio::task::spawn_local(rpc);
    membrane
}

/// What an anonymous graft gives: the session's epoch and status, and its capabilities.
pub struct Session {
    pub epoch: u64,
    pub status: Status,
    pub host: host::Client,
    pub executor: executor::Client,
}

/// `membrane.graft()` with no signer, and the session's status polled once.
pub async fn try_graft(membrane: &WetwareMembrane) -> Result<Session, capnp::Error> {
    // No signer: an anonymous graft.
    let response = membrane.graft_request().send().promise.await?;
    let session = response.get()?.get_session()?;
    let poller = session.get_status_poller()?;
    let status = poller.poll_status_request().send().promise.await?;
    let extension = session.get_extension()?;
    Ok(Session {
        epoch: session.get_issued_epoch()?.get_seq(),
        status: status.get()?.get_status()?,
        host: extension.get_host()?,
        executor: extension.get_executor()?,
    })
}

/// [`try_graft`], which must succeed.
pub async fn graft(membrane: &WetwareMembrane) -> Session {
    try_graft(membrane).await.expect("graft")
}

/// `executor.echo(message)`.
pub async fn echo(executor: &executor::Client, message: &str) -> Result<String, capnp::Error> {
    let mut request = executor.echo_request();
    request.get().set_message(message);
    let response = request.send().promise.await?;
    Ok(response.get()?.get_response()?.to_string()?)
}

/// `executor.runBytes(wasm, args)` with an empty environment.
pub async fn try_run_bytes(
    executor: &executor::Client,
    wasm: &[u8],
    args: &[&str],
) -> Result<process::Client, capnp::Error> {
    let mut request = executor.run_bytes_request();
    request.get().set_wasm(wasm);
    let mut list = request.get().init_args(args.len() as u32);
    for (i, arg) in args.iter().enumerate() {
        list.set(i as u32, *arg);
    }
    request.get().init_env(0);
    request.send().promise.await?.get()?.get_process()
}

/// `process.wait()`: the exit code.
pub async fn wait(process: &process::Client) -> Result<i32, capnp::Error> {
    let response = process.wait_request().send().promise.await?;
    Ok(response.get()?.get_exit_code())
}

/// One of a process's standard streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdio {
    Stdin,
    Stdout,
    Stderr,
}

/// The stream `which` of `process`.
pub async fn stream(process: &process::Client, which: Stdio) -> byte_stream::Client {
    let stream = match which {
        Stdio::Stdin => process
            .stdin_request()
            .send()
            .promise
            .await
            .and_then(|r| r.get()?.get_stream()),
        Stdio::Stdout => process
            .stdout_request()
            .send()
            .promise
            .await
            .and_then(|r| r.get()?.get_stream()),
        Stdio::Stderr => process
            .stderr_request()
            .send()
            .promise
            .await
            .and_then(|r| r.get()?.get_stream()),
    };
    stream.expect("a stdio stream")
}
