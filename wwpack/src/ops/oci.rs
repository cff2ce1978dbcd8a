//! `wwpack export --oci OUT IMAGE`: writes an image of `wwpack.lock` as an OCI image layout (a
//! directory, or a `.tar` of one), its layers read from the block store ([`ww_oci::export`]):
//! one deterministic tar + zstd (or gzip) blob per wwpack layer, the config and the manifest
//! annotated with the image's root CID, profile and name and each layer's CID and name. Prints
//! the manifest's digest (or, with `--json`, a JSON object); the same sources give the same
//! digest on any machine.

use anyhow::Context;
use std::path::Path;
use ww_content::text::printable;
use ww_image::manifest::{Lock, LOCK_FILE};
use ww_oci::export::{ExportOptions, Exported};
use ww_oci::pack::Compression;

use crate::cli::{errln, outln, Globals};

/// Exports the image `image` of the project's lock to `out` (see the module docs).
pub fn export(
    g: &Globals,
    image: &str,
    out: &Path,
    compression: Compression,
    tag: Option<&str>,
) -> anyhow::Result<Exported> {
    let config = g.load_config()?;
    let lock_path = config.root.join(LOCK_FILE);
    let lock_text = printable(&lock_path.display().to_string()).into_owned();
    let lock = Lock::read(&lock_path)?
        .with_context(|| format!("no {lock_text} to export images from: run `wwpack build`"))?;
    let Some(entry) = lock.images.get(image) else {
        let names: Vec<String> = lock
            .images
            .keys()
            .map(|n| printable(n).into_owned())
            .collect();
        anyhow::bail!(
            "no image `{}` in {lock_text} (its images: {})",
            printable(image),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
    };
    let store = g.read_store()?;
    let options = ExportOptions {
        compression,
        tag: tag.map(str::to_string),
        source_date_epoch: ww_oci::pack::source_date_epoch()?,
    };
    ww_oci::export::export(&store, image, entry, out, &options).with_context(|| {
        format!(
            "exporting image `{}` of {lock_text} (its blocks come from the block store {}: \
             run `wwpack build` to put them there)",
            printable(image),
            store.dir().display()
        )
    })
}

/// `wwpack export --oci`: exports, prints the manifest's digest (or a JSON object) on stdout
/// and, unless quiet, a line of what was written on stderr.
pub fn run(
    g: &Globals,
    image: &str,
    out: &Path,
    compression: Compression,
    tag: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let e = export(g, image, out, compression, tag)?;
    if json {
        let layers: Vec<serde_json::Value> = e
            .layers
            .iter()
            .map(|l| {
                serde_json::json!({
                    "name": l.name,
                    "cid": l.cid.to_string(),
                    "digest": l.descriptor.digest.to_string(),
                    "size": l.descriptor.size,
                    "diff_id": l.diff_id.to_string(),
                })
            })
            .collect();
        let v = serde_json::json!({
            "layout": e.layout.display().to_string(),
            "tag": e.tag,
            "manifest": e.manifest.digest.to_string(),
            "compression": compression.word(),
            "layers": layers,
            "bytes": e.bytes,
        });
        return outln!("{v}");
    }
    outln!("{}", e.manifest.digest)?;
    if !g.quiet {
        errln!(
            "wrote {}: image `{}` as an OCI layout (tag `{}`), {} layers (tar+{}), {} bytes",
            printable(&out.display().to_string()),
            printable(image),
            e.tag,
            e.layers.len(),
            compression.word(),
            e.bytes
        );
    }
    Ok(())
}
