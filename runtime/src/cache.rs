//! ww's cache: file contents by CID, and materialized union roots by the union's CID.
//!
//! ```text
//! <cache>/files/<cid>       a file's bytes, written once, read-only; the name is its CID
//! <cache>/roots/<cid>/      a union root: directories, symlinks, and hard links into files/
//! <cache>/tmp/              work in progress, renamed into place when complete
//! ```
//!
//! Everything is written beside its final place and renamed, so a crash leaves no half file or
//! half root, and concurrent runs that race produce the same bytes. `--cache DIR` or `WW_CACHE`
//! choose the directory, else `$XDG_CACHE_HOME/ww`, else `~/.cache/ww`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wwpack::cid::Cid;
use wwpack::union::{Placement, Union};

use crate::error::BootError;

/// The cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn host(what: String) -> impl FnOnce(std::io::Error) -> BootError {
    move |e| BootError::Host(format!("{what}: {e}"))
}

impl Cache {
    /// `$WW_CACHE`, else `$XDG_CACHE_HOME/ww`, else `$HOME/.cache/ww`.
    pub fn default_dir() -> Option<PathBuf> {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        var("WW_CACHE")
            .or_else(|| {
                var("XDG_CACHE_HOME")
                    .filter(|p| p.is_absolute())
                    .map(|p| p.join("ww"))
            })
            .or_else(|| var("HOME").map(|h| h.join(".cache").join("ww")))
    }

    pub fn open(dir: &Path) -> Result<Cache, BootError> {
        for sub in ["files", "roots", "tmp"] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).map_err(host(format!(
                "cannot create the cache directory {}",
                d.display()
            )))?;
        }
        Ok(Cache {
            dir: dir.to_path_buf(),
        })
    }

    fn temp(&self, what: &str) -> PathBuf {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        self.dir
            .join("tmp")
            .join(format!("{what}-{}-{n}", std::process::id()))
    }

    /// The cached file of `cid`, if present.
    pub fn file(&self, cid: &Cid) -> Option<PathBuf> {
        let path = self.file_path(cid);
        path.is_file().then_some(path)
    }

    fn file_path(&self, cid: &Cid) -> PathBuf {
        self.dir.join("files").join(cid.to_v1().to_string())
    }

    /// Caches the bytes `write` produces as the file of `cid` (unless it is cached already) and
    /// returns its path.
    pub fn put_file(
        &self,
        cid: &Cid,
        write: impl FnOnce(&mut dyn Write) -> Result<(), BootError>,
    ) -> Result<PathBuf, BootError> {
        if let Some(path) = self.file(cid) {
            return Ok(path);
        }
        let tmp = self.temp("file");
        let result = (|| {
            let file = std::fs::File::create(&tmp)
                .map_err(host(format!("cannot create {}", tmp.display())))?;
            let mut out = std::io::BufWriter::new(file);
            write(&mut out)?;
            let file = out.into_inner().map_err(|e| {
                BootError::Host(format!("cannot write {}: {}", tmp.display(), e.error()))
            })?;
            let mut perms = file
                .metadata()
                .map_err(host(format!("cannot stat {}", tmp.display())))?
                .permissions();
            perms.set_readonly(true);
            file.set_permissions(perms)
                .map_err(host(format!("cannot chmod {}", tmp.display())))?;
            file.sync_all()
                .map_err(host(format!("cannot sync {}", tmp.display())))?;
            let dest = self.file_path(cid);
            std::fs::rename(&tmp, &dest)
                .map_err(host(format!("cannot rename into {}", dest.display())))?;
            Ok(dest)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// The root of `union` (whose files are all in this cache), keyed by `key`: reused when a
    /// previous run made it, else materialized with hard links and renamed into place.
    pub fn root(&self, union: &Union, key: &Cid) -> Result<PathBuf, BootError> {
        let dest = self.dir.join("roots").join(key.to_v1().to_string());
        if dest.is_dir() {
            return Ok(dest);
        }
        let tmp = self.temp("root");
        union
            .materialize(&tmp, Placement::LinkOrCopy)
            .map_err(|e| BootError::Host(format!("cannot materialize the union root: {e}")))?;
        match std::fs::rename(&tmp, &dest) {
            Ok(()) => Ok(dest),
            // Another run made the same root first: same content, use theirs.
            Err(_) if dest.is_dir() => {
                let _ = std::fs::remove_dir_all(&tmp);
                Ok(dest)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                Err(BootError::Host(format!(
                    "cannot rename the union root into {}: {e}",
                    dest.display()
                )))
            }
        }
    }
}
