//! Blocks for unit tests, put into any sink: a raw block of some bytes, and a dag-pb node
//! linking to others. (Tests only.)

use crate::block::BlockSink;
use crate::cid::{Cid, DAG_PB, RAW};
use crate::dagpb::{PbLink, PbNode};

/// A raw block of `data`: its CIDv1 and bytes.
pub(crate) fn raw_block(data: &[u8]) -> (Cid, Vec<u8>) {
    (Cid::v1_sha2_256(RAW, data), data.to_vec())
}

/// A dag-pb node linking to `links` (unnamed, no sizes) with `data`: its CIDv1 and bytes.
pub(crate) fn node_block(links: &[&Cid], data: &[u8]) -> (Cid, Vec<u8>) {
    let bytes = PbNode {
        links: links
            .iter()
            .map(|&cid| PbLink {
                cid: cid.clone(),
                name: Some(String::new()),
                tsize: None,
            })
            .collect(),
        data: Some(data.to_vec()),
    }
    .encode();
    (Cid::v1_sha2_256(DAG_PB, &bytes), bytes)
}

/// Puts [`raw_block`] of `data` into `sink`; its CID.
pub(crate) fn raw(sink: &dyn BlockSink, data: &[u8]) -> Cid {
    let (cid, bytes) = raw_block(data);
    sink.put(&cid, &bytes).unwrap();
    cid
}

/// Puts [`node_block`] of `links` and `data` into `sink`; its CID.
pub(crate) fn node(sink: &dyn BlockSink, links: &[&Cid], data: &[u8]) -> Cid {
    let (cid, bytes) = node_block(links, data);
    sink.put(&cid, &bytes).unwrap();
    cid
}
