//! What changed inside a file: a unified diff for text, a component-aware summary for `.wasm`.
//!
//! Bytes come from the host when a side has the file on disk (an image directory, the working
//! tree's build), else through the chain `ww run` uses (block store, then IPFS node). A file whose
//! bytes cannot be had is reported as `unavailable`, with the reason; the rest of the diff stands.
//!
//! The work is bounded, since images are untrusted: text is diffed only up to the text limit
//! (`--text-limit`, [`DEFAULT_TEXT_LIMIT`] bytes, so at most that many lines), `.wasm` files up
//! to [`WASM_LIMIT`] bytes, and aligning the lines of two texts (quadratic in the worst case:
//! random lines) stops at a deadline: [`TEXT_DIFF_TIMEOUT`] for each file, and
//! [`TEXT_DIFF_TOTAL`] for all the files of one comparison ([`TextBudget`]). A diff cut short
//! is still correct (applied to the old text it gives the new one) but coarser than the
//! smallest: the lines left unaligned are shown removed and added whole, and the content says
//! so (`simplified`). Everything else is linear in the bytes read.

use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use super::side::FileView;
use ww_content::block::BlockSource;
use ww_content::chain::ChainSource;
use ww_content::cid::Cid;
use ww_content::store::Store;
use ww_content::unixfs::read::Reader;
use ww_image::wasm::summary::{self as wasm, WasmDiff};

/// The default largest text file shown as a diff, in bytes.
pub const DEFAULT_TEXT_LIMIT: u64 = 256 * 1024;

/// The largest `.wasm` file read for a summary, in bytes.
pub const WASM_LIMIT: u64 = 256 * 1024 * 1024;

/// The longest the lines of one text file are aligned for its diff (1 s).
pub const TEXT_DIFF_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest the lines of all text files of one comparison are aligned, together (10 s).
pub const TEXT_DIFF_TOTAL: Duration = Duration::from_secs(10);

/// What a text diff says when its deadline cut the alignment short.
pub const SIMPLIFIED_NOTE: &str = "diff simplified: too many changes to align within the time \
     limit; it is correct but not the smallest";

/// Lines of context around each change of a text diff.
const CONTEXT: usize = 3;

/// The content change of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Content {
    /// Both sides are UTF-8 text under the limit: a unified diff (`---`/`+++` headers, hunks).
    Text {
        lines_added: usize,
        lines_removed: usize,
        diff: String,
        /// The alignment hit its deadline ([`TEXT_DIFF_TIMEOUT`], [`TEXT_DIFF_TOTAL`]): the diff
        /// is correct but coarser than the smallest. In JSON only when true.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        simplified: bool,
    },
    /// A WebAssembly component or module.
    Wasm(WasmDiff),
    /// Neither text nor WebAssembly.
    Binary,
    /// Text over the size limit.
    TooLarge { limit: u64 },
    /// The bytes of one side could not be read (or a `.wasm` could not be parsed).
    Unavailable { reason: String },
}

/// What is left of the time for aligning the text diffs of one comparison: [`TEXT_DIFF_TOTAL`]
/// to start with, each text diff spending what it takes, at most [`TEXT_DIFF_TIMEOUT`].
#[derive(Debug)]
pub struct TextBudget {
    left: Cell<Duration>,
}

impl Default for TextBudget {
    fn default() -> Self {
        Self::new(TEXT_DIFF_TOTAL)
    }
}

impl TextBudget {
    /// A budget of `total` for all the text diffs it is given to.
    pub fn new(total: Duration) -> Self {
        Self {
            left: Cell::new(total),
        }
    }

    /// What is left.
    pub fn left(&self) -> Duration {
        self.left.get()
    }

    /// The time the next file may take: [`TEXT_DIFF_TIMEOUT`], or what is left if less.
    fn for_one_file(&self) -> Duration {
        self.left.get().min(TEXT_DIFF_TIMEOUT)
    }

    fn spend(&self, spent: Duration) {
        self.left.set(self.left.get().saturating_sub(spent));
    }
}

