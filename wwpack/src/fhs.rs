//! The filesystem hierarchy (FHS) of images: what may live where, checked on each layer and on
//! the union of an image's layers. Every failure names the file and the rule it broke.
//!
//! The layout of an image, paths relative to its root:
//!
//! - `bin/main.wasm` is pid0: it must exist, be a regular file (not a symlink or a directory)
//!   and hold a WASI 0.2 command: a valid component exporting `wasi:cli/run@0.2.x`
//!   ([`wasm::check_command`]).
//!   Every other *regular file* below `bin/` (at any depth) whose name ends in `.wasm` must be a
//!   valid component too. Other files, directories and symlinks below `bin/` are not checked.
//! - `boot/<peer-id>`: each entry directly in `boot/` must be a regular file (not a directory or
//!   a symlink) named by a libp2p peer ID — base58btc (bitcoin alphabet) of a multihash that is
//!   either identity (code `0x00`, digest at most 64 bytes) or sha2-256 (code `0x12`, digest of
//!   exactly 32 bytes), with no bytes left over. Its content is UTF-8 text of at least one line,
//!   one multiaddr per line; a single final `\n` is allowed, but blank lines, `#` comments,
//!   `\r` and leading or trailing spaces are not. See [`check_multiaddr`] for the multiaddrs
//!   accepted.
//! - `svc/<name>/`: each entry directly in `svc/` must be a directory, a nested image, checked
//!   with these same rules recursively (`svc/a/svc/b/` too). Paths in messages are always full
//!   paths from the outermost image root, e.g. `svc/foo/bin/main.wasm`.
//! - `etc/` is free-form.
//! - `bin`, `boot`, `etc` and `svc` must be directories when present; any other entry at the
//!   root of an image (or of a nested image) is a [`Warning`], not an error.
//!
//! [`validate_layer`] checks the rules that belong to a single layer: symlinks must be relative
//! and must not climb above the layer root. Device files, FIFOs and sockets are already refused
//! by [`Tree::scan`].
//!
//! Errors are collected, not stopped at the first: [`validate_image`] and [`validate_layer`]
//! report every finding in one error, the finding itself when there is one, or
//! `N problems:` followed by one finding per line (indented by two spaces) when there are more.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::cid::{varint, IDENTITY, SHA2_256};
use crate::error::{Error, Result};
use crate::image::PID0;
use crate::tree::{Entry, RelPath, Tree};
use crate::union::{Union, UnionEntry};
use crate::wasm;

/// The entries expected at the root of an image.
pub const ROOT_ENTRIES: [&str; 4] = ["bin", "boot", "etc", "svc"];

/// The longest identity-multihash digest accepted in a peer ID.
pub const MAX_IDENTITY_DIGEST: usize = 64;

const BOOT_NAME_RULE: &str = "boot files are named by the libp2p peer ID (base58btc multihash, \
     identity or sha2-256) of the peer they address";
const BOOT_CONTENT_RULE: &str =
    "a boot file holds one multiaddr per line (no blank lines, no comments)";
const SYMLINK_RULE: &str = "symlinks must be relative and stay inside their layer";

/// A broken rule: the path (from the image or layer root) and the rule, worded to follow the
/// path: "`bin/main.wasm` is missing: ...".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: String,
    pub rule: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.path, self.rule)
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
        write!(f, "`{}` {}", self.path, self.message)
    }
}

/// Everything [`check_image`] found, in path order (a missing pid0 comes first for its image).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub errors: Vec<Finding>,
    pub warnings: Vec<Warning>,
}

/// Checks the symlinks of `layer`: a target that is absolute, or that climbs above the layer
/// root when resolved lexically from the symlink's own directory, is an error naming the layer,
/// the path, the target and the rule. All such symlinks are reported in one error.
///
/// The resolution is lexical: `..` pops a component, `.` and empty components are skipped, and
/// symlinks met on the way are not followed.
pub fn validate_layer(layer: &str, tree: &Tree) -> Result<()> {
    let findings: Vec<Finding> = tree
        .iter()
        .filter_map(|(path, entry)| match entry {
            Entry::Symlink { target } => symlink_rule(path, target).map(|rule| Finding {
                path: path.to_string(),
                rule,
            }),
            _ => None,
        })
        .collect();
    if findings.is_empty() {
        Ok(())
    } else {
        Err(Error::Layer {
            layer: layer.to_string(),
            message: summarize(&findings),
        })
    }
}

