//! The text format: each changed image (its root, its layers by name), each layer once, then
//! one line per distinct change (with the images it is in, when several images changed) and
//! its content indented below, the summary last. Many files added or removed under one
//! directory make one line ([`group::rows`]). File CIDs are abbreviated ([`Cids`]); roots and
//! layers, which one copies into other commands, are not.
//!
//! ```text
//! image default: modified
//!   root bafybei…old → bafybei…new
//!   layers base, app → base, app, extra
//! layers:
//!   ~ base   bafybei…A → bafybei…B  [default]
//!   + extra  bafybei…C  [default]
//!   = app    bafybei…D  [default]
//!   ~ bin/main.wasm  bafk…hwavqlwt 783,258 B → bafk…l3fljo64 790,000 B (+6,742 B)
//!   > etc/b          moved from etc/a (bafk…bkqqxxmm 3 B)
//!   + 3,000 files under etc/data/ (34.1 KiB, layer extra)
//!   ^ etc/motd       layer base → extra
//!   + etc/new        bafk…lmcyc3ha 12 B (layer extra)
//!   - etc/old        bafk…xpwkeh7i 3 B (layer base)
//! 3,001 added, 1 removed, 1 modified, 1 moved, 1 provenance change in 1 image; +824,962 B, -783,261 B
//! ```

use std::fmt::Write as _;

use super::group::{self, Cids, Row};
use super::{
    bytes, delta, functions_text, images_of, names_line, printable, provenance_text, section_rows,
    summary_line, thousands, whole_file, Shown,
};
use crate::diff::compare::{distinct, FileInfo, ImageDiff, PathChange, Report};
use crate::diff::content::{Content, SIMPLIFIED_NOTE};
use ww_image::wasm::summary::{ItemsDiff, WasmDiff};

struct Paint(bool);

impl Paint {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    fn cyan(&self, s: &str) -> String {
        self.paint("36", s)
    }
}

pub(super) fn render(report: &Report, color: bool) -> String {
    let p = Paint(color);
    let cids = Cids::new(report);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        p.bold(&format!(
            "wwpack diff {} → {}",
            report.a.label, report.b.label
        ))
    );
    let changed: Vec<&ImageDiff> = report
        .images
        .iter()
        .filter(|i| i.status != "identical")
        .collect();
    for image in &changed {
        write_image(&mut out, image, &p);
    }
    let layers = group::layers(report);
    if !layers.is_empty() {
        write_layers(&mut out, &layers, &p);
    }
    let distinct = distinct(&report.images);
    let rows = group::rows(&distinct);
    // Under their images' heading, or under the layers: a heading of their own then.
    if (changed.len() > 1 || !layers.is_empty()) && !rows.is_empty() {
        let _ = writeln!(out, "{}", p.bold("changes:"));
    }
    let width = rows
        .iter()
        .filter_map(|r| match r {
            Row::One(d) => Some(printable(&d.change.path).chars().count()),
            Row::Rollup(_) => None,
        })
        .max()
        .unwrap_or(0);
    let mut shown = Shown::default();
    for row in &rows {
        match row {
            Row::One(d) => {
                let earlier = shown.earlier(d.change);
                let images = images_of(report, &d.images);
                write_change(&mut out, d.change, width, &p, &cids, images, earlier);
            }
            Row::Rollup(r) => write_rollup(&mut out, r, images_of(report, r.images), &p),
        }
    }
    for g in &report.guests {
        let show = |r: &Option<ww_image::manifest::GuestRecord>| {
            r.as_ref()
                .map(|r| format!("{} {}", r.version, r.wasm))
                .unwrap_or_else(|| "(none)".into())
        };
        let _ = writeln!(
            out,
            "guest {}: {} ({} → {})",
            g.name,
            g.change,
            show(&g.a),
            show(&g.b)
        );
    }
    let _ = writeln!(out, "{}", p.bold(&summary_line(report)));
    out
}

