//! Pulling into a layout: the manifest fetched (or picked from an index: the `wasip2`/`wasm`
//! one, or the only one) and verified against the reference's digest or the registry's
//! `Docker-Content-Digest`, checked, bounded; then every blob streamed into a
//! [`LayoutWriter`] while digested, refused (and never put in place) unless its size and
//! digest are the descriptor's; the layout's index written last.

use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::path::Path;

use serde::Deserialize;

use super::client::{content_length, read_bounded, Client, Req};
use super::reference::Reference;
use super::{Problem, PullLimits, PullReport, RegistryError};
use crate::digest::{Digest, Digesting};
use crate::layout::LayoutWriter;
use crate::spec::{self, Descriptor, Manifest};

/// Docker's manifest list (an index).
pub const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The `Accept` of a manifest request: OCI manifests and indexes, Docker's manifest v2 and list.
const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

/// What tells a manifest from an index.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    manifests: Option<serde::de::IgnoredAny>,
    layers: Option<serde::de::IgnoredAny>,
}

/// An index, with the platforms of its manifests.
#[derive(Deserialize)]
struct IndexDoc {
    manifests: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    digest: Digest,
    size: u64,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize)]
struct Platform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
}

/// A document as the registry served it.
struct Document {
    bytes: Vec<u8>,
    digest: Digest,
    content_type: String,
}

impl Client {
    /// Pulls `reference` into a layout in `dest` (created if missing), every blob verified;
    /// the layout's index names the manifest with the reference's tag, if it has one.
    pub fn pull_to_layout(
        &self,
        reference: &Reference,
        dest: &Path,
        limits: PullLimits,
    ) -> Result<PullReport, RegistryError> {
        self.check_reference(reference)?;
        let repo = reference.repository.as_str();
        let refuse =
            |action: &str, reason: String| self.err(repo, action, Problem::Refused(reason));
        let mut doc =
            self.get_manifest(repo, &reference.manifest_name(), reference.digest, None)?;
        if is_index(&doc) {
            let action = format!("choose a manifest of the index {}", doc.digest);
            let index: IndexDoc =
                spec::from_bytes(&doc.bytes, "the index").map_err(|e| refuse(&action, e))?;
            let entry = choose(&index).map_err(|e| refuse(&action, e))?;
            let (digest, size) = (entry.digest, entry.size);
            doc = self.get_manifest(repo, &digest.to_string(), Some(digest), Some(size))?;
            if is_index(&doc) {
                return Err(refuse(
                    &action,
                    format!("{digest} is an index again (one level is taken)"),
                ));
            }
        }
        let digest = doc.digest;
        let action = format!("read the manifest {digest}");
        let manifest: Manifest =
            spec::from_bytes(&doc.bytes, "the manifest").map_err(|e| refuse(&action, e))?;
        manifest.check().map_err(|e| refuse(&action, e))?;
        check_limits(&manifest, limits).map_err(|e| refuse(&action, e))?;

        let writer =
            LayoutWriter::create(dest).map_err(|e| self.err(repo, "start the layout", e.into()))?;
        let mut seen = BTreeSet::new();
        let mut bytes = 0;
        for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
            if seen.insert(blob.digest) {
                bytes += self.fetch_blob(&writer, repo, blob)?;
            }
        }
        // The registry's bytes, so that the layout's manifest has the digest the registry gave.
        let media_type = match manifest.media_type.as_str() {
            "" => spec::MEDIA_MANIFEST,
            known => known,
        };
        let written = writer
            .finish_bytes(&doc.bytes, media_type, reference.tag.as_deref())
            .map_err(|e| self.err(repo, "finish the layout", e.into()))?;
        tracing::debug!(%reference, %digest, blobs = seen.len(), bytes, "pulled");
        Ok(PullReport {
            manifest: digest,
            layout_manifest: written.digest,
            layout: dest.to_path_buf(),
            blobs: seen.len(),
            bytes,
        })
    }

    /// The manifest (or index) `name`, bounded, verified against `pinned` when given, else
    /// against the registry's `Docker-Content-Digest` when it gives one.
    fn get_manifest(
        &self,
        repo: &str,
        name: &str,
        pinned: Option<Digest>,
        size: Option<u64>,
    ) -> Result<Document, RegistryError> {
        let action = format!("get the manifest {name}");
        let mut req = Req::new("GET", self.api(repo, &format!("manifests/{name}")));
        req.headers.push(("Accept", ACCEPT.into()));
        req.follow = true;
        let resp = self.send(repo, &action, &req)?;
        let resp = self.expect(repo, &action, resp, &[200])?;
        let content_type = resp
            .header("Content-Type")
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        let header = resp.header("Docker-Content-Digest").map(str::to_string);
        let refuse = |reason: String| self.err(repo, &action, Problem::Refused(reason));
        let bytes = read_bounded(resp, spec::MAX_DOCUMENT_BYTES).map_err(refuse)?;
        let digest = Digest::of(&bytes);
        match (pinned, header) {
            (Some(pinned), _) if pinned != digest => {
                return Err(refuse(format!(
                    "the registry served a manifest whose bytes hash to {digest}, not the \
                     {pinned} asked for"
                )))
            }
            (None, Some(given)) if given.trim() != digest.to_string() => {
                return Err(refuse(format!(
                    "the registry says the manifest is `{}`, but its bytes hash to {digest}",
                    ww_content::text::printable(&given)
                )))
            }
            _ => {}
        }
        if let Some(size) = size {
            if size != bytes.len() as u64 {
                return Err(refuse(format!(
                    "the manifest {digest} has {} bytes where the index says {size}",
                    bytes.len()
                )));
            }
        }
        Ok(Document {
            bytes,
            digest,
            content_type,
        })
    }

    /// Streams the blob into the layout while digesting it; refused, and not put in place,
    /// unless its size and digest are the descriptor's. Its size.
    fn fetch_blob(
        &self,
        writer: &LayoutWriter,
        repo: &str,
        blob: &Descriptor,
    ) -> Result<u64, RegistryError> {
        let action = format!("get the blob {}", blob.digest);
        let refuse = |reason: String| self.err(repo, &action, Problem::Refused(reason));
        let mut req = Req::new("GET", self.api(repo, &format!("blobs/{}", blob.digest)));
        req.follow = true;
        let resp = self.send(repo, &action, &req)?;
        let resp = self.expect(repo, &action, resp, &[200])?;
        if let Some(len) = content_length(&resp) {
            if len != blob.size {
                return Err(refuse(format!(
                    "the registry sends {len} bytes for the blob {} where the manifest says {}",
                    blob.digest, blob.size
                )));
            }
        }
        let mut reader = resp.into_reader().take(blob.size.saturating_add(1));
        let mut read_error = None;
        let mut mismatch = None;
        let result = writer.put_blob_with(&blob.media_type, |w| {
            let mut digesting = Digesting::new(w);
            let mut buf = vec![0u8; 64 << 10];
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        read_error = Some(e);
                        return Err(io::Error::other("the blob could not be read"));
                    }
                };
                digesting.write_all(&buf[..n])?;
            }
            let (digest, len, _) = digesting.finish();
            if digest != blob.digest || len != blob.size {
                mismatch = Some((digest, len));
                return Err(io::Error::other("the blob does not match its descriptor"));
            }
            Ok(())
        });
        match result {
            Ok(written) => Ok(written.size),
            Err(e) => Err(if let Some(e) = read_error {
                self.err(
                    repo,
                    &action,
                    Problem::Transport(format!("reading the blob: {e}")),
                )
            } else if let Some((digest, len)) = mismatch {
                refuse(if len != blob.size {
                    format!(
                        "the blob {} is refused: the registry sent {len}{} bytes where the \
                         manifest says {}",
                        blob.digest,
                        if len > blob.size { " or more" } else { "" },
                        blob.size
                    )
                } else {
                    format!(
                        "the blob {} is refused: the bytes the registry sent hash to {digest}",
                        blob.digest
                    )
                })
            } else {
                self.err(repo, &action, e.into())
            }),
        }
    }
}