/// The rule a symlink at `path` with `target` breaks, if any.
fn symlink_rule(path: &RelPath, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return Some(format!(
            "is a symlink to the absolute path `{target}`; {SYMLINK_RULE}"
        ));
    }
    if target.is_empty() {
        return Some(format!("is a symlink with an empty target; {SYMLINK_RULE}"));
    }
    // Depth of the symlink's directory below the layer root.
    let mut depth = path.components().count() - 1;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => {
                    let why = "which climbs above the layer root";
                    return Some(format!("is a symlink to `{target}`, {why}; {SYMLINK_RULE}"));
                }
            },
            _ => depth += 1,
        }
    }
    None
}

/// Validates the union of `image` against the FHS rules (see the module documentation).
/// Returns the warnings; on any broken rule, an [`Error::Image`] that lists every finding.
/// Only a file that cannot be read stops the check early, with [`Error::Io`].
pub fn validate_image(image: &str, union: &Union) -> Result<Vec<Warning>> {
    let report = check_image(union)?;
    if report.errors.is_empty() {
        Ok(report.warnings)
    } else {
        Err(Error::Image {
            image: image.to_string(),
            message: summarize(&report.errors),
        })
    }
}

/// Checks the union of an image against the FHS rules and returns every error and warning.
/// Fails only when a file that must be inspected cannot be read.
pub fn check_image(union: &Union) -> Result<Report> {
    let mut checker = Checker {
        union,
        report: Report::default(),
    };
    checker.require_pid0("");
    for (path, item) in union.iter() {
        checker.entry(path.as_str(), item)?;
    }
    Ok(checker.report)
}

/// Whether `path` is the pid0 of an image: `bin/main.wasm`, or `svc/<name>/bin/main.wasm` at
/// any depth of nesting (`svc/a/svc/b/bin/main.wasm`).
pub fn is_pid0_path(path: &str) -> bool {
    RelPath::new(path).is_ok() && split_image(path).1 == PID0
}

/// Splits `path` into the prefix of the innermost (nested) image that holds it (`""` or
/// `svc/a/`, `svc/a/svc/b/`, ...) and the path relative to that image. `svc/<name>` itself
/// belongs to the outer image. `path` must be a valid [`RelPath`].
fn split_image(path: &str) -> (&str, &str) {
    let mut start = 0;
    loop {
        let rest = &path[start..];
        if let Some(after) = rest.strip_prefix("svc/") {
            if let Some(slash) = after.find('/') {
                start += "svc/".len() + slash + 1;
                continue;
            }
        }
        return (&path[..start], rest);
    }
}

fn summarize(findings: &[Finding]) -> String {
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

struct Checker<'a> {
    union: &'a Union,
    report: Report,
}

