//! The text format: one line per changed path, content indented below it, the summary last.
//!
//! ```text
//! image default: modified
//!   root bafy…old → bafy…new
//!   + etc/new          bafk… 12 B (layer extra)
//!   - etc/old          bafk… 3 B (layer base)
//!   ~ bin/main.wasm    bafk… 783,258 B → bafk… 790,000 B (+6,742 B)
//!   > etc/b            moved from etc/a (bafk… 3 B)
//!   ^ etc/motd         layer base → extra
//! 1 added, 1 removed, 1 modified, 1 moved, 1 provenance change in 1 image; +790,012 B, -783,261 B
//! ```

use std::fmt::Write as _;

use super::{
    bytes, delta, functions_text, names_line, printable, provenance_text, section_rows,
    summary_line, whole_file, Shown,
};
use crate::diff::compare::{FileInfo, ImageDiff, PathChange, Report};
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
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        p.bold(&format!(
            "wwpack diff {} → {}",
            report.a.label, report.b.label
        ))
    );
    let mut shown = Shown::default();
    for image in report.images.iter().filter(|i| i.status != "identical") {
        write_image(&mut out, image, &p, &mut shown);
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

fn write_image(out: &mut String, image: &ImageDiff, p: &Paint, shown: &mut Shown) {
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
    if let Some([a, b]) = &image.layers {
        let show = |ls: &[ww_image::manifest::LayerRecord]| {
            ls.iter()
                .map(|l| format!("{} {}", l.name, l.cid))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(out, "  layers [{}] → [{}]", show(a), show(b));
    }
    let width = image
        .changes
        .iter()
        .map(|c| printable(&c.path).chars().count())
        .max()
        .unwrap_or(0);
    for c in &image.changes {
        let earlier = shown.earlier(&image.name, c);
        write_change(out, c, width, p, earlier);
    }
}

fn file(f: &Option<FileInfo>) -> String {
    match f {
        Some(f) => match &f.target {
            Some(t) => format!("{} -> {}", f.cid, printable(t)),
            None => format!("{} {}", f.cid, bytes(f.size)),
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
    earlier: Option<String>,
) {
    let path = format!("{:width$}", printable(&c.path));
    let line = match c.change {
        "added" => p.green(&format!("+ {path}  {}{}", file(&c.b), layer(&c.b))),
        "removed" => p.red(&format!("- {path}  {}{}", file(&c.a), layer(&c.a))),
        "modified" => {
            let sizes = match (&c.a, &c.b) {
                (Some(a), Some(b)) if a.target.is_none() && b.target.is_none() => {
                    format!(" ({})", delta(a.size, b.size))
                }
                _ => String::new(),
            };
            p.yellow(&format!("~ {path}  {} → {}{sizes}", file(&c.a), file(&c.b)))
        }
        "moved" => p.cyan(&format!(
            "> {path}  moved from {} ({})",
            printable(c.from.as_deref().unwrap_or_default()),
            file(&c.b)
        )),
        _ => p.cyan(&format!("^ {path}  {}", provenance_text(c))),
    };
    let _ = writeln!(out, "  {line}");
    if c.change != "provenance" && c.provenance.is_some() {
        let _ = writeln!(out, "      {}", provenance_text(c));
    }
    if let Some(place) = earlier {
        let _ = writeln!(out, "      content: as for {place} above");
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
