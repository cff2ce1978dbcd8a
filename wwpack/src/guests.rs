//! The guests: the cargo workspace in `guests/`, read with `cargo metadata` and built for
//! `wasm32-wasip2`, one `cargo build` invocation per wave of a [`Plan`].
//!
//! A guest may embed the artifacts of other guests; it declares them in its own `Cargo.toml`:
//!
//! ```toml
//! [package.metadata.wwpack]
//! embeds = ["child-echo"]
//! ```
//!
//! and reads them with `include_bytes!(env!("WWPACK_ARTIFACT_CHILD_ECHO"))` (see
//! [`artifact_env_var`]): the build of each wave gets the absolute path of every artifact of the
//! earlier waves in such a variable, so no guest needs a path into the target directory. Cargo
//! records both the variable and the included file in its dep-info, so an embedder is rebuilt
//! whenever an artifact it embeds changes.
//!
//! The build is made independent of the caller's environment and checkout location:
//! `RUSTFLAGS` from the environment are replaced (so host flags never leak into guests), the
//! absolute paths of the workspace, of the target directory, of the cargo home and of every path
//! dependency outside the workspace (e.g. `stem/`, `capnp/` of the host workspace, as
//! `/deps/<package>`) are remapped (`--remap-path-prefix`), cargo runs with `--locked` and `CARGO_INCREMENTAL=0`, and debug info
//! comes from the workspace's release profile (none). `SOURCE_DATE_EPOCH` is passed through to
//! cargo and rustc unchanged when the caller sets it. So the same sources give the same bytes
//! wherever they are checked out and however often they are built.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{Message, MetadataCommand, Package};

use crate::error::{Error, Result};
use crate::plan::{artifact_env_var, plan, Plan};

