//! Read-ahead for walks that fetch from an IPFS node: when a walk gets a dag-pb block, the
//! blocks it links to that the store lacks are fetched at once, several requests in flight
//! ([`BlockSource::get_many`]), verified and put in the store, so that the walk, which reads
//! one block at a time in its own order, finds them there. One block at a time, a node that
//! must itself ask a peer for each block answers each in a round trip (about 0.3 s for js-ipfs
//! between two nodes on loopback); several at once, in about the time of one.
//!
//! Only what the walk would read next is fetched: the links of a block it has just got, at
//! most [`MAX_LINKS`] of them, and no more than the caller's bound on fetched blocks allows;
//! what a prefetched block links to is fetched when the walk reaches it. A block that fails to
//! come or to verify is left alone: the walk asks for it again itself, and says what went
//! wrong. What is prefetched is written to the store unpinned, as any fetched block.

use std::cell::RefCell;
use std::collections::HashSet;

use crate::block::{self, BlockError, BlockSink, BlockSource};
use crate::cid::{Cid, DAG_PB, IDENTITY};
use crate::dagpb::PbNode;
use crate::store::Store;

/// The most links of one block fetched ahead.
pub const MAX_LINKS: usize = 1024;

/// The blocks a walk had fetched ahead and has not read yet.
#[derive(Default)]
pub struct Prefetch {
    ahead: RefCell<HashSet<Cid>>,
}

impl Prefetch {
    /// Whether `cid` was fetched ahead and not read since (it is then forgotten): the caller
    /// counts it as fetched from the node, and calls [`Prefetch::links_of`] on it.
    pub fn take(&self, cid: &Cid) -> bool {
        self.ahead.borrow_mut().remove(&cid.to_v1())
    }

    /// Fetches the blocks `data` (of `cid`, verified) links to that `store` lacks, from `node`,
    /// at most `room` of them, and puts each that verifies in `store`. Returns how many were
    /// stored. Only a cancel (or the store failing) is an error: a block that does not come is
    /// the walk's to ask for and to report.
    pub fn links_of(
        &self,
        store: &Store,
        node: &dyn BlockSource,
        cid: &Cid,
        data: &[u8],
        room: u64,
    ) -> Result<u64, BlockError> {
        if cid.codec() != DAG_PB || room == 0 {
            return Ok(0);
        }
        let Ok(pb) = PbNode::decode(data) else {
            return Ok(0);
        };
        let mut wanted: Vec<Cid> = Vec::new();
        let mut seen = HashSet::new();
        for link in pb.links {
            if wanted.len() >= MAX_LINKS || wanted.len() as u64 >= room {
                break;
            }
            let child = link.cid;
            if child.hash().code() == IDENTITY
                || !seen.insert(child.to_v1())
                || self.ahead.borrow().contains(&child.to_v1())
                || store.has(&child)
            {
                continue;
            }
            wanted.push(child);
        }
        if wanted.is_empty() {
            return Ok(0);
        }
        let mut stored = 0;
        let mut store_error = None;
        let fetched = node.get_many(&wanted, &mut |child: &Cid, bytes: Vec<u8>| {
            if block::verify(child, &bytes).is_err() {
                // The walk fetches it again and reports the node's lie.
                return Ok(());
            }
            if let Err(e) = store.put_hashed(child, &bytes) {
                store_error = Some(e.to_string());
                return Err(e);
            }
            self.ahead.borrow_mut().insert(child.to_v1());
            stored += 1;
            Ok(())
        });
        match fetched {
            Err(e @ BlockError::Cancelled(_)) => return Err(e),
            Err(e) if store_error.is_some() => return Err(e),
            Err(e) => tracing::debug!("fetching the links of {cid} ahead: {e}"),
            Ok(()) => {}
        }
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::ChainSource;
    use crate::test_dags::{node, raw};
    use crate::walk::{Budget, Walk};

    /// A source that counts the blocks asked of it, over a real store holding the DAG.
    struct Counted<'a> {
        store: &'a Store,
        asked: RefCell<Vec<Cid>>,
    }

