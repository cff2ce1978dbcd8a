//! The filesystem hierarchy (FHS) of images: what may live where, checked on each layer and on
//! the union of an image's layers. Every failure names the file and the rule it broke.
//!
//! The layout of an image, paths relative to its root:
//!
//! - `bin/main.wasm` is pid0: it must exist, be a regular file (not a symlink or a directory)
//!   and hold a WASI 0.2 command: a valid component exporting `wasi:cli/run@0.2.x`
//!   ([`crate::wasm::check_command`]).
//!   Every other *regular file* below `bin/` (at any depth) whose name ends in `.wasm` must be a
//!   valid component too. Other files, directories and symlinks below `bin/` are not checked.
//! - `boot/<peer-id>`: each entry directly in `boot/` must be a regular file (not a directory or
//!   a symlink) named by a libp2p peer ID — base58btc (bitcoin alphabet) of a multihash that is
//!   either identity (code `0x00`, digest at most 64 bytes) or sha2-256 (code `0x12`, digest of
//!   exactly 32 bytes), with no bytes left over. Its content is UTF-8 text of at least one line,
//!   one multiaddr per line; a single final `\n` is allowed, but blank lines, `#` comments,
//!   `\r` and leading or trailing spaces are not. See [`ww_content::multiaddr`] for the multiaddrs
//!   accepted.
//! - `svc/<name>/`: each entry directly in `svc/` must be a directory, a nested image, checked
//!   with these same rules recursively (`svc/a/svc/b/` too). Paths in messages are always full
//!   paths from the outermost image root, e.g. `svc/foo/bin/main.wasm`.
//! - `etc/` is free-form.
//! - `bin`, `boot`, `etc` and `svc` must be directories when present; any other entry at the
//!   root of an image (or of a nested image) is a [`Warning`], not an error.
//!
//! [`validate_layer`] checks the rules that belong to a single layer: symlinks must be relative
//! and stay inside the layer when resolved through the layer's own symlinks, as the kernel
//! would resolve them with the layer as the root ([`symlinks`]: chains, `..` through links, no
//! loops, at most 40 links). [`check_image`] applies the same rule to the union, whose links
//! may lead through other layers' links. Device files, FIFOs and sockets are already refused by
//! [`ww_content::tree::Tree::scan`]. The boot-file format is [`boot`]'s, which `ww` uses too.
//!
//! Errors are collected, not stopped at the first: [`validate_image`] and [`validate_layer`]
//! report every finding in one error, the finding itself when there is one, or
//! `N problems:` followed by one finding per line (indented by two spaces) when there are more.
//! Paths and targets quoted in findings have their control characters escaped
//! ([`printable`]), since they come from whoever made the tree.
//!
//! The rules live in one module each: [`layer`] (a layer's symlinks), [`image`] (the union:
//! pid0, root entries, nested images, symlinks across layers), `bin` (pid0 and the other
//! `.wasm` files), [`boot`] (boot files) and [`symlinks`] (where a tree's symlinks lead).

use std::fmt;

use ww_content::text::printable;

mod bin;
pub mod boot;
pub mod image;
pub mod layer;
pub mod symlinks;

#[cfg(test)]
mod tests;

pub use boot::{
    boot_peers, check_multiaddr, check_peer_id, parse_boot_file, BOOT_CONTENT_RULE, BOOT_NAME_RULE,
    MAX_IDENTITY_DIGEST,
};
pub use image::{check_image, check_union_symlinks, is_pid0_path, validate_image};
pub use layer::validate_layer;

/// The entries expected at the root of an image.
pub const ROOT_ENTRIES: [&str; 4] = ["bin", "boot", "etc", "svc"];

/// A broken rule: the path (from the image or layer root) and the rule, worded to follow the
/// path: "`bin/main.wasm` is missing: ...".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: String,
    pub rule: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&printable(&format!("`{}` {}", self.path, self.rule)))
    }
}

/// Something unusual that is allowed: the path (from the image root) and why it is unusual.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&printable(&format!("`{}` {}", self.path, self.message)))
    }
}

/// Everything [`check_image`] found, in path order (a missing pid0 comes first for its image),
/// then the symlinks of the union that leave the image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub errors: Vec<Finding>,
    pub warnings: Vec<Warning>,
}

/// The findings as one message: the finding itself, or `N problems:` and one per line.
pub(super) fn summarize(findings: &[Finding]) -> String {
    match findings {
        [one] => one.to_string(),
        many => {
            let mut message = format!("{} problems:", many.len());
            for finding in many {
                message.push_str("\n  ");
                message.push_str(&finding.to_string());
            }
            message
        }
    }
}
