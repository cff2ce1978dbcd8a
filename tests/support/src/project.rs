//! A project of static layers only (no guest is compiled): image `big` of the repository's
//! `layers/base`, an `app` layer whose pid0 is a WAT command that exits 0, and a `data` layer of
//! distinct bytes, big enough for a push or a progress bar to take a while.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{exiting_command, repo, write_tree};

/// `len` distinct bytes (xorshift), the same for the same `seed`.
pub fn distinct_bytes(len: usize, seed: &mut u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed as u8
        })
        .collect()
}

/// `n` files of 1 MiB of distinct bytes, `f0` ... `f<n-1>`, under `dir` (created).
pub fn mib_files(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n {
        std::fs::write(
            dir.join(format!("f{i}")),
            distinct_bytes(1 << 20, &mut seed),
        )
        .unwrap();
    }
}

/// Writes the project to `project`, `data` filling `layers/data/etc` (created); returns the
/// path of its `wwpack.toml`.
pub fn static_image_project(project: &Path, data: impl FnOnce(&Path)) -> PathBuf {
    let etc = project.join("layers/data/etc");
    std::fs::create_dir_all(&etc).unwrap();
    data(&etc);
    write_tree(
        &project.join("layers/app"),
        &[("bin/main.wasm", &exiting_command(0))],
    );
    write_tree(
        project,
        &[(
            "wwpack.toml",
            b"[layers.base]\npath = \"layers/base\"\n[layers.app]\npath = \"layers/app\"\n\
              [layers.data]\npath = \"layers/data\"\n\
              [images.big]\nlayers = [\"base\", \"app\", \"data\"]\n",
        )],
    );
    let status = Command::new("cp")
        .arg("-r")
        .arg(repo().join("layers/base"))
        .arg(project.join("layers"))
        .status()
        .unwrap();
    assert!(
        status.success(),
        "copy layers/base into {}",
        project.display()
    );
    project.join("wwpack.toml")
}