/// Whether a document is an index (by its `Content-Type`, its `mediaType`, or its having
/// `manifests` and no `layers`).
fn is_index(doc: &Document) -> bool {
    let index_types = [spec::MEDIA_INDEX, MEDIA_DOCKER_LIST];
    if index_types.contains(&doc.content_type.as_str()) {
        return true;
    }
    let probe: Probe = serde_json::from_slice(&doc.bytes).unwrap_or(Probe {
        media_type: None,
        manifests: None,
        layers: None,
    });
    match probe.media_type.as_deref() {
        Some(t) if !t.is_empty() => index_types.contains(&t),
        _ => probe.manifests.is_some() && probe.layers.is_none(),
    }
}

/// The manifest of an index to pull: the one for `wasip2`/`wasm`, or the only one.
fn choose(index: &IndexDoc) -> Result<&Entry, String> {
    let wasm = |e: &&Entry| {
        e.platform
            .as_ref()
            .is_some_and(|p| p.os == spec::OS && p.architecture == spec::ARCHITECTURE)
    };
    if let Some(entry) = index.manifests.iter().find(wasm) {
        return Ok(entry);
    }
    match index.manifests.as_slice() {
        [one] => Ok(one),
        [] => Err("the index names no manifest".into()),
        many => Err(format!(
            "the index names no manifest for {}/{}, and several others: {}",
            spec::OS,
            spec::ARCHITECTURE,
            many.iter()
                .map(|e| match &e.platform {
                    Some(p) => format!(
                        "{}/{} ({})",
                        ww_content::text::printable(&p.os),
                        ww_content::text::printable(&p.architecture),
                        e.digest
                    ),
                    None => format!("no platform ({})", e.digest),
                })
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Refuses a manifest whose blobs are larger than the limits: the config than a document,
/// a layer than `max_blob_bytes`, all of them than `max_total_bytes`.
fn check_limits(manifest: &Manifest, limits: PullLimits) -> Result<(), String> {
    if manifest.config.size > spec::MAX_DOCUMENT_BYTES as u64 {
        return Err(format!(
            "the config {} has {} bytes, more than the {} taken",
            manifest.config.digest,
            manifest.config.size,
            spec::MAX_DOCUMENT_BYTES
        ));
    }
    let mut total = manifest.config.size;
    for layer in &manifest.layers {
        if layer.size > limits.max_blob_bytes {
            return Err(format!(
                "the layer {} has {} bytes, more than the {} taken",
                layer.digest, layer.size, limits.max_blob_bytes
            ));
        }
        total = total.saturating_add(layer.size);
    }
    if total > limits.max_total_bytes {
        return Err(format!(
            "the image's blobs have {total} bytes, more than the {} taken",
            limits.max_total_bytes
        ));
    }
    Ok(())
}
