//! The OCI image layout: a directory with `oci-layout`, `index.json` and `blobs/sha256/<hex>`,
//! holding one image manifest (tagged by the `org.opencontainers.image.ref.name` annotation of
//! its descriptor in the index) and the blobs it names.
//!
//! [`LayoutWriter`] fills a new directory: each blob is written to a temporary file while its
//! digest is computed, then renamed to its name (a blob already there is the same bytes); the
//! index last, atomically, so a layout with an `index.json` is complete. [`Layout`] reads one:
//! the index and manifest bounded ([`crate::spec::MAX_DOCUMENT_BYTES`]), every blob verified
//! against its digest by [`Layout::verify_blob`] before it is used.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::digest::{Digest, Digesting};
use crate::spec::{self, Config, Descriptor, Index, Manifest};

/// The `oci-layout` file's content.
pub const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// A layout that is not what it should be, or that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("{path}: {action}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        source: io::Error,
    },
    #[error("OCI layout {dir}: {reason}")]
    Bad { dir: PathBuf, reason: String },
}

fn io_err<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(io::Error) -> LayoutError + 'a {
    move |source| LayoutError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// Writes a new layout into a directory.
pub struct LayoutWriter {
    dir: PathBuf,
    blobs: PathBuf,
}

impl LayoutWriter {
    /// Starts a layout in `dir` (created if missing; an `index.json` already there is replaced
    /// at [`LayoutWriter::finish`]).
    pub fn create(dir: &Path) -> Result<LayoutWriter, LayoutError> {
        let blobs = dir.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs).map_err(io_err(&blobs, "create"))?;
        ww_content::atomic::write_file(&dir.join("oci-layout"), OCI_LAYOUT).map_err(|e| {
            LayoutError::Bad {
                dir: dir.to_path_buf(),
                reason: e.to_string(),
            }
        })?;
        Ok(LayoutWriter {
            dir: dir.to_path_buf(),
            blobs,
        })
    }

    /// The directory being written.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds a blob of `media_type` whose bytes `write` writes; its descriptor.
    pub fn put_blob_with(
        &self,
        media_type: &str,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<Descriptor, LayoutError> {
        let temp_dest = self.blobs.join("blob");
        let new = ww_content::atomic::NewFile::create(&self.blobs, ".tmp-", &temp_dest, 0o644)
            .map_err(io_err(&self.blobs, "create a blob in"))?;
        let mut digesting = Digesting::new(io::BufWriter::new(new.file()));
        write(&mut digesting).map_err(io_err(new.temp_path(), "write"))?;
        let (digest, size, buffered) = digesting.finish();
        buffered
            .into_inner()
            .map_err(|e| e.into_error())
            .map_err(io_err(new.temp_path(), "write"))?;
        let dest = self.blobs.join(digest.hex());
        let temp = new.temp_path().to_path_buf();
        new.put(|_, _| std::fs::rename(&temp, &dest))
            .map_err(io_err(&dest, "put in place"))?;
        Ok(Descriptor {
            media_type: media_type.to_string(),
            digest,
            size,
            annotations: Default::default(),
        })
    }

    /// Adds a blob of these bytes.
    pub fn put_blob(&self, media_type: &str, bytes: &[u8]) -> Result<Descriptor, LayoutError> {
        self.put_blob_with(media_type, |w| w.write_all(bytes))
    }

    /// Adds the manifest, and the index naming it (with the tag `tag`, if any): the layout is
    /// complete. Returns the manifest's descriptor.
    pub fn finish(self, manifest: &Manifest, tag: Option<&str>) -> Result<Descriptor, LayoutError> {
        self.finish_bytes(&spec::to_bytes(manifest), spec::MEDIA_MANIFEST, tag)
    }

    /// Adds `config` and the manifest of an image of `layers` (in order, the bottom first) with
    /// `annotations`, and the index naming it with the tag `tag`: the layout is complete.
    /// Returns the manifest and its descriptor.
    pub fn finish_image(
        self,
        config: &Config,
        layers: Vec<Descriptor>,
        annotations: BTreeMap<String, String>,
        tag: Option<&str>,
    ) -> Result<(Manifest, Descriptor), LayoutError> {
        let config = self.put_blob(spec::MEDIA_CONFIG, &spec::to_bytes(config))?;
        let manifest = Manifest {
            schema_version: 2,
            media_type: spec::MEDIA_MANIFEST.to_string(),
            config,
            layers,
            annotations,
        };
        let descriptor = self.finish(&manifest, tag)?;
        Ok((manifest, descriptor))
    }

    /// As [`LayoutWriter::finish`], with the manifest's bytes as they are (a pulled manifest
    /// keeps the digest its registry gave it) and their media type.
    pub fn finish_bytes(
        self,
        manifest: &[u8],
        media_type: &str,
        tag: Option<&str>,
    ) -> Result<Descriptor, LayoutError> {
        let mut descriptor = self.put_blob(media_type, manifest)?;
        if let Some(tag) = tag {
            descriptor
                .annotations
                .insert(spec::ANNOTATION_REF_NAME.to_string(), tag.to_string());
        }
        let index = Index {
            schema_version: 2,
            media_type: spec::MEDIA_INDEX.to_string(),
            manifests: vec![descriptor.clone()],
        };
        let path = self.dir.join("index.json");
        ww_content::atomic::write_file(&path, &spec::to_bytes(&index)).map_err(|e| {
            LayoutError::Bad {
                dir: self.dir.clone(),
                reason: e.to_string(),
            }
        })?;
        descriptor.annotations.clear();
        Ok(descriptor)
    }
}

