//! `wwpack push` and `wwpack pull`: moving DAGs between the embedded store and an IPFS node.
//!
//! Push sends the blocks of each item (an image and its layers, or any DAG) that the node does
//! not have (found by walking the local store, then asked of the node once, with `refs/local`),
//! [`IN_FLIGHT`] `block/put` requests at a time, then pins the item's roots there (an image's
//! root and each of its layers' roots). It only reads the local store, so an interrupted push
//! leaves it as it was, and a rerun sends what is still missing. Pull fetches a DAG, verifies
//! every block against its CID before storing it, and pins the root locally. Both walk DAGs with
//! [`crate::walk`] and stop when the node's [`Cancel`](crate::cancel::Cancel) is raised. Both
//! count what they move on a [`Meter`] when given one ([`push_metered`], [`pull_metered`]): a
//! push knows its totals once it has its plan; a pull takes the total its root block claims
//! ([`dag_size_hint`]).

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::PathBuf;

use serde::Serialize;

use crate::block::{self, BlockError, BlockSink, BlockSource};
use crate::cid::Cid;
use crate::ipfs::Node;
use crate::prefetch::Prefetch;
use crate::progress::{dag_size_hint, Meter};
use crate::store::Store;
use crate::walk::{Budget, Visit, Walk};

/// How many `block/put` requests a push keeps in flight: enough to hide the round trip to a
/// node on the same machine or network, few enough that the blocks held (at most this many,
/// each at most [`crate::car::MAX_BLOCK_LEN`]) stay small.
pub const IN_FLIGHT: usize = 8;

/// Blocks and bytes moved and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub blocks_sent: u64,
    pub bytes_sent: u64,
    pub blocks_skipped: u64,
    pub bytes_skipped: u64,
}

impl Counts {
    fn sent(&mut self, bytes: u64) {
        self.blocks_sent += 1;
        self.bytes_sent += bytes;
    }

    fn skipped(&mut self, bytes: u64) {
        self.blocks_skipped += 1;
        self.bytes_skipped += bytes;
    }
}

/// What to push: a name for messages (`image `app``, or the CID), the root to pin, and further
/// roots (layers) to send and pin.
#[derive(Debug, Clone)]
pub struct PushItem {
    pub name: String,
    pub root: Cid,
    pub also: Vec<Cid>,
}

/// What a push moved: for each item (in order), the blocks of its DAGs sent and skipped, each
/// block counted once, for the first item whose DAGs reach it; their sums; and the roots
/// pinned, each once, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pushed {
    pub items: Vec<Counts>,
    pub total: Counts,
    pub pinned: Vec<Cid>,
}

/// Why a push failed: a block of an item's DAGs is not in the local store, or something else
/// went wrong (the store, the node, a cancel).
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("cannot push {item}: block {block} is not in the block store {}", store.display())]
    Missing {
        /// The item's name, and its place in the items pushed.
        item: String,
        index: usize,
        block: Cid,
        store: PathBuf,
    },
    #[error(transparent)]
    Block(#[from] BlockError),
}

/// Pushes each item's DAGs to `node` and pins its roots there. `progress` is called with the
/// running totals once the blocks to skip are counted, then after each block sent.
///
/// The blocks to send are found first, by walking the DAGs in the local store (so the plan is
/// bounded by the store, not by the node); the node is then asked once which of them it holds
/// (`refs/local`, of which only those are kept), and the rest are sent, [`IN_FLIGHT`] at a
/// time. An item's roots are pinned once its blocks (and those of the items before it) are on
/// the node. The first error stops the push, naming the block or root it was about.
pub fn push(
    store: &Store,
    node: &Node,
    items: &[PushItem],
    progress: impl FnMut(&Counts),
) -> Result<Pushed, PushError> {
    push_with(store, node, items, None, progress)
}

