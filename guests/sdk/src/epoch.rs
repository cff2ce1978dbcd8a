//! The session's epoch: whether it is still the host's ([`Session::epoch_status`]), and waiting
//! for it to end ([`Session::wait_epoch_end`]).
//!
//! A host hands out capabilities for one epoch at a time. It advances the epoch when it
//! upgrades, e.g. when `ww run --follow` sees a new image root published; from then on every
//! `Host` and `Executor` capability of the old session fails with a `staleEpoch` error, and so
//! does its `StatusPoller.pollStatus`. A guest that learns its epoch has ended should exit (the
//! upgraded image takes over) or graft again for a session in the new epoch.

use std::time::Duration;

use stem::stem_capnp::{status_poller, Status};
use stem::STALE_EPOCH;

use crate::error::{rpc_message, Error};
use crate::session::Session;
use crate::timer::sleep;

/// What `pollStatus` says about the session's epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EpochStatus {
    /// The session's epoch is the host's current one: its capabilities work.
    Current,
    /// The host has moved on: the `staleEpoch` message it refused `pollStatus` with (it names
    /// the session's epoch and the host's).
    Ended(String),
}

impl Session {
    /// One `StatusPoller.pollStatus` call: [`EpochStatus::Current`] while the session's epoch
    /// is the host's, [`EpochStatus::Ended`] once the host has advanced it (on an upgrade, e.g.
    /// `ww run --follow` adopting a new image root). Any other failure, a status other than
    /// `ok`, or a host that withheld the status poller is an [`Error`].
    pub async fn epoch_status(&self) -> Result<EpochStatus, Error> {
        let poller = self.poller()?;
        let answer = poller.poll_status_request().send().promise.await;
        match answer {
            Ok(response) => {
                let status = response
                    .get()
                    .and_then(|r| Ok(r.get_status()?))
                    .map_err(|e| Error::rpc("pollStatus: reading the status", e))?;
                match status {
                    Status::Ok => Ok(EpochStatus::Current),
                    other => Err(Error::rpc(
                        "pollStatus",
                        capnp::Error::failed(format!("the host answered {other:?}")),
                    )),
                }
            }
            Err(e) => ended(&e)
                .map(EpochStatus::Ended)
                .ok_or_else(|| Error::rpc("pollStatus", e)),
        }
    }

    /// Polls `pollStatus` every `every` until the session's epoch has ended, and returns the
    /// host's `staleEpoch` message. The host advances the epoch on an upgrade (`ww run
    /// --follow` adopting a new image root); a guest that called this should then exit, or
    /// graft again for capabilities of the new epoch. An [`Error`] when the host withheld the
    /// status poller or a poll fails otherwise. Other futures run while it waits.
    pub async fn wait_epoch_end(&self, every: Duration) -> Result<String, Error> {
        loop {
            match self.epoch_status().await? {
                EpochStatus::Current => sleep(every).await,
                EpochStatus::Ended(message) => return Ok(message),
            }
        }
    }

    /// The status poller, or the error of a host that withheld it.
    fn poller(&self) -> Result<&status_poller::Client, Error> {
        self.status_poller.as_ref().ok_or_else(|| {
            Error::rpc(
                "pollStatus",
                capnp::Error::failed("the host withheld the status poller".to_string()),
            )
        })
    }
}

/// The `staleEpoch` message of `e`, when `e` is the host refusing a call of a passed epoch.
fn ended(e: &capnp::Error) -> Option<String> {
    let message = rpc_message(e);
    message.starts_with(STALE_EPOCH).then_some(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::block_on;
    use crate::session::connect_and_graft;

    fn remote(reason: &str) -> capnp::Error {
        capnp::Error::failed(format!("remote exception: {reason}"))
    }

    #[test]
    fn only_a_stale_epoch_refusal_ends_the_epoch() {
        let stale = "staleEpoch: this capability was issued in epoch 1, and the host is in epoch 2; graft again";
        assert_eq!(ended(&remote(stale)).as_deref(), Some(stale));
        assert_eq!(ended(&remote("unauthorized")), None);
        assert_eq!(ended(&capnp::Error::disconnected("gone".into())), None);
    }

    /// Needs the host: run the test binary as pid0 under `ww run` (a host that does not advance
    /// its epoch meanwhile).
    #[test]
    fn a_fresh_session_is_in_the_current_epoch() {
        let outcome = block_on(async {
            let session = connect_and_graft().await?;
            let status = session.epoch_status().await?;
            Ok::<_, Error>((session.epoch, status))
        });
        match outcome {
            Ok(Ok((epoch, status))) => {
                assert!(epoch >= 1, "epoch {epoch}");
                assert_eq!(status, EpochStatus::Current);
            }
            Ok(Err(e)) => panic!("{e}"),
            Err(e) => panic!("{e}"),
        }
    }
}
