//! What changed inside a file: a unified diff for text, a component-aware summary for `.wasm`.
//!
//! Bytes come from the host when a side has the file on disk (an image directory, the working
//! tree's build), else through the chain `ww run` uses (block store, then IPFS node). A file whose
//! bytes cannot be had is reported as `unavailable`, with the reason; the rest of the diff stands.

use std::path::Path;

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use super::side::FileView;
use super::wasm::{self, WasmDiff};
use crate::block::BlockSource;
use crate::chain::ChainSource;
use crate::cid::Cid;
use crate::store::Store;
use crate::unixfs::read::Reader;

/// The default largest text file shown as a diff, in bytes.
pub const DEFAULT_TEXT_LIMIT: u64 = 256 * 1024;

/// The largest `.wasm` file read for a summary, in bytes.
const WASM_LIMIT: u64 = 256 * 1024 * 1024;

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

/// Reads the bytes of files for content diffs.
pub struct ContentReader<'a> {
    pub store: Option<&'a Store>,
    pub node: Option<&'a dyn BlockSource>,
    pub text_limit: u64,
}

impl ContentReader<'_> {
    /// The content change of `path` from `a` to `b` (either may be absent); `None` for
    /// symlinks, whose change is their target.
    pub fn content(
        &self,
        path: &str,
        a: Option<&FileView>,
        b: Option<&FileView>,
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
            Some(t) => text_diff(path, a.is_some(), b.is_some(), t[0], t[1]),
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

fn text_diff(path: &str, has_old: bool, has_new: bool, old: &str, new: &str) -> Content {
    let diff = TextDiff::from_lines(old, new);
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
    }
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
        } = text_diff("etc/motd", true, true, "a\nb\nc\n", "a\nB\nc\nd\n")
        else {
            panic!("not text")
        };
        assert_eq!((lines_added, lines_removed), (2, 1));
        assert!(
            diff.starts_with("--- a/etc/motd\n+++ b/etc/motd\n@@ -1,3 +1,4 @@\n"),
            "{diff}"
        );
        assert!(diff.contains("-b\n+B\n c\n+d\n"), "{diff}");
        let Content::Text { diff, .. } = text_diff("etc/new", false, true, "", "x\n") else {
            panic!("not text")
        };
        assert!(diff.starts_with("--- /dev/null\n+++ b/etc/new\n"), "{diff}");
    }
}