/// The compilation target of every guest.
pub const TARGET: &str = "wasm32-wasip2";

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

    /// Plans `packages` and the guests they embed ([`plan`]) and builds them with
    /// [`Workspace::build_plan`]. Returns the artifact of every guest built, embedded ones
    /// included.
    pub fn build(
        &self,
        packages: &BTreeSet<String>,
        target_dir: &Path,
        quiet: bool,
    ) -> Result<BTreeMap<String, PathBuf>> {
        self.build_plan(&plan(self, packages)?, target_dir, quiet)
    }

    /// Builds the guests of `plan` in release mode for [`TARGET`] into `target_dir`, one cargo
    /// invocation per wave, in order, and returns each guest's `.wasm` artifact (absolute).
    /// Every invocation gets `WWPACK_ARTIFACT_<NAME>=<path>` ([`artifact_env_var`]) for each
    /// artifact of the earlier waves. Cargo's diagnostics and progress go to this process's
    /// stderr.
    pub fn build_plan(
        &self,
        plan: &Plan,
        target_dir: &Path,
        quiet: bool,
    ) -> Result<BTreeMap<String, PathBuf>> {
        let target_dir = std::path::absolute(target_dir).map_err(|e| Error::Cargo {
            workspace: self.dir.clone(),
            message: format!(
                "cannot make the target directory {} absolute: {e}",
                target_dir.display()
            ),
        })?;
        let rustflags = self.rustflags(&target_dir);
        let mut artifacts = BTreeMap::new();
        for (i, wave) in plan.waves.iter().enumerate() {
            if wave.is_empty() {
                continue;
            }
            tracing::info!(wave = i + 1, of = plan.waves.len(), guests = %wave.join(", "), "building guests");
            let built = self.build_wave(wave, &artifacts, &target_dir, &rustflags, quiet)?;
            artifacts.extend(built);
        }
        Ok(artifacts)
    }

    /// One `cargo build -p ... -p ...` for the guests of one wave; `embeddable` are the
    /// artifacts of the earlier waves, handed on by environment variable.
    fn build_wave(
        &self,
        wave: &[String],
        embeddable: &BTreeMap<String, PathBuf>,
        target_dir: &Path,
        rustflags: &str,
        quiet: bool,
    ) -> Result<BTreeMap<String, PathBuf>> {
        let mut guests = Vec::with_capacity(wave.len());
        for name in wave {
            let guest = self.guests.get(name).ok_or_else(|| Error::Guest {
                guest: name.clone(),
                message: format!(
                    "the plan builds it, but it is not a package with a binary in {} (guests: {})",
                    self.dir.join("Cargo.toml").display(),
                    self.guest_list()
                ),
            })?;
            guests.push(guest);
        }

        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.arg("build")
            .arg("--release")
            .arg("--locked")
            .args(["--target", TARGET])
            .arg("--manifest-path")
            .arg(self.dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir)
            .arg("--message-format=json-render-diagnostics");
        if quiet {
            cmd.arg("--quiet");
        }
        for guest in &guests {
            cmd.args(["-p", &guest.package]);
        }
        for (name, wasm) in embeddable {
            cmd.env(artifact_env_var(name), wasm);
        }
        // Cargo runs in the guests workspace, so only its own `.cargo/config.toml` files apply
        // (not those of wherever wwpack was started), and the caller's cargo settings from the
        // environment that change what is built are removed: the guests' Cargo.toml decides.
        // SOURCE_DATE_EPOCH, when set, is inherited unchanged.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if [
                "CARGO_PROFILE_",
                "CARGO_BUILD_",
                "CARGO_TARGET_",
                "CARGO_ENCODED_RUSTDOCFLAGS",
            ]
            .iter()
            .any(|prefix| key.starts_with(prefix))
            {
                cmd.env_remove(key.as_ref());
            }
        }
        cmd.current_dir(&self.dir)
            .env("CARGO_ENCODED_RUSTFLAGS", rustflags)
            .env("CARGO_INCREMENTAL", "0")
            .env_remove("RUSTFLAGS")
            .env_remove("RUSTC_WRAPPER")
            .env_remove("RUSTC_WORKSPACE_WRAPPER")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        tracing::debug!(?cmd, "building guests");

        let cargo_err = |message: String| Error::Cargo {
            workspace: self.dir.clone(),
            message,
        };
        let mut child = cmd
            .spawn()
            .map_err(|e| cargo_err(format!("cannot run cargo: {e}")))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| cargo_err("cargo's stdout was not captured".into()))?;
        let mut artifacts = BTreeMap::new();
        for message in Message::parse_stream(BufReader::new(stdout)) {
            let message = message.map_err(|e| cargo_err(format!("reading cargo's output: {e}")))?;
            if let Message::CompilerArtifact(artifact) = message {
                if !artifact.target.is_bin() {
                    continue;
                }
                let guest = guests.iter().find(|g| {
                    g.bin == artifact.target.name.as_str()
                        && g.manifest_path == artifact.manifest_path.as_std_path()
                });
                if let (Some(guest), Some(exe)) = (guest, artifact.executable) {
                    artifacts.insert(guest.package.clone(), exe.into_std_path_buf());
                }
            }
        }
        let status = child
            .wait()
            .map_err(|e| cargo_err(format!("waiting for cargo: {e}")))?;
        if !status.success() {
            return Err(cargo_err(format!(
                "cargo build --target {TARGET} failed ({status}); its errors are above"
            )));
        }
        for guest in &guests {
            if !artifacts.contains_key(&guest.package) {
                return Err(Error::Guest {
                    guest: guest.package.clone(),
                    message: "cargo reported no .wasm artifact for it".into(),
                });
            }
        }
        Ok(artifacts)
    }

    /// Flags that make the artifacts independent of where the sources, the target directory
    /// and the cargo home live. When several prefixes match a path rustc applies the last one,
    /// so the longest (most specific) prefix comes last.
    fn rustflags(&self, target_dir: &Path) -> String {
        let mut remaps = vec![
            (self.dir.clone(), "/guests".to_string()),
            (target_dir.to_path_buf(), "/target".to_string()),
        ];
        if let Some(home) = cargo_home() {
            remaps.push((home, "/cargo".to_string()));
        }
        for (name, dir) in &self.path_deps {
            remaps.push((dir.clone(), format!("/deps/{name}")));
        }
        remaps.sort_by_key(|(from, _)| from.as_os_str().len());
        remaps
            .iter()
            .map(|(from, to)| format!("--remap-path-prefix={}={to}", from.display()))
            .collect::<Vec<_>>()
            .join("\x1f")
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

pub(crate) fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}
