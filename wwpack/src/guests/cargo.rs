//! The cargo invocation: builds the guests of a plan's waves for [`TARGET`], one `cargo build`
//! per wave, and hands each wave's artifacts on to the next by environment variable
//! ([`artifact_env_var`]).
//!
//! The build is made independent of the caller's environment and checkout location:
//! `RUSTFLAGS` from the environment are replaced (so host flags never leak into guests), the
//! absolute paths of the workspace, of the target directory, of the cargo home and of every path
//! dependency outside the workspace (e.g. `stem/`, `capnp/` of the host workspace, as
//! `/deps/<package>`) are remapped (`--remap-path-prefix`), cargo runs with `--locked` and
//! `CARGO_INCREMENTAL=0`, and debug info comes from the workspace's release profile (none).
//! `SOURCE_DATE_EPOCH` is passed through to cargo and rustc unchanged when the caller sets it.
//! So the same sources give the same bytes wherever they are checked out and however often they
//! are built.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::Message;

use super::graph::Workspace;
use crate::error::{Error, Result};

/// The compilation target of every guest.
pub const TARGET: &str = "wasm32-wasip2";

/// The environment variable that hands the artifact of guest `package` to the guests that
/// embed it: `WWPACK_ARTIFACT_` + the name in upper case, every character that is not an ASCII
/// letter or digit replaced by `_` (`child-echo` → `WWPACK_ARTIFACT_CHILD_ECHO`).
pub fn artifact_env_var(package: &str) -> String {
    let name: String = package
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("WWPACK_ARTIFACT_{name}")
}

impl Workspace {
    /// Builds the guests of `plan` (a [`crate::plan::Plan`], or any list of waves) in release
    /// mode for [`TARGET`] into `target_dir`, one cargo invocation per wave, in order, and
    /// returns each guest's `.wasm` artifact (absolute). Every invocation gets
    /// `WWPACK_ARTIFACT_<NAME>=<path>` ([`artifact_env_var`]) for each artifact of the earlier
    /// waves. Cargo's diagnostics and progress go to this process's stderr.
    pub fn build_plan(
        &self,
        plan: &impl AsRef<[Vec<String>]>,
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
        let waves = plan.as_ref();
        let mut artifacts = BTreeMap::new();
        for (i, wave) in waves.iter().enumerate() {
            if wave.is_empty() {
                continue;
            }
            tracing::info!(wave = i + 1, of = waves.len(), guests = %wave.join(", "), "building guests");
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

/// The cargo home, whose paths the build remaps (and whose registry sources never change).
pub(crate) fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}
