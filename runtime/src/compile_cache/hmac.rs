//! HMAC-SHA256 (RFC 2104 / FIPS 198-1) on the workspace's `sha2`, and the comparison of two
//! tags in time that does not depend on where they differ. Short and standard: the key, padded
//! to SHA-256's 64-byte block (hashed first when longer), XORed with `0x36` starts the inner
//! hash of the message, XORed with `0x5c` the outer hash of the inner digest.

use sha2::{Digest, Sha256};

/// Bytes of a tag.
pub const TAG_LEN: usize = 32;

/// SHA-256's block size, the length the key is padded to.
const BLOCK_LEN: usize = 64;

/// An HMAC-SHA256 computation: [`HmacSha256::new`], any number of
/// [`update`](HmacSha256::update)s, then [`finalize`](HmacSha256::finalize).
pub struct HmacSha256 {
    inner: Sha256,
    outer: Sha256,
}

impl HmacSha256 {
    /// Starts a tag under `key` (any length).
    pub fn new(key: &[u8]) -> HmacSha256 {
        let mut block = [0u8; BLOCK_LEN];
        if key.len() > BLOCK_LEN {
            block[..TAG_LEN].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let mut inner = Sha256::new();
        inner.update(block.map(|b| b ^ 0x36));
        let mut outer = Sha256::new();
        outer.update(block.map(|b| b ^ 0x5c));
        HmacSha256 { inner, outer }
    }

    /// Adds `data` to the message.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// The tag of the message.
    pub fn finalize(self) -> [u8; TAG_LEN] {
        let mut outer = self.outer;
        outer.update(self.inner.finalize());
        outer.finalize().into()
    }
}

/// Whether `a` and `b` are the same tag, looking at every byte whatever the first difference.
pub fn tags_equal(a: &[u8; TAG_LEN], b: &[u8]) -> bool {
    if b.len() != TAG_LEN {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(key: &[u8], data: &[u8]) -> String {
        let mut mac = HmacSha256::new(key);
        // In two pieces: updates concatenate.
        let (a, b) = data.split_at(data.len() / 2);
        mac.update(a);
        mac.update(b);
        mac.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 4231's test cases 1, 2, 6 and 7, and a key of exactly one block.
    #[test]
    fn the_rfc_4231_vectors_hold() {
        assert_eq!(
            tag(&[0x0b; 20], b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            tag(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            tag(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        assert_eq!(
            tag(
                &[0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than \
                  block-size data. The key needs to be hashed before being used by the \
                  HMAC algorithm."
            ),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        );
        assert_eq!(
            tag(&[0x01; 64], b"x"),
            "c668fc54e1a2a267c502413f4580c5bb5d9229fef5fb9b4ff5f4ce5e76299783"
        );
    }

    #[test]
    fn tags_compare_whole() {
        let a = [7u8; TAG_LEN];
        assert!(tags_equal(&a, &[7u8; TAG_LEN]));
        let mut last = [7u8; TAG_LEN];
        last[TAG_LEN - 1] = 6;
        assert!(!tags_equal(&a, &last));
        assert!(!tags_equal(&a, &[7u8; TAG_LEN - 1]));
        assert!(!tags_equal(&a, &[]));
    }
}
