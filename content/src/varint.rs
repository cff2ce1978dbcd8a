//! Unsigned LEB128 varints, the one reader and writer of them in this crate: the multiformats
//! kind in CIDs, multihashes and CAR sections (at most 9 bytes, 63 bits), and the protobuf kind
//! in dag-pb and UnixFS (up to 10 bytes, 64 bits).
//!
//! The encoding is [`unsigned_varint`]'s. Reading is stricter than its decoder: a truncated
//! varint, one longer than allowed, one that is not minimally encoded (a trailing `0x00` byte)
//! and one whose value does not fit in 64 bits (a 10th byte above `0x01`, which the crate would
//! silently drop) are all rejected, and [`decode`] says which rule was broken.

use std::fmt;

/// The most bytes of a multiformats varint (the spec caps them at 9, 63 bits).
pub const MULTIFORMATS_MAX: usize = 9;
/// The most bytes of a protobuf varint (a `u64` with its top bit set takes 10).
pub const PROTOBUF_MAX: usize = 10;

/// Why bytes are not a varint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarintError {
    /// The input ends before the varint's last byte.
    Truncated,
    /// The varint is longer than the allowed number of bytes.
    TooLong { max: usize },
    /// The varint ends in a `0x00` byte, which a minimal encoding would have dropped.
    NotMinimal,
    /// The value needs more than 64 bits.
    Overflow,
}

impl fmt::Display for VarintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarintError::Truncated => f.write_str("truncated varint"),
            VarintError::TooLong { max } => write!(f, "varint longer than {max} bytes"),
            VarintError::NotMinimal => f.write_str("varint is not minimally encoded"),
            VarintError::Overflow => f.write_str("varint does not fit in 64 bits"),
        }
    }
}

impl std::error::Error for VarintError {}

/// Appends `value`.
#[inline]
pub fn write(value: u64, out: &mut Vec<u8>) {
    let mut buf = unsigned_varint::encode::u64_buffer();
    out.extend_from_slice(unsigned_varint::encode::u64(value, &mut buf));
}

/// The encoded length of `value`.
#[inline]
pub fn len(value: u64) -> usize {
    let bits = 64 - value.max(1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Reads a varint of at most `max` bytes (capped at [`PROTOBUF_MAX`]) at the start of `bytes`:
/// the value and the bytes read, or the rule the bytes break.
#[inline]
pub fn decode(bytes: &[u8], max: usize) -> Result<(u64, usize), VarintError> {
    let max = max.min(PROTOBUF_MAX);
    // The one-byte case, by far the most common (field keys, small lengths), needs no loop.
    if let Some(&b) = bytes.first() {
        if b < 0x80 {
            return Ok((u64::from(b), 1));
        }
    }
    let window = &bytes[..bytes.len().min(max)];
    match unsigned_varint::decode::u64(window) {
        Ok((value, rest)) => {
            let used = window.len() - rest.len();
            if used == PROTOBUF_MAX && window[PROTOBUF_MAX - 1] > 1 {
                return Err(VarintError::Overflow);
            }
            Ok((value, used))
        }
        Err(unsigned_varint::decode::Error::NotMinimal) => Err(VarintError::NotMinimal),
        // Every byte of the window continues: the varint is longer than the window allows,
        // or the input ends first.
        Err(_) if window.len() == max => Err(VarintError::TooLong { max }),
        Err(_) => Err(VarintError::Truncated),
    }
}

/// Reads a multiformats varint at the start of `bytes`: the value and the bytes read. `None` if it
/// is truncated, longer than 9 bytes, or not minimally encoded.
#[inline]
pub fn read(bytes: &[u8]) -> Option<(u64, usize)> {
    decode(bytes, MULTIFORMATS_MAX).ok()
}

/// [`read`], allowing up to `max` bytes (at most 10, which a `u64` with its top bit set
/// takes, as protobuf writes it); nothing past 64 bits is accepted.
#[inline]
pub fn read_at_most(bytes: &[u8], max: usize) -> Option<(u64, usize)> {
    decode(bytes, max).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_minimal() {
        let mut out = Vec::new();
        write(300, &mut out);
        assert_eq!(out, [0xac, 0x02]);
        assert_eq!(read(&out), Some((300, 2)));
        assert_eq!(read(&[0x80, 0x00]), None);
        assert_eq!(read(&[0x80]), None);
        assert_eq!(decode(&[0x80, 0x00], 9), Err(VarintError::NotMinimal));
        assert_eq!(decode(&[0x80], 9), Err(VarintError::Truncated));
        assert_eq!(decode(&[], 9), Err(VarintError::Truncated));
    }

    #[test]
    fn lengths_are_enforced() {
        let mut nine = Vec::new();
        write((1 << 63) - 1, &mut nine);
        assert_eq!(nine.len(), 9);
        assert_eq!(read(&nine), Some(((1 << 63) - 1, 9)));
        let mut ten = Vec::new();
        write(1 << 63, &mut ten);
        assert_eq!(ten.len(), 10);
        assert_eq!(
            decode(&ten, MULTIFORMATS_MAX),
            Err(VarintError::TooLong { max: 9 })
        );
        assert_eq!(read_at_most(&ten, 10), Some((1 << 63, 10)));
        assert_eq!(read_at_most(&ten, 2), None);
        // A 10th byte above 1 would carry bits past 64.
        let mut past = ten.clone();
        past[9] = 0x02;
        assert_eq!(decode(&past, 10), Err(VarintError::Overflow));
        let eleven = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00,
        ];
        assert_eq!(decode(&eleven, 10), Err(VarintError::TooLong { max: 10 }));
        // A cap above 10 is 10.
        assert_eq!(decode(&eleven, 64), Err(VarintError::TooLong { max: 10 }));
    }

    #[test]
    fn len_matches_encoding() {
        for v in [
            0u64,
            1,
            127,
            128,
            16383,
            16384,
            u64::from(u32::MAX),
            1 << 62,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            write(v, &mut out);
            assert_eq!(len(v), out.len(), "{v}");
            assert_eq!(read_at_most(&out, 10), Some((v, out.len())), "{v}");
        }
    }
}
