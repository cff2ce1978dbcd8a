//! The bytes of one compiled-cache entry, and the check that lets them reach `deserialize`.
//!
//! ```text
//! MAGIC      8 bytes   b"wwcc", the format version (2), three zero bytes
//! engine    32 bytes   the SHA-256 that names the engine (the `<engine>` directory)
//! wasm      32 bytes   the SHA-256 of the component's bytes (the entry's file name)
//! length     8 bytes   the payload's length, u64 little-endian
//! tag       32 bytes   HMAC-SHA256, under the cache's key, of all of the above but the tag,
//!                      then the payload
//! payload              wasmtime's serialized component
//! ```
//!
//! Version 1 had a plain SHA-256 of the payload where the tag is: anyone could compute it, so
//! a version 1 entry is refused like any other that is not authenticated.

use crate::compile_cache::hmac::{tags_equal, HmacSha256, TAG_LEN};
use crate::compile_cache::key::CacheKey;

/// The first bytes of every entry (format version 2).
pub const MAGIC: &[u8; 8] = b"wwcc\x02\0\0\0";

/// What every version's magic starts with; the byte after it is the version.
const MAGIC_PREFIX: &[u8; 4] = b"wwcc";

/// Bytes of the header, before the payload.
pub const HEADER_LEN: usize = MAGIC.len() + 32 + 32 + 8 + TAG_LEN;

/// Which component, compiled by which engine, an entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryId {
    pub engine: [u8; 32],
    pub wasm: [u8; 32],
}

/// Why an entry was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum BadEntry {
    #[error("it is not a regular file ({0})")]
    NotAFile(String),
    #[error("it is shorter than its header")]
    Truncated,
    #[error("it does not start with the ww compiled-cache magic")]
    Magic,
    #[error("it is in format version {0}, not {version}", version = MAGIC[4])]
    Version(u8),
    #[error("its header names another component or engine")]
    Id,
    #[error("its payload length does not match the header")]
    Length,
    #[error(
        "it is not authenticated by this cache's key (its HMAC-SHA256 does not match): it was \
         damaged, planted, or written by a cache with another key"
    )]
    Unauthenticated,
    #[error("wasmtime refuses it: {0}")]
    Wasmtime(String),
}

/// The header of the entry of `payload` for `id`, tagged under `key`.
pub fn header(key: &CacheKey, id: &EntryId, payload: &[u8]) -> Vec<u8> {
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&id.engine);
    header.extend_from_slice(&id.wasm);
    header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    let tag = tag(key, &header, payload);
    header.extend_from_slice(&tag);
    header
}

/// The payload of the entry `data` when it is in this format, for `id`, and authenticated by
/// `key`; no byte of the payload is trusted before the tag over all of them matched.
pub fn verify<'a>(data: &'a [u8], id: &EntryId, key: &CacheKey) -> Result<&'a [u8], BadEntry> {
    if data.len() > MAGIC_PREFIX.len()
        && data.starts_with(MAGIC_PREFIX)
        && data[MAGIC_PREFIX.len()] != MAGIC[MAGIC_PREFIX.len()]
    {
        return Err(BadEntry::Version(data[MAGIC_PREFIX.len()]));
    }
    if data.len() < HEADER_LEN {
        return Err(BadEntry::Truncated);
    }
    let (header, payload) = data.split_at(HEADER_LEN);
    let (fields, stored_tag) = header.split_at(HEADER_LEN - TAG_LEN);
    let (magic, rest) = fields.split_at(MAGIC.len());
    if magic != MAGIC {
        return Err(BadEntry::Magic);
    }
    let (engine, rest) = rest.split_at(32);
    let (wasm, len) = rest.split_at(32);
    if engine != id.engine || wasm != id.wasm {
        return Err(BadEntry::Id);
    }
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(len);
    if u64::from_le_bytes(len_bytes) != payload.len() as u64 {
        return Err(BadEntry::Length);
    }
    if !tags_equal(&tag(key, fields, payload), stored_tag) {
        return Err(BadEntry::Unauthenticated);
    }
    Ok(payload)
}

