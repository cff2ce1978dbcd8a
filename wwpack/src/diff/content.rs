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

use super::side::{see_hint, FileView};
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
    /// Whether blocks fetched from the node are kept in the store (it is writable).
    pub keep: bool,
    pub node: Option<&'a dyn BlockSource>,
    /// The node's API URL (and where it came from), for messages.
    pub node_label: Option<String>,
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
                let chain = ChainSource::new(store, self.node)
                    .keeping(self.keep)
                    .explaining(self.node_label.clone(), see_hint(&cid));
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
        result.map_err(|e| e.to_string())?;
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
mod tests;
