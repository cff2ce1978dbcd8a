//! Prints a [`Report`]: `text` for a terminal, `markdown` for a pull-request comment, `json`
//! for programs (the report itself; schema in `docs/diff.md`).

mod group;
mod markdown;
mod text;

use std::fmt::Write as _;
use std::str::FromStr;

use super::compare::{PathChange, Report, Summary};
use ww_image::wasm::summary::{ItemsDiff, SectionsDiff};

/// An output format of `wwpack diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "text" => Ok(Format::Text),
            "markdown" | "md" => Ok(Format::Markdown),
            "json" => Ok(Format::Json),
            _ => Err(format!("unknown format `{s}` (text, markdown or json)")),
        }
    }
}

/// The report in `format`; `color` adds ANSI colours to text.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Text => text::render(report, color),
        Format::Markdown => markdown::render(report),
        Format::Json => {
            let mut out = serde_json::to_string_pretty(report).unwrap_or_default();
            out.push('\n');
            out
        }
    }
}

/// The content changes already shown, by old and new CID: the same change at another path (or
/// of the same path, another way) is shown once.
#[derive(Default)]
struct Shown(std::collections::HashMap<(Option<String>, Option<String>), String>);

impl Shown {
    /// Where `c`'s content was shown already (`etc/a`, or `the same path`); else records it
    /// as shown here.
    fn earlier(&mut self, c: &PathChange) -> Option<String> {
        c.content.as_ref()?;
        let key = (
            c.a.as_ref().map(|f| f.cid.clone()),
            c.b.as_ref().map(|f| f.cid.clone()),
        );
        match self.0.get(&key) {
            Some(path) if *path == c.path => Some("the same path".into()),
            Some(path) => Some(path.clone()),
            None => {
                self.0.insert(key, c.path.clone());
                None
            }
        }
    }
}

/// The images a change happened in, when the report has several changed images (else none:
/// there is only one it can be).
fn images_of<'r>(report: &'r Report, images: &'r [&'r str]) -> Option<&'r [&'r str]> {
    let changed = report
        .images
        .iter()
        .filter(|i| !i.changes.is_empty())
        .count();
    (changed > 1).then_some(images)
}

/// `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1,234 B`.
fn bytes(n: u64) -> String {
    format!("{} B", thousands(n))
}

/// `+12 B`, `-3 B`, `±0 B`.
fn delta(old: u64, new: u64) -> String {
    match new.cmp(&old) {
        std::cmp::Ordering::Greater => format!("+{}", bytes(new - old)),
        std::cmp::Ordering::Less => format!("-{}", bytes(old - new)),
        std::cmp::Ordering::Equal => "±0 B".to_string(),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        thousands(n as u64),
        if n == 1 { one } else { many }
    )
}

/// The summary line: `2 added, 1 modified in 1 image; +1,024 B, -12 B` or `identical (3 images)`;
/// each distinct change counted once ([`super::compare::distinct`]).
fn summary_line(report: &Report) -> String {
    let s: &Summary = &report.summary;
    let images = plural(report.images.len(), "image", "images");
    if report.identical {
        return format!("identical ({images})");
    }
    let mut parts = Vec::new();
    for (n, word) in [
        (s.added, "added"),
        (s.removed, "removed"),
        (s.modified, "modified"),
        (s.moved, "moved"),
    ] {
        if n > 0 {
            parts.push(format!("{} {word}", thousands(n as u64)));
        }
    }
    if s.provenance > 0 {
        parts.push(plural(
            s.provenance,
            "provenance change",
            "provenance changes",
        ));
    }
    if s.images_added > 0 {
        parts.push(plural(s.images_added, "image added", "images added"));
    }
    if s.images_removed > 0 {
        parts.push(plural(s.images_removed, "image removed", "images removed"));
    }
    if s.guests_changed > 0 {
        parts.push(plural(s.guests_changed, "guest changed", "guests changed"));
    }
    if parts.is_empty() {
        // Roots or layers differ while every file is the same: directories (e.g. an empty one)
        // or the layer list changed.
        parts.push("no file changed, but the root or the layers did".into());
    }
    format!(
        "{} in {images}; +{}, -{}",
        parts.join(", "),
        bytes(s.bytes_added),
        bytes(s.bytes_removed)
    )
}

/// `layer base → extra; shadows [] → [base]`, or empty.
fn provenance_text(c: &PathChange) -> String {
    let Some(p) = &c.provenance else {
        return String::new();
    };
    let mut parts = Vec::new();
    if let Some([a, b]) = &p.layer {
        parts.push(format!("layer {a} → {b}"));
    }
    if let Some([a, b]) = &p.shadows {
        parts.push(format!("shadows [{}] → [{}]", a.join(", "), b.join(", ")));
    }
    parts.join("; ")
}

/// Rows `(kind, before, after, change)` of a section-size table.
fn section_rows(s: &SectionsDiff) -> Vec<(&'static str, u64, u64, String)> {
    [
        ("code", s.code),
        ("data", s.data),
        ("custom", s.custom),
        ("other", s.other),
    ]
    .into_iter()
    .map(|(kind, [a, b])| (kind, a, b, delta(a, b)))
    .collect()
}

/// Whether the diff is of a whole file added or removed (one side has no bytes at all).
fn whole_file(s: &SectionsDiff) -> bool {
    let side = |i: usize| s.code[i] + s.data[i] + s.custom[i] + s.other[i];
    side(0) == 0 || side(1) == 0
}

/// `imports (3): a, b, c` for a file added or removed: its interfaces by name only, each
/// passed through `show` (a code span in Markdown).
fn names_line(what: &str, items: &ItemsDiff, show: impl Fn(&str) -> String) -> Option<String> {
    let names: Vec<String> = items
        .added
        .iter()
        .chain(&items.removed)
        .map(|i| show(&i.name))
        .collect();
    (!names.is_empty()).then(|| format!("{what} ({}): {}", names.len(), names.join(", ")))
}

/// `s` with control characters shown as `\xNN` ([`ww_content::text::printable`]).
fn printable(s: &str) -> String {
    ww_content::text::printable(s).into_owned()
}

/// `3 functions: a, b, c` (at most 8 named).
fn functions_text(functions: &[String]) -> String {
    if functions.is_empty() {
        return String::new();
    }
    let mut out = plural(functions.len(), "function", "functions");
    let shown: Vec<&str> = functions.iter().take(8).map(String::as_str).collect();
    let _ = write!(out, ": {}", shown.join(", "));
    if functions.len() > shown.len() {
        let _ = write!(out, ", … ({} more)", functions.len() - shown.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(delta(10, 12), "+2 B");
        assert_eq!(delta(1012, 12), "-1,000 B");
        assert_eq!(delta(5, 5), "±0 B");
        assert_eq!("md".parse(), Ok(Format::Markdown));
        assert!("yaml".parse::<Format>().unwrap_err().contains("yaml"));
    }
}
