//! Blocks for unit tests, put into any sink: a raw block of some bytes, and a dag-pb node
//! linking to others. (Tests only.)

use crate::block::BlockSink;
use crate::cid::{Cid, DAG_PB, RAW};
use crate::dagpb::{PbLink, PbNode};

/// Puts `data` as a raw block into `sink`; its CIDv1.
pub(crate) fn raw(sink: &dyn BlockSink, data: &[u8]) -> Cid {
    let cid = Cid::v1_sha2_256(RAW, data);
    sink.put(&cid, data).unwrap();
    cid
}

/// Puts a dag-pb node linking to `links` (unnamed, no sizes) with `data` into `sink`; its
/// CIDv1.
pub(crate) fn node(sink: &dyn BlockSink, links: &[&Cid], data: &[u8]) -> Cid {
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
    let cid = Cid::v1_sha2_256(DAG_PB, &bytes);
    sink.put(&cid, &bytes).unwrap();
    cid
}
