//! Pushing a layout: each blob the registry lacks (asked with `HEAD`) uploaded in one `POST`
//! and one `PUT` of the file streamed, then the manifest `PUT` by tag (or by digest), the
//! registry's `Docker-Content-Digest` checked whenever it gives one.

use std::collections::BTreeSet;

use super::client::{content_length, percent_encode, Body, Client, Req};
use super::reference::Reference;
use super::{Problem, PushReport, RegistryError};
use crate::digest::Digest;
use crate::layout::Layout;
use crate::spec::{self, Descriptor};

impl Client {
    /// Pushes the manifest of `layout` and the blobs it names to `reference` (its tag, else
    /// its digest, which must then be the manifest's). Blobs the registry has are not sent.
    pub fn push_layout(
        &self,
        layout: &Layout,
        reference: &Reference,
    ) -> Result<PushReport, RegistryError> {
        self.check_reference(reference)?;
        let repo = reference.repository.as_str();
        let manifest_bytes = layout
            .read_blob(&layout.manifest_descriptor)
            .map_err(|e| self.err(repo, "read the layout's manifest", e.into()))?;
        let digest = Digest::of(&manifest_bytes);
        if let Some(pinned) = reference.digest {
            if pinned != digest {
                return Err(self.err(
                    repo,
                    &format!("push {reference}"),
                    Problem::Refused(format!("the layout's manifest is {digest}, not {pinned}")),
                ));
            }
        }
        let mut report = PushReport {
            manifest: digest,
            blobs_sent: 0,
            bytes_sent: 0,
            blobs_skipped: 0,
            bytes_skipped: 0,
        };
        let manifest = &layout.manifest;
        let mut seen = BTreeSet::new();
        for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
            if !seen.insert(blob.digest) {
                continue;
            }
            if self.has_blob(repo, blob)? {
                report.blobs_skipped += 1;
                report.bytes_skipped += blob.size;
            } else {
                self.upload_blob(layout, repo, blob)?;
                report.blobs_sent += 1;
                report.bytes_sent += blob.size;
            }
        }
        let media_type = if manifest.media_type.is_empty() {
            spec::MEDIA_MANIFEST
        } else {
            manifest.media_type.as_str()
        };
        let name = reference.tag.clone().unwrap_or_else(|| digest.to_string());
        let action = format!("put the manifest {digest} as {name}");
        let mut req = Req::new("PUT", self.api(repo, &format!("manifests/{name}")));
        req.headers.push(("Content-Type", media_type.to_string()));
        req.body = Body::Bytes(&manifest_bytes);
        let resp = self.send(repo, &action, &req)?;
        let resp = self.expect(repo, &action, resp, &[200, 201])?;
        self.check_digest_header(repo, &action, &resp, &digest)?;
        tracing::debug!(%reference, %digest, ?report, "pushed");
        Ok(report)
    }

    /// Whether the registry has the blob (`HEAD`: 200 yes, 404 no).
    fn has_blob(&self, repo: &str, blob: &Descriptor) -> Result<bool, RegistryError> {
        let action = format!("ask for the blob {}", blob.digest);
        let mut req = Req::new("HEAD", self.api(repo, &format!("blobs/{}", blob.digest)));
        req.follow = true;
        let resp = self.send(repo, &action, &req)?;
        if resp.status() == 404 {
            return Ok(false);
        }
        let resp = self.expect(repo, &action, resp, &[200])?;
        if let Some(len) = content_length(&resp) {
            if len != blob.size {
                tracing::warn!(digest = %blob.digest, len, size = blob.size,
                    "the registry gives another size for a blob it has");
            }
        }
        Ok(true)
    }

    /// Uploads the blob from the layout, verified first: `POST` an upload, `PUT` the bytes.
    fn upload_blob(
        &self,
        layout: &Layout,
        repo: &str,
        blob: &Descriptor,
    ) -> Result<(), RegistryError> {
        let action = format!("upload the blob {}", blob.digest);
        layout
            .verify_blob(blob)
            .map_err(|e| self.err(repo, &action, e.into()))?;
        let start = self.api(repo, "blobs/uploads/");
        let mut req = Req::new("POST", start.clone());
        req.headers.push(("Content-Length", "0".into()));
        let resp = self.send(repo, &action, &req)?;
        let resp = self.expect(repo, &action, resp, &[202])?;
        let location = resp.header("Location").unwrap_or_default().to_string();
        let mut url = self
            .redirect_target(&start, &location)
            .map_err(|e| self.err(repo, &action, Problem::Refused(format!("the upload: {e}"))))?;
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!(
            "digest={}",
            percent_encode(&blob.digest.to_string())
        ));
        let path = layout.blob_path(&blob.digest);
        let mut req = Req::new("PUT", url);
        req.headers
            .push(("Content-Type", "application/octet-stream".into()));
        req.body = Body::File(&path, blob.size);
        let resp = self.send(repo, &action, &req)?;
        let resp = self.expect(repo, &action, resp, &[201, 204])?;
        self.check_digest_header(repo, &action, &resp, &blob.digest)
    }

    /// Refuses an answer whose `Docker-Content-Digest` is not `expected`.
    pub(crate) fn check_digest_header(
        &self,
        repo: &str,
        action: &str,
        resp: &ureq::Response,
        expected: &Digest,
    ) -> Result<(), RegistryError> {
        let Some(given) = resp.header("Docker-Content-Digest") else {
            return Ok(());
        };
        if given.trim() != expected.to_string() {
            return Err(self.err(
                repo,
                action,
                Problem::Refused(format!(
                    "the registry says the digest is `{}`, not {expected}",
                    ww_content::text::printable(given)
                )),
            ));
        }
        Ok(())
    }
}
