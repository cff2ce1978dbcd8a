//! The `/ipns/NAME[/path]` layers of `ww run`: each resolved once, through the IPFS node, to the
//! `/ipfs/CID[/path]` the name points at now, before any layer loads; the rest of the run sees
//! only content paths. A name that does not resolve stops the run with an error naming the
//! name and the node.

use std::path::PathBuf;

use ww_content::ipfs::name::split_ipns;
use ww_content::ipfs::LazyNode;

use crate::error::BootError;

/// `layers` with every `/ipns/NAME[/path]` replaced by what `node` resolves it to.
pub fn resolve_layers(layers: &[String], node: &LazyNode) -> Result<Vec<String>, BootError> {
    layers
        .iter()
        .map(|arg| {
            let bad = |reason: String| BootError::Layer {
                dir: PathBuf::from(arg),
                reason,
            };
            let Some(split) = split_ipns(arg) else {
                return Ok(arg.clone());
            };
            let (name, below) = split.map_err(bad)?;
            let target = node.resolve_name(name).map_err(|e| bad(e.to_string()))?;
            let resolved = if below.is_empty() {
                format!("/ipfs/{target}")
            } else {
                format!("/ipfs/{target}/{below}")
            };
            tracing::info!(name = %format!("/ipns/{name}"), to = %resolved, "resolved");
            Ok(resolved)
        })
        .collect()
}