/// Reads the bytes of files for content diffs.
pub struct ContentReader<'a> {
    pub store: Option<&'a Store>,
    pub node: Option<&'a dyn BlockSource>,
    pub text_limit: u64,
}

impl ContentReader<'_> {
    /// The content change of `path` from `a` to `b` (either may be absent); `None` for
    /// symlinks, whose change is their target. A text diff spends from `budget`.
    pub fn content(
        &self,
        path: &str,
        a: Option<&FileView>,
        b: Option<&FileView>,
        budget: &TextBudget,
    ) -> Option<Content> {
        if a.is_some_and(|f| f.target.is_some()) || b.is_some_and(|f| f.target.is_some()) {
            return None;
        }
        let largest = a.iter().chain(b.iter()).map(|f| f.size).max().unwrap_or(0);
        let is_wasm = path.ends_with(".wasm");
        if !is_wasm && largest > self.text_limit {
            // Too big to show whatever it is; a peek at the head says which words to use.
            return Some(match self.head(b.or(a)?) {
                Ok(head) if head.starts_with(b"\0asm") && largest <= WASM_LIMIT => self.wasm(a, b),
                Ok(head) if head.starts_with(b"\0asm") => Content::TooLarge { limit: WASM_LIMIT },
                Ok(head) if looks_text(&head) => Content::TooLarge {
                    limit: self.text_limit,
                },
                Ok(_) => Content::Binary,
                Err(reason) => Content::Unavailable { reason },
            });
        }
        if is_wasm && largest > WASM_LIMIT {
            return Some(Content::TooLarge { limit: WASM_LIMIT });
        }
        let old = match a.map(|f| self.bytes(f)).transpose() {
            Ok(bytes) => bytes,
            Err(reason) => return Some(Content::Unavailable { reason }),
        };
        let new = match b.map(|f| self.bytes(f)).transpose() {
            Ok(bytes) => bytes,
            Err(reason) => return Some(Content::Unavailable { reason }),
        };
        let sides = [old.as_deref(), new.as_deref()];
        if is_wasm || sides.iter().flatten().any(|s| s.starts_with(b"\0asm")) {
            return Some(wasm_diff(sides));
        }
        let texts: Option<Vec<&str>> = sides
            .iter()
            .map(|s| match s {
                None => Some(""),
                Some(bytes) if looks_text(bytes) => std::str::from_utf8(bytes).ok(),
                Some(_) => None,
            })
            .collect();
        Some(match texts {
            Some(t) => text_diff(path, a.is_some(), b.is_some(), t[0], t[1], budget),
            None => Content::Binary,
        })
    }

    fn wasm(&self, a: Option<&FileView>, b: Option<&FileView>) -> Content {
        let read = |f: Option<&FileView>| f.map(|f| self.bytes(f)).transpose();
        match (read(a), read(b)) {
            (Ok(x), Ok(y)) => wasm_diff([x.as_deref(), y.as_deref()]),
            (Err(reason), _) | (_, Err(reason)) => Content::Unavailable { reason },
        }
    }

    /// The first bytes of a file.
    fn head(&self, f: &FileView) -> Result<Vec<u8>, String> {
        let mut bytes = self.bytes_upto(f, 4096)?;
        bytes.truncate(4096);
        Ok(bytes)
    }

    fn bytes(&self, f: &FileView) -> Result<Vec<u8>, String> {
        self.bytes_upto(f, u64::MAX)
    }

    fn bytes_upto(&self, f: &FileView, length: u64) -> Result<Vec<u8>, String> {
        if let Some(host) = &f.host {
            if let Ok(bytes) = read_host(host, length) {
                return Ok(bytes);
            }
        }
        let cid: Cid = f
            .cid
            .parse()
            .map_err(|e| format!("bad CID {}: {e}", f.cid))?;
        let mut out = Vec::new();
        let result = match self.store {
            Some(store) => {
                let chain = ChainSource::new(store, self.node);
                Reader::new(&chain).read_range(&cid, 0, length, &mut out)
            }
            None => match self.node {
                Some(node) => Reader::new(node).read_range(&cid, 0, length, &mut out),
                None => {
                    return Err(format!(
                        "{cid}: no block store or IPFS node to read it from"
                    ))
                }
            },
        };
        result.map_err(|e| {
            format!(
                "{cid} is not in the block store ({e}); build that version, or `wwpack pull` \
                 it, to see it"
            )
        })?;
        Ok(out)
    }
}

