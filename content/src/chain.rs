//! The chain of block sources content is read through (`ww run`, `wwpack cat`, `ls`, `export`,
//! `diff`, `pin add`, `verify --repair`): the embedded block store first, then the IPFS node.
//! Every block is verified. Blocks fetched from the node are kept in the store (unpinned: the
//! next `gc` removes them unless a pin reaches them), so a later read needs no node, unless the
//! chain is told not to ([`ChainSource::keeping`]: a store the user cannot write); a block of
//! the store that does not verify is fetched again and the store's copy repaired.
//!
//! A chain told how to name what it tried ([`ChainSource::explaining`]) answers a block it
//! cannot get with an error naming the block, the store (its path) and the node (its URL, or
//! that it is unreachable), and a hint (`wwpack pull ...`); without, with
//! [`BlockError::NotFound`], for callers that say it themselves ([`missing`]).

use std::cell::Cell;

use crate::block::{self, BlockError, BlockSink, BlockSource};
use crate::cancel::Cancel;
use crate::cid::Cid;
use crate::prefetch::Prefetch;
use crate::store::Store;

/// Blocks from the store, else from the node (verified, then kept in the store).
pub struct ChainSource<'a> {
    store: &'a Store,
    node: Option<&'a dyn BlockSource>,
    cancel: Cancel,
    /// Whether blocks fetched from the node are put in the store.
    keep: bool,
    /// The most blocks fetched from the node; one more is [`BlockError::TooManyBlocks`].
    max_fetched: u64,
    explain: Option<Explain>,
    /// Blocks fetched from the node (also those fetched ahead, [`crate::prefetch`]).
    pub fetched: Cell<u64>,
    prefetch: Prefetch,
}

/// What a chain names when a block is to be had from neither source.
struct Explain {
    node_label: Option<String>,
    hint: String,
}

/// Why [`ChainSource::lookup`] has no block.
enum Miss {
    /// In neither; the store's copy, if any, did not verify (the error says how).
    Absent { corrupt: Option<BlockError> },
    /// The node failed (unreachable, refused, malformed, ...).
    Node {
        error: BlockError,
        corrupt: Option<BlockError>,
    },
}

