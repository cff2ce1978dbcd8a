//! The no-op stamp: the fingerprint of everything that goes into a build, recorded with the
//! build's report next to the images, so that a build with nothing changed runs neither cargo
//! nor any hashing and reports what the last one did.
//!
//! Inputs: the wwpack binary (version, size, mtime), `wwpack.toml`, the toolchain (`rustc -vV`
//! in the guests workspace, which honours `rust-toolchain` files), `SOURCE_DATE_EPOCH`, the
//! build options, and the metadata (size, mtime, inode, mode) of every file of the guests
//! workspace (its `target/` excluded), of the guests' path dependencies outside it (as the last
//! build found them with `cargo metadata`) and of every layer directory. A file whose metadata is
//! unchanged is taken as unchanged, as cargo and make do. The stamp also holds the digest of the
//! lock, and the build is up to date only while its images and their blocks are still there.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{BuildOptions, BuildReport};
use crate::config::{Config, Image};
use crate::guests::Workspace;
use ww_content::store::Store;

/// The record of the last build, kept next to the images.
#[derive(Serialize, Deserialize)]
pub(super) struct Stamp {
    pub fingerprint: String,
    /// Inputs outside the guests workspace, as the last full build found them: the directories
    /// of path dependencies (`cargo metadata`) and the files the guests' dep-info lists (e.g. WIT
    /// read by `wit-bindgen`). Finding them takes cargo, which a no-op build avoids.
    #[serde(default)]
    pub inputs: Vec<PathBuf>,
    pub lock: String,
    pub report: BuildReport,
}

/// The fingerprint of the inputs of building `images` with `opts` into `out`; `outside` are the
/// inputs outside the guests workspace ([`outside_inputs`]).
pub(super) fn inputs_fingerprint(
    config: &Config,
    images: &[&Image],
    opts: &BuildOptions,
    out: &Path,
    outside: &[PathBuf],
) -> String {
    let mut fp = Fingerprint::new();
    fp.add("wwpack", env!("CARGO_PKG_VERSION").as_bytes());
    if let Ok(exe) = std::env::current_exe() {
        fp.add_stat(&exe);
    }
    fp.add_stat(&config.root.join(crate::config::FILE_NAME));
    fp.add("toolchain", &toolchain(&config.guests_workspace));
    fp.add(
        "SOURCE_DATE_EPOCH",
        std::env::var("SOURCE_DATE_EPOCH")
            .unwrap_or_default()
            .as_bytes(),
    );
    let names: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
    fp.add("images", names.join(",").as_bytes());
    fp.add(
        "options",
        format!("{} {} {}", opts.locked, opts.deny_shadowing, out.display()).as_bytes(),
    );
    fp.add_tree(&config.guests_workspace, &["target"]);
    for input in outside {
        fp.add_tree(input, &["target"]);
    }
    for layer in config.layers.values() {
        if let Some(path) = &layer.path {
            fp.add_tree(path, &[]);
        }
    }
    fp.finish()
}

/// The last report, if the inputs, the lock, the images and their pins are as that build left
/// them.
pub(super) fn up_to_date(
    stamp: Stamp,
    fingerprint: &str,
    lock_path: &Path,
    store: &Store,
) -> Option<BuildReport> {
    if stamp.fingerprint != fingerprint || stamp.lock != lock_digest(lock_path) {
        return None;
    }
    for image in &stamp.report.images {
        let root = image.root.parse().ok()?;
        if !image.dir.join(ww_image::PID0).is_file() || !store.has(&root) {
            return None;
        }
    }
    let mut report = stamp.report;
    report.up_to_date = true;
    report.lock_written = false;
    report.hashed_files = 0;
    Some(report)
}

/// The inputs of the guests outside their workspace: path dependencies' directories, and the
/// files listed in the dep-info (`<artifact>.d`) of each artifact that lie outside the workspace
/// (followed through its symlinks when it is walked), those directories, the target directory
/// and the cargo home (whose registry sources never change).
pub(super) fn outside_inputs<'a>(
    workspace: &Workspace,
    target_dir: &Path,
    artifacts: impl Iterator<Item = &'a PathBuf>,
) -> Vec<PathBuf> {
    let mut inputs: BTreeSet<PathBuf> = workspace.path_deps.values().cloned().collect();
    let dirs: Vec<PathBuf> = inputs.iter().cloned().collect();
    let home = crate::guests::cargo::cargo_home();
    let workspace_dir = std::path::absolute(&workspace.dir).unwrap_or(workspace.dir.clone());
    for artifact in artifacts {
        for file in dep_info(&artifact.with_extension("d")) {
            // Files in the target directory are outputs of other inputs (generated code,
            // embedded artifacts).
            let covered = file.starts_with(&workspace_dir)
                || file.starts_with(target_dir)
                || dirs.iter().any(|d| file.starts_with(d))
                || home.as_ref().is_some_and(|h| file.starts_with(h));
            if !covered {
                inputs.insert(file);
            }
        }
    }
    inputs.into_iter().collect()
}

pub(super) fn read_stamp(stamp_path: &Path) -> Option<Stamp> {
    serde_json::from_slice(&std::fs::read(stamp_path).ok()?).ok()
}

fn lock_digest(lock_path: &Path) -> String {
    let mut fp = Fingerprint::new();
    fp.add("lock", &std::fs::read(lock_path).unwrap_or_default());
    fp.finish()
}

