//! `wwpack push` and `wwpack pull`: moving DAGs between the embedded store and an IPFS node.
//!
//! Push sends the blocks of each image and its layers that the node does not have (asked once,
//! with `refs/local`), then pins each image root there. It only reads the local store, so an
//! interrupted push leaves it as it was, and a rerun sends what is still missing. Pull fetches a
//! DAG, verifies every block against its CID before storing it, and pins the root locally.

use std::collections::HashSet;

use serde::Serialize;

use crate::block::{self, BlockError, BlockSink, BlockSource};
use crate::cid::Cid;
use crate::ipfs::Node;
use crate::store::Store;

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
pub fn push(
    store: &Store,
    node: &Node,
    items: &[PushItem],
    mut progress: impl FnMut(&Counts),
) -> Result<Counts, BlockError> {
    let mut have = node.local_blocks()?;
    let mut counts = Counts::default();
    let mut seen = HashSet::new();
    for item in items {
        let mut stack: Vec<Cid> = item.also.iter().rev().cloned().collect();
        stack.push(item.root.clone());
        while let Some(cid) = stack.pop() {
            if !seen.insert(cid.to_v1()) {
                continue;
            }
            let data = store.get(&cid)?;
            let links = block::links(&cid, &data)?;
            let size = data.len() as u64;
            if have.contains(&cid.hash().to_bytes()) {
                counts.blocks_skipped += 1;
                counts.bytes_skipped += size;
            } else {
                node.put(&cid, &data)?;
                have.insert(cid.hash().to_bytes());
                counts.blocks_sent += 1;
                counts.bytes_sent += size;
            }
            progress(&counts);
            stack.extend(links.into_iter().rev());
        }
        node.pin(&item.root)?;
    }
    Ok(counts)
}

/// Fetches the DAG under `root` from `node` into `store` (every block verified) and pins it.
/// Blocks already in the store are not fetched again.
pub fn pull(store: &Store, node: &Node, root: &Cid) -> Result<Counts, BlockError> {
    let guard = store.writer()?;
    let mut counts = Counts::default();
    let mut seen = HashSet::new();
    let mut stack = vec![root.clone()];
    while let Some(cid) = stack.pop() {
        if !seen.insert(cid.to_v1()) {
            continue;
        }
        let data = match store.get_unverified(&cid)? {
            Some(data) if block::verify(&cid, &data).is_ok() => {
                counts.blocks_skipped += 1;
                counts.bytes_skipped += data.len() as u64;
                data
            }
            _ => {
                let data = node.get_unverified(&cid)?.ok_or_else(|| {
                    BlockError::Other(format!(
                        "block {cid} is not on the IPFS node at {} (no answer within the timeout)",
                        node.url()
                    ))
                })?;
                block::verify(&cid, &data)?;
                store.put(&cid, &data)?;
                counts.blocks_sent += 1;
                counts.bytes_sent += data.len() as u64;
                data
            }
        };
        stack.extend(block::links(&cid, &data)?.into_iter().rev());
    }
    store.pin(root, Some("pulled"))?;
    drop(guard);
    Ok(counts)
}