    impl BlockSource for Counted<'_> {
        fn get_unverified(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
            self.asked.borrow_mut().push(cid.clone());
            self.store.get_unverified(cid)
        }
    }

    fn stores() -> (tempfile::TempDir, Store, Store) {
        let dir = tempfile::tempdir().unwrap();
        let local = Store::open(&dir.path().join("local")).unwrap();
        let remote = Store::open(&dir.path().join("remote")).unwrap();
        (dir, local, remote)
    }

    #[test]
    fn the_links_the_store_lacks_are_fetched_once_within_the_room_given() {
        let (_dir, local, remote) = stores();
        let leaves: Vec<Cid> = (0..5u8).map(|i| raw(&remote, &[i; 100])).collect();
        // One leaf the store has already, and one linked twice.
        local.put(&leaves[0], &[0; 100]).unwrap();
        let links: Vec<&Cid> = leaves.iter().chain([&leaves[1]]).collect();
        let root = node(&remote, &links, b"root");
        let data = remote.get(&root).unwrap();
        let source = Counted {
            store: &remote,
            asked: RefCell::new(Vec::new()),
        };
        let prefetch = Prefetch::default();
        assert_eq!(
            prefetch.links_of(&local, &source, &root, &data, 2).unwrap(),
            2
        );
        assert_eq!(*source.asked.borrow(), leaves[1..3].to_vec());
        assert_eq!(
            prefetch
                .links_of(&local, &source, &root, &data, 100)
                .unwrap(),
            2
        );
        assert_eq!(source.asked.borrow().len(), 4);
        for leaf in &leaves {
            assert!(local.has(leaf));
        }
        // Each is forgotten once read; a raw block links to nothing.
        assert!(prefetch.take(&leaves[1]) && !prefetch.take(&leaves[1]));
        assert!(!prefetch.take(&leaves[0]));
        let leaf = local.get(&leaves[1]).unwrap();
        assert_eq!(
            prefetch
                .links_of(&local, &source, &leaves[1], &leaf, 9)
                .unwrap(),
            0
        );
    }

    #[test]
    fn a_block_that_does_not_verify_is_not_stored_and_the_walk_reports_it() {
        let (_dir, local, remote) = stores();
        let good = raw(&remote, b"good");
        let (bad, _) = crate::test_dags::raw_block(b"what the node should have sent");
        // The "node" holds other bytes under `bad`'s name.
        let path = remote.block_path(&bad);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"a lie").unwrap();
        let root = node(&remote, &[&good, &bad], b"root");
        let chain = ChainSource::new(&local, Some(&remote));
        let err = Walk::new(&chain)
            .budget(Budget::UNLIMITED)
            .run(std::slice::from_ref(&root), |_| Ok::<_, BlockError>(()))
            .unwrap_err();
        assert!(matches!(err, BlockError::Mismatch { .. }), "{err}");
        assert!(local.has(&good) && !local.has(&bad));
        // Fetched ahead or not, each block fetched counts once.
        assert_eq!(chain.fetched.get(), 2);
    }

    #[test]
    fn a_chain_walk_reads_each_block_from_the_node_once_and_fetches_ahead_level_by_level() {
        let (_dir, local, remote) = stores();
        let leaves: Vec<Cid> = (0..20u8).map(|i| raw(&remote, &[i; 10])).collect();
        let (left, right) = leaves.split_at(10);
        let mid: Vec<Cid> = [left, right]
            .iter()
            .map(|half| node(&remote, &half.iter().collect::<Vec<_>>(), b"mid"))
            .collect();
        let root = node(&remote, &mid.iter().collect::<Vec<_>>(), b"root");
        let source = Counted {
            store: &remote,
            asked: RefCell::new(Vec::new()),
        };
        let chain = ChainSource::new(&local, Some(&source));
        let mut visited = 0;
        Walk::new(&chain)
            .budget(Budget::UNLIMITED)
            .run(std::slice::from_ref(&root), |_| {
                visited += 1;
                Ok::<_, BlockError>(())
            })
            .unwrap();
        assert_eq!(visited, 23);
        let asked = source.asked.borrow();
        assert_eq!(asked.len(), 23, "each block asked once: {asked:?}");
        assert_eq!(asked[..3], [root.clone(), mid[0].clone(), mid[1].clone()]);
        assert_eq!(chain.fetched.get(), 23);
        // A chain that does not keep what it fetches does not fetch ahead.
        let (_dir2, empty, _) = stores();
        let source = Counted {
            store: &remote,
            asked: RefCell::new(Vec::new()),
        };
        let chain = ChainSource::new(&empty, Some(&source)).keeping(false);
        Walk::new(&chain)
            .budget(Budget::UNLIMITED)
            .run(std::slice::from_ref(&root), |_| Ok::<_, BlockError>(()))
            .unwrap();
        assert_eq!(source.asked.borrow().len(), 23);
        assert!(!empty.has(&leaves[0]));
    }
}
