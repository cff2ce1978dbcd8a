//! The rules of an image, checked on the union of its layers: pid0 exists, the root holds
//! `bin`, `boot`, `etc` and `svc` as directories (anything else is a warning), each entry of
//! `svc/` is a nested image checked by these same rules, and the union's symlinks stay inside
//! it across layers. One checker walks the union; what lies in `bin/` is checked by
//! `bin`, what lies in `boot/` by [`super::boot`].

use crate::error::{Error, Result};
use crate::union::{Union, UnionEntry};
use crate::PID0;
use ww_content::tree::{Entry, RelPath};

use super::layer::{symlink_rule, Scope};
use super::symlinks;
use super::{summarize, Finding, Report, Warning, ROOT_ENTRIES};

/// Validates the union of `image` against the FHS rules (see the module documentation).
/// Returns the warnings; on any broken rule, an [`Error::Image`] that lists every finding.
/// Only a file that cannot be read stops the check early, with its I/O error.
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
    let mut checker = Checker::new(union);
    checker.require_pid0("");
    for (path, item) in union.iter() {
        checker.entry(path.as_str(), item)?;
    }
    checker.union_symlinks()?;
    Ok(checker.report)
}

/// Checks the symlinks of the union of an image, across its layers, as [`check_image`] does
/// (`ww` checks each layer with [`super::validate_layer`] and the union with this). The error lists
/// every finding.
pub fn check_union_symlinks(union: &Union) -> std::result::Result<(), String> {
    let mut checker = Checker::new(union);
    checker.union_symlinks().map_err(|e| e.to_string())?;
    if checker.report.errors.is_empty() {
        Ok(())
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

/// Walks the union of an image and collects what breaks the rules.
pub(super) struct Checker<'a> {
    pub(super) union: &'a Union,
    pub(super) report: Report,
}

impl<'a> Checker<'a> {
    pub(super) fn new(union: &'a Union) -> Checker<'a> {
        Checker {
            union,
            report: Report::default(),
        }
    }
}

impl Checker<'_> {
    pub(super) fn error(&mut self, path: &str, rule: String) {
        self.report.errors.push(Finding {
            path: path.to_string(),
            rule,
        });
    }

    pub(super) fn layer(&self, item: &UnionEntry) -> &str {
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

    pub(super) fn root_entry(&mut self, path: &str, name: &str, item: &UnionEntry) {
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
