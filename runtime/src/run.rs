//! `ww run`: the union of the given layer directories, booted at its pid0.

use std::path::{Path, PathBuf};

use stem::{Epoch, Epochs};
use wwpack::block::BlockSource;
use wwpack::image::PID0;
use wwpack::store::Store;

use crate::boot::read_boot_peers;
use crate::cache::Cache;
use crate::cell::{self, CellSpec, Stdio};
use crate::error::BootError;
use crate::identity::Identity;
use crate::loader::ChainLoader;
use crate::root::UnionRoot;
use crate::rpc::{Node, NodeIdentity};

/// What `ww run` boots.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The image and overlays (CID, `/ipfs/CID[/path]` or host directory), earliest first; a
    /// later one wins per file.
    pub layers: Vec<String>,
    /// Arguments passed to pid0 after its program name.
    pub args: Vec<String>,
    /// The embedded block store.
    pub store: PathBuf,
    /// The cache of files and union roots.
    pub cache: PathBuf,
    /// The node's key file (`--identity`); it must exist. `None`: the default key, created the
    /// first time a process asks for the peer ID.
    pub identity: Option<PathBuf>,
}

/// Boots pid0 of the union of `opts.layers` and returns its exit status. `node` is the IPFS
/// node to fetch missing blocks from, with its URL for messages.
///
/// pid0 runs with ww's stdio, the union root read-only at `/`, and its RPC connections served
/// by a [`Node`]; its children run beside it on the same thread. When pid0 ends, so does the
/// run, whatever its children are doing.
pub fn run(opts: &RunOptions, node: Option<(&dyn BlockSource, String)>) -> Result<u8, BootError> {
    let store = Store::open(&opts.store).map_err(|e| BootError::Host(e.to_string()))?;
    let cache = Cache::open(&opts.cache)?;
    let loader = ChainLoader {
        store: &store,
        node: node.as_ref().map(|(n, _)| *n),
        node_label: node.as_ref().map(|(_, url)| url.clone()),
        cache: &cache,
    };
    let layers = opts
        .layers
        .iter()
        .map(|arg| loader.load(arg))
        .collect::<Result<Vec<_>, _>>()?;
    let root = UnionRoot::materialize(layers, &cache)?;
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
    let bytes = std::fs::read(&source).map_err(|e| BootError::Unbootable {
        file: name.clone(),
        reason: format!("cannot read: {e}"),
    })?;
    let mut argv = vec![format!("/{PID0}")];
    argv.extend(opts.args.iter().cloned());

    let engine = crate::engine::engine()?;
    let component = cell::compile(&engine, &name, &bytes)?;
    let command = cell::link(&engine, &name, &component)?;
    let identity = node_identity(opts.identity.as_deref())?;
    let root_path = root.path();
    let boot_peers = read_boot_peers(&root_path)
        .map_err(|e| BootError::Host(format!("cannot read the boot peers: {e}")))?;

    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BootError::Host(format!("cannot start the async runtime: {e}")))?;
    let local = tokio::task::LocalSet::new();
    let node = Node::new(engine, Epochs::new(Epoch::genesis()), identity, boot_peers);
    let spec = CellSpec {
        name,
        args: argv,
        env: Vec::new(),
        root: Some(root_path),
        stdio: Stdio::Inherit,
    };
    let status = local.block_on(&tokio, node.run_process(&command, spec));
    // Children still running end here, with pid0; nothing waits for them.
    drop(local);
    tokio.shutdown_background();
    status
}

/// The node's key: the `--identity` file, loaded now so that a bad one stops the boot, or the
/// default key file, read or created when first needed.
fn node_identity(explicit: Option<&Path>) -> Result<NodeIdentity, BootError> {
    match explicit {
        Some(path) => Identity::load(path)
            .map(NodeIdentity::Key)
            .map_err(|e| BootError::Host(e.to_string())),
        None => Ok(NodeIdentity::CreateOnUse(Identity::default_path())),
    }
}
