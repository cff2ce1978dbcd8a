//! Manifests and `wwpack.lock`: what every image contains, file by file, named by CIDs.
//!
//! ```json
//! {
//!   "guests": { "hello": { "package": "hello", "version": "0.1.0", "wasm": "bafk..." } },
//!   "images": {
//!     "default": {
//!       "files": {
//!         "bin/main.wasm": { "cid": "bafk...", "layer": "hello", "shadows": [], "size": 85861 },
//!         "etc/motd": { "cid": "bafk...", "layer": "base", "shadows": [], "size": 63 }
//!       },
//!       "layers": [ { "cid": "bafy...", "name": "base" }, { "cid": "bafy...", "name": "hello" } ],
//!       "profile": "unixfs-v1-2025",
//!       "root": "bafy..."
//!     }
//!   },
//!   "version": 1
//! }
//! ```
//!
//! Pretty JSON with sorted keys and a final newline; nothing in it depends on the time, the
//! machine or the checkout path, so two builds of the same sources write the same bytes.
//! `files` lists regular files and symlinks (with their `target`); directories are implied by
//! the paths and covered by the root CID. `size` is a file's byte count (a symlink's target
//! length). `shadows` lists the earlier layers whose file at the same path this one hides.
//!
//! [`compare`] is the format's one differ: two locks (or two images as far as each side knows
//! them) path by path, for `wwpack build --locked` and `wwpack diff` alike.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub mod compare;

pub use compare::LockDiff;

/// The lock format version.
pub const VERSION: u32 = 1;

/// The file name of the lock, next to `wwpack.toml`.
pub const LOCK_FILE: &str = "wwpack.lock";

/// `wwpack.lock`. Fields are declared in alphabetical order, so the JSON keys are sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub guests: BTreeMap<String, GuestRecord>,
    pub images: BTreeMap<String, ImageManifest>,
    pub version: u32,
}

/// A built guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestRecord {
    pub package: String,
    pub version: String,
    /// CID of the `.wasm` under the default profile.
    pub wasm: String,
}

/// The manifest of one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageManifest {
    pub files: BTreeMap<String, FileRecord>,
    pub layers: Vec<LayerRecord>,
    pub profile: String,
    /// CID of the union tree.
    pub root: String,
}

/// A layer of an image, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerRecord {
    pub cid: String,
    pub name: String,
}

/// One file (or symlink) of an image's union.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    pub cid: String,
    pub layer: String,
    pub shadows: Vec<String>,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl Lock {
    pub fn new() -> Lock {
        Lock {
            guests: BTreeMap::new(),
            images: BTreeMap::new(),
            version: VERSION,
        }
    }

    /// The canonical text of the lock.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads a lock file; `Ok(None)` when there is none.
    pub fn read(path: &Path) -> Result<Option<Lock>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::io("read", path)(source)),
        };
        Lock::parse(&text, path).map(Some)
    }

    /// Parses the text of a lock; `origin` names it in errors (a path, or `REV:wwpack.lock`).
    pub fn parse(text: &str, origin: &Path) -> Result<Lock> {
        let lock: Lock = serde_json::from_str(text).map_err(|e| Error::Lock {
            file: origin.to_path_buf(),
            message: format!("not a valid wwpack.lock: {e}"),
        })?;
        if lock.version != VERSION {
            return Err(Error::Lock {
                file: origin.to_path_buf(),
                message: format!(
                    "lock version {} is not supported (this wwpack writes {VERSION})",
                    lock.version
                ),
            });
        }
        Ok(lock)
    }

    /// Writes the lock atomically (temp file, fsync, rename) if its text changed; returns
    /// whether it wrote.
    pub fn write(&self, path: &Path) -> Result<bool> {
        let text = self.to_text();
        if std::fs::read_to_string(path).ok().as_deref() == Some(text.as_str()) {
            return Ok(false);
        }
        ww_content::atomic::write_file(path, text.as_bytes())?;
        Ok(true)
    }
}

impl Default for Lock {
    fn default() -> Lock {
        Lock::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Lock {
        let mut lock = Lock::new();
        let mut files = BTreeMap::new();
        files.insert(
            "etc/motd".to_string(),
            FileRecord {
                cid: "bafkmotd".into(),
                layer: "base".into(),
                shadows: vec![],
                size: 3,
                target: None,
            },
        );
        lock.images.insert(
            "default".into(),
            ImageManifest {
                files,
                layers: vec![LayerRecord {
                    cid: "bafybase".into(),
                    name: "base".into(),
                }],
                profile: "unixfs-v1-2025".into(),
                root: "bafyroot".into(),
            },
        );
        lock
    }

    #[test]
    fn text_has_sorted_keys_and_round_trips() {
        let lock = sample();
        let text = lock.to_text();
        let keys: Vec<usize> = ["\"guests\"", "\"images\"", "\"version\""]
            .iter()
            .map(|k| text.find(k).unwrap())
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(text.find("\"files\"").unwrap() < text.find("\"layers\"").unwrap());
        assert!(text.ends_with("}\n"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        assert!(lock.write(&path).unwrap());
        assert!(
            !lock.write(&path).unwrap(),
            "unchanged text is not rewritten"
        );
        assert_eq!(Lock::read(&path).unwrap(), Some(lock));
        assert_eq!(Lock::read(&dir.path().join("none")).unwrap(), None);
    }

    #[test]
    fn rejects_other_versions_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        std::fs::write(
            &path,
            sample()
                .to_text()
                .replace("\"version\": 1", "\"version\": 2"),
        )
        .unwrap();
        assert!(Lock::read(&path)
            .unwrap_err()
            .to_string()
            .contains("version 2"));
        std::fs::write(&path, "{").unwrap();
        assert!(Lock::read(&path)
            .unwrap_err()
            .to_string()
            .contains("not a valid wwpack.lock"));
    }
}
