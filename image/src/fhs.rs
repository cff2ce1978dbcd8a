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
//! and stay inside the layer when resolved through the layer's own symlinks, as the kernel
//! would resolve them with the layer as the root ([`symlinks`]: chains, `..` through links, no
//! loops, at most 40 links). [`check_image`] applies the same rule to the union, whose links
//! may lead through other layers' links. Device files, FIFOs and sockets are already refused by
//! [`Tree::scan`]. The boot-file format is [`boot`]'s, which `ww` uses too.
//!
//! Errors are collected, not stopped at the first: [`validate_image`] and [`validate_layer`]
//! report every finding in one error, the finding itself when there is one, or
//! `N problems:` followed by one finding per line (indented by two spaces) when there are more.
//! Paths and targets quoted in findings have their control characters escaped
//! ([`printable`]), since they come from whoever made the tree.

use std::fmt;

use crate::error::{Error, Result};
use crate::union::{Union, UnionEntry};
use crate::wasm;
use crate::PID0;
use ww_content::text::printable;
use ww_content::tree::{Entry, RelPath, Tree};

pub mod boot;
pub mod symlinks;

pub use boot::{
    check_multiaddr, check_peer_id, parse_boot_file, BOOT_CONTENT_RULE, BOOT_NAME_RULE,
    MAX_IDENTITY_DIGEST,
};
use symlinks::{Problem, MAX_SYMLINKS, MAX_TARGET_LEN};

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

