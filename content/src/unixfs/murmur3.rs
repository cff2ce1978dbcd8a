//! MurmurHash3 x64_128 with seed 0, of which UnixFS HAMTs use the first 64-bit word (`h1`), read
//! big-endian: that is what Go's `murmur3.New64().Sum(nil)` gives, and what Kubo hashes names with.
//!
//! The hash is the `murmur3` crate's; it returns the 128 bits as `h2 << 64 | h1`.

/// MurmurHash3 x64_128 of `data` with seed 0, as `(h1, h2)`.
pub fn murmur3_x64_128(data: &[u8]) -> (u64, u64) {
    let mut reader = data;
    // The crate reads from `io::Read`, and reading a byte slice never fails.
    let both = murmur3::murmur3_x64_128(&mut reader, 0).expect("reading a byte slice cannot fail");
    (both as u64, (both >> 64) as u64)
}

/// The 64-bit HAMT hash of a name: `h1`, whose most significant byte indexes the first level.
pub fn hamt_hash(name: &[u8]) -> u64 {
    murmur3_x64_128(name).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // Reference values of MurmurHash3_x64_128 with seed 0 (h1, h2).
        assert_eq!(murmur3_x64_128(b""), (0, 0));
        assert_eq!(
            murmur3_x64_128(b"hello"),
            (0xcbd8_a7b3_41bd_9b02, 0x5b1e_906a_48ae_1d19)
        );
        assert_eq!(
            murmur3_x64_128(b"The quick brown fox jumps over the lazy dog"),
            (0xe34b_bc7b_bc07_1b6c, 0x7a43_3ca9_c49a_9347)
        );
    }
}
