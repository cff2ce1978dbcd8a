//! `Host`: the node a process runs on. Every call fails with `staleEpoch` once the session's
//! epoch has passed.

use std::future::{ready, Future};
use std::rc::Rc;

use stem::EpochGuard;
use wetware_capnp::peer_capnp::{executor, host};

use crate::boot::BootPeer;
use crate::identity::IdentityError;

/// What a Host tells of the kernel it runs on (implemented by [`crate::rpc::Kernel`]; see
/// [`crate::rpc::process::ProcessView`] for why it is a trait).
pub(crate) trait HostView: 'static {
    /// The node's libp2p peer ID.
    fn peer_id(&self) -> Result<String, IdentityError>;
    /// The peers of the image's `boot/` directory.
    fn boot_peers(&self) -> &[BootPeer];
}

/// The message of every `connect`.
pub const CONNECT_UNSUPPORTED: &str =
    "connect is not supported in this release (ww does not run a libp2p swarm yet)";

pub(crate) struct HostServer<K> {
    kernel: K,
    guard: EpochGuard,
    executor: executor::Client,
}

impl<K: HostView> HostServer<K> {
    pub(crate) fn new(kernel: K, guard: EpochGuard, executor: executor::Client) -> HostServer<K> {
        HostServer {
            kernel,
            guard,
            executor,
        }
    }
}

impl<K: HostView> host::Server for HostServer<K> {
    fn id(
        self: Rc<Self>,
        _: host::IdParams,
        mut results: host::IdResults,
    ) -> impl Future<Output = capnp::Result<()>> + 'static {
        ready(self.guard.check().and_then(|()| {
            let peer_id = self
                .kernel
                .peer_id()
                .map_err(|e| capnp::Error::failed(format!("Host.id: {e}")))?;
            results.get().set_peer_id(peer_id.as_str());
            Ok(())
        }))
    }

    fn addrs(
        self: Rc<Self>,
        _: host::AddrsParams,
        mut results: host::AddrsResults,
    ) -> impl Future<Output = capnp::Result<()>> + 'static {
        // ww does not listen in this release.
        ready(self.guard.check().map(|()| {
            results.get().init_addrs(0);
        }))
    }

    fn peers(
        self: Rc<Self>,
        _: host::PeersParams,
        mut results: host::PeersResults,
    ) -> impl Future<Output = capnp::Result<()>> + 'static {
        ready(self.guard.check().and_then(|()| {
            let known = self.kernel.boot_peers();
            let mut peers = results.get().init_peers(list_len(known.len())?);
            for (i, peer) in known.iter().enumerate() {
                let mut info = peers.reborrow().get(i as u32);
                info.set_id(peer.id.as_str());
                let mut addrs = info.init_addrs(list_len(peer.addrs.len())?);
                for (j, addr) in peer.addrs.iter().enumerate() {
                    addrs.set(j as u32, addr.as_str());
                }
            }
            Ok(())
        }))
    }

    fn connect(
        self: Rc<Self>,
        _: host::ConnectParams,
        _: host::ConnectResults,
    ) -> impl Future<Output = capnp::Result<()>> + 'static {
        ready(
            self.guard
                .check()
                .and_then(|()| Err(capnp::Error::unimplemented(CONNECT_UNSUPPORTED.into()))),
        )
    }

    fn executor(
        self: Rc<Self>,
        _: host::ExecutorParams,
        mut results: host::ExecutorResults,
    ) -> impl Future<Output = capnp::Result<()>> + 'static {
        ready(self.guard.check().map(|()| {
            results.get().set_executor(self.executor.clone());
        }))
    }
}

/// A Cap'n Proto list length.
fn list_len(len: usize) -> capnp::Result<u32> {
    u32::try_from(len).map_err(|_| capnp::Error::failed(format!("{len} items do not fit a list")))
}
