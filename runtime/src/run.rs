//! `ww run`: the union of the given layer directories, booted at its pid0.

use std::path::{Path, PathBuf};

use stem::{Epoch, Epochs};
use ww_content::block::BlockSource;
use ww_content::cancel::Cancel;
use ww_content::store::Store;
use ww_image::PID0;

use crate::boot::read_boot_peers;
use crate::cache::lock::Lease;
use crate::cache::Cache;
use crate::cell::{self, CellSpec, Stdio};
use crate::compile_cache::CompileCache;
use crate::error::{BootError, Signal};
use crate::identity::Identity;
use crate::limits::Limits;
use crate::loader::{ChainLoader, ImageBudget};
use crate::root::UnionRoot;
use crate::rpc::{Kernel, NodeIdentity};
use crate::services;
use crate::signals::StopSignals;

/// How long ww waits, when it ends, for blocking work its processes started (compiles of
/// `runBytes` components and the cache entries they write).
pub(crate) const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// What `ww run` boots.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The image and overlays (CID, `/ipfs/CID[/path]` or host directory), earliest first; a
    /// later one wins per file.
    pub layers: Vec<String>,
    /// Arguments passed to pid0 after its program name.
    pub args: Vec<String>,
    /// pid0's environment from the command line (`-e`, `--env-file`; see [`crate::env`]), in
    /// order, over its image's.
    pub env: Vec<(String, String)>,
    /// The embedded block store.
    pub store: PathBuf,
    /// The cache of files and union roots.
    pub cache: PathBuf,
    /// The node's key file (`--identity`); it must exist. `None`: the default key, created the
    /// first time a process asks for the peer ID.
    pub identity: Option<PathBuf>,
    /// The limits of every process, pid0 and children alike.
    pub limits: Limits,
    /// `--no-cache`: compile every component, neither reading nor writing the compiled cache
    /// (`<cache>/compiled`, see [`crate::compile_cache`]).
    pub no_cache: bool,
    /// `--max-image-size`: the bytes of files the layers together may put in the cache
    /// (each distinct file once), checked before any is written.
    pub max_image_size: u64,
    /// `--cache-max-size`: the size the cache is pruned to once pid0 is compiled, evicting the
    /// least recently used entries no running ww holds ([`crate::cache`], Pruning).
    pub cache_max_size: u64,
    /// Raised by SIGINT and SIGTERM (registered by [`run`]); give the same one to the IPFS node
    /// so that a wait on it stops too.
    pub cancel: Cancel,
}

/// Boots pid0 of the union of `opts.layers` and returns its exit status. `node` is the IPFS
/// node to fetch missing blocks from, with its URL for messages.
///
/// pid0 runs with ww's stdio, the union root read-only at `/`, and its RPC connections served
/// by a [`Kernel`]; its children, and the union's `svc/` services ([`services`], started once
/// pid0 has started), run beside it on the same thread. When pid0 ends, so does the run,
/// whatever its children and services are doing. SIGINT and SIGTERM are caught from the start:
/// one that arrives while the layers load lets the current step finish (its files are written
/// atomically) and stops ww before pid0 runs; once pid0 runs, it stops pid0, every child and
/// every service at once ([`BootError::Stopped`]). While the image loads (before pid0 runs),
/// the signal raises `opts.cancel`, the load stops within a fraction of a second, removes its
/// temporary files and ww exits with [`BootError::StoppedLoading`].
pub fn run(opts: &RunOptions, node: Option<(&dyn BlockSource, String)>) -> Result<u8, BootError> {
    let (tokio, mut signals) = StopSignals::with_runtime(&opts.cancel)?;
    let stopped = |result: Result<_, BootError>| match opts.cancel.raised() {
        Some(signal) if result.is_err() => Err(BootError::StoppedLoading {
            signal: Signal::from_number(signal),
        }),
        _ => result,
    };
    let engine = crate::engine::engine()?;
    let compile_cache = compile_cache_of(opts);
    // The lease is held until ww ends: no prune removes this run's root or files meanwhile.
    let Prepared {
        root,
        boot_peers,
        lease: _lease,
        command,
        name,
        image_env,
    } = stopped(prepare(opts, node, &engine, &compile_cache))?;
    crate::cache::prune::at_startup(&opts.cache, opts.cache_max_size);
    let mut argv = vec![format!("/{PID0}")];
    argv.extend(opts.args.iter().cloned());
    let identity = node_identity(opts.identity.as_deref())?;
    let root_path = root.path();

    let local = tokio::task::LocalSet::new();
    let kernel = Kernel::new(engine, Epochs::new(Epoch::genesis()), identity, boot_peers)
        .with_compile_cache(compile_cache)
        .with_limits(opts.limits);
    let spec = CellSpec {
        name: name.clone(),
        args: argv,
        env: crate::env::layered(&image_env, &opts.env),
        root: Some(root_path),
        stdio: Stdio::Inherit,
    };
    let services = services::find(&root);
    let (status, running) = local.block_on(&tokio, async {
        let pid0 = kernel.run_process(&command, spec);
        tokio::pin!(pid0);
        // pid0 starts first (the select polls it before any local task runs), then the services.
        let running = services::start(&kernel, services);
        let status = tokio::select! {
            biased;
            signal = signals.recv() => Err(BootError::Stopped { signal, file: name }),
            status = &mut pid0 => status,
        };
        (status, running)
    });
    // Children and services still running end here, with pid0; nothing waits for them. A
    // component still being compiled on a blocking thread (`runBytes`, a service) is let finish,
    // so that its compiled-cache entry is written whole, within a grace period (a compile takes
    // seconds).
    drop(local);
    running.stopped(&match &status {
        Err(BootError::Stopped { signal, .. }) => signal.to_string(),
        _ => "pid0 ended".to_string(),
    });
    tokio.shutdown_timeout(SHUTDOWN_GRACE);
    status
}

