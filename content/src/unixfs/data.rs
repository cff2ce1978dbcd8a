//! The UnixFS `Data` message carried in a dag-pb node's Data field:
//! `Type = 1, Data = 2, filesize = 3, blocksizes = 4 (repeated), hashType = 5, fanout = 6,
//! mode = 7, mtime = 8`. Written in field order, blocksizes unpacked, as Kubo writes them.

use crate::pb::{self, Reader, Value};

/// UnixFS node types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Raw = 0,
    Directory = 1,
    File = 2,
    Metadata = 3,
    Symlink = 4,
    HamtShard = 5,
}

impl DataType {
    fn from_u64(v: u64) -> Option<DataType> {
        Some(match v {
            0 => DataType::Raw,
            1 => DataType::Directory,
            2 => DataType::File,
            3 => DataType::Metadata,
            4 => DataType::Symlink,
            5 => DataType::HamtShard,
            _ => return None,
        })
    }
}

/// A UnixFS Data message. `mode` and `mtime` are read but never written (no profile here stores
/// them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    pub kind: DataType,
    pub data: Option<Vec<u8>>,
    pub filesize: Option<u64>,
    pub blocksizes: Vec<u64>,
    pub hash_type: Option<u64>,
    pub fanout: Option<u64>,
    pub mode: Option<u64>,
}

impl Data {
    pub fn new(kind: DataType) -> Data {
        Data {
            kind,
            data: None,
            filesize: None,
            blocksizes: Vec::new(),
            hash_type: None,
            fanout: None,
            mode: None,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.data.as_ref().map_or(0, Vec::len));
        pb::put_varint(1, self.kind as u64, &mut out);
        if let Some(data) = &self.data {
            pb::put_bytes(2, data, &mut out);
        }
        if let Some(size) = self.filesize {
            pb::put_varint(3, size, &mut out);
        }
        for size in &self.blocksizes {
            pb::put_varint(4, *size, &mut out);
        }
        if let Some(h) = self.hash_type {
            pb::put_varint(5, h, &mut out);
        }
        if let Some(f) = self.fanout {
            pb::put_varint(6, f, &mut out);
        }
        if let Some(m) = self.mode {
            pb::put_varint(7, m, &mut out);
        }
        out
    }

    /// Decodes leniently as protobuf allows (any field order, packed or unpacked blocksizes),
    /// strictly as to types: a wrong wire type, an unknown Type or a missing Type is an error.
    pub fn decode(bytes: &[u8]) -> Result<Data, String> {
        let mut reader = Reader::new(bytes);
        let mut kind = None;
        let mut d = Data::new(DataType::Raw);
        while let Some((field, value)) = reader.next_field()? {
            match (field, value) {
                (1, Value::Varint(v)) => {
                    kind = Some(DataType::from_u64(v).ok_or(format!("unknown UnixFS type {v}"))?)
                }
                (2, Value::Bytes(b)) => d.data = Some(b.to_vec()),
                (3, Value::Varint(v)) => d.filesize = Some(v),
                (4, Value::Varint(v)) => d.blocksizes.push(v),
                (4, Value::Bytes(packed)) => {
                    let mut rest = packed;
                    while !rest.is_empty() {
                        let (v, used) =
                            pb::read_varint(rest).ok_or("malformed packed blocksizes")?;
                        d.blocksizes.push(v);
                        rest = &rest[used..];
                    }
                }
                (5, Value::Varint(v)) => d.hash_type = Some(v),
                (6, Value::Varint(v)) => d.fanout = Some(v),
                (7, Value::Varint(v)) => d.mode = Some(v),
                (8, Value::Bytes(_)) => {} // mtime: not used here
                (f, _) => return Err(format!("unexpected UnixFS Data field {f}")),
            }
        }
        d.kind = kind.ok_or("UnixFS Data has no Type")?;
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_and_empty_file_encodings() {
        assert_eq!(Data::new(DataType::Directory).encode(), [0x08, 0x01]);
        let mut empty = Data::new(DataType::File);
        empty.filesize = Some(0);
        assert_eq!(empty.encode(), [0x08, 0x02, 0x18, 0x00]);
    }

    #[test]
    fn round_trips_and_accepts_packed_blocksizes() {
        let mut d = Data::new(DataType::File);
        d.filesize = Some(300);
        d.blocksizes = vec![100, 200];
        assert_eq!(Data::decode(&d.encode()).unwrap(), d);
        let packed = [0x08, 0x02, 0x18, 0xac, 0x02, 0x22, 0x03, 0x64, 0xc8, 0x01];
        assert_eq!(Data::decode(&packed).unwrap(), d);
        assert!(Data::decode(&[0x08, 0x09]).is_err());
        assert!(Data::decode(&[0x18, 0x01]).is_err());
    }
}