fn read_host(path: &Path, length: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    std::fs::File::open(path)?
        .take(length)
        .read_to_end(&mut out)?;
    Ok(out)
}

/// UTF-8 (possibly cut in the middle of a character at the end) and no NUL byte.
fn looks_text(bytes: &[u8]) -> bool {
    if bytes.contains(&0) {
        return false;
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && bytes.len() - e.valid_up_to() < 4,
    }
}

fn wasm_diff(sides: [Option<&[u8]>; 2]) -> Content {
    let summarize = |s: Option<&[u8]>| s.map(wasm::summarize).transpose();
    match (summarize(sides[0]), summarize(sides[1])) {
        (Ok(x), Ok(y)) => Content::Wasm(wasm::diff(x.as_ref(), y.as_ref())),
        (Err(e), _) => Content::Unavailable {
            reason: format!("old version: {e}"),
        },
        (_, Err(e)) => Content::Unavailable {
            reason: format!("new version: {e}"),
        },
    }
}

/// The unified diff of `old` and `new`, its alignment cut short when it takes longer than
/// `budget` allows (then `simplified`).
fn text_diff(
    path: &str,
    has_old: bool,
    has_new: bool,
    old: &str,
    new: &str,
    budget: &TextBudget,
) -> Content {
    let allowed = budget.for_one_file();
    let started = Instant::now();
    // `similar` stops aligning once its deadline (started + allowed, or later) has passed and
    // gives the rest as removed and added: so it was cut short only if `allowed` went by.
    let diff = TextDiff::configure().timeout(allowed).diff_lines(old, new);
    let spent = started.elapsed();
    budget.spend(spent);
    let simplified = spent >= allowed && needs_alignment(diff.old_slices(), diff.new_slices());
    let (mut lines_added, mut lines_removed) = (0, 0);
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => lines_added += 1,
            ChangeTag::Delete => lines_removed += 1,
            ChangeTag::Equal => {}
        }
    }
    let old_name = if has_old {
        format!("a/{path}")
    } else {
        "/dev/null".to_string()
    };
    let new_name = if has_new {
        format!("b/{path}")
    } else {
        "/dev/null".to_string()
    };
    let text = diff
        .unified_diff()
        .context_radius(CONTEXT)
        .header(&old_name, &new_name)
        .to_string();
    Content::Text {
        lines_added,
        lines_removed,
        diff: text,
        simplified,
    }
}

