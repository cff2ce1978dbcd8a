//! Exporting an image of `wwpack.lock` as an OCI image layout: one layer blob per wwpack layer,
//! in order ([`crate::pack`]), the config (architecture `wasm`, OS `wasip2`, the `diff_id` of
//! each layer, `created` only when `SOURCE_DATE_EPOCH` is set) and the manifest, whose
//! annotations carry the image's root CID, profile and name, and each layer descriptor's the
//! wwpack layer's CID and name. The same image gives the same bytes, so the same digests.
//!
//! The layout is written to a new directory beside the destination, then put in place whole:
//! renamed (or swapped with [`ww_content::atomic::replace_dir`] for an existing layout, or an
//! empty directory), or, for a destination ending in `.tar`, written as a deterministic tar of
//! the layout ([`crate::pack::ustar`], entries sorted, fixed metadata) to a file replaced
//! atomically. A directory that holds something other than an OCI layout is never replaced.
//! An interrupted export leaves what was there before.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ww_content::block::BlockSource;
use ww_content::cid::Cid;
use ww_content::text::printable;
use ww_image::manifest::ImageManifest;

use crate::digest::Digest;
use crate::layout::{LayoutError, LayoutWriter, OCI_LAYOUT};
use crate::pack::{self, ustar, Compression, PackError};
use crate::spec::{self, Config, Descriptor};
use crate::work::WorkDir;

/// How to export.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    pub compression: Compression,
    /// The tag of the manifest in the layout's index [default: the image's name].
    pub tag: Option<String>,
    /// `SOURCE_DATE_EPOCH`: every entry's mtime and the config's `created` (entries get 0 and
    /// the config no `created` without it).
    pub source_date_epoch: Option<u64>,
}

/// One layer exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedLayer {
    /// The wwpack layer's name and CID.
    pub name: String,
    pub cid: Cid,
    /// Its blob's descriptor (digest and size of the compressed tar, with the annotations).
    pub descriptor: Descriptor,
    /// The digest of the uncompressed tar.
    pub diff_id: Digest,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The layout (directory or `.tar`) written.
    pub layout: PathBuf,
    /// The tag of the manifest in the index.
    pub tag: String,
    /// The manifest's descriptor (its digest names the image).
    pub manifest: Descriptor,
    pub layers: Vec<ExportedLayer>,
    /// The bytes of the layout: its files' sizes, or the `.tar`'s size.
    pub bytes: u64,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("image `{image}`: {source}")]
    Pack {
        image: String,
        #[source]
        source: Box<PackError>,
    },
    #[error("image `{image}`: {source}")]
    Layout {
        image: String,
        #[source]
        source: LayoutError,
    },
    /// The lock's entry of the image is not what it should be.
    #[error("image `{image}` of the lock: {reason}")]
    BadImage { image: String, reason: String },
    /// The tag is not an OCI tag.
    #[error("tag `{tag}`: {reason}")]
    BadTag { tag: String, reason: &'static str },
    /// The destination cannot take a layout.
    #[error("{}: {reason}", .path.display())]
    Destination { path: PathBuf, reason: String },
    #[error("{}: cannot {action}: {source}", .path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: io::Error,
    },
}

fn io_err<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(io::Error) -> ExportError + 'a {
    move |source| ExportError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// Exports the image `name` (its entry of the lock: `image`), read from `source`, to `out`: an
/// OCI image layout directory, or, when `out` ends in `.tar`, a tar of one.
pub fn export(
    source: &dyn BlockSource,
    name: &str,
    image: &ImageManifest,
    out: &Path,
    options: &ExportOptions,
) -> Result<Exported, ExportError> {
    let tag = options.tag.clone().unwrap_or_else(|| name.to_string());
    check_tag(&tag)?;
    let as_tar = out.extension().is_some_and(|e| e == "tar");
    check_destination(out, as_tar)?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(ExportError::Destination {
            path: out.to_path_buf(),
            reason: format!("its directory {} does not exist", parent.display()),
        });
    }
    ww_content::atomic::remove_stale_siblings(out);
    let temp = WorkDir::at(ww_content::atomic::sibling_temp(out, "new"));
    if std::fs::symlink_metadata(temp.path()).is_ok() {
        std::fs::remove_dir_all(temp.path()).map_err(io_err(temp.path(), "remove"))?;
    }
    let (manifest, layers) = write_layout(source, name, image, temp.path(), &tag, options)?;
    let bytes;
    if as_tar {
        let mut file = ww_content::atomic::NewFile::beside(out, 0o666)
            .map_err(io_err(out, "create a temporary file for"))?;
        let mut buffered = io::BufWriter::new(&mut file);
        bytes = tar_layout(
            temp.path(),
            options.source_date_epoch.unwrap_or(0),
            &mut buffered,
        )?;
        buffered
            .into_inner()
            .map_err(|e| e.into_error())
            .map_err(io_err(out, "write"))?;
        file.replace().map_err(io_err(out, "put in place"))?;
    } else {
        bytes = tree_bytes(temp.path())?;
        ww_content::atomic::sync_tree(temp.path()).map_err(|e| ExportError::Destination {
            path: temp.path().to_path_buf(),
            reason: e.to_string(),
        })?;
        ww_content::atomic::replace_dir(temp.path(), out).map_err(|e| {
            ExportError::Destination {
                path: out.to_path_buf(),
                reason: e.to_string(),
            }
        })?;
    }
    Ok(Exported {
        layout: out.to_path_buf(),
        tag,
        manifest,
        layers,
        bytes,
    })
}

