//! The Markdown format, for a pull-request comment (GitHub-flavoured): a summary line, a table
//! of changed paths per image, then what changed inside each file. Content diffs longer than
//! [`FOLD_LINES`] lines are folded in `<details>` sections.

use std::fmt::Write as _;

use super::{
    bytes, delta, functions_text, names_line, provenance_text, section_rows, summary_line,
    whole_file, Shown,
};
use crate::diff::compare::{FileInfo, ImageDiff, PathChange, Report};
use crate::diff::content::{Content, SIMPLIFIED_NOTE};
use ww_image::wasm::summary::{ItemsDiff, WasmDiff};

/// Content diffs of more lines than this are folded.
const FOLD_LINES: usize = 20;

/// GitHub refuses comments over 65,536 characters: past this many bytes, content and then
/// rows are left out, and the comment says so.
const BUDGET: usize = 60_000;

/// Where the rest is, when the budget is spent.
const OVER_BUDGET: &str = "left out to keep this comment within GitHub's 65,536 characters; \
                           `wwpack diff` prints everything";

pub(super) fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### wwpack diff\n");
    let _ = writeln!(
        out,
        "{} → {}: **{}**",
        code(&report.a.label),
        code(&report.b.label),
        summary_line(report)
    );
    let mut shown = Shown::default();
    let changed: Vec<&ImageDiff> = report
        .images
        .iter()
        .filter(|i| i.status != "identical")
        .collect();
    for (i, image) in changed.iter().enumerate() {
        if out.len() > BUDGET {
            let _ = writeln!(out, "\n{} more images {OVER_BUDGET}.", changed.len() - i);
            break;
        }
        write_image(&mut out, image, &mut shown);
    }
    if !report.guests.is_empty() {
        let _ = writeln!(out, "\n#### Guests\n");
        let _ = writeln!(
            out,
            "| Guest | Change | Before | After |\n| --- | --- | --- | --- |"
        );
        let show = |r: &Option<ww_image::manifest::GuestRecord>| {
            r.as_ref()
                .map(|r| format!("{} {}", r.version, code(&r.wasm)))
                .unwrap_or_default()
        };
        for g in &report.guests {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&code(&g.name)),
                g.change,
                cell(&show(&g.a)),
                cell(&show(&g.b))
            );
        }
    }
    out
}

