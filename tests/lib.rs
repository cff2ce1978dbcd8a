//! Helpers for the end-to-end tests: the repository's real binaries (`wwpack`, `ww`), the
//! images `wwpack build` makes of its guests, `ww` kept away from the user's files ([`ww`]),
//! DAGs made by hand ([`dag`]), what the hostile-image tests share ([`hostile`]) and the RPC client side of a `Kernel` ([`rpc`]). Everything the
//! tests of `wwpack` share with these (paths, commands, trees, WAT commands, IPFS nodes real
//! and fake) is in `ww-test-support` (`tests/support/`), re-exported here.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub use ww_test_support::*;

pub mod dag;
#[path = "harness/hostile.rs"]
pub mod hostile;
#[path = "harness/rpc.rs"]
pub mod rpc;
#[path = "harness/ww.rs"]
pub mod ww;

pub use ww::{hermetic, ww_in, ww_run, Ww};

/// The path of one of the workspace's binaries, built once per test process with the same cargo
/// and profile that runs the tests. `--workspace --tests` resolves features exactly as
/// `cargo test --workspace` does, so the binaries reuse the dependencies the tests were built
/// with (a narrower `-p` build would compile wasmtime a second time on a clean machine).
pub fn bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(repo())
            .args(["build", "--quiet", "--workspace", "--bins", "--tests"])
            .status()
            .expect("run cargo build for the wwpack and ww binaries");
        assert!(status.success(), "cargo build of wwpack and ww failed");
        // Test binaries live in target/<profile>/deps; the bins one level up.
        let exe = std::env::current_exe().expect("current test executable");
        exe.parent()
            .and_then(Path::parent)
            .expect("target/<profile>")
            .to_path_buf()
    });
    dir.join(name)
}

/// Builds the repository's images with `wwpack build` into `out` and returns the directory of
/// `image`. All images are built, not only `image`: tests run in parallel and each build rewrites
/// the repository's `wwpack.lock`, which must end up holding every image.
pub fn build_image(out: &Path, image: &str) -> PathBuf {
    let result = output(
        Command::new(bin("wwpack"))
            .arg("--manifest-path")
            .arg(repo().join("wwpack.toml"))
            .arg("--store")
            .arg(out.join("store"))
            .args(["build", "--out-dir"])
            .arg(out),
    );
    assert!(
        result.status.success(),
        "wwpack build {image} failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    out.join("images").join(image)
}

/// Builds the repository's default image (pid0 and its children) into `out`.
pub fn build_default_image(out: &Path) -> PathBuf {
    build_image(out, "default")
}

/// All images of the repository, built once per test process with `wwpack build` (real guests
/// from source) into a directory that lives as long as the process. Returns `<out>`, whose
/// `images/<name>/` are the images and `store/` their block store.
pub fn built_images() -> &'static Path {
    static OUT: OnceLock<tempfile::TempDir> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = tempfile::tempdir().expect("temp dir for the images");
        build_image(out.path(), "default");
        out
    })
    .path()
}

/// A file of one of the repository's built images, e.g. `image_file("probe", "bin/main.wasm")`.
pub fn image_file(image: &str, path: &str) -> Vec<u8> {
    let file = built_images().join("images").join(image).join(path);
    std::fs::read(&file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()))
}

/// The directory of one of the repository's built images, e.g. `image("shell")`.
pub fn image(name: &str) -> PathBuf {
    built_images().join("images").join(name)
}

/// The probe guest (`bin/main.wasm` of the `probe` image).
pub fn probe() -> Vec<u8> {
    image_file("probe", "bin/main.wasm")
}

/// An overlay directory `dir/probe-overlay` that adds the probe guest at `bin/probe.wasm`.
pub fn probe_overlay(dir: &Path) -> PathBuf {
    let overlay = dir.join("probe-overlay");
    write_tree(&overlay, &[("bin/probe.wasm", &probe())]);
    overlay
}

/// Asserts that there is no temporary file anywhere below the cache: `tmp/` is empty and no
/// entry is named like a file being written (`.tmp-*`).
pub fn assert_no_temp_files(cache: &Path) {
    let tmp: Vec<_> = std::fs::read_dir(cache.join("tmp"))
        .expect("the cache's tmp/")
        .collect();
    assert!(tmp.is_empty(), "left in {}/tmp: {tmp:?}", cache.display());
    let mut stack = vec![cache.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a cache directory") {
            let entry = entry.expect("a cache entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                !name.starts_with(".tmp") && !name.contains(".tmp-"),
                "a temporary file was left: {}",
                entry.path().display()
            );
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() {
                stack.push(entry.path());
            }
        }
    }
}