/// [`push`], counting on `meter` the blocks (items) and bytes sent, of totals known once the
/// node has said which blocks it lacks.
pub fn push_metered(
    store: &Store,
    node: &Node,
    items: &[PushItem],
    meter: &Meter,
) -> Result<Pushed, PushError> {
    push_with(store, node, items, Some(meter), |_| {})
}

fn push_with(
    store: &Store,
    node: &Node,
    items: &[PushItem],
    meter: Option<&Meter>,
    mut progress: impl FnMut(&Counts),
) -> Result<Pushed, PushError> {
    let plan = plan(store, node, items)?;
    let wanted: HashSet<Vec<u8>> = plan
        .iter()
        .flatten()
        .map(|(cid, _)| cid.hash().to_bytes())
        .collect();
    // What the node holds, and, as the sends are queued, what it will hold: a block the plan
    // names twice (a CIDv0 and a CIDv1 of it) is sent once.
    let mut have = node.local_blocks_among(&wanted)?;
    let mut pushed = Pushed::default();
    let mut sends = Vec::with_capacity(plan.len());
    for blocks in &plan {
        let mut counts = Counts::default();
        let mut send = Vec::new();
        for (cid, size) in blocks {
            if have.insert(cid.hash().to_bytes()) {
                send.push(cid);
            } else {
                counts.skipped(*size);
                pushed.total.skipped(*size);
            }
        }
        pushed.items.push(counts);
        sends.push(send);
    }
    if let Some(meter) = meter {
        meter.set_items_total(sends.iter().map(|s| s.len() as u64).sum());
        let sizes = plan.iter().flatten().map(|(_, size)| size).sum::<u64>();
        meter.set_bytes_total(sizes - pushed.total.bytes_skipped);
    }
    progress(&pushed.total);
    let mut pinned = HashSet::new();
    for (index, (item, send)) in items.iter().zip(&sends).enumerate() {
        let mut queue = send.iter();
        node.put_all(
            IN_FLIGHT,
            || match queue.next() {
                Some(&cid) => Ok(Some((cid.clone(), store.get(cid)?))),
                None => Ok(None),
            },
            |_, len| {
                pushed.items[index].sent(len);
                pushed.total.sent(len);
                if let Some(meter) = meter {
                    meter.add_items(1);
                    meter.add_bytes(len);
                }
                progress(&pushed.total);
                Ok(())
            },
        )
        .map_err(|e| missing(e, index, item, store))?;
        for root in std::iter::once(&item.root).chain(&item.also) {
            if pinned.insert(root.hash().to_bytes()) {
                node.pin(root)?;
                pushed.pinned.push(root.clone());
            }
        }
    }
    Ok(pushed)
}

/// `e`, or, when it is a block of `item` (the `index`th) not found in `store`, an error saying
/// so.
fn missing(e: BlockError, index: usize, item: &PushItem, store: &Store) -> PushError {
    match e {
        BlockError::NotFound(block) => PushError::Missing {
            item: item.name.clone(),
            index,
            block,
            store: store.dir().to_path_buf(),
        },
        e => PushError::Block(e),
    }
}

/// For each item, its blocks (CID and size) not already in an earlier item's list, in the
/// order push sends them: the walk's order ([`crate::walk`]), the root, then the further roots.
/// The walk reads the local store, which bounds it: no budget.
fn plan(store: &Store, node: &Node, items: &[PushItem]) -> Result<Vec<Vec<(Cid, u64)>>, PushError> {
    let mut walk = Walk::new(store)
        .budget(Budget::UNLIMITED)
        .cancel(node.cancel());
    let mut plan = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let mut blocks = Vec::new();
        let roots: Vec<Cid> = std::iter::once(&item.root)
            .chain(&item.also)
            .cloned()
            .collect();
        walk.run(&roots, |block: &Visit| {
            blocks.push((block.cid.clone(), block.data.len() as u64));
            Ok::<_, BlockError>(())
        })
        .map_err(|e| missing(e, index, item, store))?;
        plan.push(blocks);
    }
    Ok(plan)
}

