//! The compiled-component cache: the machine code Cranelift makes of a component, kept on disk
//! so that a later boot of the same bytes on the same engine loads it instead of compiling.
//!
//! ```text
//! <cache>/compiled/<engine>/<wasm>    one entry: a header, then wasmtime's serialized component
//! <cache>/compiled/<engine>/.tmp-*    an entry being written, renamed into place when complete
//! ```
//!
//! `<wasm>` is the SHA-256 of the component's bytes and `<engine>` the SHA-256 of
//! [`Engine::precompile_compatibility_hash`] (wasmtime's version and every setting that changes
//! the code) and ww's version, both in hex: an engine of another wasmtime or configuration looks
//! in another directory and never sees code compiled for this one.
//!
//! An entry is [`MAGIC`], the two keys (32 bytes each), the SHA-256 of the payload (32 bytes),
//! the payload's length (u64, little-endian) and the payload. It is loaded only when all of
//! them match; anything else (a truncated, corrupt or misplaced file, or one wasmtime refuses)
//! is logged at warn, removed and rebuilt. Entries are written to a temporary file in the same
//! directory, synced and renamed, so concurrent runs see a complete entry or none. A cache that
//! cannot be written costs a warning, never the boot.

use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

use crate::cell;
use crate::error::BootError;

/// The first bytes of every entry (format version 1).
pub const MAGIC: &[u8; 8] = b"wwcc\x01\0\0\0";

/// The tracing target of the compile-or-load events (`WW_LOG=ww::compile=debug`).
pub const TARGET: &str = "ww::compile";

const HEADER_LEN: usize = MAGIC.len() + 32 + 32 + 32 + 8;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Where compiled components are kept, or nowhere (`--no-cache`). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct CompileCache {
    /// `<cache>/compiled`; `None` compiles every time and touches no file.
    dir: Option<PathBuf>,
}

/// Why an entry was not loaded.
#[derive(Debug, thiserror::Error)]
enum BadEntry {
    #[error("it is shorter than its header")]
    Truncated,
    #[error("it does not start with the ww compiled-cache magic")]
    Magic,
    #[error("its header names another component or engine")]
    Key,
    #[error("its payload length does not match the header")]
    Length,
    #[error("its payload does not match the SHA-256 in its header")]
    Digest,
    #[error("wasmtime refuses it: {0}")]
    Wasmtime(String),
}

/// The keys of one component on one engine.
struct Key {
    engine: [u8; 32],
    wasm: [u8; 32],
}

impl CompileCache {
    /// A cache below `cache_dir` (ww's cache, `--cache`), in `compiled/`.
    pub fn new(cache_dir: &Path) -> CompileCache {
        CompileCache {
            dir: Some(cache_dir.join("compiled")),
        }
    }

    /// No cache: every component is compiled, nothing is read or written.
    pub fn disabled() -> CompileCache {
        CompileCache { dir: None }
    }

