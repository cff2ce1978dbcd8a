//! [`Kernel`]: what every process of one `ww run` shares (engine, epochs, identity, boot peers,
//! limits and the [`Budget`] of processes and memory they draw from), and the code that runs a
//! process and serves its membrane on a connection.
//!
//! The capability servers (`host`, `executor`, `process`) never name the kernel: each asks for
//! what it needs through a small trait of its own (`HostView`, `ExecutorView`,
//! `ProcessView`), which the kernel implements here, so the modules form no import cycle even
//! though a child's connections are served by the kernel that runs it.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use capnp_rpc::rpc_twoparty_capnp::Side;
use capnp_rpc::{twoparty, RpcSystem};
use stem::{Epochs, MembraneServer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};
use wasmtime::Engine;
use wetware_capnp::WetwareMembrane;

use crate::boot::BootPeer;
use crate::cell::{self, CellSpec, Command};
use crate::compile_cache::CompileCache;
use crate::error::BootError;
use crate::identity::{Identity, IdentityError};
use crate::limits::{Budget, Limiter, Limits, ProcessSlot};
use crate::rpc::connection::{self, Incoming};
use crate::rpc::executor::ExecutorView;
use crate::rpc::host::HostView;
use crate::rpc::process::ProcessView;
use crate::rpc::session::WetwareSessionBuilder;

/// Where the node's key comes from.
#[derive(Debug, Clone)]
pub enum NodeIdentity {
    /// A key already loaded (`ww run --identity FILE`, or a test's key).
    Key(Identity),
    /// The key file at this path, read (or created) the first time a process asks for the
    /// peer ID, so that a run that never asks writes nothing; `None` when there is no home for
    /// it, which makes `Host.id` fail.
    CreateOnUse(Option<PathBuf>),
}

/// The largest Cap'n Proto message ww reads from a process (64 MiB, capnp's default, stated
/// here so guests can check it): a bigger one, e.g. `runBytes` of a larger component, ends the
/// connection, since the two-party protocol cannot skip a message it did not read.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// The kernel of one `ww run`: what all its processes share, and what runs them and serves
/// their membranes. Cheap to clone (shared); lives on one thread.
///
/// Serving a membrane needs a [`tokio::task::LocalSet`] on a tokio runtime with time and I/O
/// enabled: every RPC connection and every child process is a local task.
///
/// ```no_run
/// # fn doc(stream: tokio::io::DuplexStream) -> Result<(), Box<dyn std::error::Error>> {
/// use ww_runtime::rpc::{Kernel, NodeIdentity};
/// let kernel = Kernel::new(
///     ww_runtime::engine::engine()?,
///     stem::Epochs::new(stem::Epoch::genesis()),
///     NodeIdentity::Key(ww_runtime::identity::Identity::generate()?),
///     Vec::new(),
/// );
/// // Inside a LocalSet: the other end of `stream` bootstraps a Membrane(WetwareSession).
/// kernel.serve(stream);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Kernel {
    inner: Rc<Inner>,
    compile_cache: CompileCache,
    limits: Limits,
    budget: Budget,
}

struct Inner {
    engine: Engine,
    epochs: Epochs,
    identity: RefCell<NodeIdentity>,
    boot_peers: Vec<BootPeer>,
}

impl Kernel {
    /// A kernel running components on `engine` (use [`crate::engine::engine`] so that busy cells
    /// yield), issuing sessions in `epochs`, answering `Host.id` with `identity` and
    /// `Host.peers` with `boot_peers`.
    pub fn new(
        engine: Engine,
        epochs: Epochs,
        identity: NodeIdentity,
        boot_peers: Vec<BootPeer>,
    ) -> Kernel {
        Kernel {
            inner: Rc::new(Inner {
                engine,
                epochs,
                identity: RefCell::new(identity),
                boot_peers,
            }),
            compile_cache: CompileCache::disabled(),
            limits: Limits::default(),
            budget: Budget::new(&Limits::default()),
        }
    }

    /// This kernel with `limits` for every process it runs, pid0 and children alike, and for all
    /// of them together (a new kernel has [`Limits::default`]). Call it before the kernel runs
    /// anything: it starts a new, unused [`Budget`].
    pub fn with_limits(mut self, limits: Limits) -> Kernel {
        self.limits = limits;
        self.budget = Budget::new(&limits);
        self
    }

    /// What the processes of this kernel use of the limits they share: how many are alive, how
    /// much linear memory they hold.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The limits each process of this kernel runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// This kernel with `cache` for the components its processes start (`runBytes`); a new
    /// kernel compiles every one (see [`CompileCache::disabled`]).
    pub fn with_compile_cache(mut self, cache: CompileCache) -> Kernel {
        self.compile_cache = cache;
        self
    }

    /// Where the components of this kernel's children are compiled, or loaded from.
    pub fn compile_cache(&self) -> &CompileCache {
        &self.compile_cache
    }

    /// The engine every process of this kernel runs on.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The epochs every session of this kernel is guarded by; advancing them makes every session
    /// and membrane issued before stale.
    pub fn epochs(&self) -> &Epochs {
        &self.inner.epochs
    }

