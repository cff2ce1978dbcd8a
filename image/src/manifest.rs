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

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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

    /// What differs from `old` to `self`, one line per difference, in path order; empty when
    /// the two are equal.
    pub fn diff(&self, old: &Lock) -> Vec<String> {
        let mut out = Vec::new();
        let names: std::collections::BTreeSet<&String> =
            old.images.keys().chain(self.images.keys()).collect();
        for name in names {
            match (old.images.get(name), self.images.get(name)) {
                (None, Some(_)) => out.push(format!("image `{name}`: added")),
                (Some(_), None) => out.push(format!("image `{name}`: removed")),
                (Some(a), Some(b)) => diff_image(name, a, b, &mut out),
                (None, None) => {}
            }
        }
        let guests: std::collections::BTreeSet<&String> =
            old.guests.keys().chain(self.guests.keys()).collect();
        for name in guests {
            match (old.guests.get(name), self.guests.get(name)) {
                (None, Some(g)) => out.push(format!("guest `{name}`: added ({})", g.wasm)),
                (Some(_), None) => out.push(format!("guest `{name}`: removed")),
                (Some(a), Some(b)) if a != b => out.push(format!(
                    "guest `{name}`: {} {} -> {} {}",
                    a.version, a.wasm, b.version, b.wasm
                )),
                _ => {}
            }
        }
        out
    }
}

impl Default for Lock {
    fn default() -> Lock {
        Lock::new()
    }
}

fn diff_image(name: &str, a: &ImageManifest, b: &ImageManifest, out: &mut Vec<String>) {
    if a.profile != b.profile {
        out.push(format!(
            "image `{name}`: profile {} -> {}",
            a.profile, b.profile
        ));
    }
    if a.root != b.root {
        out.push(format!("image `{name}`: root {} -> {}", a.root, b.root));
    }
    if a.layers != b.layers {
        let show = |ls: &[LayerRecord]| {
            ls.iter()
                .map(|l| format!("{}={}", l.name, l.cid))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push(format!(
            "image `{name}`: layers [{}] -> [{}]",
            show(&a.layers),
            show(&b.layers)
        ));
    }
    let paths: std::collections::BTreeSet<&String> = a.files.keys().chain(b.files.keys()).collect();
    for path in paths {
        match (a.files.get(path), b.files.get(path)) {
            (None, Some(f)) => out.push(format!(
                "image `{name}`: + {path} ({}, {} bytes, layer {})",
                f.cid, f.size, f.layer
            )),
            (Some(f), None) => out.push(format!(
                "image `{name}`: - {path} ({}, {} bytes, layer {})",
                f.cid, f.size, f.layer
            )),
            (Some(f), Some(g)) if f != g => {
                let mut what = Vec::new();
                if f.cid != g.cid || f.size != g.size {
                    what.push(format!(
                        "{} ({} bytes) -> {} ({} bytes)",
                        f.cid, f.size, g.cid, g.size
                    ));
                }
                if f.layer != g.layer {
                    what.push(format!("layer {} -> {}", f.layer, g.layer));
                }
                if f.shadows != g.shadows {
                    what.push(format!(
                        "shadows [{}] -> [{}]",
                        f.shadows.join(", "),
                        g.shadows.join(", ")
                    ));
                }
                if f.target != g.target {
                    what.push(format!("target {:?} -> {:?}", f.target, g.target));
                }
                out.push(format!("image `{name}`: ~ {path}: {}", what.join("; ")));
            }
            _ => {}
        }
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
    fn diff_names_each_change() {
        let old = sample();
        let mut new = sample();
        assert!(new.diff(&old).is_empty());
        let image = new.images.get_mut("default").unwrap();
        image.root = "bafyroot2".into();
        let motd = image.files.get_mut("etc/motd").unwrap();
        motd.cid = "bafkmotd2".into();
        motd.size = 4;
        image
            .files
            .insert("etc/new".into(), image.files["etc/motd"].clone());
        let diff = new.diff(&old);
        assert_eq!(diff.len(), 3, "{diff:#?}");
        assert!(diff[0].contains("root bafyroot -> bafyroot2"));
        assert!(diff[1].contains("~ etc/motd: bafkmotd (3 bytes) -> bafkmotd2 (4 bytes)"));
        assert!(diff[2].contains("+ etc/new"));
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
