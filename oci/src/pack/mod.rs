//! Packing a wwpack layer into an OCI layer blob: the layer's tree, read from a block source by
//! its CID ([`ww_image::layer::open`]), written as a deterministic tar ([`ustar`]: entries in
//! [`ustar::sorted`] order, directories included, one mtime, fixed owners and modes, symlinks
//! as symlinks), compressed with zstd (or gzip) at a fixed level. The same layer gives the same
//! bytes on every run and machine: the compressors are the ones `Cargo.lock` pins (zstd 1.5.7
//! built from source by `zstd-sys`, flate2's Rust backend), single-threaded, with every
//! parameter that could vary set here.
//!
//! The tar is never whole in memory: it streams through a digest (the config's `diff_id`) into
//! the compressor, and the compressed bytes to the caller's writer (whose digest names the
//! blob). Each file is read through a [`Reader`] of its own, its bytes checked against the size
//! its node records.

pub mod ustar;

#[cfg(test)]
mod tests;

use std::io::{self, Write};

use ww_content::block::BlockSource;
use ww_content::cid::Cid;
use ww_content::unixfs::read::{ReadError, Reader};
use ww_image::layer::{LayerEntry, LayerError};

use crate::digest::{Digest, Digesting};
use crate::spec;

/// The zstd level of every layer: 19, the highest of the "normal" levels (20 to 22 are
/// `--ultra`, with windows of up to 128 MiB that a decoder must be ready to allocate). Images
/// are written once and pulled many times, and are small (WebAssembly components of a few
/// MiB), so the slower compression is paid once for smaller pushes and pulls.
pub const ZSTD_LEVEL: i32 = 19;
/// The gzip level with `--compression gzip`: 9, the smallest output.
pub const GZIP_LEVEL: u32 = 9;
/// The OS byte of the gzip header: 255, "unknown", the same on every machine.
pub const GZIP_OS: u8 = 255;

/// How layer tars are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// zstd at [`ZSTD_LEVEL`] (`tar+zstd`), the default.
    #[default]
    Zstd,
    /// gzip at [`GZIP_LEVEL`] with a zeroed header (`tar+gzip`), for tools without zstd.
    Gzip,
}

impl Compression {
    /// The media type of a layer compressed so.
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::Zstd => spec::MEDIA_LAYER_ZSTD,
            Compression::Gzip => spec::MEDIA_LAYER_GZIP,
        }
    }

    /// `zstd` or `gzip`.
    pub fn word(self) -> &'static str {
        match self {
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = String;

    fn from_str(text: &str) -> Result<Compression, String> {
        match text {
            "zstd" => Ok(Compression::Zstd),
            "gzip" => Ok(Compression::Gzip),
            _ => Err(format!(
                "`{}` is not a compression: zstd or gzip",
                ww_content::text::printable(text)
            )),
        }
    }
}

/// Why a layer could not be packed.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// The layer's tree could not be read.
    #[error("layer {cid}: {source}")]
    Layer {
        cid: Cid,
        #[source]
        source: Box<LayerError>,
    },
    /// A file's content could not be read.
    #[error("layer {layer}: file `{path}` ({cid}): {source}")]
    File {
        layer: Cid,
        path: String,
        cid: Cid,
        #[source]
        source: Box<ReadError>,
    },
    /// An entry ustar cannot hold.
    #[error("layer {layer}: {source}")]
    Unrepresentable {
        layer: Cid,
        #[source]
        source: ustar::Unrepresentable,
    },
    /// `SOURCE_DATE_EPOCH` is not a time a tar holds.
    #[error("SOURCE_DATE_EPOCH=`{text}`: {reason}")]
    BadEpoch { text: String, reason: String },
    /// Writing the blob failed.
    #[error("layer {layer}: writing the blob: {source}")]
    Write {
        layer: Cid,
        #[source]
        source: io::Error,
    },
}

/// What packing a layer wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// The digest of the uncompressed tar: the layer's `diff_id` in the config.
    pub diff_id: Digest,
    /// The bytes of the uncompressed tar.
    pub tar_size: u64,
    /// The entries written (directories, files, symlinks).
    pub entries: u64,
}

/// The mtime of every entry: `SOURCE_DATE_EPOCH` when set (a decimal number of seconds since
/// the epoch that ustar can hold), else `None` (entries then get 0).
pub fn source_date_epoch() -> Result<Option<u64>, PackError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) => parse_epoch(&text).map(Some),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(text)) => Err(PackError::BadEpoch {
            text: text.to_string_lossy().into_owned(),
            reason: "not a decimal number of seconds".into(),
        }),
    }
}

