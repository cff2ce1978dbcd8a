//! `wwpack pull`: fetches a DAG from the IPFS node into the block store (every block verified)
//! and pins it, with a bar of the bytes of the DAG (of the size its root claims) on a terminal.

use ww_content::cid::Cid;
use ww_content::progress::Meter;

use crate::cli::progress::{self, Bar, Items};
use crate::cli::{errln, outln, report_repairs, Globals};

/// Pulls `cid`, prints it, and (without `-q`) what was fetched.
pub fn run(g: &Globals, cid: &Cid) -> anyhow::Result<()> {
    let store = g.open_store()?;
    let node = g.connect()?;
    let meter = Meter::new();
    let bar = Bar::start(
        progress::wanted(g.quiet, false),
        "pulling",
        &meter,
        Items::Blocks,
    );
    let counts = ww_content::transfer::pull_metered(&store, &node, cid, &meter)?;
    bar.finish();
    report_repairs(&store);
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
