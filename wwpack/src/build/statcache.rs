//! The stat cache: the CIDs of host files by their metadata, so a build does not read and hash
//! a file whose size, mtime, ctime and inode are unchanged since the last build, and whose root
//! block is still in the store. Kept in `<out>/stat-cache.json`; a missing or unreadable cache
//! only costs hashing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use ww_content::store::Store;
use ww_content::unixfs::{FileNodes, Imported, Profile};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stat {
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
    ctime: i64,
    ctime_nsec: i64,
    ino: u64,
}

impl Stat {
    fn of(path: &Path) -> Option<Stat> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(Stat {
            size: m.len(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
            ctime: m.ctime(),
            ctime_nsec: m.ctime_nsec(),
            ino: m.ino(),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    stat: Stat,
    cid: String,
    tsize: u64,
    filesize: u64,
}

/// Known file nodes per profile and host path.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct StatCache {
    profiles: BTreeMap<String, BTreeMap<PathBuf, Record>>,
}

impl StatCache {
    /// Loads the cache; empty if it is missing or unreadable.
    pub fn load(path: &Path) -> StatCache {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Puts into `nodes` every cached file of `profile` whose metadata is unchanged and whose
    /// root block `store` still has; returns how many.
    pub fn prefill(&self, profile: &Profile, nodes: &mut FileNodes, store: &Store) -> usize {
        let Some(records) = self.profiles.get(profile.name) else {
            return 0;
        };
        let mut n = 0;
        for (path, r) in records {
            if Stat::of(path).as_ref() != Some(&r.stat) {
                continue;
            }
            let Ok(cid) = r.cid.parse() else { continue };
            if !store.has(&cid) {
                continue;
            }
            nodes.by_source.insert(
                path.clone(),
                Imported {
                    cid,
                    tsize: r.tsize,
                    filesize: r.filesize,
                },
            );
            n += 1;
        }
        n
    }

    /// Records the nodes of `profile` (replacing what was cached for it).
    pub fn record(&mut self, profile: &str, nodes: &FileNodes) {
        let records = nodes
            .by_source
            .iter()
            .filter_map(|(path, node)| {
                Some((
                    path.clone(),
                    Record {
                        stat: Stat::of(path)?,
                        cid: node.cid.to_string(),
                        tsize: node.tsize,
                        filesize: node.filesize,
                    },
                ))
            })
            .collect();
        self.profiles.insert(profile.to_string(), records);
    }

    /// Saves the cache (best effort: a cache that cannot be written only costs hashing).
    pub fn save(&self, path: &Path) {
        let Ok(text) = serde_json::to_vec(self) else {
            return;
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = ww_content::atomic::write_file(path, &text) {
            tracing::warn!("cannot save the stat cache: {e}");
        }
    }
}