/// Writes the layout of the image `name` into the new directory `dir`: the layers, the config,
/// the manifest and the index (tagged `tag`). The manifest's descriptor and the layers.
pub fn write_layout(
    source: &dyn BlockSource,
    name: &str,
    image: &ImageManifest,
    dir: &Path,
    tag: &str,
    options: &ExportOptions,
) -> Result<(Descriptor, Vec<ExportedLayer>), ExportError> {
    let image_name = printable(name).into_owned();
    let bad = |reason: String| ExportError::BadImage {
        image: image_name.clone(),
        reason,
    };
    let cid = |what: &str, text: &str| -> Result<Cid, ExportError> {
        text.parse()
            .map_err(|e| bad(format!("{what} `{}` is not a CID: {e}", printable(text))))
    };
    let root = cid("the root", &image.root)?;
    if image.layers.is_empty() {
        return Err(bad("it has no layers".into()));
    }
    let layout_err = |source| ExportError::Layout {
        image: image_name.clone(),
        source,
    };
    let writer = LayoutWriter::create(dir).map_err(layout_err)?;
    let mtime = options.source_date_epoch.unwrap_or(0);
    let compression = options.compression;
    let mut layers = Vec::with_capacity(image.layers.len());
    for record in &image.layers {
        let layer_cid = cid(&format!("layer `{}`", printable(&record.name)), &record.cid)?;
        // The pack error, kept aside: the layout writer only sees an io::Error.
        let mut failed = None;
        let put = writer.put_blob_with(compression.media_type(), |w| {
            match pack::pack_layer(source, &layer_cid, compression, mtime, w) {
                Ok(packed) => {
                    failed = Some(Ok(packed));
                    Ok(())
                }
                Err(e) => {
                    failed = Some(Err(e));
                    Err(io::Error::other("packing failed"))
                }
            }
        });
        let packed = match (put, failed) {
            (_, Some(Err(source))) => {
                return Err(ExportError::Pack {
                    image: image_name.clone(),
                    source: Box::new(source),
                })
            }
            (Err(e), _) => return Err(layout_err(e)),
            (Ok(descriptor), Some(Ok(packed))) => (descriptor, packed),
            (Ok(_), None) => return Err(bad("a layer was not packed".into())),
        };
        let (mut descriptor, packed) = packed;
        descriptor.annotations = BTreeMap::from([
            (
                spec::ANNOTATION_LAYER_CID.to_string(),
                layer_cid.to_string(),
            ),
            (spec::ANNOTATION_LAYER_NAME.to_string(), record.name.clone()),
        ]);
        layers.push(ExportedLayer {
            name: record.name.clone(),
            cid: layer_cid,
            descriptor,
            diff_id: packed.diff_id,
        });
    }
    let config = Config::wasm(
        layers.iter().map(|l| l.diff_id).collect(),
        options.source_date_epoch.map(rfc3339),
    );
    let annotations = BTreeMap::from([
        (spec::ANNOTATION_ROOT.to_string(), root.to_string()),
        (spec::ANNOTATION_PROFILE.to_string(), image.profile.clone()),
        (spec::ANNOTATION_IMAGE.to_string(), name.to_string()),
    ]);
    let (_, descriptor) = writer
        .finish_image(
            &config,
            layers.iter().map(|l| l.descriptor.clone()).collect(),
            annotations,
            Some(tag),
        )
        .map_err(layout_err)?;
    Ok((descriptor, layers))
}