fn write_image(out: &mut String, image: &ImageDiff, p: &Paint) {
    let renamed = image
        .renamed_from
        .as_ref()
        .map(|n| format!(" (was {n})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{}",
        p.bold(&format!("image {}{renamed}: {}", image.name, image.status))
    );
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "(none)".into());
    if image.root[0] != image.root[1] {
        let _ = writeln!(
            out,
            "  root {} → {}",
            opt(&image.root[0]),
            opt(&image.root[1])
        );
    }
    if image.profile[0].is_some()
        && image.profile[1].is_some()
        && image.profile[0] != image.profile[1]
    {
        let _ = writeln!(
            out,
            "  profile {} → {}",
            opt(&image.profile[0]),
            opt(&image.profile[1])
        );
    }
    if let Some(names) = group::layer_names(image) {
        let _ = writeln!(out, "  layers {names}");
    }
}

/// Each layer once: `~ base  bafy…A → bafy…B  [default, tiny]`, `+` new, `-` gone, `=` unchanged.
fn write_layers(out: &mut String, layers: &[group::Layer<'_>], p: &Paint) {
    let _ = writeln!(out, "{}", p.bold("layers:"));
    let width = layers
        .iter()
        .map(|l| l.name.chars().count())
        .max()
        .unwrap_or(0);
    for l in layers {
        let name = format!("{:width$}", printable(l.name));
        let images = l.images.join(", ");
        let line = match l.cid {
            [Some(a), Some(b)] if a == b => format!("= {name}  {a}  [{images}]"),
            [Some(a), Some(b)] => p.yellow(&format!("~ {name}  {a} → {b}  [{images}]")),
            [None, Some(b)] => p.green(&format!("+ {name}  {b}  [{images}]")),
            [Some(a), None] => p.red(&format!("- {name}  {a}  [{images}]")),
            [None, None] => continue,
        };
        let _ = writeln!(out, "  {line}");
    }
}

fn write_rollup(out: &mut String, r: &group::Rollup<'_>, images: Option<&[&str]>, p: &Paint) {
    let layer = r.layer.map(|l| format!(", layer {l}")).unwrap_or_default();
    let line = format!(
        "{} {} files under {} ({}{layer}){}",
        if r.change == "added" { "+" } else { "-" },
        thousands(r.files as u64),
        printable(&r.dir),
        group::human(r.bytes),
        in_images(images)
    );
    let line = if r.change == "added" {
        p.green(&line)
    } else {
        p.red(&line)
    };
    let _ = writeln!(out, "  {line}");
}

/// `  [default, tiny]`, or nothing.
fn in_images(images: Option<&[&str]>) -> String {
    images
        .map(|i| format!("  [{}]", i.join(", ")))
        .unwrap_or_default()
}

fn file(f: &Option<FileInfo>, cids: &Cids) -> String {
    match f {
        Some(f) => match &f.target {
            Some(t) => format!("{} -> {}", cids.short(&f.cid), printable(t)),
            None => format!("{} {}", cids.short(&f.cid), bytes(f.size)),
        },
        None => String::new(),
    }
}

fn layer(f: &Option<FileInfo>) -> String {
    f.as_ref()
        .and_then(|f| f.layer.as_ref())
        .map(|l| format!(" (layer {l})"))
        .unwrap_or_default()
}

fn write_change(
    out: &mut String,
    c: &PathChange,
    width: usize,
    p: &Paint,
    cids: &Cids,
    images: Option<&[&str]>,
    earlier: Option<String>,
) {
    let path = format!("{:width$}", printable(&c.path));
    let file = |f| file(f, cids);
    let images = in_images(images);
    let line = match c.change {
        "added" => p.green(&format!("+ {path}  {}{}{images}", file(&c.b), layer(&c.b))),
        "removed" => p.red(&format!("- {path}  {}{}{images}", file(&c.a), layer(&c.a))),
        "modified" => {
            let sizes = match (&c.a, &c.b) {
                (Some(a), Some(b)) if a.target.is_none() && b.target.is_none() => {
                    format!(" ({})", delta(a.size, b.size))
                }
                _ => String::new(),
            };
            p.yellow(&format!(
                "~ {path}  {} → {}{sizes}{images}",
                file(&c.a),
                file(&c.b)
            ))
        }
        "moved" => p.cyan(&format!(
            "> {path}  moved from {} ({}){images}",
            printable(c.from.as_deref().unwrap_or_default()),
            file(&c.b)
        )),
        _ => p.cyan(&format!("^ {path}  {}{images}", provenance_text(c))),
    };
    let _ = writeln!(out, "  {line}");
    if c.change != "provenance" && c.provenance.is_some() {
        let _ = writeln!(out, "      {}", provenance_text(c));
    }
    if let Some(place) = earlier {
        let _ = writeln!(out, "      content: as for {} above", printable(&place));
        return;
    }
    match &c.content {
        Some(Content::Text {
            diff, simplified, ..
        }) => {
            if *simplified {
                let _ = writeln!(out, "      {}", p.bold(SIMPLIFIED_NOTE));
            }
            for l in diff.lines() {
                let l = &printable(l);
                let painted = if l.starts_with("+++") || l.starts_with("---") {
                    p.bold(l)
                } else if l.starts_with('+') {
                    p.green(l)
                } else if l.starts_with('-') {
                    p.red(l)
                } else if l.starts_with("@@") {
                    p.cyan(l)
                } else {
                    l.to_string()
                };
                let _ = writeln!(out, "      {painted}");
            }
        }
        Some(Content::Wasm(w)) => write_wasm(out, w, p),
        Some(Content::Binary) => {
            let _ = writeln!(out, "      binary content");
        }
        Some(Content::TooLarge { limit }) => {
            let _ = writeln!(
                out,
                "      text over the {} limit (--text-limit): not shown",
                bytes(*limit)
            );
        }
        Some(Content::Unavailable { reason }) => {
            let _ = writeln!(out, "      content not shown: {reason}");
        }
        None => {}
    }
}

fn write_wasm(out: &mut String, w: &WasmDiff, p: &Paint) {
    if whole_file(&w.sections) {
        for (what, items) in [("imports", &w.imports), ("exports", &w.exports)] {
            if let Some(line) = names_line(what, items, printable) {
                let _ = writeln!(out, "      {line}");
            }
        }
    } else {
        write_items(out, "imports", &w.imports, p);
        write_items(out, "exports", &w.exports, p);
    }
    let rows: Vec<String> = section_rows(&w.sections)
        .into_iter()
        .map(|(kind, a, b, d)| {
            if a == b {
                format!("{kind} {}", bytes(a))
            } else {
                format!("{kind} {} → {} ({d})", bytes(a), bytes(b))
            }
        })
        .collect();
    let _ = writeln!(out, "      sections: {}", rows.join(", "));
}

fn write_items(out: &mut String, what: &str, items: &ItemsDiff, p: &Paint) {
    for (sign, list) in [("+", &items.added), ("-", &items.removed)] {
        for i in list {
            let f = functions_text(&i.functions);
            let f = if f.is_empty() { f } else { format!(", {f}") };
            let line = format!("{what} {sign} {} ({}{f})", i.name, i.kind);
            let line = if sign == "+" {
                p.green(&line)
            } else {
                p.red(&line)
            };
            let _ = writeln!(out, "      {line}");
        }
    }
    for c in &items.changed {
        let mut parts = Vec::new();
        if let Some([a, b]) = c.kind {
            parts.push(format!("{a} → {b}"));
        }
        parts.extend(c.functions_added.iter().map(|f| format!("+{f}")));
        parts.extend(c.functions_removed.iter().map(|f| format!("-{f}")));
        let _ = writeln!(
            out,
            "      {}",
            p.yellow(&format!("{what} ~ {}: {}", c.name, parts.join(", ")))
        );
    }
}
