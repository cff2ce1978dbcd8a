//! `ww run`: the union of the given layer directories, booted at its pid0.

use std::path::PathBuf;

use wasmtime::Engine;
use wwpack::block::BlockSource;
use wwpack::image::PID0;
use wwpack::store::Store;

use crate::cache::Cache;
use crate::cell::{self, CellSpec};
use crate::error::BootError;
use crate::loader::ChainLoader;
use crate::root::UnionRoot;

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
}

/// Boots pid0 of the union of `opts.layers` and returns its exit status. `node` is the IPFS
/// node to fetch missing blocks from, with its URL for messages.
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

    let engine = Engine::default();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BootError::Host(format!("cannot start the async runtime: {e}")))?;
    let root_path = root.path();
    tokio.block_on(cell::run(
        &engine,
        CellSpec {
            name: &name,
            bytes: &bytes,
            root: &root_path,
            args: &argv,
        },
    ))
}
