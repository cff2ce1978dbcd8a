//! The few pieces of the protobuf wire format that dag-pb and UnixFS need: varint and
//! length-delimited fields, written in field order and read strictly.
//!
//! Hand-written rather than `quick-protobuf`: its `BytesReader` reads 10-byte varints without
//! checking that they are minimal or fit in 64 bits, and skips unknown wire types and fields,
//! while dag-pb's spec asks a reader to reject all of those. The varints are [`crate::varint`]'s,
//! the crate's one varint reader.

use crate::varint;

pub const WIRE_VARINT: u8 = 0;
pub const WIRE_LEN: u8 = 2;

/// Appends a varint field.
pub fn put_varint(field: u32, value: u64, out: &mut Vec<u8>) {
    varint::write(u64::from(field << 3) | u64::from(WIRE_VARINT), out);
    varint::write(value, out);
}

/// Appends a length-delimited field.
pub fn put_bytes(field: u32, bytes: &[u8], out: &mut Vec<u8>) {
    put_len(field, bytes.len(), out);
    out.extend_from_slice(bytes);
}

/// Appends the key and length of a length-delimited field of `len` bytes, which the caller
/// appends next (to write them straight into `out`).
pub fn put_len(field: u32, len: usize, out: &mut Vec<u8>) {
    varint::write(u64::from(field << 3) | u64::from(WIRE_LEN), out);
    varint::write(len as u64, out);
}

/// The encoded length of a varint.
#[inline]
pub fn varint_len(value: u64) -> usize {
    varint::len(value)
}

/// The encoded length of a length-delimited field with a one-byte tag.
pub fn bytes_field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// A field read from a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

/// Reads the fields of a message in order. Wire types other than varint and length-delimited
/// (groups, fixed32/64) are errors: neither dag-pb nor UnixFS uses them.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }

    /// The next field number and value, `Ok(None)` at the end.
    pub fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, &'static str> {
        if self.pos == self.bytes.len() {
            return Ok(None);
        }
        let key = self.varint().ok_or("truncated or overlong field key")?;
        let field = u32::try_from(key >> 3).map_err(|_| "field number out of range")?;
        if field == 0 {
            return Err("field number 0");
        }
        match (key & 7) as u8 {
            WIRE_VARINT => {
                let v = self.varint().ok_or("truncated or overlong varint")?;
                Ok(Some((field, Value::Varint(v))))
            }
            WIRE_LEN => {
                let len = self.varint().ok_or("truncated length")?;
                let len = usize::try_from(len).map_err(|_| "length out of range")?;
                let end = self
                    .pos
                    .checked_add(len)
                    .filter(|&e| e <= self.bytes.len())
                    .ok_or("length runs past the end of the block")?;
                let v = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(Some((field, Value::Bytes(v))))
            }
            _ => Err("unsupported wire type"),
        }
    }

    fn varint(&mut self) -> Option<u64> {
        let (v, used) = read_varint(&self.bytes[self.pos..])?;
        self.pos += used;
        Some(v)
    }
}

/// A protobuf varint at the start of `bytes`: up to 10 bytes (a `u64` takes 10 when its top
/// bit is set, which [`put_varint`] writes), minimally encoded, nothing past 64 bits.
#[inline]
pub(crate) fn read_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    varint::read_at_most(bytes, varint::PROTOBUF_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes_and_rejects_truncation() {
        let mut out = Vec::new();
        put_varint(1, 300, &mut out);
        put_bytes(2, b"abc", &mut out);
        let mut r = Reader::new(&out);
        assert_eq!(r.next_field().unwrap(), Some((1, Value::Varint(300))));
        assert_eq!(r.next_field().unwrap(), Some((2, Value::Bytes(b"abc"))));
        assert_eq!(r.next_field().unwrap(), None);
        let mut r = Reader::new(&out[..out.len() - 1]);
        r.next_field().unwrap();
        assert!(r.next_field().is_err());
        assert!(Reader::new(&[0x0d, 0, 0, 0, 0]).next_field().is_err()); // fixed32
    }

    #[test]
    fn ten_byte_varints_are_read_and_nothing_past_64_bits() {
        let mut out = Vec::new();
        put_varint(3, u64::MAX, &mut out);
        assert_eq!(out.len(), 11);
        let mut r = Reader::new(&out);
        assert_eq!(r.next_field().unwrap(), Some((3, Value::Varint(u64::MAX))));
        let mut past = out.clone();
        past[10] = 0x02;
        assert!(Reader::new(&past).next_field().is_err());
        let eleven = [
            0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00,
        ];
        assert!(Reader::new(&eleven).next_field().is_err());
    }
}
