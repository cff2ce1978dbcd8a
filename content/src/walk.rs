//! The one DAG walk: every block below some roots, each visited once, depth first in pre-order
//! (a block, then the blocks it links to, in link order), which is the order go-car writes a
//! CAR in. CAR export, push's plan, pull and the store's gc all walk with it.
//!
//! A [`Walk`] reads blocks from a [`BlockSource`] with [`BlockSource::get_verified`] (so every
//! block it hands on has been checked against its CID) and decodes their links with
//! [`block::links`]. It keeps its pending links on an explicit stack, so a deep DAG costs heap,
//! never call stack, and a seen set ([`Same`] says which CIDs name one block), so a DAG that links
//! the same blocks over and over is walked in time linear in its distinct blocks. Its seen set
//! lives as long as the walk: walking several roots one after the other with one `Walk` visits
//! a block shared by two of them once.
//!
//! # Budgets
//!
//! A walk stops with an error naming the block and the limit when it would visit a block more
//! than [`Budget::max_depth`] links below its root ([`BlockError::TooDeep`]) or more than
//! [`Budget::max_blocks`] distinct blocks ([`BlockError::TooManyBlocks`]). Which budget a caller
//! uses depends on whom the DAG comes from:
//! - [`Budget::UNTRUSTED`] (the default) for DAGs fetched from others (`pull` from an IPFS node):
//!   deeper or larger than anything `ww` reads;
//! - [`Budget::UNLIMITED`] for walks of what the caller already holds: the local store (gc,
//!   push's plan) and CAR export (which reads the caller's source, the local store in practice,
//!   and has always exported DAGs of any depth). The store is trusted (see the architecture's
//!   Trust section), its DAGs were verified on the way in, and a walk of it visits each block
//!   once, so it is bounded by the size of the store anyway; a gc that gave up half way on a
//!   budget would leave a large store growing for ever.
//!
//! A walk checks its [`Cancel`] before each block, so a raised flag stops it within one block.
//!
//! # Strict and lenient
//!
//! [`Walk::run`] stops at the first block that is missing, does not verify or does not decode.
//! [`Walk::survey`] (for gc) goes on: it reports a missing block and does not descend into it,
//! and reports a block that does not verify or decode and follows its links if its bytes, as
//! stored, still decode; only errors of the source itself (I/O) and the budgets stop it.

use std::collections::HashSet;

use crate::block::{self, BlockError, BlockSource};
use crate::cancel::Cancel;
use crate::cid::Cid;

/// The deepest a DAG from others may be: deeper than any DAG `ww` can read, whose directories
/// nest at most [`crate::tree::MAX_DEPTH`] levels, each directory a HAMT of at most 64 levels
/// (one bit of a 64-bit hash a level, at least), over a file DAG of at most
/// [`crate::unixfs::read::MAX_FILE_DEPTH`] levels.
pub const MAX_UNTRUSTED_DEPTH: usize =
    crate::tree::MAX_DEPTH * 64 + crate::unixfs::read::MAX_FILE_DEPTH;

/// The most distinct blocks a DAG from others may have: as many as one UnixFS reader decodes
/// ([`crate::unixfs::read::DEFAULT_MAX_BLOCKS`]), a tree of a million files or a TiB of 1 MiB
/// chunks.
pub const MAX_UNTRUSTED_BLOCKS: u64 = crate::unixfs::read::DEFAULT_MAX_BLOCKS;

/// How far a walk may go. See the module docs for which one to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The most links between a root and a block the walk visits (a root is at depth 0).
    pub max_depth: usize,
    /// The most distinct blocks the walk visits, over all the roots it is given.
    pub max_blocks: u64,
}

impl Budget {
    /// For DAGs from others: [`MAX_UNTRUSTED_DEPTH`] and [`MAX_UNTRUSTED_BLOCKS`].
    pub const UNTRUSTED: Budget = Budget {
        max_depth: MAX_UNTRUSTED_DEPTH,
        max_blocks: MAX_UNTRUSTED_BLOCKS,
    };

    /// No limit: for what the caller holds (the local store), which bounds the walk itself.
    pub const UNLIMITED: Budget = Budget {
        max_depth: usize::MAX,
        max_blocks: u64::MAX,
    };
}

impl Default for Budget {
    fn default() -> Budget {
        Budget::UNTRUSTED
    }
}

/// Which CIDs the seen set takes for one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Same {
    /// Equal CIDs only: a CIDv0 and the dag-pb CIDv1 of the same bytes are two visits. CAR
    /// export walks so, because go-car (and so `ipfs dag export`) writes such a block twice.
    Cid,
    /// CIDs with the same codec and multihash (a CIDv0 and its dag-pb CIDv1), compared as
    /// CIDv1s: one block, as the store files it.
    #[default]
    Block,
}

