//! `ww run`: the union of the given layer directories, booted at its pid0.

use std::path::PathBuf;

use wasmtime::Engine;
use wwpack::image::PID0;

use crate::cell::{self, CellSpec};
use crate::error::BootError;
use crate::root::UnionRoot;

/// What `ww run` boots.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The image directory and overlays, earliest first; a later one wins per file.
    pub layers: Vec<PathBuf>,
    /// Arguments passed to pid0 after its program name.
    pub args: Vec<String>,
}

/// Boots pid0 of the union of `opts.layers` and returns its exit status.
pub fn run(opts: &RunOptions) -> Result<u8, BootError> {
    let root = UnionRoot::materialize(&opts.layers)?;
    let (source, layer) = root.source_of(PID0).ok_or_else(|| BootError::NoPid0 {
        layers: root.layers().to_vec(),
    })?;
    let name = if source.starts_with(layer) {
        source.display().to_string()
    } else {
        format!("{PID0} (from {layer})")
    };
    let bytes = std::fs::read(source).map_err(|e| BootError::Unbootable {
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