fn write_image(out: &mut String, image: &ImageDiff, shown: &mut Shown) {
    let renamed = image
        .renamed_from
        .as_ref()
        .map(|n| format!(" (was {})", code(n)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "\n#### Image {}{renamed}: {}\n",
        code(&image.name),
        image.status
    );
    let root = |r: &Option<String>| r.as_deref().map(code).unwrap_or_else(|| "none".into());
    if image.root[0] != image.root[1] {
        let _ = writeln!(
            out,
            "Root {} → {}\n",
            root(&image.root[0]),
            root(&image.root[1])
        );
    }
    if let Some([a, b]) = &image.layers {
        let show = |ls: &[ww_image::manifest::LayerRecord]| {
            ls.iter()
                .map(|l| format!("{} {}", l.name, code(&l.cid)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(out, "Layers: {} → {}\n", show(a), show(b));
    }
    if image.changes.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "| Change | Path | Before | After |\n| --- | --- | --- | --- |"
    );
    for (i, c) in image.changes.iter().enumerate() {
        if out.len() > BUDGET {
            let more = image.changes.len() - i;
            let _ = writeln!(out, "| … | {more} more paths {OVER_BUDGET} | | |");
            break;
        }
        let (before, after) = match c.change {
            "moved" => (
                format!(
                    "{} {}",
                    code(c.from.as_deref().unwrap_or_default()),
                    file(&c.a)
                ),
                file(&c.b),
            ),
            "provenance" => (origin(&c.a), origin(&c.b)),
            "modified" => {
                let d = match (&c.a, &c.b) {
                    (Some(a), Some(b)) if a.target.is_none() && b.target.is_none() => {
                        format!(" ({})", delta(a.size, b.size))
                    }
                    _ => String::new(),
                };
                (file(&c.a), format!("{}{d}", file(&c.b)))
            }
            _ => (file(&c.a), file(&c.b)),
        };
        let prov = provenance_text(c);
        let after = if c.change != "provenance" && !prov.is_empty() {
            format!("{after}<br>{prov}")
        } else {
            after
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            c.change,
            cell(&code(&c.path)),
            cell(&before),
            cell(&after)
        );
    }
    let mut omitted = 0;
    for c in &image.changes {
        let mut block = String::new();
        match shown.earlier(&image.name, c) {
            Some(first) => {
                let _ = writeln!(
                    block,
                    "\n{}: the same change as for {first} above",
                    code(&c.path)
                );
            }
            None => write_content(&mut block, c),
        }
        if out.len() + block.len() > BUDGET {
            omitted += 1;
        } else {
            out.push_str(&block);
        }
    }
    if omitted > 0 {
        let _ = writeln!(
            out,
            "\nThe content of {omitted} more paths is {OVER_BUDGET}."
        );
    }
}

fn file(f: &Option<FileInfo>) -> String {
    match f {
        Some(f) => {
            let what = match &f.target {
                Some(t) => format!("{} → {}", code(&f.cid), code(t)),
                None => format!("{} {}", code(&f.cid), bytes(f.size)),
            };
            match &f.layer {
                Some(l) => format!("{what} ({l})"),
                None => what,
            }
        }
        None => String::new(),
    }
}

/// `layer extra, shadows base`: where a file comes from.
fn origin(f: &Option<FileInfo>) -> String {
    let Some(f) = f else {
        return String::new();
    };
    let mut out = f
        .layer
        .as_ref()
        .map(|l| format!("layer {l}"))
        .unwrap_or_default();
    if let Some(shadows) = f.shadows.as_ref().filter(|s| !s.is_empty()) {
        let _ = write!(out, ", shadows {}", shadows.join(", "));
    }
    out
}

fn write_content(out: &mut String, c: &PathChange) {
    let Some(content) = &c.content else {
        return;
    };
    match content {
        Content::Text {
            lines_added,
            lines_removed,
            diff,
            simplified,
        } => {
            let fence = fence_for(diff);
            let block = format!(
                "{fence}diff\n{}{}{fence}\n",
                diff,
                if diff.ends_with('\n') { "" } else { "\n" }
            );
            let mut what = format!("+{lines_added} -{lines_removed} lines");
            if *simplified {
                what.push_str(", ");
                what.push_str(SIMPLIFIED_NOTE);
            }
            titled(out, &c.path, &what, &block);
        }
        Content::Wasm(w) => {
            let mut body = String::new();
            write_wasm(&mut body, w);
            titled(out, &c.path, "WebAssembly changes", &body);
        }
        Content::Binary => {
            let _ = writeln!(out, "\n{}: binary content", code(&c.path));
        }
        Content::TooLarge { limit } => {
            let _ = writeln!(
                out,
                "\n{}: text over the {} limit, not shown",
                code(&c.path),
                bytes(*limit)
            );
        }
        Content::Unavailable { reason } => {
            let _ = writeln!(
                out,
                "\n{}: content not shown: {}",
                code(&c.path),
                text(reason)
            );
        }
    }
}

/// `body` under a title naming `path` and `what`; folded in `<details>` when it is long.
fn titled(out: &mut String, path: &str, what: &str, body: &str) {
    if body.lines().count() > FOLD_LINES {
        let _ = writeln!(
            out,
            "\n<details><summary><code>{}</code>: {what}</summary>\n\n{body}\n</details>",
            html(path)
        );
    } else {
        let _ = writeln!(out, "\n{} ({what}):\n\n{body}", code(path));
    }
}

fn write_wasm(out: &mut String, w: &WasmDiff) {
    if whole_file(&w.sections) {
        for (what, items) in [("Imports", &w.imports), ("Exports", &w.exports)] {
            if let Some(line) = names_line(what, items, code) {
                let _ = writeln!(out, "- {line}");
            }
        }
    } else {
        write_items(out, "Import", &w.imports);
        write_items(out, "Export", &w.exports);
    }
    let _ = writeln!(
        out,
        "\n| Section | Before | After | Change |\n| --- | ---: | ---: | ---: |"
    );
    for (kind, a, b, d) in section_rows(&w.sections) {
        let _ = writeln!(out, "| {kind} | {} | {} | {d} |", bytes(a), bytes(b));
    }
}

fn write_items(out: &mut String, what: &str, items: &ItemsDiff) {
    let line = |sign: &str, name: &str, kind: &str, functions: &[String]| {
        let f = functions_text(functions);
        let f = if f.is_empty() {
            f
        } else {
            format!(", {}", text(&f))
        };
        format!("- {what} {sign} {} ({kind}{f})", code(name))
    };
    for i in &items.added {
        let _ = writeln!(out, "{}", line("added:", &i.name, i.kind, &i.functions));
    }
    for i in &items.removed {
        let _ = writeln!(out, "{}", line("removed:", &i.name, i.kind, &i.functions));
    }
    for c in &items.changed {
        let mut parts = Vec::new();
        if let Some([a, b]) = c.kind {
            parts.push(format!("{a} → {b}"));
        }
        parts.extend(c.functions_added.iter().map(|f| format!("+{}", code(f))));
        parts.extend(c.functions_removed.iter().map(|f| format!("-{}", code(f))));
        let _ = writeln!(
            out,
            "- {what} changed: {}: {}",
            code(&c.name),
            parts.join(", ")
        );
    }
}

/// An inline code span that survives any backticks inside.
fn code(s: &str) -> String {
    let longest = longest_run(s, '`');
    let ticks = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// A code fence longer than any run of backticks in `s`.
fn fence_for(s: &str) -> String {
    "`".repeat((longest_run(s, '`') + 1).max(3))
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in s.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// A table cell: pipes escaped, no line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Text outside code: HTML and Markdown punctuation that could start markup escaped.
fn text(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if "\\`*_[]<>|#".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Text inside HTML (the `<summary>` of a fold).
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_diff_stays_within_a_github_comment() {
        use crate::diff::compare::{FileInfo, ImageDiff, PathChange, SideInfo, Summary};
        let file = |cid: &str| FileInfo {
            cid: cid.into(),
            size: 1,
            layer: None,
            shadows: None,
            target: None,
        };
        let changes = (0..2000)
            .map(|i| PathChange {
                path: format!("etc/file-{i}"),
                change: "modified",
                from: None,
                a: Some(file(&format!("old-{i}"))),
                b: Some(file(&format!("new-{i}"))),
                provenance: None,
                content: Some(Content::Text {
                    lines_added: 1,
                    lines_removed: 1,
                    diff: format!("-{}\n+{}\n", "a".repeat(400), "b".repeat(400)),
                    simplified: false,
                }),
            })
            .collect();
        let side = |label: &str| SideInfo {
            kind: "lock",
            label: label.into(),
        };
        let report = Report {
            version: 1,
            a: side("a"),
            b: side("b"),
            identical: false,
            summary: Summary::default(),
            images: vec![ImageDiff {
                name: "default".into(),
                renamed_from: None,
                status: "modified",
                root: [Some("r1".into()), Some("r2".into())],
                profile: [None, None],
                layers: None,
                changes,
            }],
            guests: vec![],
        };
        let out = render(&report);
        assert!(out.len() < 65_536, "{} bytes", out.len());
        assert!(out.contains("more paths left out"), "rows cut and said so");
        assert!(out.contains("`etc/file-0`"), "the first rows are there");
    }

    #[test]
    fn code_spans_and_fences_survive_backticks() {
        assert_eq!(code("etc/motd"), "`etc/motd`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(fence_for("no ticks"), "```");
        assert_eq!(fence_for("+```rust"), "````");
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(html("<a&b>"), "&lt;a&amp;b&gt;");
        assert_eq!(text("a_b*"), "a\\_b\\*");
    }
}