/// A layout read from a directory.
pub struct Layout {
    dir: PathBuf,
    /// The descriptor of its manifest in the index (with its annotations, e.g. the tag).
    pub manifest_descriptor: Descriptor,
    /// The manifest, verified against its digest and checked ([`Manifest::check`]).
    pub manifest: Manifest,
}

impl Layout {
    /// Opens the layout in `dir`: its index must name exactly one manifest, or one with the
    /// tag `tag` when given.
    pub fn open(dir: &Path, tag: Option<&str>) -> Result<Layout, LayoutError> {
        let bad = |reason: String| LayoutError::Bad {
            dir: dir.to_path_buf(),
            reason,
        };
        let index_path = dir.join("index.json");
        let index_bytes = read_bounded(&index_path, spec::MAX_DOCUMENT_BYTES)?;
        let index: Index = spec::from_bytes(&index_bytes, "index.json").map_err(bad)?;
        let manifests: Vec<&Descriptor> = index
            .manifests
            .iter()
            .filter(|d| {
                tag.is_none_or(|t| {
                    d.annotations
                        .get(spec::ANNOTATION_REF_NAME)
                        .map(String::as_str)
                        == Some(t)
                })
            })
            .collect();
        let descriptor = match manifests.as_slice() {
            [one] => (*one).clone(),
            [] => {
                return Err(bad(match tag {
                    Some(t) => format!("index.json has no manifest tagged `{t}`"),
                    None => "index.json names no manifest".to_string(),
                }))
            }
            _ => {
                return Err(bad(
                    "index.json names several manifests: say which with a tag".to_string(),
                ))
            }
        };
        if descriptor.size > spec::MAX_DOCUMENT_BYTES as u64 {
            return Err(bad(format!(
                "the manifest {} has {} bytes, more than the {} taken",
                descriptor.digest,
                descriptor.size,
                spec::MAX_DOCUMENT_BYTES
            )));
        }
        let layout = Layout {
            dir: dir.to_path_buf(),
            manifest: Manifest {
                schema_version: 0,
                media_type: String::new(),
                config: descriptor.clone(),
                layers: Vec::new(),
                annotations: Default::default(),
            },
            manifest_descriptor: descriptor.clone(),
        };
        let bytes = layout.read_blob(&descriptor)?;
        let manifest: Manifest = spec::from_bytes(&bytes, "the manifest").map_err(bad)?;
        manifest
            .check()
            .map_err(|e| bad(format!("manifest {}: {e}", descriptor.digest)))?;
        Ok(Layout { manifest, ..layout })
    }