/// An image loaded, checked and compiled: everything a boot does before pid0 runs.
pub(crate) struct Prepared {
    /// The union of the layers, materialized in the cache.
    pub root: UnionRoot,
    /// The peers of its `boot/`.
    pub boot_peers: Vec<crate::boot::BootPeer>,
    /// Holds the root and its files in the cache while the image may run.
    pub lease: Option<Lease>,
    /// pid0, compiled and linked.
    pub command: cell::Command,
    /// pid0 as messages name it (`bin/main.wasm (from layer ...)`).
    pub name: String,
    /// The environment the image sets for pid0 (its `etc/environment`), under the command line's.
    pub image_env: Vec<(String, String)>,
}

/// The compiled cache `opts` asks for (none with `--no-cache`).
pub(crate) fn compile_cache_of(opts: &RunOptions) -> CompileCache {
    if opts.no_cache {
        CompileCache::disabled()
    } else {
        CompileCache::new(&opts.cache)
    }
}

/// Loads `opts.layers` ([`load`]), finds pid0 in their union, and compiles and links it: every
/// check of a boot, so that what this returns boots (or fails only as its guest does).
pub(crate) fn prepare(
    opts: &RunOptions,
    node: Option<(&dyn BlockSource, String)>,
    engine: &wasmtime::Engine,
    compile_cache: &CompileCache,
) -> Result<Prepared, BootError> {
    let (root, boot_peers, lease) = load(opts, node)?;
    tracing::debug!(root = %root.cid(), path = %root.path().display(), "union root");
    let (source, name) = root
        .source_of(PID0)
        .ok_or_else(|| match root.kind_of(PID0) {
            Some(kind) => BootError::Unbootable {
                file: PID0.to_string(),
                reason: format!("is a {kind} in the union, not a file"),
            },
            None => BootError::NoPid0 {
                layers: root.layers().to_vec(),
            },
        })?;
    let bytes = crate::cache::read_cached(&source).map_err(|e| BootError::Unbootable {
        file: name.clone(),
        reason: format!("cannot read: {e}"),
    })?;
    let image_env = crate::env::of_image(&root, "").map_err(|reason| BootError::Unbootable {
        file: crate::env::IMAGE_ENV.to_string(),
        reason,
    })?;
    let component = compile_cache.component(engine, &name, &bytes)?;
    let command = cell::link(engine, &name, &component)?;
    Ok(Prepared {
        root,
        boot_peers,
        lease,
        command,
        name,
        image_env,
    })
}

/// Loads the layers, checks their union and materializes it: the root, the boot peers of its
/// `boot/` (checked as `wwpack build` checks them), and the lease that holds the root and its
/// files in the cache (taken under the cache's shared lock, held from the first file on).
fn load(
    opts: &RunOptions,
    node: Option<(&dyn BlockSource, String)>,
) -> Result<(UnionRoot, Vec<crate::boot::BootPeer>, Option<Lease>), BootError> {
    let store = Store::open(&opts.store).map_err(|e| BootError::Host(e.to_string()))?;
    let cache = Cache::open(&opts.cache)?.with_cancel(opts.cancel.clone());
    let writing = cache.writing();
    let loader = ChainLoader {
        store: &store,
        node: node.as_ref().map(|(n, _)| *n),
        node_label: node.as_ref().map(|(_, url)| url.clone()),
        cache: &cache,
        cancel: opts.cancel.clone(),
    };
    let mut budget = ImageBudget::new(opts.max_image_size);
    let layers = opts
        .layers
        .iter()
        .map(|arg| loader.load(arg, &mut budget))
        .collect::<Result<Vec<_>, _>>()?;
    for cid in store.repaired() {
        tracing::warn!(
            "repaired block {cid} in the block store {}: its file did not match its CID and was \
             replaced by verified bytes",
            store.dir().display()
        );
    }
    let root = UnionRoot::materialize(layers, &cache)?;
    let lease = cache.hold(&root.path(), root.union());
    drop(writing);
    let boot_peers = read_boot_peers(&root)?;
    Ok((root, boot_peers, lease))
}

/// The node's key: the `--identity` file, loaded now so that a bad one stops the boot, or the
/// default key file, read or created when first needed.
pub(crate) fn node_identity(explicit: Option<&Path>) -> Result<NodeIdentity, BootError> {
    match explicit {
        Some(path) => Identity::load(path)
            .map(NodeIdentity::Key)
            .map_err(|e| BootError::Host(e.to_string())),
        None => Ok(NodeIdentity::CreateOnUse(Identity::default_path())),
    }
}
