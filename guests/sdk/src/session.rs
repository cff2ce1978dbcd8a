//! Grafting onto the membrane: the [`Session`] that holds what the host grants this process.

use stem::stem_capnp::status_poller;
use wetware_capnp::peer_capnp::{executor, host};
use wetware_capnp::WetwareMembrane;

use crate::error::Error;
use crate::rpc;

/// What a graft grants: the host the process runs on and the executor that starts processes.
pub struct Session {
    /// The node the process runs on.
    pub host: host::Client,
    /// Starts child processes (`runBytes`) and answers `echo`.
    pub executor: executor::Client,
    /// The sequence number of the epoch the session was issued in.
    pub epoch: u64,
    /// Reports whether the session is still valid; `None` when the host withholds it.
    pub status_poller: Option<status_poller::Client>,
}

/// Grafts anonymously (a null signer) onto `membrane`.
pub async fn graft(membrane: &WetwareMembrane) -> Result<Session, Error> {
    let response = membrane
        .graft_request()
        .send()
        .promise
        .await
        .map_err(|e| Error::rpc("graft", e))?;
    let read = || -> capnp::Result<Session> {
        let session = response.get()?.get_session()?;
        let extension = session.get_extension()?;
        Ok(Session {
            host: extension.get_host()?,
            executor: extension.get_executor()?,
            epoch: session.get_issued_epoch()?.get_seq(),
            status_poller: session.get_status_poller().ok(),
        })
    };
    read().map_err(|e| Error::rpc("graft: reading the session", e))
}

/// Opens the RPC connection ([`rpc::connect`]) and grafts onto its membrane: the usual first step
/// of a guest that needs its host.
pub async fn connect_and_graft() -> Result<Session, Error> {
    let membrane = rpc::connect()?;
    graft(&membrane).await
}

impl Session {
    /// `Executor.echo`: returns `message` from the host, a liveness check of the RPC path.
    pub async fn echo(&self, message: &str) -> Result<String, Error> {
        let mut request = self.executor.echo_request();
        request.get().set_message(message);
        let response = request
            .send()
            .promise
            .await
            .map_err(|e| Error::rpc("echo", e))?;
        let read = || -> capnp::Result<String> { Ok(response.get()?.get_response()?.to_string()?) };
        read().map_err(|e| Error::rpc("echo: reading the response", e))
    }
}

/// These tests need the host: run the test binary as pid0 under `ww run`.
#[cfg(test)]
mod tests {
    use futures::future::join_all;

    use super::*;
    use crate::executor::block_on;
    use crate::process::Child;

    #[test]
    fn graft_and_echo_many_at_once() {
        let replies = block_on(async {
            let session = connect_and_graft().await?;
            let messages: Vec<String> = (0..64).map(|i| format!("message {i}")).collect();
            let replies = join_all(messages.iter().map(|m| session.echo(m))).await;
            Ok::<_, Error>((messages, replies))
        });
        let (messages, replies) = match replies {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => panic!("{e}"),
            Err(e) => panic!("{e}"),
        };
        for (message, reply) in messages.iter().zip(replies) {
            assert_eq!(reply.ok().as_ref(), Some(message));
        }
    }

    #[test]
    fn a_message_larger_than_the_pipe_gets_through_and_a_refused_spawn_keeps_the_session() {
        let outcome = block_on(async {
            let session = connect_and_graft().await?;
            // Far more than the connection's pipe holds: written within check-write's permits.
            let not_wasm = vec![b'?'; 3 * 1024 * 1024];
            let refused = Child::spawn(&session.executor, &not_wasm, &[], &[]).await;
            let reply = session.echo("still here").await?;
            Ok::<_, Error>((refused.err().map(|e| e.to_string()), reply))
        });
        match outcome {
            Ok(Ok((Some(refusal), reply))) => {
                // The host's reason, not just the call name the SDK adds to every refusal.
                assert!(refusal.contains("not WebAssembly"), "{refusal}");
                assert_eq!(reply, "still here");
            }
            Ok(Ok((None, _))) => panic!("runBytes accepted bytes that are not wasm"),
            Ok(Err(e)) => panic!("{e}"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn wasm_over_the_message_limit_is_refused_before_sending() {
        let outcome = block_on(async {
            let session = connect_and_graft().await?;
            let too_big = vec![0u8; crate::process::MAX_WASM_BYTES + 1];
            let refused = Child::spawn(&session.executor, &too_big, &[], &[]).await;
            // Had it been sent, the host would have dropped the connection.
            let reply = session.echo("still here").await?;
            Ok::<_, Error>((refused.err().map(|e| e.to_string()), reply))
        });
        match outcome {
            Ok(Ok((Some(refusal), reply))) => {
                let size = (crate::process::MAX_WASM_BYTES + 1).to_string();
                assert!(refusal.starts_with("runBytes: "), "{refusal}");
                assert!(refusal.contains(&size), "{refusal}");
                assert!(refusal.contains("60 MiB"), "{refusal}");
                assert_eq!(reply, "still here");
            }
            Ok(Ok((None, _))) => panic!("spawn sent more than a message may carry"),
            Ok(Err(e)) => panic!("{e}"),
            Err(e) => panic!("{e}"),
        }
    }
}
