//! `wwpack store stat` (the store's blocks, bytes, pins and directory) and `wwpack gc`, with
//! `--dry-run` (what gc would remove, removing nothing) and `--json` (the counts and the CIDs).

use ww_content::cid::Cid;
use ww_content::store::GcReport;
use ww_content::text::printable;

use crate::cli::{errln, outln, Globals};

/// `wwpack store stat`: the store's directory, blocks, bytes and pins, one `name value` line
/// each (or, with `json`, a JSON object).
pub fn run_stat(g: &Globals, json: bool) -> anyhow::Result<()> {
    let store = g.read_store()?;
    let stat = store.stat()?;
    if json {
        outln!(
            "{}",
            serde_json::json!({
                "path": stat.dir.display().to_string(),
                "blocks": stat.blocks,
                "bytes": stat.bytes,
                "pins": stat.pins,
            })
        )?;
    } else {
        outln!("path   {}", printable(&stat.dir.display().to_string()))?;
        outln!("blocks {}", stat.blocks)?;
        outln!("bytes  {}", stat.bytes)?;
        outln!("pins   {}", stat.pins)?;
    }
    Ok(())
}

/// `wwpack gc [--dry-run] [--json]`: removes the blocks no pin reaches (or, with `dry_run`, says
/// what it would remove) and prints the counts (with `json`, a JSON object with the CIDs too).
pub fn run_gc(g: &Globals, dry_run: bool, json: bool) -> anyhow::Result<()> {
    let store = g.open_store()?;
    let r = if dry_run {
        store.gc_dry_run()?
    } else {
        store.gc()?
    };
    if json {
        let strings = |cids: &[Cid]| cids.iter().map(Cid::to_string).collect::<Vec<_>>();
        outln!(
            "{}",
            serde_json::json!({
                "dry_run": dry_run,
                "removed": r.removed,
                "bytes_freed": r.bytes_freed,
                "kept": r.kept,
                "missing": r.missing,
                "corrupt": strings(&r.corrupt),
                "blocks": strings(&r.removed_blocks),
            })
        )?;
    } else {
        let (remove, keep) = if dry_run {
            ("would remove", "keep")
        } else {
            ("removed", "kept")
        };
        outln!(
            "{remove} {} blocks ({} bytes), {keep} {}",
            r.removed,
            r.bytes_freed,
            r.kept
        )?;
    }
    warn_of_damage(&r);
    Ok(())
}

/// The warning a plain `wwpack gc` prints when pinned blocks are missing or corrupt.
fn warn_of_damage(r: &GcReport) {
    if !r.corrupt.is_empty() || r.missing > 0 {
        errln!(
            "warning: {} pinned blocks missing, {} corrupt (kept): {}",
            r.missing,
            r.corrupt.len(),
            r.corrupt
                .iter()
                .map(Cid::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
}
