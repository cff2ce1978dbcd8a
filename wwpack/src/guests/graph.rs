//! The guests' cargo graph: the workspace in `guests/` read with `cargo metadata` into
//! [`Guest`]s and the guests each embeds (`[package.metadata.wwpack] embeds`), plus the path
//! dependencies outside the workspace (inputs of the build like the workspace itself).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cargo_metadata::{MetadataCommand, Package};

use crate::error::{Error, Result};

/// One guest: a workspace member with a binary target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guest {
    /// The cargo package name.
    pub package: String,
    /// The package version.
    pub version: String,
    /// The name of its binary target (the `.wasm` is named after it).
    pub bin: String,
    /// The guests whose artifacts it embeds (`[package.metadata.wwpack] embeds`), as declared.
    pub embeds: Vec<String>,
    /// Its `Cargo.toml`, absolute.
    pub manifest_path: PathBuf,
}

/// The guest packages of a workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The directory holding the workspace's `Cargo.toml`.
    pub dir: PathBuf,
    /// Package name -> guest.
    pub guests: BTreeMap<String, Guest>,
    /// Package name -> directory of every path dependency (direct or not) that lives outside
    /// the workspace directory, e.g. the host workspace's schema crates. They are inputs of the
    /// build like the workspace itself: their paths are remapped and their files fingerprinted.
    pub path_deps: BTreeMap<String, PathBuf>,
}

impl Workspace {
    /// Reads the workspace at `dir` with `cargo metadata`. A guest is a workspace member with a
    /// binary target (its bin named as the package, or its only bin). Each guest's
    /// `[package.metadata.wwpack]` is checked: its only key is `embeds`, an array of package
    /// names.
    pub fn load(dir: &Path) -> Result<Workspace> {
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            return Err(Error::Cargo {
                workspace: dir.to_path_buf(),
                message: format!("no Cargo.toml at {}", manifest.display()),
            });
        }
        // With dependencies (resolved from the committed lock, never updating it), so that
        // path dependencies outside the workspace are seen, however deep. Without a lock there
        // is nothing to resolve from (and the `--locked` build will say so): members only.
        let mut command = MetadataCommand::new();
        command.manifest_path(&manifest);
        if dir.join("Cargo.lock").is_file() {
            command.other_options(vec!["--locked".to_string()]);
        } else {
            command.no_deps();
        }
        let metadata = command.exec().map_err(|e| Error::Cargo {
            workspace: dir.to_path_buf(),
            message: format!("cargo metadata failed: {e}"),
        })?;
        let mut guests = BTreeMap::new();
        for package in metadata.workspace_packages() {
            let bins: Vec<&str> = package
                .targets
                .iter()
                .filter(|t| t.is_bin())
                .map(|t| t.name.as_str())
                .collect();
            let bin = if bins.contains(&package.name.as_str()) {
                Some(package.name.as_str())
            } else if bins.len() == 1 {
                Some(bins[0])
            } else {
                None
            };
            let embeds = embeds_of(package)?;
            let Some(bin) = bin else {
                if package.metadata.get("wwpack").is_some() {
                    return Err(metadata_error(
                        package,
                        "has [package.metadata.wwpack] but is not a guest (no binary target \
                         named after the package, and not exactly one binary target)",
                    ));
                }
                continue;
            };
            guests.insert(
                package.name.to_string(),
                Guest {
                    package: package.name.to_string(),
                    version: package.version.to_string(),
                    bin: bin.to_string(),
                    embeds,
                    manifest_path: package.manifest_path.clone().into_std_path_buf(),
                },
            );
        }
        let dir_abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let path_deps = metadata
            .packages
            .iter()
            .filter(|p| p.source.is_none())
            .filter_map(|p| {
                let pkg_dir = p.manifest_path.parent()?.as_std_path().to_path_buf();
                (!pkg_dir.starts_with(&dir_abs)).then(|| (p.name.to_string(), pkg_dir))
            })
            .collect();
        Ok(Workspace {
            dir: dir.to_path_buf(),
            guests,
            path_deps,
        })
    }

    /// Checks that `name` is a guest of this workspace; the error lists the guests there are.
    pub fn check(&self, name: &str, needed_by: &str) -> Result<()> {
        if self.guests.contains_key(name) {
            return Ok(());
        }
        Err(Error::Guest {
            guest: name.to_string(),
            message: format!(
                "{needed_by} installs it, but it is not a package with a binary in {} (guests: {})",
                self.dir.join("Cargo.toml").display(),
                self.guest_list()
            ),
        })
    }

    /// The names of the guests, comma-separated, for error messages.
    pub(crate) fn guest_list(&self) -> String {
        self.guests.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// The error for a broken `[package.metadata.wwpack]`: names the guest and its `Cargo.toml`.
fn metadata_error(package: &Package, rule: &str) -> Error {
    Error::Guest {
        guest: package.name.to_string(),
        message: format!("{}: {rule}", package.manifest_path),
    }
}

/// Reads `[package.metadata.wwpack] embeds` of `package`; any other shape is an error.
fn embeds_of(package: &Package) -> Result<Vec<String>> {
    let Some(wwpack) = package.metadata.get("wwpack") else {
        return Ok(Vec::new());
    };
    let table = wwpack.as_object().ok_or_else(|| {
        metadata_error(
            package,
            "[package.metadata.wwpack] must be a table (e.g. `embeds = [\"child-echo\"]`)",
        )
    })?;
    let mut embeds = Vec::new();
    for (key, value) in table {
        match key.as_str() {
            "embeds" => {
                let rule = "[package.metadata.wwpack] `embeds` must be an array of guest package \
                            names (e.g. `embeds = [\"child-echo\"]`)";
                let names = value
                    .as_array()
                    .ok_or_else(|| metadata_error(package, rule))?;
                for name in names {
                    let name = name
                        .as_str()
                        .filter(|n| !n.is_empty())
                        .ok_or_else(|| metadata_error(package, rule))?;
                    if embeds.iter().any(|e| e == name) {
                        return Err(metadata_error(
                            package,
                            &format!("[package.metadata.wwpack] `embeds` lists `{name}` twice"),
                        ));
                    }
                    embeds.push(name.to_string());
                }
            }
            other => {
                return Err(metadata_error(
                    package,
                    &format!("unknown key `{other}` in [package.metadata.wwpack] (known: embeds)"),
                ))
            }
        }
    }
    Ok(embeds)
}
