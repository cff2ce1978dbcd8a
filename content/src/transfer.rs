//! `wwpack push` and `wwpack pull`: moving DAGs between the embedded store and an IPFS node.
//!
//! Push sends the blocks of each image and its layers that the node does not have (found by
//! walking the local store, then asked of the node once, with `refs/local`), then pins each image
//! root there. It only reads the local store, so an interrupted push leaves it as it was, and a
//! rerun sends what is still missing. Pull fetches a DAG, verifies every block against its CID
//! before storing it, and pins the root locally. Both walk DAGs with [`crate::walk`] and stop
//! when the node's [`Cancel`](crate::cancel::Cancel) is raised. Both count what they move on a
//! [`Meter`] when given one ([`push_metered`], [`pull_metered`]): a push knows its totals once
//! it has its plan; a pull takes the total its root block claims ([`dag_size_hint`]).

use std::cell::RefCell;
use std::collections::HashSet;

use serde::Serialize;

use crate::block::{self, BlockError, BlockSink, BlockSource};
use crate::cid::Cid;
use crate::ipfs::Node;
use crate::progress::{dag_size_hint, Meter};
use crate::store::Store;
use crate::walk::{Budget, Visit, Walk};

/// Blocks and bytes moved and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub blocks_sent: u64,
    pub bytes_sent: u64,
    pub blocks_skipped: u64,
    pub bytes_skipped: u64,
}

/// What to push: a name for messages, the root to pin, and further roots (layers) to send.
#[derive(Debug, Clone)]
pub struct PushItem {
    pub name: String,
    pub root: Cid,
    pub also: Vec<Cid>,
}

/// Pushes each item's DAGs to `node` and pins its root there. `progress` is called after each
/// block with the running counts.
///
/// The blocks to send are found first, by walking the DAGs in the local store (so the plan is
/// bounded by the store, not by the node); the node is then asked once which of them it holds
/// (`refs/local`, of which only those are kept), and the rest are sent.
pub fn push(
    store: &Store,
    node: &Node,
    items: &[PushItem],
    progress: impl FnMut(&Counts),
) -> Result<Counts, BlockError> {
    push_with(store, node, items, None, progress)
}

/// [`push`], counting on `meter` the blocks (items) and bytes sent, of totals known once the
/// node has said which blocks it lacks.
pub fn push_metered(
    store: &Store,
    node: &Node,
    items: &[PushItem],
    meter: &Meter,
) -> Result<Counts, BlockError> {
    push_with(store, node, items, Some(meter), |_| {})
}

fn push_with(
    store: &Store,
    node: &Node,
    items: &[PushItem],
    meter: Option<&Meter>,
    mut progress: impl FnMut(&Counts),
) -> Result<Counts, BlockError> {
    let plan = plan(store, node, items)?;
    let wanted: HashSet<Vec<u8>> = plan
        .iter()
        .flatten()
        .map(|(cid, _)| cid.hash().to_bytes())
        .collect();
    let mut have = node.local_blocks_among(&wanted)?;
    if let Some(meter) = meter {
        // What is to send: each block once (an item may repeat a block of another's DAG).
        let mut seen = HashSet::new();
        let (mut blocks, mut bytes) = (0u64, 0u64);
        for (cid, size) in plan.iter().flatten() {
            let hash = cid.hash().to_bytes();
            if !have.contains(&hash) && seen.insert(hash) {
                blocks += 1;
                bytes += size;
            }
        }
        meter.set_items_total(blocks);
        meter.set_bytes_total(bytes);
    }
    let mut counts = Counts::default();
    for (item, blocks) in items.iter().zip(&plan) {
        for (cid, size) in blocks {
            let hash = cid.hash().to_bytes();
            if have.contains(&hash) {
                counts.blocks_skipped += 1;
                counts.bytes_skipped += size;
            } else {
                node.cancel().check()?;
                let data = store.get(cid)?;
                node.put(cid, &data)?;
                have.insert(hash);
                counts.blocks_sent += 1;
                counts.bytes_sent += data.len() as u64;
                if let Some(meter) = meter {
                    meter.add_items(1);
                    meter.add_bytes(data.len() as u64);
                }
            }
            progress(&counts);
        }
        node.pin(&item.root)?;
    }
    Ok(counts)
}

/// For each item, its blocks (CID and size) not already in an earlier item's list, in the
/// order push sends them: the walk's order ([`crate::walk`]), the root, then the further roots.
/// The walk reads the local store, which bounds it: no budget.
fn plan(
    store: &Store,
    node: &Node,
    items: &[PushItem],
) -> Result<Vec<Vec<(Cid, u64)>>, BlockError> {
    let mut walk = Walk::new(store)
        .budget(Budget::UNLIMITED)
        .cancel(node.cancel());
    let mut plan = Vec::with_capacity(items.len());
    for item in items {
        let mut blocks = Vec::new();
        let roots: Vec<Cid> = std::iter::once(&item.root)
            .chain(&item.also)
            .cloned()
            .collect();
        walk.run(&roots, |block: &Visit| {
            blocks.push((block.cid.clone(), block.data.len() as u64));
            Ok::<_, BlockError>(())
        })?;
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

/// The blocks of a pull: from the store when there and whole (counted as skipped), else from the
/// node, verified and stored (counted as sent). What it returns has been verified.
struct Pulling<'a> {
    store: &'a Store,
    node: &'a Node,
    counts: RefCell<Counts>,
    root: &'a Cid,
    meter: &'a Meter,
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
                counts.blocks_skipped += 1;
                counts.bytes_skipped += data.len() as u64;
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
        counts.blocks_sent += 1;
        counts.bytes_sent += data.len() as u64;
        self.count(cid, &data);
        Ok(data)
    }
}
