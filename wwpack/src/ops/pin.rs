//! `wwpack pin ls`, `pin add` and `pin rm`: the pins of the embedded block store, with their
//! labels. `pin add` makes the pinned DAG complete first: it walks the DAG through the chain
//! ([`ww_content::chain`]: the store first, then the IPFS node, every block verified and the
//! fetched ones kept), with the [`Budget::UNTRUSTED`] budget since blocks may come from the node,
//! and pins only when every block was found, all under a [`WriteGuard`] so that no gc can sweep
//! the fetched blocks before the pin holds them.
//!
//! [`WriteGuard`]: ww_content::store::WriteGuard

use ww_content::block::{BlockError, BlockSource};
use ww_content::chain::{self, ChainSource};
use ww_content::cid::Cid;
use ww_content::store::Store;
use ww_content::text::printable;
use ww_content::walk::{Budget, Visit, Walk};

use crate::cli::{errln, outln, report_repairs, Globals};

/// What `pin add` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// The root, as given.
    pub cid: Cid,
    /// The pin's label now.
    pub label: Option<String>,
    /// Blocks of the DAG, and their bytes.
    pub blocks: u64,
    pub bytes: u64,
    /// Blocks fetched from the node (the rest were in the store).
    pub fetched: u64,
}

/// The label of `cid`'s pin, if it is pinned and labelled; `None` when it is not pinned.
fn pinned(store: &Store, cid: &Cid) -> Result<Option<Option<String>>, BlockError> {
    let key = cid.to_v1();
    Ok(store
        .pins_named()?
        .into_iter()
        .find(|(pin, _)| *pin == key)
        .map(|(_, label)| label))
}

/// Pins `cid` (labelled `name`; without one, an existing pin keeps its label) once every block
/// of its DAG is in `store`: those missing are fetched from `node`, which `node_label` names in
/// messages. A block found nowhere is an error naming it and `cid`, and nothing is pinned.
pub fn add(
    store: &Store,
    node: Option<&dyn BlockSource>,
    node_label: Option<&str>,
    cid: &Cid,
    name: Option<&str>,
) -> anyhow::Result<Pinned> {
    let label = match name {
        Some(name) => Some(name.to_string()),
        None => pinned(store, cid)?.flatten(),
    };
    let guard = store.writer()?;
    let chain = ChainSource::new(store, node);
    let (mut blocks, mut bytes) = (0u64, 0u64);
    let walked = Walk::new(&chain).budget(Budget::UNTRUSTED).run(
        std::slice::from_ref(cid),
        |visit: &Visit| {
            blocks += 1;
            bytes += visit.data.len() as u64;
            Ok::<_, BlockError>(())
        },
    );
    match walked {
        Ok(()) => {}
        Err(BlockError::NotFound(missing)) => anyhow::bail!(
            "cannot pin {cid}: {}; nothing was pinned",
            chain::missing(&missing, store, node_label, None)
        ),
        Err(e) => anyhow::bail!("cannot pin {cid}: {e}; nothing was pinned"),
    }
    store.pin(cid, label.as_deref())?;
    drop(guard);
    Ok(Pinned {
        cid: cid.clone(),
        label,
        blocks,
        bytes,
        fetched: chain.fetched.get(),
    })
}

/// Unpins `cid`; an error naming it and the store if it was not pinned.
pub fn rm(store: &Store, cid: &Cid) -> anyhow::Result<()> {
    if !store.unpin(cid)? {
        anyhow::bail!(
            "{cid} is not pinned in the block store {}",
            store.dir().display()
        );
    }
    Ok(())
}

/// `wwpack pin ls`: one line per pin, `CID LABEL` (or, with `json`, one JSON object per line).
pub fn run_ls(g: &Globals, json: bool) -> anyhow::Result<()> {
    let store = g.read_store()?;
    for (cid, label) in store.pins_named()? {
        if json {
            outln!(
                "{}",
                serde_json::json!({"cid": cid.to_string(), "label": label})
            )?;
        } else {
            match label {
                Some(label) => outln!("{cid} {}", printable(&label))?,
                None => outln!("{cid}")?,
            }
        }
    }
    Ok(())
}

/// `wwpack pin add`: fetches what is missing of `cid`'s DAG and pins it; prints the CID (or a
/// JSON object), and without `-q` what was fetched.
pub fn run_add(g: &Globals, cid: &Cid, name: Option<&str>, json: bool) -> anyhow::Result<()> {
    let store = g.open_store()?;
    let url = g.api_url()?;
    // Connected only if a block is missing: a DAG the store holds needs no node.
    let node = ww_content::ipfs::LazyNode::new(&url, g.timeout());
    let pinned = add(&store, Some(&node), Some(&url), cid, name)?;
    report_repairs(&store);
    if json {
        outln!(
            "{}",
            serde_json::json!({
                "cid": pinned.cid.to_string(),
                "label": pinned.label,
                "blocks": pinned.blocks,
                "bytes": pinned.bytes,
                "fetched": pinned.fetched,
            })
        )?;
    } else {
        outln!("{cid}")?;
    }
    if !g.quiet && !json {
        let from = match pinned.fetched {
            0 => "all in the block store".to_string(),
            n => format!("{n} fetched from the IPFS node at {url}"),
        };
        errln!(
            "pinned {cid}: {} blocks ({} bytes), {from}",
            pinned.blocks,
            pinned.bytes
        );
    }
    Ok(())
}

/// `wwpack pin rm`: unpins `cid`, prints it (or with `json` a JSON object with the label the
/// pin had).
pub fn run_rm(g: &Globals, cid: &Cid, json: bool) -> anyhow::Result<()> {
    let store = g.open_store()?;
    let label = pinned(&store, cid)?.flatten();
    rm(&store, cid)?;
    if json {
        return outln!(
            "{}",
            serde_json::json!({"cid": cid.to_string(), "label": label})
        );
    }
    outln!("{cid}")
}