    /// The peers of the image's `boot/` directory, sorted by peer ID.
    pub fn boot_peers(&self) -> &[BootPeer] {
        &self.inner.boot_peers
    }

    /// The node's libp2p peer ID, reading or creating the default key file on first use.
    pub fn peer_id(&self) -> Result<String, IdentityError> {
        let mut identity = self.inner.identity.borrow_mut();
        let key = match &*identity {
            NodeIdentity::Key(key) => return Ok(key.peer_id()),
            NodeIdentity::CreateOnUse(None) => return Err(IdentityError::NoHome),
            NodeIdentity::CreateOnUse(Some(path)) => Identity::load_or_create(path)?,
        };
        let peer_id = key.peer_id();
        *identity = NodeIdentity::Key(key);
        Ok(peer_id)
    }

    /// A new membrane, issued in the current epoch: `graft` on it gives a session with this
    /// kernel's Host and Executor. Each connection gets its own, so a process that finds its
    /// membrane stale opens a new connection to graft again.
    pub fn membrane(&self) -> WetwareMembrane {
        MembraneServer::new(self.epochs(), WetwareSessionBuilder::new(self.clone())).into_client()
    }

    /// Serves a fresh [`Kernel::membrane`] as the bootstrap capability of a Cap'n Proto two-party
    /// connection (this side is the server) over `stream`, as a local task that ends when the
    /// connection does. Must be called inside a [`tokio::task::LocalSet`].
    pub fn serve<S>(&self, stream: S) -> tokio::task::JoinHandle<()>
    where
        S: AsyncRead + AsyncWrite + 'static,
    {
        let (read, write) = tokio::io::split(stream);
        let network = twoparty::VatNetwork::new(
            futures::io::BufReader::new(read.compat()),
            futures::io::BufWriter::new(write.compat_write()),
            Side::Server,
            *capnp::message::ReaderOptions::new()
                .traversal_limit_in_words(Some(MAX_MESSAGE_BYTES / 8)),
        );
        let rpc = RpcSystem::new(Box::new(network), Some(self.membrane().client));
        tokio::task::spawn_local(async move {
            match rpc.await {
                Ok(()) => {}
                // A process that ends mid-conversation; nothing to report.
                Err(e) if e.kind == capnp::ErrorKind::Disconnected => {
                    tracing::debug!("an RPC connection ended: {e}");
                }
                Err(e) => tracing::warn!("an RPC connection failed and was closed: {e}"),
            }
        })
    }

    /// Serves every connection `incoming` yields until the process that opens them ends.
    async fn accept(self, mut incoming: Incoming) {
        while let Some(stream) = incoming.next().await {
            self.serve(stream);
        }
    }

    /// Runs a process (pid0, a service) in a slot of its own: its connections are served by
    /// this kernel while it runs. Fails without running it when [`Limits::max_processes`] are
    /// alive. Must be called inside a [`tokio::task::LocalSet`].
    pub(crate) async fn run_process(
        &self,
        command: &Command,
        spec: CellSpec,
    ) -> Result<u8, BootError> {
        match self.budget.process_slot() {
            Ok(slot) => self.run_in_slot(slot, command, spec).await,
            Err(exceeded) => Err(BootError::Limit {
                file: spec.name,
                exceeded,
            }),
        }
    }

    /// Runs a process in `slot`, taken before it was compiled (`runBytes`), and gives the slot
    /// back when the process has ended and its store, with the memory it held, is gone: once
    /// this returns, or once it is dropped.
    pub(crate) async fn run_in_slot(
        &self,
        slot: ProcessSlot,
        command: &Command,
        spec: CellSpec,
    ) -> Result<u8, BootError> {
        let (sink, incoming) = connection::channel();
        let acceptor = tokio::task::spawn_local(self.clone().accept(incoming));
        let limiter = Limiter::new(self.limits, self.budget.clone());
        let outcome = cell::run(self.engine(), command, spec, sink, limiter).await;
        drop(slot);
        // The sink died with the store, so the acceptor is finishing; connections already
        // accepted end when their streams do.
        drop(acceptor);
        outcome
    }
}

impl HostView for Kernel {
    fn peer_id(&self) -> Result<String, IdentityError> {
        Kernel::peer_id(self)
    }

    fn boot_peers(&self) -> &[BootPeer] {
        Kernel::boot_peers(self)
    }
}

impl ProcessView for Kernel {
    fn engine(&self) -> &Engine {
        Kernel::engine(self)
    }

    fn compile_cache(&self) -> &CompileCache {
        Kernel::compile_cache(self)
    }

    async fn run_in_slot(
        &self,
        slot: ProcessSlot,
        command: &Command,
        spec: CellSpec,
    ) -> Result<u8, BootError> {
        Kernel::run_in_slot(self, slot, command, spec).await
    }
}

impl ExecutorView for Kernel {
    fn budget(&self) -> &Budget {
        Kernel::budget(self)
    }
}
