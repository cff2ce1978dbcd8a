//! The chain of block sources `ww run` and `wwpack diff` read content through: the embedded
//! block store first, then the IPFS node. Blocks fetched from the node are verified and kept in
//! the store, so a later read needs no node; a block of the store that does not verify is
//! fetched again and the store's copy repaired.

use std::cell::Cell;

use crate::block::{self, BlockError, BlockSink, BlockSource};
use crate::cancel::Cancel;
use crate::cid::Cid;
use crate::store::Store;

/// Blocks from the store, else from the node (verified, then kept in the store).
pub struct ChainSource<'a> {
    store: &'a Store,
    node: Option<&'a dyn BlockSource>,
    cancel: Cancel,
    /// Blocks fetched from the node.
    pub fetched: Cell<u64>,
}

impl<'a> ChainSource<'a> {
    pub fn new(store: &'a Store, node: Option<&'a dyn BlockSource>) -> ChainSource<'a> {
        ChainSource {
            store,
            node,
            cancel: Cancel::new(),
            fetched: Cell::new(0),
        }
    }

    /// This chain, checking `cancel` before every block.
    pub fn with_cancel(mut self, cancel: Cancel) -> ChainSource<'a> {
        self.cancel = cancel;
        self
    }
}

impl BlockSource for ChainSource<'_> {
    /// The block from the store when its bytes there verify; else from the node, verified and
    /// stored (replacing a store copy that did not verify). What is returned has been verified.
    fn get_unverified(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        self.cancel.check()?;
        let stored = self.store.get_unverified(cid)?;
        if let Some(bytes) = stored {
            match block::verify(cid, &bytes) {
                Ok(()) => return Ok(Some(bytes)),
                Err(e) if self.node.is_none() => return Err(e),
                Err(e) => tracing::warn!(
                    "{e} in the block store {}; fetching it again",
                    self.store.dir().display()
                ),
            }
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

    /// What [`BlockSource::get_unverified`] returns here has been verified already.
    fn get_verified(&self, cid: &Cid) -> Result<Vec<u8>, BlockError> {
        self.get_unverified(cid)?
            .ok_or_else(|| BlockError::NotFound(cid.clone()))
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