/// Fetches the DAG under `root` from `node` into `store` (every block verified) and pins it.
/// Blocks already in the store are not fetched again. The DAG comes from the node, so the walk
/// has the [`Budget::UNTRUSTED`] budget: a DAG deeper or larger than that is refused, naming
/// the block where the walk stopped.
pub fn pull(store: &Store, node: &Node, root: &Cid) -> Result<Counts, BlockError> {
    pull_metered(store, node, root, &Meter::new())
}

/// [`pull`], counting on `meter` the blocks (items) and bytes of the DAG walked, fetched or
/// found in the store, of the total the root block claims ([`dag_size_hint`]: the DAG's
/// author's claim, only for display).
pub fn pull_metered(
    store: &Store,
    node: &Node,
    root: &Cid,
    meter: &Meter,
) -> Result<Counts, BlockError> {
    let guard = store.writer()?;
    let source = Pulling {
        store,
        node,
        counts: RefCell::new(Counts::default()),
        root,
        meter,
        prefetch: Prefetch::default(),
    };
    Walk::new(&source)
        .budget(Budget::UNTRUSTED)
        .cancel(node.cancel())
        .run(std::slice::from_ref(root), |_: &Visit| {
            Ok::<_, BlockError>(())
        })?;
    store.pin(root, Some("pulled"))?;
    drop(guard);
    Ok(source.counts.into_inner())
}

/// How many more blocks a pull may fetch ahead: the walk's budget less what it has seen.
fn room(counts: &Counts) -> u64 {
    crate::walk::MAX_UNTRUSTED_BLOCKS.saturating_sub(counts.blocks_sent + counts.blocks_skipped)
}

/// The blocks of a pull: from the store when there and whole (counted as skipped), else from the
/// node, verified and stored (counted as sent). What it returns has been verified.
struct Pulling<'a> {
    store: &'a Store,
    node: &'a Node,
    counts: RefCell<Counts>,
    root: &'a Cid,
    meter: &'a Meter,
    prefetch: Prefetch,
}

impl Pulling<'_> {
    /// Counts a block of the DAG (`data` of `cid`) on the meter.
    fn count(&self, cid: &Cid, data: &[u8]) {
        if cid == self.root {
            if let Some(total) = dag_size_hint(cid, data) {
                self.meter.init_bytes_total(total);
            }
        }
        self.meter.add_items(1);
        self.meter.add_bytes(data.len() as u64);
    }
}

impl BlockSource for Pulling<'_> {
    fn get_unverified(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        self.get_verified(cid).map(Some)
    }

    fn get_verified(&self, cid: &Cid) -> Result<Vec<u8>, BlockError> {
        let mut counts = self.counts.borrow_mut();
        if let Some(data) = self.store.get_unverified(cid)? {
            if block::verify(cid, &data).is_ok() {
                if self.prefetch.take(cid) {
                    // Fetched from the node, ahead of the walk.
                    counts.sent(data.len() as u64);
                    let room = room(&counts);
                    drop(counts);
                    self.prefetch
                        .links_of(self.store, self.node, cid, &data, room)?;
                } else {
                    counts.blocks_skipped += 1;
                    counts.bytes_skipped += data.len() as u64;
                }
                self.count(cid, &data);
                return Ok(data);
            }
        }
        let data = self.node.get_unverified(cid)?.ok_or_else(|| {
            BlockError::Other(format!(
                "block {cid} is not on the IPFS node at {} (no answer within the timeout)",
                self.node.url()
            ))
        })?;
        block::verify(cid, &data)?;
        self.store.put(cid, &data)?;
        counts.sent(data.len() as u64);
        let room = room(&counts);
        drop(counts);
        self.prefetch
            .links_of(self.store, self.node, cid, &data, room)?;
        self.count(cid, &data);
        Ok(data)
    }
}