impl<'a> ChainSource<'a> {
    pub fn new(store: &'a Store, node: Option<&'a dyn BlockSource>) -> ChainSource<'a> {
        ChainSource {
            store,
            node,
            cancel: Cancel::new(),
            keep: true,
            max_fetched: u64::MAX,
            explain: None,
            fetched: Cell::new(0),
            prefetch: Prefetch::default(),
        }
    }

    /// This chain, checking `cancel` before every block.
    pub fn with_cancel(mut self, cancel: Cancel) -> ChainSource<'a> {
        self.cancel = cancel;
        self
    }

    /// This chain, putting what it fetches in the store only when `keep` (a store opened read
    /// only cannot take it: the blocks are verified and used, not kept).
    pub fn keeping(mut self, keep: bool) -> ChainSource<'a> {
        self.keep = keep;
        self
    }

    /// This chain, fetching at most `max` blocks from the node: a walk with no budget of its
    /// own (CAR export) is bounded so when the DAG may come from the node.
    pub fn with_max_fetched(mut self, max: u64) -> ChainSource<'a> {
        self.max_fetched = max;
        self
    }

    /// This chain, answering [`BlockSource::get_verified`] of a block it cannot get with an
    /// error naming the block, the store, the node (`node_label`: its URL) and ending in
    /// `hint` (what to do about it), instead of [`BlockError::NotFound`].
    pub fn explaining(mut self, node_label: Option<String>, hint: String) -> ChainSource<'a> {
        self.explain = Some(Explain { node_label, hint });
        self
    }

    /// The block, verified, or why not. `Err` is the store's own failure (I/O) or a cancel.
    fn lookup(&self, cid: &Cid) -> Result<Result<Vec<u8>, Miss>, BlockError> {
        self.cancel.check()?;
        let mut corrupt = None;
        if let Some(bytes) = self.store.get_unverified(cid)? {
            match block::verify(cid, &bytes) {
                Ok(()) => {
                    if self.prefetch.take(cid) {
                        self.fetch_links_ahead(cid, &bytes)?;
                    }
                    return Ok(Ok(bytes));
                }
                Err(e) if self.node.is_none() => return Err(e),
                Err(e) => {
                    tracing::warn!(
                        "{e} in the block store {}; fetching it again",
                        self.store.dir().display()
                    );
                    corrupt = Some(e);
                }
            }
        }
        let Some(node) = self.node else {
            return Ok(Err(Miss::Absent { corrupt }));
        };
        if self.fetched.get() >= self.max_fetched {
            return Err(BlockError::TooManyBlocks {
                cid: cid.clone(),
                limit: self.max_fetched,
            });
        }
        let bytes = match node.get_unverified(cid) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(Err(Miss::Absent { corrupt })),
            Err(e @ BlockError::Cancelled(_)) => return Err(e),
            Err(error) => return Ok(Err(Miss::Node { error, corrupt })),
        };
        // A node that sends other bytes is an error of its own, whatever the store held.
        block::verify(cid, &bytes)?;
        if self.keep {
            self.store.put(cid, &bytes)?;
        }
        self.fetched.set(self.fetched.get() + 1);
        self.fetch_links_ahead(cid, &bytes)?;
        Ok(Ok(bytes))
    }

    /// The blocks `bytes` (of `cid`) links to, fetched ahead into the store ([`crate::prefetch`])
    /// when this chain keeps what it fetches, within its bound on fetched blocks.
    fn fetch_links_ahead(&self, cid: &Cid, bytes: &[u8]) -> Result<(), BlockError> {
        let Some(node) = self.node.filter(|_| self.keep) else {
            return Ok(());
        };
        let room = self.max_fetched.saturating_sub(self.fetched.get());
        let ahead = self.prefetch.links_of(self.store, node, cid, bytes, room)?;
        self.fetched.set(self.fetched.get() + ahead);
        Ok(())
    }

    /// The error for a block the chain could not get, as [`ChainSource::explaining`] asked.
    fn explained(&self, cid: &Cid, miss: Miss, explain: &Explain) -> BlockError {
        let store = self.store.dir().display();
        let label = explain.node_label.as_deref();
        let (corrupt, node) = match &miss {
            Miss::Absent { corrupt } => (corrupt, None),
            Miss::Node { error, corrupt } => (corrupt, Some(error)),
        };
        let mut message = match corrupt {
            None => missing(cid, self.store, label, node),
            Some(bad) => {
                let node = match (node, label) {
                    (Some(e), _) => format!("and {e}"),
                    (None, Some(url)) => format!("and the IPFS node at {url} does not have it"),
                    (None, None) => "and no IPFS node is configured".to_string(),
                };
                format!("{bad} in the block store {store}, {node}")
            }
        };
        // The node's error names its URL; the label may also say where that came from.
        if let (Some(e), Some(label)) = (node, label) {
            if !e.to_string().contains(label) {
                message.push_str(&format!("; the node's address is {label}"));
            }
        }
        BlockError::Other(format!("{message}; {}", explain.hint))
    }
}

