//! The membrane over a real Cap'n Proto two-party connection on an in-memory pipe: graft,
//! pollStatus, and the staleEpoch rule once the epoch advances.

use capnp_rpc::{rpc_twoparty_capnp::Side, twoparty, RpcSystem};
use futures::FutureExt;
use stem::stem_capnp::{epoch, membrane, signer, Status};
use stem::{Epoch, EpochGuard, Epochs, MembraneServer, SessionExtension, STALE_EPOCH};
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

/// A session extension for the tests: the epoch the session was issued in, and whether the
/// graft carried a signer (as `adoptedBlock` 1 or 0).
struct EchoEpoch;

impl SessionExtension for EchoEpoch {
    type Ext = epoch::Owned;

    fn build(
        &self,
        guard: &EpochGuard,
        signer: Option<signer::Client>,
        mut ext: epoch::Builder<'_>,
    ) -> capnp::Result<()> {
        guard.check()?;
        ext.set_seq(guard.issued().seq);
        ext.set_head(&guard.issued().head);
        ext.set_adopted_block(u64::from(signer.is_some()));
        Ok(())
    }
}

struct NoSigner;

impl signer::Server for NoSigner {}

/// Serves a membrane on one end of an in-memory pipe and returns the client end's bootstrap.
fn connect(epochs: &Epochs) -> membrane::Client<epoch::Owned> {
    let (client_io, server_io) = tokio::io::duplex(4096);
    let (read, write) = tokio::io::split(server_io);
    let network = twoparty::VatNetwork::new(
        read.compat(),
        write.compat_write(),
        Side::Server,
        Default::default(),
    );
    let membrane = MembraneServer::new(epochs, EchoEpoch).into_client();
    let server = RpcSystem::new(Box::new(network), Some(membrane.client));
    tokio::task::spawn_local(server.map(|_| ()));

    let (read, write) = tokio::io::split(client_io);
    let network = twoparty::VatNetwork::new(
        read.compat(),
        write.compat_write(),
        Side::Client,
        Default::default(),
    );
    let mut client = RpcSystem::new(Box::new(network), None);
    let membrane = client.bootstrap(Side::Server);
    tokio::task::spawn_local(client.map(|_| ()));
    membrane
}

/// Runs `test` on a LocalSet (Cap'n Proto objects are not Send).
fn local<F: std::future::Future<Output = ()>>(test: F) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    tokio::task::LocalSet::new().block_on(&rt, test);
}

async fn graft(
    membrane: &membrane::Client<epoch::Owned>,
    signer: Option<signer::Client>,
) -> capnp::Result<(Epoch, Epoch, stem::stem_capnp::status_poller::Client)> {
    let mut request = membrane.graft_request();
    if let Some(signer) = signer {
        request.get().set_signer(signer);
    }
    let response = request.send().promise.await?;
    let session = response.get()?.get_session()?;
    Ok((
        Epoch::read(session.get_issued_epoch()?)?,
        Epoch::read(session.get_extension()?)?,
        session.get_status_poller()?,
    ))
}

fn assert_stale(result: capnp::Result<impl Sized>, what: &str) {
    match result {
        Ok(_) => panic!("{what} succeeded in a stale epoch"),
        Err(e) => assert!(
            e.to_string().contains(STALE_EPOCH),
            "{what} failed without {STALE_EPOCH}: {e}"
        ),
    }
}

#[test]
fn graft_issues_a_session_in_the_current_epoch() {
    local(async {
        let epochs = Epochs::new(Epoch {
            seq: 7,
            head: b"head".to_vec(),
            adopted_block: 42,
        });
        let membrane = connect(&epochs);
        let (issued, ext, poller) = graft(&membrane, None).await.expect("graft");
        assert_eq!(issued, epochs.current());
        assert_eq!(
            ext.seq, 7,
            "the extension is built with the session's guard"
        );
        assert_eq!(ext.adopted_block, 0, "an anonymous graft has no signer");
        let status = poller
            .poll_status_request()
            .send()
            .promise
            .await
            .expect("pollStatus");
        assert_eq!(status.get().unwrap().get_status().unwrap(), Status::Ok);

        let (_, ext, _) = graft(&membrane, Some(capnp_rpc::new_client(NoSigner)))
            .await
            .expect("graft with a signer");
        assert_eq!(
            ext.adopted_block, 1,
            "the signer reaches the extension builder"
        );
    });
}

#[test]
fn everything_fails_with_stale_epoch_once_the_epoch_advances() {
    local(async {
        let epochs = Epochs::new(Epoch::genesis());
        let membrane = connect(&epochs);
        let (_, _, poller) = graft(&membrane, None).await.expect("graft");
        epochs
            .advance(Epoch {
                seq: 2,
                head: b"next".to_vec(),
                adopted_block: 1,
            })
            .expect("advance");
        assert_stale(
            poller.poll_status_request().send().promise.await,
            "pollStatus of a session issued in epoch 1",
        );
        assert_stale(
            graft(&membrane, None).await,
            "graft on a membrane of epoch 1",
        );

        // A membrane issued in the new epoch grafts again, at the new epoch.
        let fresh = connect(&epochs);
        let (issued, _, poller) = graft(&fresh, None).await.expect("graft in epoch 2");
        assert_eq!(issued.seq, 2);
        assert_eq!(issued.head, b"next");
        poller
            .poll_status_request()
            .send()
            .promise
            .await
            .expect("pollStatus in epoch 2");
    });
}

#[test]
fn the_epoch_sequence_only_increases() {
    let epochs = Epochs::new(Epoch::genesis());
    let err = epochs.advance(Epoch::genesis()).unwrap_err();
    assert!(err.contains("must increase"), "{err}");
    assert_eq!(epochs.current(), Epoch::genesis());
    let guard = epochs.guard();
    guard.check().expect("a fresh guard is current");
}
