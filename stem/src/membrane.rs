//! The membrane a process grafts onto to get its session, generic in what the session grants.

use capnp::capability::Rc;
use capnp::traits::Owned;

use crate::epoch::{EpochGuard, Epochs};
use crate::stem_capnp::{membrane, signer, status_poller, Status};

/// Builds the platform part (`extension`) of each session a membrane issues.
pub trait SessionExtension: 'static {
    /// The schema type of the extension (`SessionExt` in `Membrane(SessionExt)`).
    type Ext: Owned;

    /// Fills `ext` for a session issued in `guard`'s epoch: every capability put there should
    /// check `guard` on each call. `signer` is the grafting party's signer, `None` for an
    /// anonymous graft.
    fn build(
        &self,
        guard: &EpochGuard,
        signer: Option<signer::Client>,
        ext: <Self::Ext as Owned>::Builder<'_>,
    ) -> capnp::Result<()>;
}

/// Serves `Membrane(SessionExt)`: `graft` issues a session in the current epoch. The membrane
/// itself is guarded by the epoch it was created in, so once the epoch advances a graft on it
/// fails with `staleEpoch` (the holder must bootstrap again).
pub struct MembraneServer<X> {
    guard: EpochGuard,
    extension: X,
}

impl<X: SessionExtension> MembraneServer<X> {
    /// A membrane issued in the current epoch of `epochs`.
    pub fn new(epochs: &Epochs, extension: X) -> MembraneServer<X> {
        MembraneServer {
            guard: epochs.guard(),
            extension,
        }
    }

    /// The membrane as a capability.
    pub fn into_client(self) -> membrane::Client<X::Ext> {
        capnp_rpc::new_client(self)
    }

    fn graft_now(
        &self,
        params: membrane::GraftParams<X::Ext>,
        mut results: membrane::GraftResults<X::Ext>,
    ) -> capnp::Result<()> {
        self.guard.check()?;
        let params = params.get()?;
        let signer = if params.has_signer() {
            Some(params.get_signer()?)
        } else {
            None
        };
        let guard = self.guard.epochs().guard();
        let mut session = results.get().init_session();
        guard.issued().write(session.reborrow().init_issued_epoch());
        session.set_status_poller(capnp_rpc::new_client(StatusPollerServer {
            guard: guard.clone(),
        }));
        self.extension
            .build(&guard, signer, session.init_extension())
    }
}

impl<X: SessionExtension> membrane::Server<X::Ext> for MembraneServer<X> {
    fn graft(
        self: Rc<Self>,
        params: membrane::GraftParams<X::Ext>,
        results: membrane::GraftResults<X::Ext>,
    ) -> impl std::future::Future<Output = capnp::Result<()>> + 'static {
        std::future::ready(self.graft_now(params, results))
    }
}

/// Answers `ok` while the session's epoch is current, `staleEpoch` after.
struct StatusPollerServer {
    guard: EpochGuard,
}

impl status_poller::Server for StatusPollerServer {
    fn poll_status(
        self: Rc<Self>,
        _: status_poller::PollStatusParams,
        mut results: status_poller::PollStatusResults,
    ) -> impl std::future::Future<Output = capnp::Result<()>> + 'static {
        let outcome = self
            .guard
            .check()
            .map(|()| results.get().set_status(Status::Ok));
        std::future::ready(outcome)
    }
}
