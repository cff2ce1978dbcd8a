//! The compiled-component cache: the machine code Cranelift makes of a component, kept on disk
//! so that a later boot of the same bytes on the same engine loads it instead of compiling.
//!
//! ```text
//! <cache>/compiled/key                the cache's secret key: 32 random bytes, mode 0600
//! <cache>/compiled/<engine>/<wasm>    one entry: a header, then wasmtime's serialized component
//! <cache>/compiled/<engine>/.tmp-*    an entry being written, renamed into place when complete
//! ```
//!
//! `<wasm>` is the SHA-256 of the component's bytes and `<engine>` the SHA-256 of
//! [`Engine::precompile_compatibility_hash`] (wasmtime's version and every setting that changes
//! the code) and ww's version, both in hex: an engine of another wasmtime or configuration looks
//! in another directory and never sees code compiled for this one.
//!
//! **Threat model.** Loading an entry runs its bytes as native code, so the cache trusts no file
//! for what it says about itself. Images, their layers and IPFS nodes are untrusted: an image
//! that got a file into the cache must not get code run. The host user running ww and the owner
//! of the cache directory are trusted. So every entry carries an HMAC-SHA256 over its header
//! and payload (the format is in `entry.rs`) under the cache's secret key (`key.rs`), which ww
//! makes the first time it uses the cache and which only the cache's owner can read; an entry
//! is loaded only when its tag matches. Anything else (a truncated, damaged, planted, misplaced or
//! old-format entry, one written under another cache's key, one that is not a regular file, or
//! one wasmtime refuses) is logged at warn, removed and rebuilt. A key file that is not one ww
//! made is left alone, with a warning saying to remove it, and the cache is not used meanwhile.
//!
//! Entries are written to a new temporary file in the same directory, synced and renamed, so
//! concurrent runs see a complete entry or none. A cache that cannot be written costs a warning,
//! never the boot. Within a run, the last 16 components (`recent.rs`) are also kept in memory,
//! so that many processes started from the same bytes (`runBytes` in a loop) share one copy of
//! their machine code instead of loading one each.
//!
//! An entry's mtime is set whenever it is loaded: it is "last used" for the cache's pruning
//! ([`crate::cache`], Pruning), which may remove any entry at any time. That is safe: an entry
//! is read whole through one open file descriptor, so a removal meanwhile leaves the reader its
//! bytes, and one removed before is compiled again.

mod entry;
mod hmac;
mod key;
mod recent;

use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use rustix::fs::{Mode, OFlags};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;
use ww_content::atomic::NewFile;

use crate::cell;
use crate::compile_cache::entry::{BadEntry, EntryId};
pub use crate::compile_cache::entry::{HEADER_LEN, MAGIC};
pub use crate::compile_cache::key::{CacheKey, KeyError, KEY_FILE, KEY_LEN};
use crate::compile_cache::recent::Recent;
use crate::error::BootError;

/// The tracing target of the compile-or-load events (`WW_LOG=ww::compile=debug`).
pub const TARGET: &str = "ww::compile";

/// Where compiled components are kept, or nowhere (`--no-cache`). Cheap to clone; clones share
/// the key, read or made at the first use.
#[derive(Debug, Clone, Default)]
pub struct CompileCache {
    /// `<cache>/compiled`; `None` compiles every time and touches no file.
    dir: Option<PathBuf>,
    /// The cache's key, read or made at the first use; `None` when there is none to be had
    /// (then the cache on disk is not used).
    key: Arc<OnceLock<Option<CacheKey>>>,
    /// The components compiled or loaded lately in this run, so that many processes of the
    /// same bytes share one copy of their code.
    recent: Recent,
}

impl CompileCache {
    /// A cache below `cache_dir` (ww's cache, `--cache`), in `compiled/`. Nothing is read or
    /// written until the first component.
    pub fn new(cache_dir: &Path) -> CompileCache {
        CompileCache {
            dir: Some(cache_dir.join("compiled")),
            key: Arc::default(),
            recent: Recent::default(),
        }
    }

    /// No cache: every component is compiled, nothing is read or written.
    pub fn disabled() -> CompileCache {
        CompileCache::default()
    }

