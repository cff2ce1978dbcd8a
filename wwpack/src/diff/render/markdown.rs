//! The Markdown format, for a pull-request comment (GitHub-flavoured), in the order a reviewer
//! needs it when the comment must be cut at [`BUDGET`]: the summary line; a table of the changed
//! images; each layer once; the guests; the paths modified, moved or given by another layer, and
//! what changed inside them; then the paths added and removed (many under one directory as one
//! row, [`group::rows`]) and their content; last, folded, the full CIDs behind the abbreviated
//! ones ([`Cids`]). Each distinct change is one row, with the images it is in when several
//! images changed. Content diffs longer than [`FOLD_LINES`] lines are folded in `<details>`.

use std::fmt::Write as _;

use super::group::{self, Cids, Row};
use super::{
    bytes, delta, functions_text, images_of, names_line, provenance_text, section_rows,
    summary_line, thousands, whole_file, Shown,
};
use crate::diff::compare::{distinct, Distinct, FileInfo, ImageDiff, PathChange, Report};
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
    let cids = Cids::new(report);
    let mut out = String::new();
    let _ = writeln!(out, "### wwpack diff\n");
    let _ = writeln!(
        out,
        "{} → {}: **{}**",
        code(&report.a.label),
        code(&report.b.label),
        summary_line(report)
    );
    write_images(&mut out, report, &cids);
    write_layers(&mut out, &group::layers(report), &cids);
    write_guests(&mut out, report, &cids);
    let distinct = distinct(&report.images);
    let (in_place, whole): (Vec<Distinct<'_>>, Vec<Distinct<'_>>) = distinct
        .into_iter()
        .partition(|d| !matches!(d.change.change, "added" | "removed"));
    let multi = images_of(report, &[]).is_some();
    let mut shown = Shown::default();
    for (title, changes) in [("Changes", &in_place), ("Added and removed", &whole)] {
        let rows = group::rows(changes);
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n#### {title}\n");
        write_table(&mut out, &rows, multi, &cids);
        write_contents(&mut out, &rows, &mut shown);
    }
    write_cids(&mut out, &cids);
    out
}

/// One row per changed image (its root and layers), and the identical ones on one line.
fn write_images(out: &mut String, report: &Report, cids: &Cids) {
    let (changed, same): (Vec<&ImageDiff>, Vec<&ImageDiff>) =
        report.images.iter().partition(|i| i.status != "identical");
    if !changed.is_empty() {
        let _ = writeln!(
            out,
            "\n| Image | Status | Root | Layers | Paths |\n| --- | --- | --- | --- | ---: |"
        );
    }
    let root = |r: &Option<String>| {
        r.as_deref()
            .map(|r| code(&cids.short(r)))
            .unwrap_or_else(|| "none".into())
    };
    for image in &changed {
        let name = match &image.renamed_from {
            Some(n) => format!("{} (was {})", code(&image.name), code(n)),
            None => code(&image.name),
        };
        let roots = if image.root[0] == image.root[1] {
            root(&image.root[1])
        } else {
            format!("{} → {}", root(&image.root[0]), root(&image.root[1]))
        };
        let layers = group::layer_names(image).unwrap_or_else(|| "unchanged".into());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(&name),
            image.status,
            cell(&roots),
            cell(&text(&layers)),
            thousands(image.changes.len() as u64)
        );
    }
    if !same.is_empty() {
        let names: Vec<String> = same.iter().map(|i| code(&i.name)).collect();
        let _ = writeln!(out, "\nIdentical: {}", names.join(", "));
    }
}

/// Each layer once, with the images that use it; the unchanged ones on one line.
fn write_layers(out: &mut String, layers: &[group::Layer<'_>], cids: &Cids) {
    let (same, changed): (Vec<&group::Layer<'_>>, Vec<&group::Layer<'_>>) = layers
        .iter()
        .partition(|l| l.cid[0].is_some() && l.cid[0] == l.cid[1]);
    if layers.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n#### Layers\n");
    let cid = |c: Option<&str>| c.map(|c| code(&cids.short(c))).unwrap_or_default();
    let images = |l: &group::Layer<'_>| {
        l.images
            .iter()
            .map(|i| code(i))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !changed.is_empty() {
        let _ = writeln!(
            out,
            "| Layer | Before | After | Images |\n| --- | --- | --- | --- |"
        );
        for l in &changed {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&code(l.name)),
                cid(l.cid[0]),
                cid(l.cid[1]),
                cell(&images(l))
            );
        }
    }
    if !same.is_empty() {
        let list: Vec<String> = same
            .iter()
            .map(|l| format!("{} {} ({})", code(l.name), cid(l.cid[0]), images(l)))
            .collect();
        let _ = writeln!(out, "\nUnchanged: {}", list.join("; "));
    }
}

