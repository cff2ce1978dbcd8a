//! What a graft grants: the `WetwareSession` extension of every session a node's membrane
//! issues, a Host and an Executor guarded by the session's epoch.

use stem::stem_capnp::signer;
use stem::{EpochGuard, SessionExtension};
use wetware_capnp::membrane_capnp::wetware_session;
use wetware_capnp::peer_capnp::{executor, host};

use crate::rpc::executor::{ExecutorServer, ExecutorView};
use crate::rpc::host::{HostServer, HostView};

/// Fills `WetwareSession { host, executor }` for each graft.
///
/// The grafting party's signer is not called in this release: every graft, anonymous (a null
/// signer) or not, gets the same session. Authentication by signature comes with the policy
/// that needs it.
pub(crate) struct WetwareSessionBuilder<K> {
    kernel: K,
}

impl<K: HostView + ExecutorView> WetwareSessionBuilder<K> {
    pub(crate) fn new(kernel: K) -> WetwareSessionBuilder<K> {
        WetwareSessionBuilder { kernel }
    }
}

impl<K: HostView + ExecutorView> SessionExtension for WetwareSessionBuilder<K> {
    type Ext = wetware_session::Owned;

    fn build(
        &self,
        guard: &EpochGuard,
        _signer: Option<signer::Client>,
        mut ext: wetware_session::Builder<'_>,
    ) -> capnp::Result<()> {
        let executor: executor::Client =
            capnp_rpc::new_client(ExecutorServer::new(self.kernel.clone(), guard.clone()));
        let host: host::Client = capnp_rpc::new_client(HostServer::new(
            self.kernel.clone(),
            guard.clone(),
            executor.clone(),
        ));
        ext.set_host(host);
        ext.set_executor(executor);
        Ok(())
    }
}