    /// Returns `bytes`, a WASI command component, compiled for `engine`: loaded from the cache
    /// when an authenticated entry is there, else checked and compiled as [`cell::compile`]
    /// does, and (best effort) stored. `name` names the component in messages. CPU-bound.
    ///
    /// A loaded component is not checked again: its entry is authenticated by this cache's key,
    /// which ww uses only to tag what it compiled itself from these very bytes (the entry is
    /// named by their SHA-256) after they passed the check, on this ww and engine.
    pub fn component(
        &self,
        engine: &Engine,
        name: &str,
        bytes: &[u8],
    ) -> Result<Component, BootError> {
        let Some(dir) = &self.dir else {
            return compile(engine, name, bytes);
        };
        let id = EntryId {
            engine: engine_key(engine),
            wasm: Sha256::digest(bytes).into(),
        };
        if let Some(component) = self.recent.get(&id) {
            tracing::debug!(
                target: TARGET,
                cached = true,
                "reused {name}, compiled or loaded earlier in this run"
            );
            return Ok(component);
        }
        let component = match self.key(dir) {
            Some(key) => through_disk(dir, key, &id, engine, name, bytes)?,
            None => compile(engine, name, bytes)?,
        };
        self.recent.put(id, component.clone());
        Ok(component)
    }

    /// The key of the cache in `dir`, read or made at the first call; `None` (with one warning)
    /// when there is none to be had, so that nothing is loaded or stored.
    fn key(&self, dir: &Path) -> Option<&CacheKey> {
        self.key
            .get_or_init(|| match CacheKey::load_or_create(dir) {
                Ok(key) => Some(key),
                Err(e) => {
                    tracing::warn!(
                        target: TARGET,
                        "cannot use the compiled cache {}: {e}; compiling every component",
                        dir.display()
                    );
                    None
                }
            })
            .as_ref()
    }
}

/// The component of `bytes` (`id`) from its authenticated entry below `dir`, or compiled and
/// (best effort) stored there; an entry that does not pass is discarded.
fn through_disk(
    dir: &Path,
    key: &CacheKey,
    id: &EntryId,
    engine: &Engine,
    name: &str,
    bytes: &[u8],
) -> Result<Component, BootError> {
    let engine_dir = dir.join(hex(&id.engine));
    let entry = engine_dir.join(hex(&id.wasm));
    match load(engine, &entry, id, key) {
        Ok(Some(component)) => {
            // "Last used", for pruning (`crate::cache`, Pruning).
            crate::cache::touch_path(&entry);
            tracing::debug!(
                target: TARGET,
                cached = true,
                entry = %entry.display(),
                "loaded {name} from the compiled cache"
            );
            return Ok(component);
        }
        Ok(None) => {}
        Err(bad) => {
            tracing::warn!(
                target: TARGET,
                "discarding the compiled-cache entry {} of {name}: {bad}; compiling it again",
                entry.display()
            );
            if let Err(e) = std::fs::remove_file(&entry) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(target: TARGET, "cannot remove {}: {e}", entry.display());
                }
            }
        }
    }
    let component = compile(engine, name, bytes)?;
    if let Err(e) = store(&engine_dir, &entry, id, key, &component) {
        tracing::warn!(
            target: TARGET,
            "cannot write {name} to the compiled cache ({e}); later runs compile it again"
        );
    }
    Ok(component)
}

/// Checks and compiles `bytes` afresh ([`cell::compile`]) and logs how long it took.
fn compile(engine: &Engine, name: &str, bytes: &[u8]) -> Result<Component, BootError> {
    let started = Instant::now();
    let component = cell::compile(engine, name, bytes)?;
    tracing::debug!(
        target: TARGET,
        cached = false,
        "compiled {name} ({} ms)",
        started.elapsed().as_millis()
    );
    Ok(component)
}

/// The entry at `path`, if there is one; `Err` when there is a file that is not a valid entry.
fn load(
    engine: &Engine,
    path: &Path,
    id: &EntryId,
    key: &CacheKey,
) -> Result<Option<Component>, BadEntry> {
    let Some(data) = read_entry(path)? else {
        return Ok(None);
    };
    let payload = entry::verify(&data, id, key)?;
    // SAFETY: `Component::deserialize` runs whatever machine code its input holds, so it must
    // see only bytes that wasmtime's `Component::serialize` produced for an engine like this
    // one. The threat model (module docs): images, layers and IPFS nodes are untrusted and may
    // have got any file into the cache directory; the host user and the cache directory's owner
    // are trusted. `payload` gets here only if `entry::verify` found, on these very bytes in
    // memory (nothing is read again after the check), an HMAC-SHA256 tag over the whole header
    // and payload made under this cache's key. That key is 32 random bytes that ww made in
    // `compiled/key` with mode 0600 and read without following a symlink; it is never in a
    // union root, and no guest, image or node ever sees it, so only the cache's owner (and root)
    // can read it, and making a valid tag without it means forging HMAC-SHA256. ww makes tags
    // only in `store`, of what `Component::serialize` returned for a component this engine
    // compiled, and the tagged header names the engine (its compatibility hash and ww's
    // version) and the component: a payload that passes is code wasmtime produced for an
    // engine with this compatibility hash. Whoever can read the key is the cache's owner and
    // could run code as ww already.
    #[allow(unsafe_code)]
    let component = unsafe { Component::deserialize(engine, payload) }
        .map_err(|e| BadEntry::Wasmtime(cell::one_line(&e)))?;
    Ok(Some(component))
}

