//! The chain of block sources `ww run` and `wwpack diff` read content through: the embedded
//! block store first, then the IPFS node. Blocks fetched from the node are verified and kept in
//! the store, so a later read needs no node.

use std::cell::Cell;

use crate::block::{self, BlockError, BlockSink, BlockSource};
use crate::cid::Cid;
use crate::store::Store;

/// Blocks from the store, else from the node (verified, then kept in the store).
pub struct ChainSource<'a> {
    store: &'a Store,
    node: Option<&'a dyn BlockSource>,
    /// Blocks fetched from the node.
    pub fetched: Cell<u64>,
}

impl<'a> ChainSource<'a> {
    pub fn new(store: &'a Store, node: Option<&'a dyn BlockSource>) -> ChainSource<'a> {
        ChainSource {
            store,
            node,
            fetched: Cell::new(0),
        }
    }
}

impl BlockSource for ChainSource<'_> {
    fn get_unverified(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        if let Some(bytes) = self.store.get_unverified(cid)? {
            return Ok(Some(bytes));
        }
        let Some(node) = self.node else {
            return Ok(None);
        };
        let Some(bytes) = node.get_unverified(cid)? else {
            return Ok(None);
        };
        block::verify(cid, &bytes)?;
        self.store.put(cid, &bytes)?;
        self.fetched.set(self.fetched.get() + 1);
        Ok(Some(bytes))
    }
}

/// Why `cid` is not to be had through the chain: not in `store`, and the node (named by its URL)
/// does not have it, or failed with `error`, or there is none.
pub fn missing(
    cid: &Cid,
    store: &Store,
    node_label: Option<&str>,
    error: Option<&BlockError>,
) -> String {
    let store = store.dir().display();
    match (error, node_label) {
        (Some(e), _) => format!("{cid} is not in the block store {store}, and {e}"),
        (None, Some(url)) => {
            format!("{cid} is not in the block store {store} nor on the IPFS node at {url}")
        }
        (None, None) => {
            format!("{cid} is not in the block store {store}, and no IPFS node is configured")
        }
    }
}
