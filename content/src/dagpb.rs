//! dag-pb: the protobuf `PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }` that
//! UnixFS nodes are written in, with `PBLink { Hash = 1; Name = 2; Tsize = 3 }`.
//!
//! Encoding is canonical: links first, then data; within a link Hash, Name, Tsize. Decoding is
//! strict, as the dag-pb spec asks: unknown fields, fields out of order or repeated, a link
//! without a hash or with a hash that is not a CID are errors.
//!
//! Hand-written rather than the `ipld-dagpb` crate (over `quick-protobuf`), which was evaluated:
//! its decoder accepts what the spec rejects (Data before the links, Data or a link's fields
//! repeated or out of order, non-minimal and 10-byte varints, link CIDs with overlong varints),
//! its encoder re-sorts links by name (our importer already writes them in the order Kubo does),
//! and its nodes hold `cid::Cid` (64-byte digests) and `Bytes` rather than this crate's types,
//! so every node would be converted on the way in and out. The wire format is [`crate::pb`]'s.

use crate::cid::Cid;
use crate::pb::{self, Reader, Value};

/// A dag-pb link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbLink {
    pub cid: Cid,
    /// Kubo writes a name on every link, the empty string for file chunks.
    pub name: Option<String>,
    /// Cumulative size of the linked subtree's blocks.
    pub tsize: Option<u64>,
}

/// A dag-pb node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PbNode {
    pub links: Vec<PbLink>,
    pub data: Option<Vec<u8>>,
}

impl PbNode {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        for link in &self.links {
            pb::put_len(2, link_len(link), &mut out);
            encode_link(link, &mut out);
        }
        if let Some(data) = &self.data {
            pb::put_bytes(1, data, &mut out);
        }
        out
    }

    /// The length of [`PbNode::encode`]'s output, without encoding.
    pub fn encoded_len(&self) -> usize {
        let links: usize = self
            .links
            .iter()
            .map(|l| pb::bytes_field_len(link_len(l)))
            .sum();
        links
            + self
                .data
                .as_ref()
                .map_or(0, |d| pb::bytes_field_len(d.len()))
    }

    pub fn decode(bytes: &[u8]) -> Result<PbNode, String> {
        let mut node = PbNode::default();
        let mut reader = Reader::new(bytes);
        while let Some((field, value)) = reader.next_field()? {
            match (field, value) {
                (2, Value::Bytes(link)) => {
                    if node.data.is_some() {
                        return Err("a link follows the Data field".into());
                    }
                    node.links.push(decode_link(link)?);
                }
                (1, Value::Bytes(data)) => {
                    if node.data.is_some() {
                        return Err("Data field appears twice".into());
                    }
                    node.data = Some(data.to_vec());
                }
                (f, _) => return Err(format!("unexpected PBNode field {f}")),
            }
        }
        Ok(node)
    }
}

fn link_len(link: &PbLink) -> usize {
    let hash = pb::bytes_field_len(link.cid.encoded_len());
    let name = link
        .name
        .as_ref()
        .map_or(0, |n| pb::bytes_field_len(n.len()));
    let tsize = link.tsize.map_or(0, |t| 1 + pb::varint_len(t));
    hash + name + tsize
}

fn encode_link(link: &PbLink, out: &mut Vec<u8>) {
    pb::put_len(1, link.cid.encoded_len(), out);
    link.cid.write_to(out);
    if let Some(name) = &link.name {
        pb::put_bytes(2, name.as_bytes(), out);
    }
    if let Some(tsize) = link.tsize {
        pb::put_varint(3, tsize, out);
    }
}

fn decode_link(bytes: &[u8]) -> Result<PbLink, String> {
    let mut reader = Reader::new(bytes);
    let mut last = 0;
    let (mut cid, mut name, mut tsize) = (None, None, None);
    while let Some((field, value)) = reader.next_field()? {
        if field <= last {
            return Err(format!("PBLink field {field} is out of order or repeated"));
        }
        last = field;
        match (field, value) {
            (1, Value::Bytes(b)) => {
                cid = Some(Cid::from_bytes(b).map_err(|e| format!("link hash: {e}"))?)
            }
            (2, Value::Bytes(b)) => {
                name = Some(String::from_utf8(b.to_vec()).map_err(|_| "link name is not UTF-8")?)
            }
            (3, Value::Varint(v)) => tsize = Some(v),
            (f, _) => return Err(format!("unexpected PBLink field {f}")),
        }
    }
    Ok(PbLink {
        cid: cid.ok_or("a link has no Hash")?,
        name,
        tsize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cid::{DAG_PB, RAW};

    #[test]
    fn encodes_canonically_and_round_trips() {
        let node = PbNode {
            links: vec![PbLink {
                cid: Cid::v1_sha2_256(RAW, b"x"),
                name: Some(String::new()),
                tsize: Some(1),
            }],
            data: Some(vec![0x08, 0x02]),
        };
        let bytes = node.encode();
        assert_eq!(bytes.len(), node.encoded_len());
        assert_eq!(bytes[0], 0x12, "links come first");
        assert_eq!(PbNode::decode(&bytes).unwrap(), node);
    }

    #[test]
    fn empty_directory_block_has_the_known_cid() {
        let node = PbNode {
            links: vec![],
            data: Some(vec![0x08, 0x01]),
        };
        let cid = Cid::v1_sha2_256(DAG_PB, &node.encode());
        assert_eq!(
            cid.to_string(),
            "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"
        );
    }

    #[test]
    fn rejects_non_canonical_and_malformed_nodes() {
        // Data before a link.
        let mut bytes = Vec::new();
        pb::put_bytes(1, b"d", &mut bytes);
        let mut link = Vec::new();
        pb::put_bytes(1, &Cid::v1_sha2_256(RAW, b"x").to_bytes(), &mut link);
        pb::put_bytes(2, &link, &mut bytes);
        assert!(PbNode::decode(&bytes).is_err());
        // Unknown field, link without hash, garbage.
        assert!(PbNode::decode(&[0x18, 0x01]).is_err());
        assert!(PbNode::decode(&[0x12, 0x02, 0x18, 0x01]).is_err());
        assert!(PbNode::decode(&[0x12, 0x05, 0x0a, 0x03, 1, 2, 3]).is_err());
        assert!(PbNode::decode(&[0xff]).is_err());
    }
}