/// Best effort: without a stamp the next build is simply a full one.
pub(super) fn save_stamp(
    stamp_path: &Path,
    fingerprint: String,
    inputs: Vec<PathBuf>,
    lock_path: &Path,
    report: &BuildReport,
) {
    let stamp = Stamp {
        fingerprint,
        inputs,
        lock: lock_digest(lock_path),
        report: report.clone(),
    };
    if let Ok(text) = serde_json::to_vec_pretty(&stamp) {
        if let Some(dir) = stamp_path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = ww_content::atomic::write_file(stamp_path, &text) {
            tracing::warn!("cannot record the build stamp: {e}");
        }
    }
}

/// Accumulates the inputs of a build.
#[derive(Default)]
pub struct Fingerprint {
    hasher: Sha256,
}

impl Fingerprint {
    pub fn new() -> Fingerprint {
        Fingerprint::default()
    }

    /// Adds a labelled value.
    pub fn add(&mut self, label: &str, value: &[u8]) {
        self.hasher.update((label.len() as u64).to_le_bytes());
        self.hasher.update(label.as_bytes());
        self.hasher.update((value.len() as u64).to_le_bytes());
        self.hasher.update(value);
    }

    /// Adds the metadata of `path` (missing files count too: their absence is an input).
    pub fn add_stat(&mut self, path: &Path) {
        use std::os::unix::fs::MetadataExt;
        let line = match std::fs::symlink_metadata(path) {
            Ok(m) => format!(
                "{} {} {} {} {}",
                m.len(),
                m.mtime(),
                m.mtime_nsec(),
                m.ino(),
                m.mode()
            ),
            Err(_) => "missing".to_string(),
        };
        self.add(&path.display().to_string(), line.as_bytes());
    }

    /// Adds the metadata of every entry below `dir`, following symlinks to directories, skipping
    /// directories named in `skip` at the top level (e.g. `target`).
    pub fn add_tree(&mut self, dir: &Path, skip: &[&str]) {
        let mut stack = vec![(dir.to_path_buf(), true)];
        let mut followed = std::collections::BTreeSet::new();
        while let Some((d, top)) = stack.pop() {
            self.add_stat(&d);
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            let mut items: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
            items.sort();
            for p in items.into_iter().rev() {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                if top && skip.contains(&name) {
                    continue;
                }
                match std::fs::symlink_metadata(&p) {
                    Ok(m) if m.is_dir() => stack.push((p, false)),
                    // A symlink to a directory (e.g. guests/stem -> ../stem) is followed: what
                    // it reaches is an input too. Each real directory is walked once.
                    Ok(m) if m.is_symlink() && p.is_dir() => {
                        self.add_stat(&p);
                        if p.canonicalize().is_ok_and(|real| followed.insert(real)) {
                            stack.push((p, false));
                        }
                    }
                    _ => self.add_stat(&p),
                }
            }
        }
    }

    /// The fingerprint as lowercase hex.
    pub fn finish(self) -> String {
        data_encoding::HEXLOWER.encode(&self.hasher.finalize())
    }
}

/// `rustc -vV` as run in `dir` (so `rust-toolchain` overrides apply); empty if it fails.
pub fn toolchain(dir: &Path) -> Vec<u8> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    std::process::Command::new(rustc)
        .arg("-vV")
        .current_dir(dir)
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default()
}

/// The files a cargo dep-info file (`<artifact>.d`: `target: dep dep ...`, spaces in paths
/// escaped as `\ `) lists as the artifact's dependencies; empty if it cannot be read.
pub fn dep_info(path: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for line in text.lines() {
        let Some((_, deps)) = line.split_once(": ") else {
            continue;
        };
        let mut current = String::new();
        let mut chars = deps.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&' ') => {
                    current.push(' ');
                    chars.next();
                }
                ' ' => {
                    if !current.is_empty() {
                        files.push(PathBuf::from(std::mem::take(&mut current)));
                    }
                }
                c => current.push(c),
            }
        }
        if !current.is_empty() {
            files.push(PathBuf::from(current));
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_with_content_metadata_and_skips_target() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::create_dir_all(dir.path().join("target")).unwrap();
        std::fs::write(dir.path().join("src/main.rs"), "a").unwrap();
        let fp = || {
            let mut f = Fingerprint::new();
            f.add_tree(dir.path(), &["target"]);
            f.finish()
        };
        let first = fp();
        assert_eq!(fp(), first);
        std::fs::write(dir.path().join("target/junk"), "x").unwrap();
        assert_eq!(fp(), first, "target/ is not an input");
        std::fs::write(dir.path().join("src/main.rs"), "ab").unwrap();
        assert_ne!(fp(), first);
    }

    #[test]
    fn dep_info_lists_the_files_with_escaped_spaces() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("a.d");
        std::fs::write(
            &d,
            "/t/a.wasm: /src/main.rs /wit/my\\ file.wit /x.rs\n\n/src/main.rs:\n",
        )
        .unwrap();
        assert_eq!(
            dep_info(&d),
            [
                PathBuf::from("/src/main.rs"),
                PathBuf::from("/wit/my file.wit"),
                PathBuf::from("/x.rs")
            ]
        );
        assert!(dep_info(&dir.path().join("missing.d")).is_empty());
    }
}