    /// The layout's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the blob of `digest` is (whether or not it is there).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join("blobs").join("sha256").join(digest.hex())
    }

    /// The whole blob of `descriptor`, verified (its size and digest); for documents, which
    /// are bounded by their callers.
    pub fn read_blob(&self, descriptor: &Descriptor) -> Result<Vec<u8>, LayoutError> {
        let path = self.blob_path(&descriptor.digest);
        let limit = usize::try_from(descriptor.size).unwrap_or(usize::MAX);
        let bytes = read_bounded(&path, limit)?;
        self.check(descriptor, Digest::of(&bytes), bytes.len() as u64)?;
        Ok(bytes)
    }

    /// Reads the blob of `descriptor` from start to end, checking that it has the size and
    /// digest the descriptor says: the way to verify a layer before unpacking it.
    pub fn verify_blob(&self, descriptor: &Descriptor) -> Result<(), LayoutError> {
        let path = self.blob_path(&descriptor.digest);
        let file = File::open(&path).map_err(io_err(&path, "open"))?;
        let mut digesting = Digesting::new(io::sink());
        io::copy(
            &mut file.take(descriptor.size.saturating_add(1)),
            &mut digesting,
        )
        .map_err(io_err(&path, "read"))?;
        let (digest, size, _) = digesting.finish();
        self.check(descriptor, digest, size)
    }

    fn check(&self, descriptor: &Descriptor, digest: Digest, size: u64) -> Result<(), LayoutError> {
        if size != descriptor.size {
            return Err(LayoutError::Bad {
                dir: self.dir.clone(),
                reason: format!(
                    "blob {} has {size}{} bytes where its descriptor says {}",
                    descriptor.digest,
                    if size > descriptor.size {
                        " or more"
                    } else {
                        ""
                    },
                    descriptor.size
                ),
            });
        }
        if digest != descriptor.digest {
            return Err(LayoutError::Bad {
                dir: self.dir.clone(),
                reason: format!(
                    "blob {} does not match its digest: its bytes hash to {digest}",
                    descriptor.digest
                ),
            });
        }
        Ok(())
    }
}

/// A file's bytes, refused when longer than `limit`.
fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, LayoutError> {
    let file = File::open(path).map_err(io_err(path, "open"))?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err(path, "read"))?;
    if bytes.len() > limit {
        return Err(LayoutError::Bad {
            dir: path.parent().unwrap_or(path).to_path_buf(),
            reason: format!(
                "{} is longer than the {limit} bytes expected",
                path.display()
            ),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layout_written_reads_back_and_a_tampered_blob_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let w = LayoutWriter::create(dir.path()).unwrap();
        let layer = w.put_blob(spec::MEDIA_LAYER_ZSTD, b"layer bytes").unwrap();
        let config = Config::wasm(vec![Digest::of(b"tar")], None);
        let (manifest, written) = w
            .finish_image(&config, vec![layer.clone()], BTreeMap::new(), Some("v1"))
            .unwrap();
        let layout = Layout::open(dir.path(), None).unwrap();
        assert_eq!(layout.manifest, manifest);
        assert_eq!(layout.manifest_descriptor.digest, written.digest);
        assert!(Layout::open(dir.path(), Some("v1")).is_ok());
        let err = Layout::open(dir.path(), Some("v2"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no manifest tagged `v2`"), "{err}");
        layout.verify_blob(&layer).unwrap();
        std::fs::write(layout.blob_path(&layer.digest), b"layer bytez").unwrap();
        let err = layout.verify_blob(&layer).unwrap_err().to_string();
        assert!(err.contains("does not match its digest"), "{err}");
        std::fs::write(layout.blob_path(&layer.digest), b"longer layer bytes").unwrap();
        let err = layout.verify_blob(&layer).unwrap_err().to_string();
        assert!(err.contains("or more bytes"), "{err}");
        // No temporary file is left among the blobs.
        for entry in std::fs::read_dir(dir.path().join("blobs/sha256")).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert_eq!(name.len(), 64, "{name}");
        }
    }
}