/// A block the walk visits: verified against its CID, with its links decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    /// The CID as the parent (or the caller, for a root) linked to it.
    pub cid: Cid,
    pub data: Vec<u8>,
    /// The CIDs it links to, in link order.
    pub links: Vec<Cid>,
    /// Links between the root and this block; 0 for a root.
    pub depth: usize,
}

/// What a lenient walk ([`Walk::survey`]) meets.
#[derive(Debug)]
pub enum Reached<'a> {
    /// A block that verified and decoded.
    Block(&'a Visit),
    /// A block the source does not have; the walk does not descend into it.
    Missing { cid: &'a Cid, depth: usize },
    /// A block that does not verify or decode, `error` says why; the walk follows `links` (the
    /// links of its bytes as stored, empty when they do not decode).
    Broken {
        cid: &'a Cid,
        depth: usize,
        error: &'a BlockError,
        links: &'a [Cid],
    },
}

/// A depth-first walk over `source`. See the module docs.
pub struct Walk<'s> {
    source: &'s dyn BlockSource,
    budget: Budget,
    cancel: Cancel,
    same: Same,
    seen: HashSet<Cid>,
    visited: u64,
}

impl<'s> Walk<'s> {
    /// A walk of `source` with the [`Budget::UNTRUSTED`] budget, [`Same::Block`], and a
    /// [`Cancel`] nobody raises.
    pub fn new(source: &'s dyn BlockSource) -> Walk<'s> {
        Walk {
            source,
            budget: Budget::default(),
            cancel: Cancel::new(),
            same: Same::default(),
            seen: HashSet::new(),
            visited: 0,
        }
    }

    /// This walk with `budget`.
    pub fn budget(mut self, budget: Budget) -> Walk<'s> {
        self.budget = budget;
        self
    }

