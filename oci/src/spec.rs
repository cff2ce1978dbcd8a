//! The OCI documents this crate writes and reads: descriptors, the image manifest, the image
//! index and the image config (OCI image spec v1.1), as serde types of our own, so that the
//! bytes hashed into a digest are exactly what [`to_bytes`] writes (fields in this order,
//! nothing optional written when absent, maps sorted), on every machine.
//!
//! Documents read from outside are bounded ([`MAX_DOCUMENT_BYTES`], [`MAX_LAYERS`]) before they
//! are parsed, and unknown fields are ignored, as the spec asks of readers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

/// An OCI image manifest.
pub const MEDIA_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// An OCI image index.
pub const MEDIA_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// An OCI image config.
pub const MEDIA_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// A layer: a tar compressed with zstd (the default).
pub const MEDIA_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// A layer: a tar compressed with gzip (`--compression gzip`, for tools without zstd).
pub const MEDIA_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// A layer: an uncompressed tar (read, never written).
pub const MEDIA_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// Docker's manifest (schema 2), which registries and `skopeo copy` may hand out for an image.
pub const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker's gzip layer.
pub const MEDIA_DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// The annotation of the manifest holding the image's IPFS root CID.
pub const ANNOTATION_ROOT: &str = "org.wetware.image.root";
/// The annotation of the manifest holding the image's UnixFS profile.
pub const ANNOTATION_PROFILE: &str = "org.wetware.image.profile";
/// The annotation of the manifest holding the image's name in `wwpack.lock`.
pub const ANNOTATION_IMAGE: &str = "org.wetware.image.name";
/// The annotation of each layer descriptor holding the wwpack layer's CID.
pub const ANNOTATION_LAYER_CID: &str = "org.wetware.layer.cid";
/// The annotation of each layer descriptor holding the wwpack layer's name.
pub const ANNOTATION_LAYER_NAME: &str = "org.wetware.layer.name";
/// The standard annotation naming a manifest of a layout's index (its tag).
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The architecture and OS of the config: a WASI 0.2 component image, as the CNCF wasm OCI
/// artifact layout names them.
pub const ARCHITECTURE: &str = "wasm";
pub const OS: &str = "wasip2";

/// The largest manifest, index or config read (containerd's limit).
pub const MAX_DOCUMENT_BYTES: usize = 4 << 20;
/// The most layers a manifest read may have.
pub const MAX_LAYERS: usize = 1024;

/// A reference to a blob or manifest: what it is, its digest and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image manifest: the config and the layers, in order (the first is the bottom).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index: the manifests of a layout (or a multi-platform image).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub manifests: Vec<Descriptor>,
}

/// An image config: what the image runs on and the digests of its uncompressed layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// RFC 3339, from `SOURCE_DATE_EPOCH` when set; absent otherwise (no time in the bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    pub architecture: String,
    pub os: String,
    pub rootfs: RootFs,
}

impl Config {
    /// The config of a Wetware image (architecture `wasm`, OS `wasip2`) whose layers'
    /// uncompressed tars have these digests, `created` at that time if given.
    pub fn wasm(diff_ids: Vec<Digest>, created: Option<String>) -> Config {
        Config {
            created,
            architecture: ARCHITECTURE.to_string(),
            os: OS.to_string(),
            rootfs: RootFs {
                kind: "layers".to_string(),
                diff_ids,
            },
        }
    }
}

/// The layers of a config, by the digest of each uncompressed tar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    pub diff_ids: Vec<Digest>,
}

/// A document's bytes: compact JSON, fields in declaration order, maps sorted.
pub fn to_bytes<T: Serialize>(document: &T) -> Vec<u8> {
    // Serializing these types cannot fail: no maps with non-string keys, no floats.
    serde_json::to_vec(document).unwrap_or_default()
}

/// A document read from outside: at most [`MAX_DOCUMENT_BYTES`], JSON of the type `T`.
pub fn from_bytes<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, String> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "{what} has {} bytes, more than the {MAX_DOCUMENT_BYTES} taken",
            bytes.len()
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| format!("{what} is not what it should be: {e}"))
}

impl Manifest {
    /// Checks what a manifest read from outside must be: schema 2, a known media type, at most
    /// [`MAX_LAYERS`] layers, each of a layer media type this crate unpacks.
    pub fn check(&self) -> Result<(), String> {
        if self.schema_version != 2 {
            return Err(format!(
                "schemaVersion {} (only 2 is taken)",
                self.schema_version
            ));
        }
        if !(self.media_type.is_empty()
            || self.media_type == MEDIA_MANIFEST
            || self.media_type == MEDIA_DOCKER_MANIFEST)
        {
            return Err(format!(
                "media type `{}` is not an image manifest",
                ww_content::text::printable(&self.media_type)
            ));
        }
        if self.layers.len() > MAX_LAYERS {
            return Err(format!(
                "{} layers, more than the {MAX_LAYERS} taken",
                self.layers.len()
            ));
        }
        for layer in &self.layers {
            if ![
                MEDIA_LAYER_ZSTD,
                MEDIA_LAYER_GZIP,
                MEDIA_LAYER_TAR,
                MEDIA_DOCKER_LAYER_GZIP,
            ]
            .contains(&layer.media_type.as_str())
            {
                return Err(format!(
                    "layer {} has the media type `{}`, not a tar, tar+gzip or tar+zstd layer",
                    layer.digest,
                    ww_content::text::printable(&layer.media_type)
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_compact_ordered_and_omit_what_is_absent() {
        let d = Descriptor {
            media_type: MEDIA_CONFIG.into(),
            digest: Digest::of(b"{}"),
            size: 2,
            annotations: BTreeMap::new(),
        };
        let m = Manifest {
            schema_version: 2,
            media_type: MEDIA_MANIFEST.into(),
            config: d.clone(),
            layers: vec![],
            annotations: [("b".to_string(), "2".to_string()), ("a".into(), "1".into())]
                .into_iter()
                .collect(),
        };
        let text = String::from_utf8(to_bytes(&m)).unwrap();
        assert!(text.starts_with(
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\
             \"config\":{\"mediaType\""
        ));
        assert!(text.ends_with("\"layers\":[],\"annotations\":{\"a\":\"1\",\"b\":\"2\"}}"));
        let back: Manifest = from_bytes(text.as_bytes(), "the manifest").unwrap();
        assert_eq!(back, m);
        back.check().unwrap();
        let mut bad = m.clone();
        bad.layers.push(Descriptor {
            media_type: "application/x-evil".into(),
            ..d
        });
        assert!(bad.check().unwrap_err().contains("not a tar"));
        assert!(
            from_bytes::<Manifest>(&vec![b' '; MAX_DOCUMENT_BYTES + 1], "m")
                .unwrap_err()
                .contains("more than")
        );
    }
}
