//! A directory entry being built: a name and the node it names, and the dag-pb link it becomes.
//! Shared by plain directories ([`super::dir`]) and HAMT shards ([`super::hamt`]).

use super::Imported;
use crate::dagpb::PbLink;

/// One entry of a directory being built.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub node: Imported,
}

pub(super) fn link(e: Entry) -> PbLink {
    PbLink {
        cid: e.node.cid,
        name: Some(e.name),
        tsize: Some(e.node.tsize),
    }
}