    /// Returns `bytes`, a WASI command component, compiled for `engine`: loaded from the cache
    /// when a valid entry is there, else checked and compiled as [`cell::compile`] does, and
    /// (best effort) stored. `name` names the component in messages. CPU-bound.
    ///
    /// A loaded component is not checked again: its entry exists only because these very
    /// bytes (the key is their SHA-256) passed the check and compiled, on this ww and engine.
    pub fn component(
        &self,
        engine: &Engine,
        name: &str,
        bytes: &[u8],
    ) -> Result<Component, BootError> {
        let Some(dir) = &self.dir else {
            return compile(engine, name, bytes);
        };
        let key = Key {
            engine: engine_key(engine),
            wasm: Sha256::digest(bytes).into(),
        };
        let engine_dir = dir.join(hex(&key.engine));
        let entry = engine_dir.join(hex(&key.wasm));
        match load(engine, &entry, &key) {
            Ok(Some(component)) => {
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
        if let Err(e) = store(&engine_dir, &entry, &key, &component) {
            tracing::warn!(
                target: TARGET,
                "cannot write {name} to the compiled cache ({e}); later runs compile it again"
            );
        }
        Ok(component)
    }
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
fn load(engine: &Engine, path: &Path, key: &Key) -> Result<Option<Component>, BadEntry> {
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            // Unreadable (e.g. permissions): compile, and let the write report what it can.
            tracing::warn!(
                target: TARGET,
                "cannot read the compiled-cache entry {}: {e}",
                path.display()
            );
            return Ok(None);
        }
    };
    let payload = verify(&data, key)?;
    // SAFETY: `Component::deserialize` trusts its input to be code wasmtime itself produced for
    // an engine like this one; arbitrary bytes could run anything. `payload` is such code: ww
    // writes entries only from `Component::serialize` on an engine with this very compatibility
    // hash (the `<engine>` directory and the header say so), and `verify` has just checked,
    // on these bytes in memory (no file is re-read after the check), that the payload is
    // complete and has the SHA-256 recorded when it was written, so a truncated or corrupted
    // file is refused here. Only someone who can already write ww's cache directory could
    // plant an entry, and such a user can already replace ww's cached union roots.
    let component = unsafe { Component::deserialize(engine, payload) }
        .map_err(|e| BadEntry::Wasmtime(cell::one_line(&e)))?;
    Ok(Some(component))
}

/// The payload of the entry `data` when its header matches `key` and the payload.
fn verify<'a>(data: &'a [u8], key: &Key) -> Result<&'a [u8], BadEntry> {
    if data.len() < HEADER_LEN {
        return Err(BadEntry::Truncated);
    }
    let (header, payload) = data.split_at(HEADER_LEN);
    let (magic, rest) = header.split_at(MAGIC.len());
    if magic != MAGIC {
        return Err(BadEntry::Magic);
    }
    let (engine, rest) = rest.split_at(32);
    let (wasm, rest) = rest.split_at(32);
    if engine != key.engine || wasm != key.wasm {
        return Err(BadEntry::Key);
    }
    let (digest, len) = rest.split_at(32);
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(len);
    if u64::from_le_bytes(len_bytes) != payload.len() as u64 {
        return Err(BadEntry::Length);
    }
    if Sha256::digest(payload).as_slice() != digest {
        return Err(BadEntry::Digest);
    }
    Ok(payload)
}

/// Writes the entry of `component` at `entry` (in `dir`): temporary file, sync, rename.
fn store(dir: &Path, entry: &Path, key: &Key, component: &Component) -> Result<(), String> {
    let payload = component
        .serialize()
        .map_err(|e| format!("cannot serialize it: {}", cell::one_line(&e)))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".tmp-{}-{n}", std::process::id()));
    let result = (|| {
        let mut file =
            File::create(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        let write = |file: &mut File, bytes: &[u8]| {
            file.write_all(bytes)
                .map_err(|e| format!("cannot write {}: {e}", tmp.display()))
        };
        write(&mut file, MAGIC)?;
        write(&mut file, &key.engine)?;
        write(&mut file, &key.wasm)?;
        write(&mut file, &Sha256::digest(&payload))?;
        write(&mut file, &(payload.len() as u64).to_le_bytes())?;
        write(&mut file, &payload)?;
        file.sync_all()
            .map_err(|e| format!("cannot sync {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, entry)
            .map_err(|e| format!("cannot rename into {}: {e}", entry.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    // Make the rename itself durable; an entry lost to a crash is only compiled again.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
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

    fn key() -> Key {
        Key {
            engine: [1; 32],
            wasm: [2; 32],
        }
    }

    fn entry(key: &Key, payload: &[u8]) -> Vec<u8> {
        let mut data = MAGIC.to_vec();
        data.extend_from_slice(&key.engine);
        data.extend_from_slice(&key.wasm);
        data.extend_from_slice(&Sha256::digest(payload));
        data.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        data.extend_from_slice(payload);
        data
    }

    #[test]
    fn a_valid_entry_yields_its_payload() {
        let data = entry(&key(), b"code");
        assert_eq!(verify(&data, &key()).ok(), Some(&b"code"[..]));
    }

    #[test]
    fn truncated_flipped_foreign_and_bad_magic_entries_are_refused() {
        let data = entry(&key(), b"some code");
        assert!(matches!(
            verify(&data[..data.len() - 1], &key()),
            Err(BadEntry::Length)
        ));
        assert!(matches!(
            verify(&data[..10], &key()),
            Err(BadEntry::Truncated)
        ));
        let mut flipped = data.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(verify(&flipped, &key()), Err(BadEntry::Digest)));
        let other = Key {
            engine: [3; 32],
            wasm: [2; 32],
        };
        assert!(matches!(verify(&data, &other), Err(BadEntry::Key)));
        let mut magic = data;
        magic[0] = b'x';
        assert!(matches!(verify(&magic, &key()), Err(BadEntry::Magic)));
    }

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
}
