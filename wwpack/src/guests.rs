//! The guests: the cargo workspace in `guests/`, read with `cargo metadata` and built for
//! `wasm32-wasip2` by one `cargo build` invocation.
//!
//! The build is made independent of the caller's environment and checkout location: `RUSTFLAGS`
//! from the environment are replaced (so host flags never leak into guests), and the absolute
//! paths of the workspace and of the cargo home are remapped, so the same sources give the same
//! bytes wherever they are checked out.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{Message, MetadataCommand};

use crate::error::{Error, Result};

/// The compilation target of every guest.
pub const TARGET: &str = "wasm32-wasip2";

/// The guest packages of a workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The directory holding the workspace's `Cargo.toml`.
    pub dir: PathBuf,
    /// Package name -> name of its binary target.
    pub guests: BTreeMap<String, String>,
}

impl Workspace {
    /// Reads the workspace at `dir` with `cargo metadata`. A guest is a workspace member with a
    /// binary target (its bin named as the package, or its only bin).
    pub fn load(dir: &Path) -> Result<Workspace> {
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            return Err(Error::Cargo {
                workspace: dir.to_path_buf(),
                message: format!("no Cargo.toml at {}", manifest.display()),
            });
        }
        let metadata = MetadataCommand::new()
            .manifest_path(&manifest)
            .no_deps()
            .exec()
            .map_err(|e| Error::Cargo {
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
            if let Some(bin) = bin {
                guests.insert(package.name.to_string(), bin.to_string());
            }
        }
        Ok(Workspace {
            dir: dir.to_path_buf(),
            guests,
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
                self.guests.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })
    }

    /// Builds `packages` in release mode for [`TARGET`] into `target_dir`, with one cargo
    /// invocation, and returns each package's `.wasm` artifact. Cargo's diagnostics and progress
    /// go to this process's stderr.
    pub fn build(
        &self,
        packages: &BTreeSet<String>,
        target_dir: &Path,
        quiet: bool,
    ) -> Result<BTreeMap<String, PathBuf>> {
        let mut artifacts = BTreeMap::new();
        if packages.is_empty() {
            return Ok(artifacts);
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
        for p in packages {
            cmd.args(["-p", p]);
        }
        cmd.env("CARGO_ENCODED_RUSTFLAGS", self.rustflags())
            .env_remove("RUSTFLAGS")
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
        for message in Message::parse_stream(BufReader::new(stdout)) {
            let message = message.map_err(|e| cargo_err(format!("reading cargo's output: {e}")))?;
            if let Message::CompilerArtifact(artifact) = message {
                let name = artifact.target.name.as_str();
                let package = self
                    .guests
                    .iter()
                    .find(|(p, bin)| bin.as_str() == name && packages.contains(*p));
                if let (Some((package, _)), Some(exe)) = (package, artifact.executable) {
                    artifacts.insert(package.clone(), exe.into_std_path_buf());
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
        for p in packages {
            if !artifacts.contains_key(p) {
                return Err(Error::Guest {
                    guest: p.clone(),
                    message: "cargo reported no .wasm artifact for it".into(),
                });
            }
        }
        Ok(artifacts)
    }

    /// Flags that make the artifacts independent of where the sources and cargo home live.
    fn rustflags(&self) -> String {
        let mut flags = vec![format!(
            "--remap-path-prefix={}=/guests",
            self.dir.display()
        )];
        if let Some(home) = cargo_home() {
            flags.push(format!("--remap-path-prefix={}=/cargo", home.display()));
        }
        flags.join("\x1f")
    }
}

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}