/// An OCI tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}` (the distribution spec's rule).
pub fn check_tag(tag: &str) -> Result<(), ExportError> {
    let bad = |reason| ExportError::BadTag {
        tag: printable(tag).into_owned(),
        reason,
    };
    let mut bytes = tag.bytes();
    match bytes.next() {
        None => return Err(bad("a tag is not empty")),
        Some(b) if b.is_ascii_alphanumeric() || b == b'_' => {}
        Some(_) => return Err(bad("a tag starts with a letter, a digit or `_`")),
    }
    if tag.len() > 128 {
        return Err(bad("a tag has at most 128 characters"));
    }
    if !bytes.all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
        return Err(bad("a tag holds only letters, digits, `_`, `.` and `-`"));
    }
    Ok(())
}

/// Refuses a destination that cannot take the layout: a symlink, a `.tar` that is a directory,
/// a directory that is not empty and not an OCI layout, anything else that is not a directory.
fn check_destination(out: &Path, as_tar: bool) -> Result<(), ExportError> {
    let refuse = |reason: &str| {
        Err(ExportError::Destination {
            path: out.to_path_buf(),
            reason: reason.to_string(),
        })
    };
    let meta = match std::fs::symlink_metadata(out) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(out, "inspect")(e)),
    };
    if meta.file_type().is_symlink() {
        return refuse("is a symlink; give the directory or file itself");
    }
    if as_tar {
        if meta.is_file() {
            return Ok(());
        }
        return refuse("is not a regular file: a `.tar` layout is written as a file");
    }
    if !meta.is_dir() {
        return refuse(
            "is not a directory: an OCI layout is a directory (or give a name ending in `.tar`)",
        );
    }
    let mut entries = std::fs::read_dir(out).map_err(io_err(out, "read"))?;
    if entries.next().is_none() {
        return Ok(());
    }
    match std::fs::read(out.join("oci-layout")) {
        Ok(bytes) if bytes == OCI_LAYOUT => Ok(()),
        _ => refuse(
            "is a directory that is not empty and not an OCI image layout (no `oci-layout` file \
             of version 1.0.0): it is not replaced",
        ),
    }
}

/// The bytes of the regular files below `dir`.
fn tree_bytes(dir: &Path) -> Result<u64, ExportError> {
    let mut total = 0;
    for (_, _, meta) in layout_entries(dir)? {
        if meta.is_file() {
            total += meta.len();
        }
    }
    Ok(total)
}

/// The entries below the layout `dir` (which this module wrote: only directories and regular
/// files), by path relative to it, in [`ustar::sorted`] order.
fn layout_entries(dir: &Path) -> Result<Vec<(String, PathBuf, std::fs::Metadata)>, ExportError> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), dir.to_path_buf())];
    while let Some((rel, path)) = stack.pop() {
        for entry in std::fs::read_dir(&path).map_err(io_err(&path, "read"))? {
            let entry = entry.map_err(io_err(&path, "read"))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = std::fs::symlink_metadata(entry.path())
                .map_err(io_err(&entry.path(), "inspect"))?;
            if meta.is_dir() {
                stack.push((rel.clone(), entry.path()));
            }
            out.push((rel, entry.path(), meta));
        }
    }
    out.sort_by(|a, b| ustar::sorted(&a.0, &b.0));
    Ok(out)
}

/// Writes the layout `dir` as a tar to `out`, every entry's mtime `mtime`; the tar's bytes.
fn tar_layout(dir: &Path, mtime: u64, out: &mut dyn Write) -> Result<u64, ExportError> {
    let mut counted = crate::digest::Digesting::new(out);
    let mut tar = ustar::TarWriter::new(&mut counted, mtime);
    for (rel, path, meta) in layout_entries(dir)? {
        let written = if meta.is_dir() {
            tar.dir(&rel)
        } else if meta.is_file() {
            let mut file = std::fs::File::open(&path).map_err(io_err(&path, "open"))?;
            tar.file(&rel, meta.len(), |w| io::copy(&mut file, w).map(|_| ()))
        } else {
            return Err(ExportError::Destination {
                path,
                reason: "is neither a file nor a directory in a layout being written".into(),
            });
        };
        written.map_err(io_err(&path, "write to the tar"))?;
    }
    tar.finish().map_err(io_err(dir, "write the tar of"))?;
    Ok(counted.finish().1)
}

/// `secs` since the epoch as RFC 3339 in UTC (`1970-01-01T00:00:00Z`).
pub fn rfc3339(secs: u64) -> String {
    ww_content::text::rfc3339_utc(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests;
