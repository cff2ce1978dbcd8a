//! `wwpack verify [CID ...] [--repair]`: re-hashes the blocks of the embedded block store (all of
//! them and every pin's DAG, or the DAGs of the given roots, [`Store::verify`] and
//! [`Store::verify_dags`]) and reports the corrupt and missing blocks and the incomplete roots.
//! `--repair` fetches them again through the chain ([`ww_content::chain`]: the store's good
//! copies, else the IPFS node, every block verified, the store's put replacing a damaged file),
//! walking each incomplete root's DAG under the [`Budget::UNTRUSTED`] budget, then checks again
//! what was wrong ([`Store::recheck`]). Exit status 0 when all is well (or repaired), 1 when
//! problems remain.

use ww_content::block::{BlockError, BlockSource};
use ww_content::chain::ChainSource;
use ww_content::cid::Cid;
use ww_content::store::{Store, VerifyReport};
use ww_content::text::printable;
use ww_content::walk::{Budget, Walk};

use crate::cli::{errln, outln, report_repairs, Globals};

/// What `verify` found, and what `--repair` did about it.
#[derive(Debug, Clone, Default)]
pub struct Verified {
    /// What is wrong now (after a repair, what it could not fix).
    pub report: VerifyReport,
    /// Corrupt or missing blocks that a repair fixed.
    pub repaired: Vec<Cid>,
    /// Blocks fetched from the node by a repair (a missing block's whole DAG is).
    pub fetched: u64,
}

/// Verifies the whole store (no `roots`) or the DAGs under `roots`.
pub fn verify(store: &Store, roots: &[Cid]) -> Result<VerifyReport, BlockError> {
    if roots.is_empty() {
        store.verify()
    } else {
        store.verify_dags(roots)
    }
}

/// Fetches again through `node` what `found` says is corrupt or missing, and checks again.
pub fn repair(
    store: &Store,
    node: &dyn BlockSource,
    found: VerifyReport,
) -> Result<Verified, BlockError> {
    if found.is_ok() {
        return Ok(Verified {
            report: found,
            ..Verified::default()
        });
    }
    let guard = store.writer()?;
    let chain = ChainSource::new(store, Some(node));
    for cid in &found.corrupt {
        // The store's copy does not verify: the chain fetches it again and replaces it.
        chain.get_unverified(cid)?;
    }
    for root in &found.incomplete {
        Walk::new(&chain)
            .budget(Budget::UNTRUSTED)
            .survey(std::slice::from_ref(root), |_| Ok::<_, BlockError>(()))?;
    }
    drop(guard);
    let report = store.recheck(&found)?;
    let still: Vec<&Cid> = report.corrupt.iter().chain(&report.missing).collect();
    let mut repaired: Vec<Cid> = found
        .corrupt
        .iter()
        .chain(&found.missing)
        .filter(|cid| !still.contains(cid))
        .cloned()
        .collect();
    repaired.sort();
    repaired.dedup();
    Ok(Verified {
        report,
        repaired,
        fetched: chain.fetched.get(),
    })
}

/// `wwpack verify`: prints one line per corrupt, missing, incomplete and repaired CID (or, with
/// `json`, a JSON report) and, without `-q`, a summary; an error (exit 1) if problems remain.
pub fn run(g: &Globals, roots: &[Cid], fix: bool, json: bool) -> anyhow::Result<()> {
    // Verifying only reads: a store this user cannot write can be verified, not repaired.
    let store = if fix {
        g.open_store()?
    } else {
        g.read_store()?
    };
    let dir = printable(&store.dir().display().to_string()).into_owned();
    // The shared lock, when this user can take it: a gc waits instead of removing blocks of a
    // pin unpinned while this reads. (A store this user cannot write is verified without.)
    let guard = store.writer().ok();
    let found = verify(&store, roots)?;
    let url = if fix && !found.is_ok() {
        Some(g.api_url()?)
    } else {
        None
    };
    let verified = match &url {
        Some(url) => {
            let node = ww_content::ipfs::LazyNode::new(url, g.timeout());
            let what = format!(
                "{} corrupt and {} missing blocks",
                found.corrupt.len(),
                found.missing.len()
            );
            let done = repair(&store, &node, found).map_err(|e| {
                anyhow::anyhow!("cannot repair the block store {dir} ({what} found): {e}")
            })?;
            report_repairs(&store);
            done
        }
        None => Verified {
            report: found,
            ..Verified::default()
        },
    };
    drop(guard);
    let r = &verified.report;
    let strings = |cids: &[Cid]| cids.iter().map(Cid::to_string).collect::<Vec<_>>();
    if json {
        outln!(
            "{}",
            serde_json::json!({
                "store": store.dir().display().to_string(),
                "checked": r.checked,
                "bytes": r.bytes,
                "corrupt": strings(&r.corrupt),
                "missing": strings(&r.missing),
                "incomplete": strings(&r.incomplete),
                "repaired": strings(&verified.repaired),
                "fetched": verified.fetched,
                "ok": r.is_ok(),
            })
        )?;
    } else {
        for (word, cids) in [
            ("repaired", &verified.repaired),
            ("corrupt", &r.corrupt),
            ("missing", &r.missing),
            ("incomplete", &r.incomplete),
        ] {
            for cid in cids {
                outln!("{word} {cid}")?;
            }
        }
        if !g.quiet {
            let mut line = format!(
                "checked {} blocks ({} bytes) in {dir}: {} corrupt, {} missing, {} incomplete {}",
                r.checked,
                r.bytes,
                r.corrupt.len(),
                r.missing.len(),
                r.incomplete.len(),
                if roots.is_empty() { "pins" } else { "roots" },
            );
            if let Some(url) = &url {
                line.push_str(&format!(
                    "; repaired {} ({} blocks fetched from the IPFS node at {url})",
                    verified.repaired.len(),
                    verified.fetched
                ));
            }
            errln!("{line}");
        }
    }
    if !r.is_ok() {
        let hint = if fix {
            "the IPFS node could not supply them"
        } else {
            "`wwpack verify --repair` fetches them again from the IPFS node"
        };
        anyhow::bail!(
            "the block store {dir} has {} corrupt and {} missing blocks, and {} incomplete {} \
             ({hint})",
            r.corrupt.len(),
            r.missing.len(),
            r.incomplete.len(),
            if roots.is_empty() { "pins" } else { "roots" },
        );
    }
    Ok(())
}
