//! The fingerprint of everything that goes into a build, so that a build with nothing changed
//! runs neither cargo nor any hashing.
//!
//! Inputs: the wwpack binary (version, size, mtime), `wwpack.toml`, the toolchain (`rustc -vV`
//! in the guests workspace, which honours `rust-toolchain` files), `SOURCE_DATE_EPOCH`, the
//! build options, and the metadata (size, mtime, inode, mode) of every file of the guests
//! workspace (its `target/` excluded) and of every layer directory. A file whose metadata is
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

    /// Adds the metadata of every entry below `dir`, skipping directories named in `skip` at
    /// the top level (e.g. `target`).
    pub fn add_tree(&mut self, dir: &Path, skip: &[&str]) {
        let mut stack = vec![(dir.to_path_buf(), true)];
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
}