/// Checks the symlinks of `layer`: a target that is absolute, empty or longer than Linux
/// allows, or whose resolution through the layer's own symlinks climbs above the layer root,
/// loops, or follows more than 40 links, is an error naming the layer, the path, the target and
/// the rule. All such symlinks are reported in one error. Names a resolution meets that the
/// layer does not have (a link that dangles here may point into another layer) are resolved
/// lexically from there on; [`check_image`] checks the union, across layers.
pub fn validate_layer(layer: &str, tree: &Tree) -> Result<()> {
    let scope = Scope::Layer;
    let findings: Vec<Finding> = symlinks::check(tree)
        .into_iter()
        .map(|(path, target, problem)| Finding {
            path: path.to_string(),
            rule: symlink_rule(&scope, &target, &path, &problem),
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

/// Where a symlink is checked: in one layer, or in the union of an image's layers (whose
/// messages name the layer of each link).
enum Scope<'a> {
    Layer,
    Image(&'a Union),
}

impl Scope<'_> {
    fn word(&self) -> &'static str {
        match self {
            Scope::Layer => "layer",
            Scope::Image(_) => "image",
        }
    }

    /// ` (from layer `x`)` in an image, nothing in a layer.
    fn from(&self, path: &RelPath) -> String {
        match self {
            Scope::Layer => String::new(),
            Scope::Image(union) => union
                .get(path.as_str())
                .and_then(|item| union.layers().get(item.layer))
                .map_or(String::new(), |layer| format!(" (from layer `{layer}`)")),
        }
    }
}

/// The rule the symlink at `path` to `target` breaks, worded to follow its path.
fn symlink_rule(scope: &Scope, target: &str, path: &RelPath, problem: &Problem) -> String {
    let word = scope.word();
    let rule = format!(
        "symlinks must be relative and stay inside their {word} when resolved through its \
         symlinks (at most {MAX_SYMLINKS})"
    );
    let target = printable(target);
    let what = match problem {
        Problem::Absolute => {
            return format!("is a symlink to the absolute path `{target}`; {rule}")
        }
        Problem::Empty => return format!("is a symlink with an empty target; {rule}"),
        Problem::TooLong(len) => {
            return format!(
                "is a symlink whose target is {len} bytes, more than the {MAX_TARGET_LEN} Linux \
                 stores; {rule}"
            )
        }
        Problem::Escapes { via, followed } if via.path == *path => {
            if *followed {
                format!("climbs above the {word} root once the symlinks on its way are followed")
            } else {
                format!("climbs above the {word} root")
            }
        }
        Problem::Escapes { via, .. } if via.absolute => format!(
            "leads out of the {word} through the symlink `{}`{} to the absolute path `{}`",
            via.path,
            scope.from(&via.path),
            printable(&via.target)
        ),
        Problem::Escapes { via, .. } => format!(
            "climbs above the {word} root through the symlink `{}`{} -> `{}`",
            via.path,
            scope.from(&via.path),
            printable(&via.target)
        ),
        Problem::Loops { via } if via == path => "loops: resolving it leads back to itself".into(),
        Problem::Loops { via } => format!(
            "loops: resolving it meets the symlink `{via}`{} again",
            scope.from(via)
        ),
        Problem::TooManyLinks => format!(
            "takes more than {MAX_SYMLINKS} symlinks to resolve (Linux refuses it with ELOOP)"
        ),
    };
    format!("is a symlink to `{target}`, which {what}; {rule}")
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
    checker.union_symlinks()?;
    Ok(checker.report)
}

/// Checks the symlinks of the union of an image, across its layers, as [`check_image`] does
/// (`ww` checks each layer with [`validate_layer`] and the union with this). The error lists
/// every finding.
pub fn check_union_symlinks(union: &Union) -> std::result::Result<(), String> {
    let mut checker = Checker {
        union,
        report: Report::default(),
    };
    checker.union_symlinks().map_err(|e| e.to_string())?;
    if checker.report.errors.is_empty() {
        Ok(())
    } else {
        Err(summarize(&checker.report.errors))
    }
}

/// The peers of the `boot/` directory of the image `union` (peer ID, multiaddrs), sorted by
/// peer ID, checked by the rules `wwpack build` applies to it, with the same messages: `boot`
/// must be a directory, each entry in it a regular file named by a peer ID and holding one
/// multiaddr per line. `ww` answers `Host.peers` with them. The error lists every finding.
pub fn boot_peers(union: &Union) -> std::result::Result<Vec<(String, Vec<String>)>, String> {
    let mut checker = Checker {
        union,
        report: Report::default(),
    };
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

    /// The symlinks of the whole union, resolved through each other across layers.
    fn union_symlinks(&mut self) -> Result<()> {
        let scope = Scope::Image(self.union);
        for (path, target, problem) in symlinks::check(&self.union.to_tree()?) {
            let layer = self
                .union
                .get(path.as_str())
                .map_or("?", |item| self.layer(item))
                .to_string();
            let rule = symlink_rule(&scope, &target, &path, &problem);
            self.error(path.as_str(), format!("from layer `{layer}` {rule}"));
        }
        Ok(())
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
            ("boot", [name]) => drop(self.boot_entry(path, name, item)?),
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

    /// Checks the boot file `path`; its multiaddrs when it follows every rule. A file larger
    /// than [`boot::MAX_BOOT_FILE`] is one finding, known from its metadata before it is read.
    fn boot_entry(
        &mut self,
        path: &str,
        name: &str,
        item: &UnionEntry,
    ) -> Result<Option<Vec<String>>> {
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
        if size > boot::MAX_BOOT_FILE {
            let rule = boot::too_large(size);
            self.error(path, format!("from layer `{layer}`: {rule}"));
            return Ok(None);
        }
        let mut bytes = Vec::new();
        file.take(boot::MAX_BOOT_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(Error::io("read", source))?;
        if u64::try_from(bytes.len()).map_or(true, |read| read > boot::MAX_BOOT_FILE) {
            let rule = boot::grew_too_large(size);
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

#[cfg(test)]
mod tests {
    use super::boot::tests::{identity_peer, peer, sha_peer};
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
            t.insert_file(RelPath::new(path).unwrap(), source).unwrap();
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
    fn symlinks_are_resolved_through_the_layers_own_symlinks() {
        // The chain of issue 13: each link is fine lexically, and leaves the layer.
        let err = validate_layer(
            "l",
            &layer_of(&[("d/up", ".."), ("e1", "d/up/.."), ("e2", "e1/..")]),
        )
        .unwrap_err()
        .to_string();
        assert_has(
            &err,
            &[
                "layer `l`: 2 problems:",
                "\n  `e1` is a symlink to `d/up/..`, which climbs above the layer root once the \
                 symlinks on its way are followed; symlinks must be relative and stay inside \
                 their layer",
                "\n  `e2` is a symlink to `e1/..`, which climbs above the layer root through \
                 the symlink `e1` -> `d/up/..`;",
            ],
        );
        let err = validate_layer("l", &layer_of(&[("a", "b/x"), ("b", "a"), ("s", "s")]))
            .unwrap_err()
            .to_string();
        assert_has(
            &err,
            &[
                "`a` is a symlink to `b/x`, which loops",
                "`s` is a symlink to `s`, which loops: resolving it leads back to itself",
            ],
        );
        let deep: Vec<(String, String)> = (0..41)
            .map(|i| (format!("l{i}"), format!("l{}", i + 1)))
            .collect();
        let deep: Vec<(&str, &str)> = deep.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let err = validate_layer("l", &layer_of(&deep))
            .unwrap_err()
            .to_string();
        assert_has(
            &err,
            &["`l0` is a symlink to `l1`, which takes more than 40 symlinks to resolve"],
        );
        // Control characters of names and targets are escaped in the message.
        let err = validate_layer("l", &layer_of(&[("e\u{1b}[2J", "/\u{1b}]0;x\u{7}")]))
            .unwrap_err()
            .to_string();
        assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
        assert_has(
            &err,
            &["`e\\x1b[2J` is a symlink to the absolute path `/\\x1b]0;x\\x07`"],
        );
    }

    #[test]
    fn symlinks_are_resolved_across_the_layers_of_an_image() {
        let dir = tempfile::tempdir().unwrap();
        let c = component();
        let link = |t: &mut Tree, path: &str, target: &str| {
            t.insert(
                RelPath::new(path).unwrap(),
                Entry::Symlink {
                    target: target.into(),
                },
            )
            .unwrap();
        };
        // Layer a: `sub/q` is the root, `top` dangles into sub/x; layer b: `sub/x` climbs from a
        // `q` it lacks. Each is fine alone; in the union, sub/x -> q/../.. climbs out.
        let mut a = tree(dir.path(), &[("bin/main.wasm", &c), ("sub/keep", b"")]);
        link(&mut a, "sub/q", "..");
        link(&mut a, "top", "sub/x");
        let mut b = Tree::default();
        link(&mut b, "sub/x", "q/../..");
        validate_layer("a", &a).unwrap();
        validate_layer("b", &b).unwrap();
        let u = Union::of([("a", &a), ("b", &b)]).unwrap();
        let err = validate_image("img", &u).unwrap_err().to_string();
        assert_has(
            &err,
            &[
                "image `img`: 2 problems:",
                "\n  `sub/x` from layer `b` is a symlink to `q/../..`, which climbs above the \
                 image root once the symlinks on its way are followed; symlinks must be \
                 relative and stay inside their image",
                "\n  `top` from layer `a` is a symlink to `sub/x`, which climbs above the image \
                 root through the symlink `sub/x` (from layer `b`) -> `q/../..`;",
            ],
        );
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