impl Checker<'_> {
    fn error(&mut self, path: &str, rule: String) {
        self.report.errors.push(Finding {
            path: path.to_string(),
            rule,
        });
    }

    fn layer(&self, item: &UnionEntry) -> &str {
        self.union
            .layers()
            .get(item.layer)
            .map_or("?", String::as_str)
    }

    /// The image whose root is `prefix` (`""` or `svc/<name>/...`) must have a pid0.
    fn require_pid0(&mut self, prefix: &str) {
        let pid0 = format!("{prefix}{PID0}");
        if self.union.get(&pid0).is_some() {
            return;
        }
        let layers = self.union.layers().join(", ");
        let rule = match prefix.strip_suffix('/') {
            None => format!("is missing: no layer of [{layers}] provides pid0"),
            Some(nested) => format!(
                "is missing: no layer of [{layers}] provides pid0 of the nested image `{nested}`"
            ),
        };
        self.error(&pid0, rule);
    }

    fn entry(&mut self, path: &str, item: &UnionEntry) -> Result<()> {
        let (_, rel) = split_image(path);
        let mut parts = rel.split('/');
        let top = parts.next().unwrap_or_default();
        let rest: Vec<&str> = parts.collect();
        match (top, rest.as_slice()) {
            (_, []) => self.root_entry(path, top, item),
            ("bin", _) if rel == PID0 => self.pid0(path, item)?,
            ("bin", _) => self.bin_entry(path, item)?,
            ("boot", [name]) => self.boot_entry(path, name, item)?,
            ("svc", [_]) => self.svc_entry(path, item),
            // etc/ is free-form; below boot/<dir> (itself an error) and unexpected root entries
            // (already warned about) nothing more is said.
            _ => {}
        }
        Ok(())
    }

    fn root_entry(&mut self, path: &str, name: &str, item: &UnionEntry) {
        let layer = self.layer(item).to_string();
        if ROOT_ENTRIES.contains(&name) {
            if item.entry != Entry::Dir {
                self.error(
                    path,
                    format!(
                        "from layer `{layer}` is a {}; `{name}` must be a directory",
                        item.entry.kind()
                    ),
                );
            }
        } else {
            self.report.warnings.push(Warning {
                path: path.to_string(),
                message: format!(
                    "({} from layer `{layer}`) is not part of the image layout; the root of an \
                     image holds only {}",
                    item.entry.kind(),
                    ROOT_ENTRIES.join(", ")
                ),
            });
        }
    }

    fn pid0(&mut self, path: &str, item: &UnionEntry) -> Result<()> {
        let layer = self.layer(item).to_string();
        let Entry::File { source } = &item.entry else {
            self.error(
                path,
                format!(
                    "from layer `{layer}` is a {}, not a file; pid0 must be a regular file \
                     holding a WebAssembly component",
                    item.entry.kind()
                ),
            );
            return Ok(());
        };
        let bytes = std::fs::read(source).map_err(Error::io("read", source))?;
        if let Err(rule) = wasm::check_command(&bytes) {
            self.error(
                path,
                format!("from layer `{layer}` ({}) {rule}", source.display()),
            );
        }
        Ok(())
    }

    fn bin_entry(&mut self, path: &str, item: &UnionEntry) -> Result<()> {
        let Entry::File { source } = &item.entry else {
            return Ok(());
        };
        if !path.ends_with(".wasm") {
            return Ok(());
        }
        let bytes = std::fs::read(source).map_err(Error::io("read", source))?;
        if let Err(rule) = wasm::check_component(&bytes) {
            let layer = self.layer(item).to_string();
            self.error(
                path,
                format!(
                    "from layer `{layer}` ({}) {rule}; every `.wasm` file under `bin/` must be \
                     a WebAssembly component",
                    source.display()
                ),
            );
        }
        Ok(())
    }

    fn boot_entry(&mut self, path: &str, name: &str, item: &UnionEntry) -> Result<()> {
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
                return Ok(());
            }
            Entry::Symlink { .. } => {
                self.error(
                    path,
                    format!(
                        "from layer `{layer}` is a symlink; `boot/` holds only regular files \
                         ({BOOT_NAME_RULE})"
                    ),
                );
                return Ok(());
            }
        };
        if let Err(why) = check_peer_id(name) {
            self.error(
                path,
                format!(
                    "from layer `{layer}`: the name `{name}` is not a libp2p peer ID: {why}; \
                     {BOOT_NAME_RULE}"
                ),
            );
        }
        let bytes = std::fs::read(source).map_err(Error::io("read", source))?;
        for problem in boot_problems(&bytes) {
            self.error(path, format!("from layer `{layer}`: {problem}"));
        }
        Ok(())
    }

    fn svc_entry(&mut self, path: &str, item: &UnionEntry) {
        if item.entry == Entry::Dir {
            self.require_pid0(&format!("{path}/"));
        } else {
            let layer = self.layer(item).to_string();
            self.error(
                path,
                format!(
                    "from layer `{layer}` is a {}; each entry of `svc/` must be a directory \
                     holding a nested image",
                    item.entry.kind()
                ),
            );
        }
    }
}

/// What is wrong with the content of a boot file, one message per problem (lines numbered
/// from 1).
fn boot_problems(bytes: &[u8]) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return vec![format!("is not UTF-8 text; {BOOT_CONTENT_RULE}")];
    };
    if text.is_empty() {
        return vec![format!("is empty; {BOOT_CONTENT_RULE}, at least one")];
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    body.split('\n')
        .enumerate()
        .filter_map(|(i, line)| {
            let n = i + 1;
            if line.is_empty() {
                Some(format!("line {n} is blank; {BOOT_CONTENT_RULE}"))
            } else {
                check_multiaddr(line).err().map(|why| {
                    format!("line {n}: `{line}` is not a multiaddr: {why}; {BOOT_CONTENT_RULE}")
                })
            }
        })
        .collect()
}