/// Whether a diff of these lines needs an alignment at all: with the lines both have at the
/// start and at the end set aside (`similar` sets them aside before it aligns), do the rest of
/// both sides share a line? If not, removing the one and adding the other, what a diff cut
/// short gives, is exact whatever the deadline.
fn needs_alignment(old: &[&str], new: &[&str]) -> bool {
    let prefix = old.iter().zip(new).take_while(|(x, y)| x == y).count();
    let (old, new) = (&old[prefix..], &new[prefix..]);
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let old = &old[..old.len() - suffix];
    let new = &new[..new.len() - suffix];
    let seen: std::collections::HashSet<&str> = old.iter().copied().collect();
    new.iter().any(|line| seen.contains(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_utf8_without_nul() {
        assert!(looks_text(b"hello\n"));
        assert!(looks_text("héllo".as_bytes()));
        assert!(looks_text(&"é".as_bytes()[..1]), "cut at the end");
        assert!(!looks_text(b"a\0b"));
        assert!(!looks_text(&[0xff, 0xfe, b'a']));
    }

    #[test]
    fn unified_diff_of_added_and_changed_text() {
        let Content::Text {
            lines_added,
            lines_removed,
            diff,
            simplified,
        } = text_diff(
            "etc/motd",
            true,
            true,
            "a\nb\nc\n",
            "a\nB\nc\nd\n",
            &TextBudget::default(),
        )
        else {
            panic!("not text")
        };
        assert_eq!((lines_added, lines_removed), (2, 1));
        assert!(!simplified);
        assert!(
            diff.starts_with("--- a/etc/motd\n+++ b/etc/motd\n@@ -1,3 +1,4 @@\n"),
            "{diff}"
        );
        assert!(diff.contains("-b\n+B\n c\n+d\n"), "{diff}");
        let budget = TextBudget::default();
        let Content::Text { diff, .. } = text_diff("etc/new", false, true, "", "x\n", &budget)
        else {
            panic!("not text")
        };
        assert!(diff.starts_with("--- /dev/null\n+++ b/etc/new\n"), "{diff}");
    }
    /// `count` random short lines, each one of `distinct` (`l0` to `l<distinct - 1>`), from
    /// `seed`.
    fn random_lines(seed: u64, count: usize, distinct: u64) -> String {
        let mut state = seed.max(1);
        let mut text = String::new();
        for _ in 0..count {
            // xorshift64*: deterministic, no dependency.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let n = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
            text.push_str(&format!("l{}\n", n % distinct));
        }
        text
    }

    /// Applies the unified diff `diff` to `old`: the new text, or why the diff is not valid
    /// for it (a hunk that does not match, lines out of order, a count that is wrong).
    fn apply(old: &str, diff: &str) -> Result<String, String> {
        let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
        let mut out = String::new();
        let mut at = 0; // next old line to copy, 0-based
        let mut lines = diff.split_inclusive('\n');
        let headers: Vec<&str> = lines.by_ref().take(2).collect();
        if headers.len() != 2 || !headers[0].starts_with("--- ") || !headers[1].starts_with("+++ ")
        {
            return Err(format!("bad headers {headers:?}"));
        }
        while let Some(header) = lines.next() {
            let ranges = header
                .strip_prefix("@@ -")
                .and_then(|h| h.split_once(" @@"))
                .map(|(r, _)| r)
                .ok_or_else(|| format!("not a hunk header: {header:?}"))?;
            let (minus, plus) = ranges
                .split_once(" +")
                .ok_or_else(|| format!("bad ranges {ranges:?}"))?;
            let parse = |r: &str| -> Result<(usize, usize), String> {
                let (start, len) = r.split_once(',').unwrap_or((r, "1"));
                Ok((
                    start.parse().map_err(|e| format!("{r}: {e}"))?,
                    len.parse().map_err(|e| format!("{r}: {e}"))?,
                ))
            };
            let ((o_start, o_len), (_, n_len)) = (parse(minus)?, parse(plus)?);
            // An empty old range names the line before it.
            let first = match o_len {
                0 => o_start,
                _ => o_start.checked_sub(1).ok_or("hunk at line 0")?,
            };
            if first < at || first > old_lines.len() {
                return Err(format!("hunk {header:?} out of order or range"));
            }
            out.extend(old_lines[at..first].iter().copied());
            at = first;
            let (mut seen_old, mut seen_new) = (0, 0);
            while seen_old < o_len || seen_new < n_len {
                let line = lines.next().ok_or("hunk cut short")?;
                let (tag, body) = line.split_at(line.len().min(1));
                match tag {
                    " " | "-" => {
                        let expected = old_lines.get(at).ok_or("hunk past the end")?;
                        if *expected != body {
                            return Err(format!("{line:?} does not match {expected:?}"));
                        }
                        if tag == " " {
                            out.push_str(expected);
                            seen_new += 1;
                        }
                        at += 1;
                        seen_old += 1;
                    }
                    "+" => {
                        out.push_str(body);
                        seen_new += 1;
                    }
                    _ => return Err(format!("bad hunk line {line:?}")),
                }
            }
            if seen_old != o_len || seen_new != n_len {
                return Err(format!("hunk {header:?} holds other counts"));
            }
        }
        out.extend(old_lines[at..].iter().copied());
        Ok(out)
    }

    /// The diff of `old` and `new` with `budget`, checked to be a valid diff of them.
    fn checked_diff(old: &str, new: &str, budget: &TextBudget) -> (usize, usize, String, bool) {
        let Content::Text {
            lines_added,
            lines_removed,
            diff,
            simplified,
        } = text_diff("etc/x", true, true, old, new, budget)
        else {
            panic!("not text")
        };
        assert_eq!(apply(old, &diff).as_deref(), Ok(new), "not a valid diff");
        let count = |tag: char| {
            diff.lines()
                .filter(|l| l.starts_with(tag) && !l.starts_with("+++") && !l.starts_with("---"))
                .count()
        };
        assert_eq!((count('+'), count('-')), (lines_added, lines_removed));
        (lines_added, lines_removed, diff, simplified)
    }

    #[test]
    fn the_patch_checker_refuses_a_wrong_diff() {
        let (old, new) = ("a\nb\nc\n", "a\nB\nc\nd\n");
        let budget = TextBudget::default();
        let (_, _, diff, _) = checked_diff(old, new, &budget);
        assert!(apply("a\nx\nc\n", &diff).is_err());
        assert_ne!(apply(old, &diff.replace("+d", "+e")).as_deref(), Ok(new));
    }

    #[test]
    fn a_diff_out_of_time_is_coarser_but_correct_and_says_so() {
        let old = random_lines(1, 400, 20);
        let new = random_lines(2, 400, 20);
        let (added, removed, _, simplified) = checked_diff(&old, &new, &TextBudget::default());
        assert!(!simplified, "400 lines align well within the time");
        assert!(added < 400 && removed < 400, "random lines share some");

        // No time left: nothing is aligned between the common start and end, though the
        // middles share lines.
        let spent = TextBudget::new(Duration::ZERO);
        let framed = |body: &str| format!("head\n{body}tail\n");
        let (old, new) = (framed(&old), framed(&new));
        let (added, removed, diff, simplified) = checked_diff(&old, &new, &spent);
        assert!(simplified);
        assert_eq!((added, removed), (400, 400), "{diff}");

        // Changes that need no alignment (the middles share no line) are exact whatever the
        // time.
        let (added, removed, _, simplified) = checked_diff("a\nb\nc\n", "a\nB\nc\n", &spent);
        assert!(!simplified);
        assert_eq!((added, removed), (1, 1));
        let (_, _, _, simplified) = checked_diff("a\n", "a\nb\n", &spent);
        assert!(!simplified);
    }

    #[test]
    fn random_lines_under_the_text_limit_are_diffed_in_bounded_time() {
        // The attack: two texts of random short lines just under the text limit (~235 KB,
        // 35,000 lines each): aligning them is quadratic, and took minutes. A hang guard only;
        // the budget is TEXT_DIFF_TIMEOUT.
        let old = random_lines(11, 35_000, 10_000);
        let new = random_lines(12, 35_000, 10_000);
        let limit = usize::try_from(DEFAULT_TEXT_LIMIT).unwrap();
        assert!(old.len() < limit && new.len() < limit && old.len() > limit * 3 / 4);
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = std::thread::spawn(move || {
            let budget = TextBudget::default();
            let result = checked_diff(&old, &new, &budget);
            let _ = tx.send((result, budget.left()));
        });
        let ((added, removed, _, _), left) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the diff of two random texts did not finish within 60 s");
        worker.join().unwrap();
        assert!(added > 0 && removed > 0);
        assert!(left < TEXT_DIFF_TOTAL, "the diff spent from the budget");
    }

    #[test]
    fn the_budget_is_shared_and_runs_out() {
        let budget = TextBudget::new(Duration::from_millis(1500));
        assert_eq!(budget.for_one_file(), TEXT_DIFF_TIMEOUT);
        budget.spend(Duration::from_millis(1000));
        assert_eq!(budget.for_one_file(), Duration::from_millis(500));
        budget.spend(Duration::from_secs(5));
        assert_eq!(budget.left(), Duration::ZERO);
        assert_eq!(budget.for_one_file(), Duration::ZERO);
    }
}