    /// This walk, stopped with [`BlockError::Cancelled`] once `cancel` is raised.
    pub fn cancel(mut self, cancel: &Cancel) -> Walk<'s> {
        self.cancel = cancel.clone();
        self
    }

    /// This walk, with `same` deciding which CIDs are one block.
    pub fn same(mut self, same: Same) -> Walk<'s> {
        self.same = same;
        self
    }

    /// Distinct blocks visited so far (missing and broken ones included).
    pub fn visited(&self) -> u64 {
        self.visited
    }

    /// Whether the walk has visited the block `cid` (in the sense of its [`Same`]).
    pub fn has_seen(&self, cid: &Cid) -> bool {
        match self.same {
            Same::Cid => self.seen.contains(cid),
            Same::Block => self.seen.contains(&cid.to_v1()),
        }
    }

    /// Walks the DAG under each of `roots` in turn, calling `visit` with each block not visited
    /// before (by this walk, under any root); stops at the first error: a block missing, not
    /// verifying or not decoding, a budget used up, the walk cancelled, or `visit`'s own.
    pub fn run<E: From<BlockError>>(
        &mut self,
        roots: &[Cid],
        mut visit: impl FnMut(&Visit) -> Result<(), E>,
    ) -> Result<(), E> {
        self.walk(roots, false, &mut |reached| match reached {
            Reached::Block(block) => visit(block),
            // A strict walk stops with an error before it could reach anything else.
            Reached::Missing { .. } | Reached::Broken { .. } => Ok(()),
        })
    }

    /// Like [`Walk::run`], but a missing or broken block is handed to `visit` and the walk goes
    /// on (see the module docs); source errors, budgets, cancellation and `visit`'s errors stop
    /// it.
    pub fn survey<E: From<BlockError>>(
        &mut self,
        roots: &[Cid],
        mut visit: impl FnMut(Reached<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.walk(roots, true, &mut visit)
    }

    fn walk<E: From<BlockError>>(
        &mut self,
        roots: &[Cid],
        lenient: bool,
        visit: &mut dyn FnMut(Reached<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut stack: Vec<(Cid, usize)> = Vec::new();
        for root in roots {
            stack.push((root.clone(), 0));
            // Marking a block seen when it is popped (not when pushed) gives exactly the order
            // of a recursive pre-order walk.
            while let Some((cid, depth)) = stack.pop() {
                if !self.mark(&cid) {
                    continue;
                }
                self.admit(&cid, depth)?;
                let links = match self.load(&cid) {
                    Ok((data, links)) => {
                        let block = Visit {
                            cid,
                            data,
                            links,
                            depth,
                        };
                        visit(Reached::Block(&block))?;
                        block.links
                    }
                    Err(BlockError::NotFound(_)) if lenient => {
                        visit(Reached::Missing { cid: &cid, depth })?;
                        continue;
                    }
                    Err(error) if lenient && is_bad_block(&error) => {
                        // Keep what its bytes still link to, if they can be read as a node.
                        let links = self
                            .source
                            .get_unverified(&cid)?
                            .and_then(|data| block::links(&cid, &data).ok())
                            .unwrap_or_default();
                        visit(Reached::Broken {
                            cid: &cid,
                            depth,
                            error: &error,
                            links: &links,
                        })?;
                        links
                    }
                    Err(error) => return Err(error.into()),
                };
                stack.extend(
                    links
                        .into_iter()
                        .rev()
                        .filter(|link| !self.has_seen(link))
                        .map(|link| (link, depth + 1)),
                );
            }
        }
        Ok(())
    }

    /// Adds `cid` to the seen set; `false` if it was there.
    fn mark(&mut self, cid: &Cid) -> bool {
        match self.same {
            Same::Cid => !self.seen.contains(cid) && self.seen.insert(cid.clone()),
            Same::Block => self.seen.insert(cid.to_v1()),
        }
    }

    /// Counts the visit of `cid` at `depth` against the budget and checks the cancel flag.
    fn admit(&mut self, cid: &Cid, depth: usize) -> Result<(), BlockError> {
        if depth > self.budget.max_depth {
            return Err(BlockError::TooDeep {
                cid: cid.clone(),
                limit: self.budget.max_depth,
            });
        }
        if self.visited >= self.budget.max_blocks {
            return Err(BlockError::TooManyBlocks {
                cid: cid.clone(),
                limit: self.budget.max_blocks,
            });
        }
        self.visited += 1;
        self.cancel.check()?;
        Ok(())
    }

    /// The verified bytes of `cid` and its links.
    fn load(&self, cid: &Cid) -> Result<(Vec<u8>, Vec<Cid>), BlockError> {
        let data = self.source.get_verified(cid)?;
        let links = block::links(cid, &data)?;
        Ok((data, links))
    }
}

/// Whether `error` is about the block's bytes (they do not match, or cannot be read as a block
/// we know), as opposed to the source failing.
fn is_bad_block(error: &BlockError) -> bool {
    matches!(
        error,
        BlockError::Mismatch { .. }
            | BlockError::UnsupportedHash { .. }
            | BlockError::UnknownCodec { .. }
            | BlockError::Malformed { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{BlockSink, MemoryBlocks};
    use crate::cid::{Multihash, RAW};

    use crate::test_dags::{node, raw};

    fn v0(blocks: &MemoryBlocks, cid: &Cid) -> Cid {
        let v0 = Cid::new_v0(cid.hash().clone()).unwrap();
        let data = blocks.get_unverified(cid).unwrap().unwrap();
        blocks.put(&v0, &data).unwrap();
        v0
    }

    fn order(walk: &mut Walk<'_>, roots: &[Cid]) -> Result<Vec<(Cid, usize)>, BlockError> {
        let mut seen = Vec::new();
        walk.run(roots, |b: &Visit| {
            seen.push((b.cid.clone(), b.depth));
            Ok::<_, BlockError>(())
        })?;
        Ok(seen)
    }

    #[test]
    fn pre_order_each_block_once_across_roots() {
        let blocks = MemoryBlocks::new();
        let a = raw(&blocks, b"a");
        let b = raw(&blocks, b"b");
        let shared = raw(&blocks, b"shared");
        let left = node(&blocks, &[&a, &shared], b"left");
        let right = node(&blocks, &[&shared, &b], b"right");
        let root = node(&blocks, &[&left, &right, &shared], b"root");
        let other = node(&blocks, &[&right, &a], b"other");
        let mut walk = Walk::new(&blocks);
        let got = order(&mut walk, &[root.clone(), other.clone()]).unwrap();
        assert_eq!(
            got,
            vec![
                (root, 0),
                (left, 1),
                (a, 2),
                (shared, 2),
                (right.clone(), 1),
                (b, 2),
                (other, 0),
            ]
        );
        assert_eq!(walk.visited(), 7);
        // A later run of the same walk visits nothing it saw.
        assert!(order(&mut walk, &[right]).unwrap().is_empty());
    }

    #[test]
    fn same_decides_whether_a_cidv0_and_its_cidv1_are_one_block() {
        let blocks = MemoryBlocks::new();
        let leaf = raw(&blocks, b"leaf");
        let inner = node(&blocks, &[&leaf], b"inner");
        let inner_v0 = v0(&blocks, &inner);
        let root = node(&blocks, &[&inner, &inner_v0], b"root");
        let by_cid = order(
            &mut Walk::new(&blocks).same(Same::Cid),
            std::slice::from_ref(&root),
        )
        .unwrap();
        assert_eq!(
            by_cid.into_iter().map(|(c, _)| c).collect::<Vec<_>>(),
            vec![root.clone(), inner.clone(), leaf.clone(), inner_v0]
        );
        let by_block = order(&mut Walk::new(&blocks), std::slice::from_ref(&root)).unwrap();
        assert_eq!(
            by_block.into_iter().map(|(c, _)| c).collect::<Vec<_>>(),
            vec![root, inner, leaf]
        );
    }

    #[test]
    fn budgets_stop_the_walk_naming_the_block_and_the_limit() {
        let blocks = MemoryBlocks::new();
        let mut chain = vec![raw(&blocks, b"bottom")];
        for i in 0..10u8 {
            let below = chain.last().unwrap().clone();
            chain.push(node(&blocks, &[&below], &[i]));
        }
        let top = chain.last().unwrap().clone();
        let deep = Budget {
            max_depth: 4,
            max_blocks: 100,
        };
        let err = order(
            &mut Walk::new(&blocks).budget(deep),
            std::slice::from_ref(&top),
        )
        .unwrap_err();
        // The top is at depth 0: the block 5 links below it is the first too deep.
        let too_deep = chain[chain.len() - 6].clone();
        assert!(
            matches!(&err, BlockError::TooDeep { cid, limit: 4 } if *cid == too_deep),
            "{err}"
        );
        let message = err.to_string();
        assert!(message.contains(&too_deep.to_string()) && message.contains("more than 4 links"));

        let many = Budget {
            max_depth: 100,
            max_blocks: 3,
        };
        let err = order(
            &mut Walk::new(&blocks).budget(many),
            std::slice::from_ref(&top),
        )
        .unwrap_err();
        let fourth = chain[chain.len() - 4].clone();
        assert!(
            matches!(&err, BlockError::TooManyBlocks { cid, limit: 3 } if *cid == fourth),
            "{err}"
        );
        assert!(err.to_string().contains("more than 3 blocks"), "{err}");

        // Exactly at the limits is fine.
        let exact = Budget {
            max_depth: 10,
            max_blocks: 11,
        };
        assert_eq!(
            order(&mut Walk::new(&blocks).budget(exact), &[top])
                .unwrap()
                .len(),
            11
        );
    }

    #[test]
    fn a_raised_cancel_stops_the_walk() {
        let blocks = MemoryBlocks::new();
        let leaf = raw(&blocks, b"leaf");
        let root = node(&blocks, &[&leaf], b"root");
        let cancel = Cancel::new();
        let mut walk = Walk::new(&blocks).cancel(&cancel);
        let mut visited = 0;
        let err = walk
            .run(std::slice::from_ref(&root), |_: &Visit| {
                visited += 1;
                cancel.raise(15);
                Ok::<_, BlockError>(())
            })
            .unwrap_err();
        assert!(matches!(err, BlockError::Cancelled(_)), "{err}");
        assert_eq!(visited, 1);
    }

    #[test]
    fn strict_walks_stop_at_a_bad_block_and_surveys_go_on() {
        let blocks = MemoryBlocks::new();
        let leaf = raw(&blocks, b"leaf");
        let gone = Cid::v1_sha2_256(RAW, b"not here");
        let corrupt = node(&blocks, &[&leaf], b"corrupt");
        let mut bytes = blocks.get_unverified(&corrupt).unwrap().unwrap();
        *bytes.last_mut().unwrap() ^= 1; // in its Data: the links still decode
        blocks.overwrite(&corrupt, bytes);
        let cbor = Cid::v1_sha2_256(0x71, b"\xa0");
        blocks.put(&cbor, b"\xa0").unwrap();
        let identity = Cid::new_v1(RAW, Multihash::new(crate::cid::IDENTITY, b"x".to_vec()));
        let root = node(&blocks, &[&gone, &corrupt, &cbor], b"root");

        let err = order(&mut Walk::new(&blocks), std::slice::from_ref(&root)).unwrap_err();
        assert!(
            matches!(&err, BlockError::NotFound(c) if *c == gone),
            "{err}"
        );
        let err = order(&mut Walk::new(&blocks), std::slice::from_ref(&corrupt)).unwrap_err();
        assert!(
            matches!(&err, BlockError::Mismatch { cid } if *cid == corrupt),
            "{err}"
        );

        let (mut ok, mut missing, mut broken) = (Vec::new(), Vec::new(), Vec::new());
        Walk::new(&blocks)
            .survey(&[root.clone(), identity.clone()], |reached| {
                match reached {
                    Reached::Block(b) => ok.push(b.cid.clone()),
                    Reached::Missing { cid, depth } => missing.push((cid.clone(), depth)),
                    Reached::Broken { cid, links, .. } => {
                        broken.push((cid.clone(), links.to_vec()))
                    }
                }
                Ok::<_, BlockError>(())
            })
            .unwrap();
        // The identity block is not in the source: for this walk it is missing.
        assert_eq!(ok, vec![root, leaf.clone()]);
        assert_eq!(missing, vec![(gone, 1), (identity, 0)]);
        assert_eq!(broken, vec![(corrupt, vec![leaf]), (cbor, vec![])]);
    }
}
