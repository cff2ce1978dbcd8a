//! `wwpack diff` end to end: a project of static layers (text, binary, a symlink and a WAT
//! component as pid0, [`project`]) built with the real `wwpack`, changed in every way a path can
//! change, and diffed in each format (compared with golden files in `tests/golden/`, [`report`]),
//! with `--git` against a temporary repository, CIDs from the block store and from an IPFS
//! node, image directories and the working tree ([`inputs`]), and on text made to be slow to
//! align ([`bounds`]).
//!
//! `WWPACK_UPDATE_GOLDEN=1 cargo test -p wwpack --test diff` rewrites the golden files.

mod bounds;
mod inputs;
mod project;
mod report;
mod scale;

use std::path::Path;

/// The real `wwpack`, built by cargo for these tests.
const WWPACK: &str = env!("CARGO_BIN_EXE_wwpack");

/// Compares `actual` with `tests/golden/<name>`, or rewrites it with WWPACK_UPDATE_GOLDEN=1.
pub(crate) fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("WWPACK_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (WWPACK_UPDATE_GOLDEN=1 writes it)", path.display()));
    assert!(
        expected == actual,
        "wwpack diff output differs from {} (WWPACK_UPDATE_GOLDEN=1 rewrites it):\n{actual}",
        path.display()
    );
}

/// The change of `path` in image `image` of a JSON report.
pub(crate) fn change<'a>(
    report: &'a serde_json::Value,
    image: &str,
    path: &str,
) -> &'a serde_json::Value {
    let image = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == image)
        .unwrap_or_else(|| panic!("no image {image} in {report:#}"));
    image["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == path)
        .unwrap_or_else(|| panic!("no change of {path} in {image:#}"))
}
