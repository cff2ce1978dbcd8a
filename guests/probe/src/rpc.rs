//! The behaviours that use the RPC connection: `nest`, `host`, `echo-many N`.

use futures::future::join_all;
use wetware_guest::capnp;
use wetware_guest::{connect_and_graft, stdio, Child, Error};

/// The child-echo component, built in an earlier wave by `wwpack build`.
const CHILD_ECHO: &[u8] = include_bytes!(env!("WWPACK_ARTIFACT_CHILD_ECHO"));

/// Runs child-echo as a child, relays its stdout and stderr, prints
/// `child exited with status N`; exits 0 when the child did.
pub async fn nest() -> Result<u8, Error> {
    let session = connect_and_graft().await?;
    let child = Child::spawn(&session.executor, CHILD_ECHO, &[], &[]).await?;
    child.close_stdin().await?;
    let (mut out, mut err) = (stdio::stdout(), stdio::stderr());
    let status = child.relay(&mut out, &mut err).await?;
    out.write_line(&format!("child exited with status {status}"))
        .await?;
    Ok(if status == 0 { 0 } else { 1 })
}

/// Prints `id <peer-id>`, `addrs <n>`, one `peer <id> <addr,...>` line per boot peer, and
/// `connect: <error>` (dialing is not supported in this release, so `connect` fails; it dials
/// the first boot peer, or the host itself when there is none).
pub async fn host() -> Result<u8, Error> {
    let session = connect_and_graft().await?;
    let host = &session.host;
    let mut out = stdio::stdout();

    let id = call(host.id_request().send().promise.await, "Host.id", |r| {
        Ok(r.get()?.get_peer_id()?.to_string()?)
    })?;
    out.write_line(&format!("id {id}")).await?;

    let addrs = call(
        host.addrs_request().send().promise.await,
        "Host.addrs",
        |r| Ok(r.get()?.get_addrs()?.len()),
    )?;
    out.write_line(&format!("addrs {addrs}")).await?;

    let peers = call(
        host.peers_request().send().promise.await,
        "Host.peers",
        |r| {
            let mut peers = Vec::new();
            for peer in r.get()?.get_peers()? {
                let mut addrs = Vec::new();
                for addr in peer.get_addrs()? {
                    addrs.push(addr?.to_string()?);
                }
                peers.push((peer.get_id()?.to_string()?, addrs));
            }
            Ok(peers)
        },
    )?;
    for (peer, addrs) in &peers {
        out.write_line(&format!("peer {peer} {}", addrs.join(",")))
            .await?;
    }

    let mut request = host.connect_request();
    {
        let mut target = request.get().init_peer();
        match peers.first() {
            Some((peer, addrs)) => {
                target.set_id(peer.as_str());
                let mut list = target.init_addrs(u32::try_from(addrs.len()).unwrap_or(0));
                for (i, addr) in (0u32..).zip(addrs) {
                    list.set(i, addr.as_str());
                }
            }
            None => target.set_id(id.as_str()),
        }
    }
    match request.send().promise.await {
        Ok(_) => out.write_line("connect: ok").await?,
        // The SDK's wording: `connect: <kind>: <reason>`, without capnp's `remote exception`.
        Err(e) => {
            out.write_line(&Error::rpc("connect", e).to_string())
                .await?
        }
    }
    Ok(0)
}

/// Makes `count` echo calls at once and prints `matched M/N`; exits 0 when all matched.
pub async fn echo_many(count: u32) -> Result<u8, Error> {
    let session = connect_and_graft().await?;
    let messages: Vec<String> = (0..count).map(|i| format!("echo-many {i}")).collect();
    let replies = join_all(messages.iter().map(|m| session.echo(m))).await;
    let mut matched = 0u32;
    for (message, reply) in messages.iter().zip(replies) {
        if reply? == *message {
            matched += 1;
        }
    }
    stdio::stdout()
        .write_line(&format!("matched {matched}/{count}"))
        .await?;
    Ok(if matched == count { 0 } else { 1 })
}

/// Reads a response with `read`, naming `name` in errors.
fn call<R, T>(
    response: capnp::Result<capnp::capability::Response<R>>,
    name: &str,
    read: impl FnOnce(&capnp::capability::Response<R>) -> capnp::Result<T>,
) -> Result<T, Error>
where
    R: capnp::traits::Owned,
{
    let response = response.map_err(|e| Error::rpc(name, e))?;
    read(&response).map_err(|e| Error::rpc(format!("{name}: reading the response"), e))
}
