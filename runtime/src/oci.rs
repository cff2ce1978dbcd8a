//! The `oci://REGISTRY/REPO[:TAG|@DIGEST]` layers of `ww run`: each image fetched once from its
//! registry into the block store before any layer loads ([`ww_oci::fetch`]: every digest
//! verified, the layers unpacked into their union under the hardening rules, the union
//! imported and its root checked against the CID the manifest promises), then loaded by its
//! root as any `/ipfs/CID` layer. The work happens in the cache's `tmp/` (under the cache's
//! shared lock, so no prune removes it meanwhile) and is removed.

use std::path::PathBuf;
use std::time::Duration;

use ww_content::store::Store;
use ww_oci::registry::{ClientOptions, Credentials, PullLimits, Reference};

use crate::error::BootError;
use crate::run::RunOptions;

/// The prefix of a layer in a registry.
pub const PREFIX: &str = "oci://";

/// How ww reaches registries: `--plain-http` (HTTP to a loopback registry), `--insecure` (HTTP
/// to any), and the timeout of each request.
#[derive(Debug, Clone, Copy)]
pub struct Reach {
    pub plain_http: bool,
    pub insecure: bool,
    pub timeout: Duration,
}

/// `opts.layers` with every `oci://REF` replaced by `/ipfs/ROOT` of the image fetched.
pub fn resolve_layers(opts: &RunOptions, reach: Reach) -> Result<Vec<String>, BootError> {
    if !opts.layers.iter().any(|l| l.starts_with(PREFIX)) {
        return Ok(opts.layers.clone());
    }
    let store = Store::open(&opts.store).map_err(|e| BootError::Host(e.to_string()))?;
    // Under the cache's shared lock: a prune (another ww starting) empties `tmp/` of what no
    // living ww is writing, and this is writing there.
    let cache = crate::cache::Cache::open(&opts.cache)?;
    let _writing = cache.writing();
    let work = opts.cache.join("tmp");
    opts.layers
        .iter()
        .map(|arg| {
            let Some(text) = arg.strip_prefix(PREFIX) else {
                return Ok(arg.clone());
            };
            let bad = |reason: String| BootError::Layer {
                dir: PathBuf::from(arg),
                reason,
            };
            let reference: Reference = text.parse().map_err(|e: ww_oci::registry::BadReference| bad(e.to_string()))?;
            let credentials =
                Credentials::from_docker_config(&reference.registry).map_err(|e| {
                    bad(format!("reading the credentials from the Docker config: {e}"))
                })?;
            let client = ClientOptions {
                plain_http: reach.plain_http || reach.insecure,
                plain_http_remote: reach.insecure,
                timeout: reach.timeout,
                credentials,
            };
            let limits = ww_oci::unpack::Limits {
                max_bytes: opts.max_image_size,
                ..ww_oci::unpack::Limits::default()
            };
            let pull = PullLimits {
                max_blob_bytes: opts.max_image_size,
                max_total_bytes: opts.max_image_size,
            };
            let fetched = ww_oci::fetch::fetch(&reference, client, &store, &work, pull, limits)
                .map_err(|e| bad(e.to_string()))?;
            let root = format!("/ipfs/{}", fetched.imported.root);
            tracing::info!(reference = %reference, manifest = %fetched.pulled.manifest, to = %root, "fetched");
            Ok(root)
        })
        .collect()
}
