//! The boot files of an image: `boot/<peer-id>`, each holding the multiaddrs of one peer, one
//! per line. [`parse_boot_file`] is the one parser, used by `wwpack build` (through
//! [`super::check_image`]) and by `ww` when it reads an image's peers ([`boot_peers`]), so both
//! accept the same files and word every problem the same way. Peer IDs and multiaddrs are
//! read by [`ww_content::multiaddr`]; the format of the file (one multiaddr per line, no blank
//! lines, no comments) and its bounds are this module's.
//!
//! Both are bounded, since boot files come from images: a boot file is at most
//! [`MAX_BOOT_FILE`] bytes (checked from the file's metadata before it is read, see
//! [`too_large`] and [`grew_too_large`]), and [`parse_boot_file`] words at most
//! [`MAX_BOOT_PROBLEMS`] problems, then counts the rest in one last line.

use crate::error::Error;
use crate::union::{Union, UnionEntry};
use ww_content::multiaddr;
use ww_content::text::printable;
use ww_content::tree::Entry;

use super::image::Checker;
use super::summarize;

pub use ww_content::multiaddr::{check_peer_id, MAX_IDENTITY_DIGEST};

/// The largest boot file accepted, in bytes (64 KiB). A boot file is a handful of multiaddrs.
pub const MAX_BOOT_FILE: u64 = 64 * 1024;

/// The most problems [`parse_boot_file`] words for one file; the rest are counted in one line.
pub const MAX_BOOT_PROBLEMS: usize = 20;

/// The problem with a boot file of `size` bytes, more than [`MAX_BOOT_FILE`], worded to follow
/// its path and layer as the problems of [`parse_boot_file`] are.
pub fn too_large(size: u64) -> String {
    format!(
        "is {size} bytes, more than the {MAX_BOOT_FILE} bytes a boot file may hold; \
         {BOOT_CONTENT_RULE}"
    )
}

/// The problem with a boot file that was `size` bytes when its metadata was read but grew past
/// [`MAX_BOOT_FILE`] while it was read.
pub fn grew_too_large(size: u64) -> String {
    format!(
        "grew from {size} bytes to more than the {MAX_BOOT_FILE} bytes a boot file may hold \
         while it was read; {BOOT_CONTENT_RULE}"
    )
}

/// The rule for the names of boot files, quoted in messages.
pub const BOOT_NAME_RULE: &str = "boot files are named by the libp2p peer ID (base58btc \
     multihash, identity or sha2-256) of the peer they address";
/// The rule for the content of boot files, quoted in messages.
pub const BOOT_CONTENT_RULE: &str =
    "a boot file holds one multiaddr per line (no blank lines, no comments)";

/// The multiaddrs of the boot file `boot/<name>` holding `bytes`, or every problem with it.
///
/// `name` must be a libp2p peer ID ([`check_peer_id`]); `bytes` must be UTF-8 text of at least
/// one line, one multiaddr per line ([`check_multiaddr`]), a single final `\n` allowed, no
/// blank lines, comments, `\r` or surrounding spaces. Each problem is worded to follow the
/// file's path and layer, as `wwpack build` reports it (`` `boot/x` from layer `base`: `` and
/// then the problem); names and lines quoted in it have their control characters escaped.
/// At most [`MAX_BOOT_PROBLEMS`] problems are worded; when there are more, one last line says
/// how many (`… and N more problems`), so the messages stay bounded whatever the file holds.
/// `ww` reads the boot files of an image with this same function.
pub fn parse_boot_file(name: &str, bytes: &[u8]) -> Result<Vec<String>, Vec<String>> {
    let mut problems = Problems::default();
    if let Err(why) = check_peer_id(name) {
        problems.push(|| {
            format!(
                "the name `{}` is not a libp2p peer ID: {why}; {BOOT_NAME_RULE}",
                printable(name)
            )
        });
    }
    let addrs = multiaddr_lines(bytes, &mut problems);
    problems.into_result(addrs)
}

/// The problems of one boot file: the first [`MAX_BOOT_PROBLEMS`] worded, the rest counted.
#[derive(Default)]
struct Problems {
    worded: Vec<String>,
    more: usize,
}

impl Problems {
    /// Records a problem; `word` is called only while fewer than the cap are worded.
    fn push(&mut self, word: impl FnOnce() -> String) {
        if self.worded.len() < MAX_BOOT_PROBLEMS {
            self.worded.push(word());
        } else {
            self.more = self.more.saturating_add(1);
        }
    }

    /// `ok` when there was no problem, else the worded problems and the count of the rest.
    fn into_result<T>(mut self, ok: T) -> Result<T, Vec<String>> {
        if self.worded.is_empty() {
            return Ok(ok);
        }
        match self.more {
            0 => {}
            1 => self.worded.push("… and 1 more problem".into()),
            n => self.worded.push(format!("… and {n} more problems")),
        }
        Err(self.worded)
    }
}