/// The tag of an entry: HMAC-SHA256 under `key` of its header fields, then its payload.
fn tag(key: &CacheKey, fields: &[u8], payload: &[u8]) -> [u8; TAG_LEN] {
    let mut mac = HmacSha256::new(key.bytes());
    mac.update(fields);
    mac.update(payload);
    mac.finalize()
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    fn id() -> EntryId {
        EntryId {
            engine: [1; 32],
            wasm: [2; 32],
        }
    }

    fn key() -> CacheKey {
        CacheKey::from_bytes([5; 32])
    }

    fn entry(key: &CacheKey, id: &EntryId, payload: &[u8]) -> Vec<u8> {
        let mut data = header(key, id, payload);
        data.extend_from_slice(payload);
        data
    }

    #[test]
    fn a_valid_entry_yields_its_payload() {
        let data = entry(&key(), &id(), b"code");
        assert_eq!(data.len(), HEADER_LEN + 4);
        assert_eq!(verify(&data, &id(), &key()).ok(), Some(&b"code"[..]));
        let empty = entry(&key(), &id(), b"");
        assert_eq!(verify(&empty, &id(), &key()).ok(), Some(&b""[..]));
    }

    #[test]
    fn truncated_flipped_foreign_and_bad_magic_entries_are_refused() {
        let data = entry(&key(), &id(), b"some code");
        assert!(matches!(
            verify(&data[..data.len() - 1], &id(), &key()),
            Err(BadEntry::Length)
        ));
        assert!(matches!(
            verify(&data[..10], &id(), &key()),
            Err(BadEntry::Truncated)
        ));
        // Any byte flipped, in the header or the payload, and the tag does not match (or a
        // field check fails first).
        for i in 0..data.len() {
            let mut flipped = data.clone();
            flipped[i] ^= 1;
            assert!(verify(&flipped, &id(), &key()).is_err(), "byte {i}");
        }
        let mut payload_flipped = data.clone();
        let last = payload_flipped.len() - 1;
        payload_flipped[last] ^= 1;
        assert!(matches!(
            verify(&payload_flipped, &id(), &key()),
            Err(BadEntry::Unauthenticated)
        ));
        let other = EntryId {
            engine: [3; 32],
            wasm: [2; 32],
        };
        assert!(matches!(verify(&data, &other, &key()), Err(BadEntry::Id)));
        let mut magic = data;
        magic[0] = b'x';
        assert!(matches!(
            verify(&magic, &id(), &key()),
            Err(BadEntry::Magic)
        ));
    }

    #[test]
    fn an_entry_of_another_key_is_refused() {
        let data = entry(&CacheKey::from_bytes([6; 32]), &id(), b"code");
        assert!(matches!(
            verify(&data, &id(), &key()),
            Err(BadEntry::Unauthenticated)
        ));
    }

    /// The attack on version 1: a well-formed header with the real SHA-256 of a payload of the
    /// attacker's choice (here int3 instructions), in either format.
    #[test]
    fn a_planted_entry_with_a_valid_sha256_is_refused() {
        let payload = [0xCCu8; 64];
        let mut v1 = b"wwcc\x01\0\0\0".to_vec();
        v1.extend_from_slice(&id().engine);
        v1.extend_from_slice(&id().wasm);
        v1.extend_from_slice(&Sha256::digest(payload));
        v1.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        v1.extend_from_slice(&payload);
        assert!(matches!(
            verify(&v1, &id(), &key()),
            Err(BadEntry::Version(1))
        ));
        let mut v2 = MAGIC.to_vec();
        v2.extend_from_slice(&id().engine);
        v2.extend_from_slice(&id().wasm);
        v2.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        v2.extend_from_slice(&Sha256::digest(payload));
        v2.extend_from_slice(&payload);
        assert!(matches!(
            verify(&v2, &id(), &key()),
            Err(BadEntry::Unauthenticated)
        ));
    }
}