impl BlockSource for ChainSource<'_> {
    /// The block from the store when its bytes there verify; else from the node, verified and
    /// (when keeping) stored, replacing a store copy that did not verify. What is returned has
    /// been verified. `Ok(None)` when neither has it (the store's copy, if any, being corrupt);
    /// the node's failure as it failed.
    fn get_unverified(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        match self.lookup(cid)? {
            Ok(bytes) => Ok(Some(bytes)),
            Err(Miss::Absent { .. }) => Ok(None),
            Err(Miss::Node { error, .. }) => Err(error),
        }
    }

    /// What [`BlockSource::get_unverified`] returns here has been verified already. A block
    /// the chain cannot get is [`BlockError::NotFound`], or when explaining, an error that says
    /// where it looked.
    fn get_verified(&self, cid: &Cid) -> Result<Vec<u8>, BlockError> {
        match (self.lookup(cid)?, &self.explain) {
            (Ok(bytes), _) => Ok(bytes),
            (Err(miss), Some(explain)) => Err(self.explained(cid, miss, explain)),
            (Err(Miss::Absent { .. }), None) => Err(BlockError::NotFound(cid.clone())),
            (Err(Miss::Node { error, .. }), None) => Err(error),
        }
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

/// The hint of `wwpack`'s reading verbs for content of `root` they cannot get.
pub fn pull_hint(root: &Cid) -> String {
    format!(
        "to read it here, `wwpack pull {root}` from a node that has it (--api ADDR), or \
         `wwpack import` a CAR of it"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::MemoryBlocks;

    fn raw(data: &[u8]) -> Cid {
        crate::test_dags::raw_block(data).0
    }

    /// A node whose every request fails, as an unreachable one does.
    struct Down;
    impl BlockSource for Down {
        fn get_unverified(&self, _: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
            Err(BlockError::Other(
                "IPFS node at http://127.0.0.1:9: unreachable: refused".into(),
            ))
        }
    }

    #[test]
    fn fetched_blocks_are_kept_unless_told_not_to_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s")).unwrap();
        let node = MemoryBlocks::new();
        let (a, b) = (raw(b"a"), raw(b"b"));
        node.put(&a, b"a").unwrap();
        node.put(&b, b"b").unwrap();

        let passing = ChainSource::new(&store, Some(&node)).keeping(false);
        assert_eq!(passing.get_verified(&a).unwrap(), b"a");
        assert_eq!(store.get_unverified(&a).unwrap(), None);

        let bounded = ChainSource::new(&store, Some(&node)).with_max_fetched(1);
        assert_eq!(bounded.get_verified(&a).unwrap(), b"a");
        assert_eq!(
            store.get_unverified(&a).unwrap().as_deref(),
            Some(&b"a"[..])
        );
        // In the store now: no fetch, so not counted.
        assert_eq!(bounded.get_verified(&a).unwrap(), b"a");
        assert!(matches!(
            bounded.get_verified(&b),
            Err(BlockError::TooManyBlocks { limit: 1, .. })
        ));
    }

    #[test]
    fn an_explaining_chain_names_the_block_the_store_the_node_and_the_hint() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s")).unwrap();
        let node = MemoryBlocks::new();
        let gone = raw(b"nowhere");
        let hint = pull_hint(&gone);
        let url = "http://127.0.0.1:5001".to_string();

        let plain = ChainSource::new(&store, Some(&node));
        assert!(matches!(
            plain.get_verified(&gone),
            Err(BlockError::NotFound(_))
        ));
        assert_eq!(plain.get_unverified(&gone).unwrap(), None);

        let chain = ChainSource::new(&store, Some(&node)).explaining(Some(url.clone()), hint);
        let err = chain.get_verified(&gone).unwrap_err().to_string();
        for want in [
            gone.to_string(),
            store.dir().display().to_string(),
            format!("nor on the IPFS node at {url}"),
            format!("`wwpack pull {gone}`"),
        ] {
            assert!(err.contains(&want), "{want:?} in {err}");
        }

        let down = ChainSource::new(&store, Some(&Down)).explaining(Some(url), pull_hint(&gone));
        let err = down.get_verified(&gone).unwrap_err().to_string();
        assert!(
            err.contains(&gone.to_string()) && err.contains("unreachable"),
            "{err}"
        );
        assert!(err.contains("wwpack pull"), "{err}");
    }

    #[test]
    fn a_corrupt_store_copy_the_node_lacks_is_named_as_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s")).unwrap();
        let cid = raw(b"good");
        store.put(&cid, b"good").unwrap();
        std::fs::write(store.block_path(&cid), b"evil").unwrap();
        let node = MemoryBlocks::new();
        let chain = ChainSource::new(&store, Some(&node))
            .explaining(Some("http://n:1".into()), pull_hint(&cid));
        let err = chain.get_verified(&cid).unwrap_err().to_string();
        assert!(
            err.contains("do not match") && err.contains("does not have it"),
            "{err}"
        );
        // Unexplained, as before: absent (so that `verify --repair` goes on).
        assert_eq!(
            ChainSource::new(&store, Some(&node))
                .get_unverified(&cid)
                .unwrap(),
            None
        );
    }
}
