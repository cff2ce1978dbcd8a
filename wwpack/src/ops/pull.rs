//! `wwpack pull`: fetches a DAG from the IPFS node into the block store (every block verified)
//! and pins it, with a bar of the bytes of the DAG (of the size its root claims) on a terminal.
//! Prints the root, or with `--json` one object (schema: docs/json/wwpack-pull.schema.json).

use ww_content::cid::Cid;
use ww_content::progress::Meter;

use crate::cli::progress::{self, Bar, Items};
use crate::cli::{errln, outln, report_repairs, Globals};

/// Pulls `cid`, prints it (or with `json` a JSON object of what was fetched and what the store
/// already had), and (without `-q` or `json`) what was fetched on stderr.
pub fn run(g: &Globals, cid: &Cid, json: bool) -> anyhow::Result<()> {
    let store = g.open_store()?;
    let node = g.connect()?;
    let meter = Meter::new();
    let bar = Bar::start(
        progress::wanted(g.quiet, json),
        "pulling",
        &meter,
        Items::Blocks,
    );
    let counts = ww_content::transfer::pull_metered(&store, &node, cid, &meter)?;
    bar.finish();
    report_repairs(&store);
    if json {
        // A pull's "sent" is what the node gave, its "skipped" what the store had.
        return outln!(
            "{}",
            serde_json::json!({
                "api": node.url(),
                "root": cid.to_string(),
                "blocks_fetched": counts.blocks_sent,
                "bytes_fetched": counts.bytes_sent,
                "blocks_present": counts.blocks_skipped,
                "bytes_present": counts.bytes_skipped,
            })
        );
    }
    outln!("{cid}")?;
    if !g.quiet {
        errln!(
            "fetched {} blocks ({} bytes), {} already here; pinned {cid}",
            counts.blocks_sent,
            counts.bytes_sent,
            counts.blocks_skipped
        );
    }
    Ok(())
}