/// Checks that `s` is a libp2p peer ID: base58btc (bitcoin alphabet) of an identity multihash
/// (digest at most [`MAX_IDENTITY_DIGEST`] bytes) or a sha2-256 multihash (32-byte digest), with
/// nothing left over. The error says why not, as a phrase ("not base58btc (...)").
pub fn check_peer_id(s: &str) -> std::result::Result<(), String> {
    if s.is_empty() {
        return Err("empty".into());
    }
    let bytes = bs58::decode(s)
        .into_vec()
        .map_err(|e| format!("not base58btc ({e})"))?;
    let (code, a) =
        varint::read(&bytes).ok_or("not a multihash (its code is not a valid varint)")?;
    let (len, b) = bytes
        .get(a..)
        .and_then(varint::read)
        .ok_or("not a multihash (its length is not a valid varint)")?;
    let len = usize::try_from(len).map_err(|_| "not a multihash (its length is too large)")?;
    match code {
        IDENTITY if len > MAX_IDENTITY_DIGEST => {
            return Err(format!(
                "an identity multihash of {len} bytes, more than {MAX_IDENTITY_DIGEST}"
            ))
        }
        IDENTITY => {}
        SHA2_256 if len != 32 => {
            return Err(format!("a sha2-256 multihash of {len} bytes, not 32"))
        }
        SHA2_256 => {}
        other => {
            return Err(format!(
                "a multihash with code {other:#04x}, neither identity (0x00) nor sha2-256 (0x12)"
            ))
        }
    }
    let held = bytes.len() - (a + b);
    if held < len {
        Err(format!(
            "a truncated multihash: it declares {len} digest bytes but holds {held}"
        ))
    } else if held > len {
        Err(format!(
            "a multihash followed by {} bytes left over",
            held - len
        ))
    } else {
        Ok(())
    }
}

/// How the value of a multiaddr protocol is checked.
enum Value {
    None,
    Ip4,
    Ip6,
    Host,
    Port,
    PeerId,
    Any,
}

