//! The fingerprint of everything that goes into a build, so that a build with nothing changed
//! runs neither cargo nor any hashing.
//!
//! Inputs: the wwpack binary (version, size, mtime), `wwpack.toml`, the toolchain (`rustc -vV`
//! in the guests workspace, which honours `rust-toolchain` files), `SOURCE_DATE_EPOCH`, the
//! build options, and the metadata (size, mtime, inode, mode) of every file of the guests
//! workspace (its `target/` excluded), of the guests' path dependencies outside it (as the last
//! build found them with `cargo metadata`) and of every layer directory. A file whose metadata is
//! unchanged is taken as unchanged, as cargo and make do.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

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