/// `text` as a `SOURCE_DATE_EPOCH`: decimal digits only (the reproducible-builds spec), at most
/// [`ustar::MAX_OCTAL`].
pub fn parse_epoch(text: &str) -> Result<u64, PackError> {
    let bad = |reason: String| PackError::BadEpoch {
        text: ww_content::text::printable(text).into_owned(),
        reason,
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("not a decimal number of seconds since 1970".into()));
    }
    let secs: u64 = text
        .parse()
        .map_err(|_| bad("too large a number of seconds".into()))?;
    ustar::check_mtime(secs).map_err(bad)?;
    Ok(secs)
}

/// Writes the layer `layer` of `source` to `out` as a tar compressed by `compression`, every
/// entry's mtime `mtime` (checked with [`parse_epoch`] or 0).
pub fn pack_layer(
    source: &dyn BlockSource,
    layer: &Cid,
    compression: Compression,
    mtime: u64,
    out: &mut dyn Write,
) -> Result<Packed, PackError> {
    let write_err = |source: io::Error| PackError::Write {
        layer: layer.clone(),
        source,
    };
    match compression {
        Compression::Zstd => {
            let mut encoder =
                zstd::stream::write::Encoder::new(out, ZSTD_LEVEL).map_err(write_err)?;
            // Every frame parameter a default could change, fixed: no checksum (the digest
            // covers the bytes), no content size (unknown while streaming, so never written),
            // the dictionary ID flag off (no dictionary).
            encoder.include_checksum(false).map_err(write_err)?;
            encoder.include_contentsize(false).map_err(write_err)?;
            encoder.include_dictid(false).map_err(write_err)?;
            let (packed, encoder) = write_tar(source, layer, mtime, encoder)?;
            encoder.finish().map_err(write_err)?;
            Ok(packed)
        }
        Compression::Gzip => {
            let encoder = flate2::GzBuilder::new()
                .mtime(0)
                .operating_system(GZIP_OS)
                .write(out, flate2::Compression::new(GZIP_LEVEL));
            let (packed, encoder) = write_tar(source, layer, mtime, encoder)?;
            encoder.finish().map_err(write_err)?;
            Ok(packed)
        }
    }
}

/// Writes the uncompressed tar of `layer` to `out`; what it wrote, and `out`.
pub fn write_tar<W: Write>(
    source: &dyn BlockSource,
    layer: &Cid,
    mtime: u64,
    out: W,
) -> Result<(Packed, W), PackError> {
    ustar::check_mtime(mtime).map_err(|reason| PackError::BadEpoch {
        text: mtime.to_string(),
        reason,
    })?;
    let walker = Reader::new(source);
    let tree = ww_image::layer::open(&walker, layer, "").map_err(|source| PackError::Layer {
        cid: layer.clone(),
        source: Box::new(source),
    })?;
    let mut entries: Vec<(&str, &LayerEntry)> =
        tree.entries.iter().map(|(p, e)| (p.as_str(), e)).collect();
    entries.sort_by(|a, b| ustar::sorted(a.0, b.0));
    let mut tar = ustar::TarWriter::new(Digesting::new(out), mtime);
    // The first error of a file's read, kept aside: the tar writer only sees an io::Error.
    let mut failed: Option<PackError> = None;
    for (path, entry) in &entries {
        let written = match entry {
            LayerEntry::Dir { .. } => tar.dir(path),
            LayerEntry::Symlink { target, .. } => tar.symlink(path, target),
            LayerEntry::File { cid, size, .. } => tar.file(path, *size, |w| {
                // A reader per file: the budget of bytes is the file's own size.
                let reader = Reader::new(source).with_max_bytes(u64::MAX);
                match reader.read_to(cid, w) {
                    Ok(_) => Ok(()),
                    Err(ReadError::Output(e)) => Err(e),
                    Err(source) => {
                        failed = Some(PackError::File {
                            layer: layer.clone(),
                            path: ww_content::text::printable(path).into_owned(),
                            cid: cid.clone(),
                            source: Box::new(source),
                        });
                        Err(io::Error::other("read failed"))
                    }
                }
            }),
        };
        if let Err(e) = written {
            return Err(failed.take().unwrap_or_else(|| io_to_pack(layer, e)));
        }
    }
    let (diff_id, tar_size, out) = tar.finish().map_err(|e| io_to_pack(layer, e))?.finish();
    Ok((
        Packed {
            diff_id,
            tar_size,
            entries: entries.len() as u64,
        },
        out,
    ))
}

/// An io::Error of the tar writer as what it is: an entry ustar cannot hold, or a write error.
fn io_to_pack(layer: &Cid, e: io::Error) -> PackError {
    if e.get_ref()
        .is_some_and(|inner| inner.is::<ustar::Unrepresentable>())
    {
        if let Some(Ok(source)) = e
            .into_inner()
            .map(|b| b.downcast::<ustar::Unrepresentable>())
        {
            return PackError::Unrepresentable {
                layer: layer.clone(),
                source: *source,
            };
        }
        return PackError::Write {
            layer: layer.clone(),
            source: io::Error::other("an entry ustar cannot hold"),
        };
    }
    PackError::Write {
        layer: layer.clone(),
        source: e,
    }
}
