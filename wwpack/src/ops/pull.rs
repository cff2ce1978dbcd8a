//! `wwpack pull`: fetches a DAG from the IPFS node into the block store (every block verified)
//! and pins it.

use ww_content::cid::Cid;

use crate::cli::{errln, outln, report_repairs, Globals};

/// Pulls `cid`, prints it, and (without `-q`) what was fetched.
pub fn run(g: &Globals, cid: &Cid) -> anyhow::Result<()> {
    let store = g.open_store()?;
    let node = g.connect()?;
    let counts = ww_content::transfer::pull(&store, &node, cid)?;
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