/// Checks a textual multiaddr: `/` followed by protocol names, each followed by its value when
/// it has one. Accepted: `ip4` (an IPv4 address), `ip6` (an IPv6 address), `dns`, `dns4`,
/// `dns6`, `dnsaddr` (a host name: non-empty, without whitespace or control characters), `tcp`,
/// `udp` (a port, decimal digits, 0 to 65535), `p2p`, `ipfs` (a peer ID, see [`check_peer_id`]),
/// `certhash`, `sni` (any non-empty value), and the value-less `quic`, `quic-v1`, `ws`, `wss`,
/// `tls`, `noise`, `webtransport`, `webrtc`, `webrtc-direct`, `http`, `https`, `p2p-circuit`.
/// The error says why not, as a phrase.
pub fn check_multiaddr(s: &str) -> std::result::Result<(), String> {
    let Some(rest) = s.strip_prefix('/') else {
        return Err("a multiaddr starts with `/`".into());
    };
    let mut parts = rest.split('/');
    while let Some(name) = parts.next() {
        let value = match name {
            "" => return Err("empty protocol name (`//`, or `/` at the end)".into()),
            "ip4" => Value::Ip4,
            "ip6" => Value::Ip6,
            "dns" | "dns4" | "dns6" | "dnsaddr" => Value::Host,
            "tcp" | "udp" => Value::Port,
            "p2p" | "ipfs" => Value::PeerId,
            "certhash" | "sni" => Value::Any,
            "quic" | "quic-v1" | "ws" | "wss" | "tls" | "noise" | "webtransport" | "webrtc"
            | "webrtc-direct" | "http" | "https" | "p2p-circuit" => Value::None,
            _ => return Err(format!("unknown protocol `{name}`")),
        };
        if let Value::None = value {
            continue;
        }
        let v = match parts.next() {
            None | Some("") => return Err(format!("protocol `{name}` needs a value")),
            Some(v) => v,
        };
        let bad = match value {
            Value::Ip4 => v
                .parse::<Ipv4Addr>()
                .err()
                .map(|_| "is not an IPv4 address".to_string()),
            Value::Ip6 => v
                .parse::<Ipv6Addr>()
                .err()
                .map(|_| "is not an IPv6 address".to_string()),
            Value::Host => v
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
                .then(|| "is not a host name (it holds whitespace or control characters)".into()),
            Value::Port => (!v.bytes().all(|b| b.is_ascii_digit()) || v.parse::<u16>().is_err())
                .then(|| "is not a port number (0 to 65535)".into()),
            Value::PeerId => check_peer_id(v)
                .err()
                .map(|why| format!("is not a libp2p peer ID: {why}")),
            Value::Any | Value::None => None,
        };
        if let Some(why) = bad {
            return Err(format!("`{name}` value `{v}` {why}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A minimal WASI 0.2 command: a component exporting `wasi:cli/run@0.2.0`.
    fn component() -> Vec<u8> {
        wat::parse_str(
            r#"(component
                (core module $m (func (export "run") (result i32) i32.const 0))
                (core instance $i (instantiate $m))
                (func $run (result (result)) (canon lift (core func $i "run")))
                (instance $inst (export "run" (func $run)))
                (export "wasi:cli/run@0.2.0" (instance $inst)))"#,
        )
        .unwrap()
    }

    fn module() -> Vec<u8> {
        wat::parse_str("(module)").unwrap()
    }

    /// A tree holding `files`, their bytes written below `dir`.
    fn tree(dir: &Path, files: &[(&str, &[u8])]) -> Tree {
        let mut t = Tree::default();
        for (i, (path, bytes)) in files.iter().enumerate() {
            let source = dir.join(format!("f{i}-{}", path.replace('/', "_")));
            std::fs::write(&source, bytes).unwrap();
            t.insert_file(RelPath::new(path).unwrap(), source);
        }
        t
    }

    /// Validates image `img` made of one layer `base` holding `files`.
    fn validate(files: &[(&str, &[u8])]) -> std::result::Result<Vec<Warning>, String> {
        let dir = tempfile::tempdir().unwrap();
        let t = tree(dir.path(), files);
        let u = Union::of([("base", &t)]).unwrap();
        validate_image("img", &u).map_err(|e| e.to_string())
    }

    fn peer(multihash: &[u8]) -> String {
        bs58::encode(multihash).into_string()
    }

    fn identity_peer() -> String {
        let mut mh = vec![0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
        mh.extend([7u8; 32]);
        peer(&mh)
    }

    fn sha_peer() -> String {
        let mut mh = vec![0x12, 0x20];
        mh.extend([9u8; 32]);
        peer(&mh)
    }

    fn assert_has(err: &str, parts: &[&str]) {
        for p in parts {
            assert!(err.contains(p), "{p:?} not in:\n{err}");
        }
    }

    #[test]
    fn a_minimal_image_is_valid() {
        let c = component();
        assert_eq!(validate(&[("bin/main.wasm", &c)]).unwrap(), []);
    }

    #[test]
    fn pid0_missing_is_an_error_naming_the_layers() {
        let err = validate(&[("etc/motd", b"hi")]).unwrap_err();
        assert_has(
            &err,
            &[
                "image `img`",
                "`bin/main.wasm` is missing",
                "[base]",
                "pid0",
            ],
        );
    }

    #[test]
    fn pid0_core_module_or_garbage_is_an_error_naming_layer_and_source() {
        let dir = tempfile::tempdir().unwrap();
        let c = component();
        let m = module();
        let base = tree(dir.path(), &[("bin/main.wasm", &c)]);
        let top = tree(dir.path(), &[("bin/main.wasm", &m)]);
        let u = Union::of([("base", &base), ("top", &top)]).unwrap();
        let err = validate_image("img", &u).unwrap_err().to_string();
        assert_has(
            &err,
            &[
                "image `img`: `bin/main.wasm` from layer `top` (",
                "is a core WebAssembly module, not a component",
            ],
        );
        assert!(err.contains(dir.path().to_str().unwrap()), "{err}");

        let err = validate(&[("bin/main.wasm", b"#!/bin/sh\n")]).unwrap_err();
        assert_has(
            &err,
            &["`bin/main.wasm` from layer `base`", "not WebAssembly"],
        );
    }

    #[test]
    fn pid0_directory_or_symlink_is_an_error() {
        let c = component();
        let err = validate(&[("bin/main.wasm/x", &c)]).unwrap_err();
        assert_has(
            &err,
            &["`bin/main.wasm` from layer `base` is a directory, not a file"],
        );

        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        std::fs::write(dir.path().join("bin/real.wasm"), &c).unwrap();
        std::os::unix::fs::symlink("real.wasm", dir.path().join("bin/main.wasm")).unwrap();
        let t = Tree::scan(dir.path()).unwrap();
        validate_layer("base", &t).unwrap();
        let u = Union::of([("base", &t)]).unwrap();
        let err = validate_image("img", &u).unwrap_err().to_string();
        assert_has(
            &err,
            &["`bin/main.wasm` from layer `base` is a symlink, not a file"],
        );
    }

    #[test]
    fn pid0_must_be_a_wasi_command() {
        let library = wat::parse_str("(component)").unwrap();
        let err = validate(&[("bin/main.wasm", &library)]).unwrap_err();
        assert!(
            err.contains("bin/main.wasm") && err.contains("not a WASI command"),
            "{err}"
        );
    }

    #[test]
    fn other_wasm_files_in_bin_must_be_components() {
        let c = component();
        let m = module();
        assert_eq!(
            validate(&[
                ("bin/main.wasm", &c),
                ("bin/shell.wasm", &c),
                ("bin/README", b"not wasm, not checked"),
            ])
            .unwrap(),
            []
        );
        let err = validate(&[("bin/main.wasm", &c), ("bin/tools/other.wasm", &m)]).unwrap_err();
        assert_has(
            &err,
            &[
                "`bin/tools/other.wasm` from layer `base`",
                "core WebAssembly module",
                "every `.wasm` file under `bin/` must be a WebAssembly component",
            ],
        );
    }

    #[test]
    fn root_entries_must_be_directories() {
        let c = component();
        let err = validate(&[("bin/main.wasm", &c), ("etc/x", b""), ("svc", b"")]).unwrap_err();
        assert_has(
            &err,
            &["`svc` from layer `base` is a file; `svc` must be a directory"],
        );
    }

    #[test]
    fn unexpected_root_entries_are_warnings() {
        let c = component();
        let warnings = validate(&[
            ("bin/main.wasm", &c),
            ("etc/anything/goes", b"free-form"),
            ("lib/libc.so", b""),
            ("README", b""),
        ])
        .unwrap();
        let paths: Vec<_> = warnings.iter().map(|w| w.path.as_str()).collect();
        assert_eq!(paths, ["README", "lib"]);
        let text = warnings[1].to_string();
        assert_has(
            &text,
            &[
                "`lib`",
                "not part of the image layout",
                "bin, boot, etc, svc",
            ],
        );
    }

    #[test]
    fn errors_are_all_reported_one_per_line() {
        let m = module();
        let err = validate(&[("bin/main.wasm", &m), ("boot/nope", b"/ip4/1.2.3.4")]).unwrap_err();
        assert!(
            err.starts_with("image `img`: 2 problems:\n  `bin/main.wasm`"),
            "{err}"
        );
        assert!(err.contains("\n  `boot/nope`"), "{err}");
    }

    #[test]
    fn peer_ids() {
        let id = identity_peer();
        assert!(id.starts_with("12D3KooW"), "{id}");
        let sha = sha_peer();
        assert!(sha.starts_with("Qm"), "{sha}");
        check_peer_id(&id).unwrap();
        check_peer_id(&sha).unwrap();
        check_peer_id(&peer(&[0x00, 0x00])).unwrap();

        let cases: [(String, &str); 8] = [
            ("".into(), "empty"),
            ("0OIl".into(), "not base58btc"),
            ("Qm!".into(), "not base58btc"),
            (
                peer(&[[0x11, 0x14].as_slice(), &[1; 20]].concat()),
                "code 0x11",
            ),
            (
                peer(&[[0x12, 0x1f].as_slice(), &[1; 31]].concat()),
                "31 bytes, not 32",
            ),
            (
                peer(&[[0x00, 65].as_slice(), &[1; 65]].concat()),
                "65 bytes, more than 64",
            ),
            (
                peer(&[[0x12, 0x20].as_slice(), &[1; 33]].concat()),
                "1 bytes left over",
            ),
            (
                peer(&[[0x12, 0x20].as_slice(), &[1; 10]].concat()),
                "truncated",
            ),
        ];
        for (s, why) in cases {
            let err = check_peer_id(&s).unwrap_err();
            assert!(err.contains(why), "{s:?}: {err}");
        }
        assert!(check_peer_id(&peer(&[0x80]))
            .unwrap_err()
            .contains("varint"));
    }

    #[test]
    fn boot_files_named_by_peer_ids_pass() {
        let c = component();
        let id = identity_peer();
        let sha = sha_peer();
        let text = format!(
            "/ip4/127.0.0.1/tcp/2020/p2p/{id}\n/dns4/example.com/udp/4001/quic-v1\n/ip6/::1/tcp/1\n"
        );
        let a = format!("boot/{id}");
        let b = format!("boot/{sha}");
        validate(&[
            ("bin/main.wasm", &c),
            (&a, text.as_bytes()),
            (&b, b"/ip6/::1/tcp/1"),
        ])
        .unwrap();
    }

    #[test]
    fn boot_file_names_must_be_peer_ids() {
        let c = component();
        let wrong_code = format!(
            "boot/{}",
            peer(&[[0x11, 0x14].as_slice(), &[1; 20]].concat())
        );
        for (path, why) in [
            ("boot/not-a-peer", "not base58btc"),
            (wrong_code.as_str(), "code 0x11"),
        ] {
            let err =
                validate(&[("bin/main.wasm", &c), (path, b"/ip4/1.2.3.4/tcp/1\n")]).unwrap_err();
            assert_has(
                &err,
                &[
                    &format!("`{path}` from layer `base`"),
                    "is not a libp2p peer ID",
                    why,
                    "boot files are named by the libp2p peer ID",
                ],
            );
        }
    }

    #[test]
    fn boot_entries_must_be_regular_files() {
        let c = component();
        let nested = format!("boot/{}/x", sha_peer());
        let err = validate(&[("bin/main.wasm", &c), (&nested, b"/ip4/1.2.3.4\n")]).unwrap_err();
        assert_has(
            &err,
            &[&format!(
                "`boot/{}` from layer `base` is a directory",
                sha_peer()
            )],
        );
        // Nothing is said about the file inside the directory.
        assert!(!err.contains("problems"), "{err}");
    }

    #[test]
    fn boot_file_contents_are_one_multiaddr_per_line() {
        let c = component();
        let path = format!("boot/{}", identity_peer());
        let not = "is not a multiaddr:";
        let cases: [(&[u8], String); 10] = [
            (
                b"ip4/1.2.3.4/tcp/1\n",
                format!("line 1: `ip4/1.2.3.4/tcp/1` {not} a multiaddr starts with `/`"),
            ),
            (
                b"/ip4/1.2.3.4\n/foo/1\n",
                format!("line 2: `/foo/1` {not} unknown protocol `foo`"),
            ),
            (
                b"/ip4/1.2.3.4/tcp/70000",
                format!("line 1: `/ip4/1.2.3.4/tcp/70000` {not} `tcp` value `70000` is not a port"),
            ),
            (
                b"/ip4/1.2.3.4\n/ip4/1.2.3/tcp/1\n",
                format!("line 2: `/ip4/1.2.3/tcp/1` {not} `ip4` value `1.2.3` is not an IPv4"),
            ),
            (
                b"/ip4/1.2.3.4/tcp",
                format!("line 1: `/ip4/1.2.3.4/tcp` {not} protocol `tcp` needs a value"),
            ),
            (b"", "is empty".into()),
            (b"/ip4/1.2.3.4\n\n/ip4/1.2.3.4\n", "line 2 is blank".into()),
            (b"/ip4/1.2.3.4\n\n", "line 2 is blank".into()),
            (
                b"# seeds\n/ip4/1.2.3.4\n",
                format!("line 1: `# seeds` {not}"),
            ),
            (b"\xff\n", "is not UTF-8".into()),
        ];
        for (content, why) in cases {
            let err = validate(&[("bin/main.wasm", &c), (&path, content)]).unwrap_err();
            assert_has(
                &err,
                &[
                    &format!("`{path}` from layer `base`: "),
                    &why,
                    "one multiaddr per line",
                ],
            );
        }
    }

    #[test]
    fn multiaddrs() {
        let id = identity_peer();
        let sha = sha_peer();
        for good in [
            format!("/ip4/127.0.0.1/tcp/2020/p2p/{id}"),
            "/dns4/example.com/udp/4001/quic-v1".into(),
            "/ip6/::1/tcp/1".into(),
            format!("/dnsaddr/bootstrap.libp2p.io/ipfs/{sha}"),
            "/ip4/1.2.3.4/udp/1/quic-v1/webtransport/certhash/uEiAbc".into(),
            format!("/ip4/1.2.3.4/tcp/443/tls/sni/example.com/ws/p2p/{id}/p2p-circuit/p2p/{sha}"),
            "/dns/a/tcp/80/http".into(),
            "/ip4/1.2.3.4/udp/1/webrtc-direct".into(),
            "/ip4/1.2.3.4/tcp/1/noise".into(),
        ] {
            check_multiaddr(&good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for (bad, why) in [
            ("", "starts with `/`"),
            ("/", "empty protocol name"),
            ("/ip4/1.2.3.4/", "empty protocol name"),
            ("/ip4//tcp/1", "needs a value"),
            ("/ip6/1.2.3.4", "not an IPv6 address"),
            ("/tcp/+1", "not a port number"),
            ("/tcp/1 ", "not a port number"),
            ("/dns4/exa mple.com", "not a host name"),
            ("/p2p/QmNope", "not a libp2p peer ID"),
            ("/quic/1", "unknown protocol `1`"),
        ] {
            let err = check_multiaddr(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn nested_images_are_validated_recursively() {
        let c = component();
        let m = module();
        let boot = format!("svc/foo/boot/{}", sha_peer());
        validate(&[
            ("bin/main.wasm", &c),
            ("svc/foo/bin/main.wasm", &c),
            ("svc/foo/etc/conf", b"x"),
            (&boot, b"/ip4/10.0.0.1/tcp/1\n"),
            ("svc/foo/svc/bar/bin/main.wasm", &c),
        ])
        .unwrap();

        // A nested image missing its pid0.
        let err = validate(&[("bin/main.wasm", &c), ("svc/foo/etc/conf", b"x")]).unwrap_err();
        assert_has(
            &err,
            &[
                "`svc/foo/bin/main.wasm` is missing",
                "pid0 of the nested image `svc/foo`",
            ],
        );

        // A file directly in svc/.
        let err = validate(&[("bin/main.wasm", &c), ("svc/foo", &c)]).unwrap_err();
        assert_has(
            &err,
            &["`svc/foo` from layer `base` is a file; each entry of `svc/` must be a directory"],
        );

        // Deeper nesting, with full paths in every message.
        let err = validate(&[
            ("bin/main.wasm", &c),
            ("svc/a/bin/main.wasm", &c),
            ("svc/a/svc/b/bin/main.wasm", &m),
            ("svc/a/svc/b/boot/x", b"/ip4/1.2.3.4\n"),
            ("svc/a/svc/c/etc/x", b""),
        ])
        .unwrap_err();
        assert_has(
            &err,
            &[
                "3 problems",
                "`svc/a/svc/b/bin/main.wasm` from layer `base`",
                "core WebAssembly module",
                "`svc/a/svc/b/boot/x` from layer `base`: the name `x` is not a libp2p peer ID",
                "`svc/a/svc/c/bin/main.wasm` is missing",
            ],
        );

        // Warnings in nested images carry their full path.
        let warnings = validate(&[
            ("bin/main.wasm", &c),
            ("svc/foo/bin/main.wasm", &c),
            ("svc/foo/lib/x", b""),
        ])
        .unwrap();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].path, "svc/foo/lib");
    }

    fn layer_of(links: &[(&str, &str)]) -> Tree {
        let dir = tempfile::tempdir().unwrap();
        for (path, target) in links {
            let at = dir.path().join(path);
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, at).unwrap();
        }
        Tree::scan(dir.path()).unwrap()
    }

    #[test]
    fn symlinks_must_stay_inside_the_layer() {
        validate_layer(
            "l",
            &layer_of(&[
                ("a/b", "../c"),
                ("a2", "b/c"),
                ("d/e", "./../f/./g"),
                ("x/y", ".."),
            ]),
        )
        .unwrap();

        for (path, target, why) in [
            ("etc/passwd", "/etc/passwd", "absolute path `/etc/passwd`"),
            ("x", "../x", "climbs above the layer root"),
            ("a/b", "../../x", "climbs above the layer root"),
            ("a/b", "c/../../../x", "climbs above the layer root"),
            ("a", "..", "climbs above the layer root"),
        ] {
            let err = validate_layer("l", &layer_of(&[(path, target)]))
                .unwrap_err()
                .to_string();
            assert_has(
                &err,
                &[
                    &format!("layer `l`: `{path}` is a symlink to"),
                    &format!("`{target}`"),
                    why,
                    "symlinks must be relative and stay inside their layer",
                ],
            );
        }

        let err = validate_layer("l", &layer_of(&[("a", "/x"), ("b", "../y")]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("layer `l`: 2 problems:\n  `a`"), "{err}");
    }

    #[test]
    fn pid0_paths() {
        for yes in [
            "bin/main.wasm",
            "svc/a/bin/main.wasm",
            "svc/a/svc/b/bin/main.wasm",
        ] {
            assert!(is_pid0_path(yes), "{yes}");
        }
        for no in [
            "bin/other.wasm",
            "svc/bin/main.wasm",
            "svc//bin/main.wasm",
            "svc/a/etc/bin/main.wasm",
            "etc/bin/main.wasm",
            "/bin/main.wasm",
            "bin/main.wasm/x",
            "svc/a/bin",
            "",
        ] {
            assert!(!is_pid0_path(no), "{no}");
        }
    }
}
