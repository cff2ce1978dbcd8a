//! `wwpack pull --oci REF` (and the registry side of `push --oci`): images in an OCI registry.
//! A pull fetches the manifest and blobs (every digest verified), unpacks the layers in order
//! into their union in the store's `tmp/`, imports it and pins its root only when it is the
//! CID the manifest's annotation promises ([`ww_oci::fetch`]).

use anyhow::Context;
use ww_oci::registry::{ClientOptions, Credentials, PullLimits, Reference};

use crate::cli::{errln, outln, Globals};

/// How to reach a registry: `--plain-http` (HTTP to a loopback registry), `--insecure` (HTTP to
/// any), credentials from the Docker config file when it has some for the registry.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reach {
    pub plain_http: bool,
    pub insecure: bool,
}

impl From<crate::cli::args::RegistryArgs> for Reach {
    fn from(r: crate::cli::args::RegistryArgs) -> Reach {
        Reach {
            plain_http: r.plain_http,
            insecure: r.insecure,
        }
    }
}

impl Reach {
    /// The client options for `registry`.
    pub fn options(&self, g: &Globals, registry: &str) -> anyhow::Result<ClientOptions> {
        let credentials = Credentials::from_docker_config(registry).map_err(|e| {
            anyhow::anyhow!("reading the credentials for {registry} from the Docker config: {e}")
        })?;
        Ok(ClientOptions {
            plain_http: self.plain_http || self.insecure,
            plain_http_remote: self.insecure,
            timeout: g.timeout(),
            credentials,
        })
    }
}

/// Parses an image reference (`REGISTRY/REPO[:TAG|@DIGEST]`, `oci://` allowed in front).
pub fn reference(text: &str) -> anyhow::Result<Reference> {
    let text = text.strip_prefix("oci://").unwrap_or(text);
    Ok(text.parse::<Reference>()?)
}

/// `wwpack pull --oci REF`: prints the root CID (or with `json` a JSON object).
pub fn run_pull(g: &Globals, reference_text: &str, reach: Reach, json: bool) -> anyhow::Result<()> {
    let reference = reference(reference_text)?;
    let store = g.open_store()?;
    let opts = reach.options(g, &reference.registry)?;
    let work = store.dir().join("tmp");
    let fetched = ww_oci::fetch::fetch(
        &reference,
        opts,
        &store,
        &work,
        PullLimits::default(),
        ww_oci::unpack::Limits::default(),
    )
    .with_context(|| format!("pulling {reference}"))?;
    let root = fetched.imported.root;
    if json {
        outln!(
            "{}",
            serde_json::json!({
                "reference": reference.to_string(),
                "manifest": fetched.pulled.manifest.to_string(),
                "root": root.to_string(),
                "profile": fetched.imported.profile,
                "image": fetched.imported.image,
                "blobs": fetched.pulled.blobs,
                "bytes": fetched.pulled.bytes,
                "entries": fetched.imported.unpacked.entries,
                "file_bytes": fetched.imported.unpacked.bytes,
            })
        )?;
    } else {
        outln!("{root}")?;
        if !g.quiet {
            errln!(
                "pulled {reference} ({}, {} blobs, {} bytes): its layers give {root}, as its \
                 manifest says; pinned",
                fetched.pulled.manifest,
                fetched.pulled.blobs,
                fetched.pulled.bytes
            );
        }
    }
    Ok(())
}

/// `wwpack push --oci REF IMAGE`: exports the image (as `export --oci` does) to a layout in the
/// store's `tmp/` and uploads it to the registry, blobs the registry has not sent again; prints
/// the manifest's digest (or with `json` a JSON object).
pub fn run_push(
    g: &Globals,
    reference_text: &str,
    image: &str,
    compression: ww_oci::pack::Compression,
    reach: Reach,
    json: bool,
) -> anyhow::Result<()> {
    let reference = reference(reference_text)?;
    let tag = reference.tag.clone().unwrap_or_else(|| image.to_string());
    let store = g.open_store()?;
    let work = tempfile::Builder::new()
        .prefix("oci-push-")
        .tempdir_in(store.dir().join("tmp"))
        .context("making a work directory in the block store's tmp/")?;
    let layout_dir = work.path().join("layout");
    let exported = super::oci::export(g, image, &layout_dir, compression, Some(&tag))?;
    let layout = ww_oci::layout::Layout::open(&layout_dir, Some(&tag))
        .with_context(|| format!("reading back the layout of image `{image}`"))?;
    let client =
        ww_oci::registry::Client::new(&reference.registry, reach.options(g, &reference.registry)?)?;
    let started = std::time::Instant::now();
    let pushed = client
        .push_layout(&layout, &reference)
        .with_context(|| format!("pushing image `{image}` to {reference}"))?;
    let took = started.elapsed();
    if json {
        outln!(
            "{}",
            serde_json::json!({
                "reference": reference.to_string(),
                "image": image,
                "manifest": pushed.manifest.to_string(),
                "blobs_sent": pushed.blobs_sent,
                "bytes_sent": pushed.bytes_sent,
                "blobs_skipped": pushed.blobs_skipped,
                "bytes_skipped": pushed.bytes_skipped,
                "layout_bytes": exported.bytes,
                "seconds": took.as_secs_f64(),
            })
        )?;
    } else {
        outln!("{}", pushed.manifest)?;
        if !g.quiet {
            errln!(
                "pushed image `{image}` to {reference}: {} blobs sent ({} bytes), {} the registry \
                 had ({} bytes), in {:.2} s",
                pushed.blobs_sent,
                pushed.bytes_sent,
                pushed.blobs_skipped,
                pushed.bytes_skipped,
                took.as_secs_f64()
            );
        }
    }
    Ok(())
}