/// The multiaddrs of a boot file's content (lines numbered from 1); what is wrong with it goes
/// to `problems`, one per problem.
fn multiaddr_lines(bytes: &[u8], problems: &mut Problems) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        problems.push(|| format!("is not UTF-8 text; {BOOT_CONTENT_RULE}"));
        return Vec::new();
    };
    if text.is_empty() {
        problems.push(|| format!("is empty; {BOOT_CONTENT_RULE}, at least one"));
        return Vec::new();
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut addrs = Vec::new();
    for (i, line) in body.split('\n').enumerate() {
        let n = i + 1;
        if line.is_empty() {
            problems.push(|| format!("line {n} is blank; {BOOT_CONTENT_RULE}"));
        } else if let Err(why) = check_multiaddr(line) {
            problems.push(|| {
                format!(
                    "line {n}: `{}` is not a multiaddr: {}; {BOOT_CONTENT_RULE}",
                    printable(line),
                    printable(&why)
                )
            });
        } else {
            addrs.push(line.to_string());
        }
    }
    addrs
}

/// Checks that `s` is a multiaddr ([`ww_content::multiaddr::parse`], whose doc lists the
/// protocols accepted); the error says why not, as a phrase.
pub fn check_multiaddr(s: &str) -> Result<(), String> {
    multiaddr::check(s).map_err(|e| e.to_string())
}

/// The peers of the `boot/` directory of the image `union` (peer ID, multiaddrs), sorted by
/// peer ID, checked by the rules `wwpack build` applies to it, with the same messages: `boot`
/// must be a directory, each entry in it a regular file named by a peer ID and holding one
/// multiaddr per line. `ww` answers `Host.peers` with them. The error lists every finding.
pub fn boot_peers(union: &Union) -> Result<Vec<(String, Vec<String>)>, String> {
    let mut checker = Checker::new(union);
    if let Some(item) = union.get("boot") {
        checker.root_entry("boot", "boot", item);
    }
    let mut peers = Vec::new();
    for (path, item) in union.iter() {
        let Some(name) = path.as_str().strip_prefix("boot/") else {
            continue;
        };
        if name.contains('/') {
            continue;
        }
        if let Some(addrs) = checker
            .boot_entry(path.as_str(), name, item)
            .map_err(|e| e.to_string())?
        {
            peers.push((name.to_string(), addrs));
        }
    }
    if checker.report.errors.is_empty() {
        Ok(peers)
    } else {
        Err(summarize(&checker.report.errors))
    }
}

impl Checker<'_> {
    /// Checks the boot file `path`; its multiaddrs when it follows every rule. A file larger
    /// than [`MAX_BOOT_FILE`] is one finding, known from its metadata before it is read.
    pub(super) fn boot_entry(
        &mut self,
        path: &str,
        name: &str,
        item: &UnionEntry,
    ) -> crate::Result<Option<Vec<String>>> {
        let layer = self.layer(item).to_string();
        let source = match &item.entry {
            Entry::File { source } => source,
            Entry::Dir => {
                self.error(
                    path,
                    format!(
                        "from layer `{layer}` is a directory; `boot/` holds only regular files, \
                         no directories ({BOOT_NAME_RULE})"
                    ),
                );
                return Ok(None);
            }
            Entry::Symlink { .. } => {
                self.error(
                    path,
                    format!(
                        "from layer `{layer}` is a symlink; `boot/` holds only regular files \
                         ({BOOT_NAME_RULE})"
                    ),
                );
                return Ok(None);
            }
        };
        // The size is checked from the opened file's metadata before a byte is read; then at
        // most one byte past the cap is read, in case the file grew since.
        use std::io::Read;
        let file = ww_content::beneath::open_regular(source).map_err(Error::io("read", source))?;
        let size = file
            .metadata()
            .map_err(Error::io("read the metadata of", source))?
            .len();
        if size > MAX_BOOT_FILE {
            let rule = too_large(size);
            self.error(path, format!("from layer `{layer}`: {rule}"));
            return Ok(None);
        }
        let mut bytes = Vec::new();
        file.take(MAX_BOOT_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(Error::io("read", source))?;
        if u64::try_from(bytes.len()).map_or(true, |read| read > MAX_BOOT_FILE) {
            let rule = grew_too_large(size);
            self.error(path, format!("from layer `{layer}`: {rule}"));
            return Ok(None);
        }
        match parse_boot_file(name, &bytes) {
            Ok(addrs) => Ok(Some(addrs)),
            Err(problems) => {
                for problem in problems {
                    self.error(path, format!("from layer `{layer}`: {problem}"));
                }
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests;