fn write_guests(out: &mut String, report: &Report, cids: &Cids) {
    if report.guests.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n#### Guests\n");
    let _ = writeln!(
        out,
        "| Guest | Change | Before | After |\n| --- | --- | --- | --- |"
    );
    let show = |r: &Option<ww_image::manifest::GuestRecord>| {
        r.as_ref()
            .map(|r| format!("{} {}", r.version, code(&cids.short(&r.wasm))))
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

/// The table of `rows`, with the images of each when `multi`, cut when over the budget.
fn write_table(out: &mut String, rows: &[Row<'_>], multi: bool, cids: &Cids) {
    let _ = writeln!(
        out,
        "| Change | Path | Before | After |{}\n| --- | --- | --- | --- |{}",
        if multi { " Images |" } else { "" },
        if multi { " --- |" } else { "" }
    );
    for (i, row) in rows.iter().enumerate() {
        let (line, images) = match row {
            Row::One(d) => (change_row(d.change, cids), &d.images),
            Row::Rollup(r) => (rollup_row(r), &r.images.to_vec()),
        };
        let images = if multi {
            let list: Vec<String> = images.iter().map(|i| code(i)).collect();
            format!(" {} |", cell(&list.join(", ")))
        } else {
            String::new()
        };
        let line = format!("{line}{images}\n");
        if out.len() + line.len() > BUDGET {
            let more = rows.len() - i;
            let _ = writeln!(out, "| … | {more} more rows {OVER_BUDGET} | | |");
            return;
        }
        out.push_str(&line);
    }
}

/// `| added | 3,000 files under `etc/data/` | | 12.0 MiB (data) |`
fn rollup_row(r: &group::Rollup<'_>) -> String {
    let what = format!(
        "{} ({})",
        group::human(r.bytes),
        r.layer.unwrap_or("several layers")
    );
    let what = if r.layer.is_none() && r.bytes == 0 {
        String::new()
    } else {
        what
    };
    let (before, after) = if r.change == "added" {
        (String::new(), what)
    } else {
        (what, String::new())
    };
    format!(
        "| {} | {} files under {} | {} | {} |",
        r.change,
        thousands(r.files as u64),
        cell(&code(&r.dir)),
        cell(&before),
        cell(&after)
    )
}

fn change_row(c: &PathChange, cids: &Cids) -> String {
    let file = |f| file(f, cids);
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
    format!(
        "| {} | {} | {} | {} |",
        c.change,
        cell(&code(&c.path)),
        cell(&before),
        cell(&after)
    )
}

/// What changed inside the files of `rows` (not those rolled up), while the budget lasts.
fn write_contents(out: &mut String, rows: &[Row<'_>], shown: &mut Shown) {
    let mut omitted = 0;
    for row in rows {
        let Row::One(d) = row else {
            continue;
        };
        let c = d.change;
        let mut block = String::new();
        match shown.earlier(c) {
            Some(first) => {
                let _ = writeln!(
                    block,
                    "\n{}: the same change as {} above",
                    code(&c.path),
                    if first == "the same path" {
                        first
                    } else {
                        format!("for {}", code(&first))
                    }
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

/// The full CIDs behind the abbreviations, folded, while the budget lasts.
fn write_cids(out: &mut String, cids: &Cids) {
    let used = cids.used();
    if used.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n<details><summary>Full CIDs</summary>\n\n| CID | Full |\n| --- | --- |"
    );
    for (i, (short, full)) in used.iter().enumerate() {
        let line = format!("| {} | {} |\n", code(short), code(full));
        if out.len() + line.len() > BUDGET {
            let _ = writeln!(out, "| … | {} more {OVER_BUDGET} |", used.len() - i);
            break;
        }
        out.push_str(&line);
    }
    let _ = writeln!(out, "\n</details>");
}

fn file(f: &Option<FileInfo>, cids: &Cids) -> String {
    match f {
        Some(f) => {
            let cid = code(&cids.short(&f.cid));
            let what = match &f.target {
                Some(t) => format!("{cid} → {}", code(t)),
                None => format!("{cid} {}", bytes(f.size)),
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
    // A path can be added to one image and removed from another: the title says which.
    let whole = match c.change {
        "added" | "removed" => format!("{}, ", c.change),
        _ => String::new(),
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
            let mut what = format!("{whole}+{lines_added} -{lines_removed} lines");
            if *simplified {
                what.push_str(", ");
                what.push_str(SIMPLIFIED_NOTE);
            }
            titled(out, &c.path, &what, &block);
        }
        Content::Wasm(w) => {
            let mut body = String::new();
            write_wasm(&mut body, w);
            titled(out, &c.path, &format!("{whole}WebAssembly changes"), &body);
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
        assert!(out.contains("more rows left out"), "rows cut and said so");
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
