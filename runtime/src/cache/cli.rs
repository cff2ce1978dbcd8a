//! `ww cache ls | prune | clear`: what the cache holds, and making it smaller (see the [cache
//! module docs](super#pruning)). Each returns ww's exit status: 0, or 125 (with `ww: error: …`
//! on stderr) when the cache cannot be read or an entry cannot be removed.

use std::io::Write;
use std::path::Path;

use ww_content::text::printable;

use super::lock;
use super::prune::{self, Report};
use super::usage::{self, utc, Entry};
use crate::error::{BootError, EXIT_HOST_ERROR};
use crate::units::Size;

/// `ww cache ls`: the entries, least recently used first, and their total.
pub fn ls(dir: &Path, json: bool) -> u8 {
    finish((|| {
        let usage = usage::scan(dir)?;
        let held = lock::held(dir, false)?;
        let is_held = |e: &Entry| match e.kind {
            usage::Kind::Root => held.roots.contains(&e.id_text()),
            usage::Kind::File => held.files.contains(&e.id_text()),
            usage::Kind::Compiled => false,
        };
        let mut entries: Vec<&Entry> = usage.entries.iter().collect();
        entries.sort_by(|a, b| (a.last_used, a.kind, &a.id).cmp(&(b.last_used, b.kind, &b.id)));
        let total = usage.total();
        let text = if json {
            let list: Vec<_> = entries
                .iter()
                .map(|e| entry_json(e, Some(is_held(e))))
                .collect();
            serde_json::json!({
                "cache": dir.display().to_string(),
                "entries": list,
                "total": total,
            })
            .to_string()
                + "\n"
        } else {
            let mut out = format!("{:<9} {:>12}  {:<20}  ID\n", "KIND", "SIZE", "LAST USED");
            for e in &entries {
                let mark = if is_held(e) { "  (in use)" } else { "" };
                out.push_str(&format!(
                    "{:<9} {:>12}  {:<20}  {}{mark}\n",
                    e.kind.name(),
                    e.size,
                    utc(e.last_used),
                    printable(&e.id_text())
                ));
            }
            out.push_str(&format!(
                "total {total} bytes{} in {} entries, cache {}\n",
                in_units(total),
                entries.len(),
                printable(&dir.display().to_string())
            ));
            out
        };
        print(&text)
    })())
}

/// `ww cache prune`: evicts least recently used entries until the cache is at most `max`.
pub fn prune(dir: &Path, max: u64, json: bool) -> u8 {
    evict(dir, max, json, "pruned")
}

/// `ww cache clear`: removes every entry no running `ww` holds.
pub fn clear(dir: &Path, json: bool) -> u8 {
    evict(dir, 0, json, "cleared")
}

fn evict(dir: &Path, max: u64, json: bool, verb: &str) -> u8 {
    finish((|| {
        let report = prune::prune(dir, max, true)?.expect("a waiting prune always runs");
        let text = if json {
            let list = |v: &[Entry]| v.iter().map(|e| entry_json(e, None)).collect::<Vec<_>>();
            serde_json::json!({
                "cache": dir.display().to_string(),
                "max_size": max,
                "removed": list(&report.removed),
                "held": list(&report.held),
                "freed": report.before.saturating_sub(report.after),
                "total": report.after,
            })
            .to_string()
                + "\n"
        } else {
            summary(dir, verb, &report)
        };
        print(&text)?;
        match report.failed.first() {
            None => Ok(()),
            Some((entry, why)) => Err(BootError::Host(format!(
                "cannot remove {} of {} cache entries: the {} {}: {why}",
                report.failed.len(),
                report.failed.len() + report.removed.len(),
                entry.kind.name(),
                entry.id_text()
            ))),
        }
    })())
}

fn summary(dir: &Path, verb: &str, report: &Report) -> String {
    let freed = report.before.saturating_sub(report.after);
    let mut out = format!(
        "{verb} {}: removed {} entries ({freed} bytes), {} bytes{} left",
        printable(&dir.display().to_string()),
        report.removed.len(),
        report.after,
        in_units(report.after)
    );
    if !report.held.is_empty() {
        out.push_str(&format!(
            "; kept {} entries a running ww holds",
            report.held.len()
        ));
    }
    out.push('\n');
    out
}

/// ` (12 MiB)` when `bytes` is a whole number of KiB, MiB or GiB, else nothing.
fn in_units(bytes: u64) -> String {
    let shown = Size(bytes).to_string();
    if shown.ends_with("bytes") {
        String::new()
    } else {
        format!(" ({shown})")
    }
}

fn entry_json(e: &Entry, held: Option<bool>) -> serde_json::Value {
    let mut v = serde_json::json!({
        "kind": e.kind.name(),
        "id": e.id_text(),
        "size": e.size,
        "last_used": utc(e.last_used),
        "last_used_ns": e
            .last_used
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    });
    if let Some(held) = held {
        v["held"] = held.into();
    }
    v
}

fn print(text: &str) -> Result<(), BootError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| BootError::Host(format!("cannot write to stdout: {e}")))
}

fn finish(result: Result<(), BootError>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            crate::logline::error(&e.to_string());
            EXIT_HOST_ERROR
        }
    }
}