/// The bytes of the entry at `path`, opened without following a symlink and read only when it
/// is a regular file; `None` when there is none (or it cannot be read: then ww compiles, and
/// the write reports what it can).
fn read_entry(path: &Path) -> Result<Option<Vec<u8>>, BadEntry> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let unreadable = |e: &dyn std::fmt::Display| {
        tracing::warn!(
            target: TARGET,
            "cannot read the compiled-cache entry {}: {e}",
            path.display()
        );
    };
    let fd = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(rustix::io::Errno::LOOP) => {
            return Err(BadEntry::NotAFile("a symbolic link".to_string()))
        }
        Err(errno) => {
            unreadable(&std::io::Error::from(errno));
            return Ok(None);
        }
    };
    let mut file = File::from(fd);
    let kind = match file.metadata() {
        Ok(meta) => meta.file_type(),
        Err(e) => {
            unreadable(&e);
            return Ok(None);
        }
    };
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else {
            "a special file"
        };
        return Err(BadEntry::NotAFile(what.to_string()));
    }
    let mut data = Vec::new();
    if let Err(e) = file.read_to_end(&mut data) {
        unreadable(&e);
        return Ok(None);
    }
    Ok(Some(data))
}

/// Writes the entry of `component` at `entry` (in `dir`), tagged under `key`, atomically
/// ([`NewFile`]: a new temporary file, never one already there nor through a symlink, sync,
/// rename, sync of `dir`).
fn store(
    dir: &Path,
    entry: &Path,
    id: &EntryId,
    key: &CacheKey,
    component: &Component,
) -> Result<(), String> {
    let payload = component
        .serialize()
        .map_err(|e| format!("cannot serialize it: {}", cell::one_line(&e)))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // ww makes this directory itself; a symlink there would take the entry elsewhere.
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        _ => return Err(format!("{} is not a directory", dir.display())),
    }
    let mut new = NewFile::create(dir, ".tmp-", entry, 0o666)
        .map_err(|e| format!("cannot create a temporary file in {}: {e}", dir.display()))?;
    let tmp = new.temp_path().display().to_string();
    new.write_all(&entry::header(key, id, &payload))
        .and_then(|()| new.write_all(&payload))
        .map_err(|e| format!("cannot write {tmp}: {e}"))?;
    // The rename is made durable too; an entry lost to a crash is only compiled again.
    new.replace()
        .map_err(|e| format!("cannot sync or rename {tmp} into {}: {e}", entry.display()))
}

/// The SHA-256 of what `engine` says decides whether code compiled by it runs on another, and
/// of ww's version (whose checks an entry passed).
fn engine_key(engine: &Engine) -> [u8; 32] {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.write(concat!("ww ", env!("CARGO_PKG_VERSION")).as_bytes());
    hasher.0.finalize().into()
}

/// A [`Hasher`] that feeds SHA-256, so that the engine key is the same in every ww process.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_key_is_stable_and_depends_on_the_config() {
        let a = Engine::default();
        let b = Engine::default();
        assert_eq!(engine_key(&a), engine_key(&b));
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let c = Engine::new(&config).map_err(|e| e.to_string());
        assert_ne!(c.map(|c| engine_key(&c)), Ok(engine_key(&a)));
    }

    #[test]
    fn entries_that_are_not_regular_files_are_refused_without_being_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("target");
        std::fs::write(&target, b"x").expect("write");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(matches!(read_entry(&link), Err(BadEntry::NotAFile(_))));
        assert!(matches!(read_entry(dir.path()), Err(BadEntry::NotAFile(_))));
        let fifo = dir.path().join("fifo");
        let made = rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        );
        if made.is_ok() {
            assert!(matches!(read_entry(&fifo), Err(BadEntry::NotAFile(_))));
        }
        assert!(matches!(read_entry(&dir.path().join("none")), Ok(None)));
        assert_eq!(read_entry(&target).ok().flatten(), Some(b"x".to_vec()));
    }

    #[test]
    fn a_disabled_cache_makes_no_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = CompileCache::disabled();
        assert!(cache.dir.is_none());
        let enabled = CompileCache::new(dir.path());
        assert!(
            !dir.path().join("compiled").exists(),
            "nothing is made before the first component"
        );
        let compiled = dir.path().join("compiled");
        assert!(enabled.key(&compiled).is_some());
        assert!(compiled.join(KEY_FILE).is_file());
    }
}
