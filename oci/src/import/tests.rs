//! Importing an unpacked union into a real store: pinned only when its root is the promised CID.

use std::collections::BTreeMap;

use super::*;
use crate::unpack::tests::{layout_annotated, tar_of, E};

/// The CID of a tree of `etc/motd` = `hi\n`, computed from a directory written independently.
fn expected_root(profile: &Profile) -> Cid {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/motd"), "hi\n").unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let store = Store::open(scratch.path()).unwrap();
    let batch = store.batch().unwrap();
    let cid = unixfs::import_path(dir.path(), profile, &batch)
        .unwrap()
        .cid;
    batch.finish().unwrap();
    cid
}

fn layout_promising(work: &Path, root: &str) -> Layout {
    let annotations: BTreeMap<String, String> = [
        (spec::ANNOTATION_ROOT.to_string(), root.to_string()),
        (
            spec::ANNOTATION_PROFILE.to_string(),
            Profile::default().name.to_string(),
        ),
    ]
    .into_iter()
    .collect();
    layout_annotated(
        &work.join("layout"),
        &[(
            spec::MEDIA_LAYER_ZSTD,
            tar_of(&[E::Dir(b"etc"), E::File(b"etc/motd", b"hi\n")]),
        )],
        annotations,
    )
}

#[test]
fn the_promised_root_is_imported_and_pinned_and_another_is_refused_unpinned() {
    let root = expected_root(&Profile::default());
    let work = tempfile::tempdir().unwrap();
    let store = Store::open(&work.path().join("store")).unwrap();
    let layout = layout_promising(work.path(), &root.to_string());
    let imported = import(
        &layout,
        &store,
        &work.path().join("work"),
        Limits::default(),
        "oci:test",
    )
    .unwrap();
    assert_eq!(imported.root, root);
    assert!(store.pins().unwrap().contains(&root));
    // The work directory is gone.
    assert_eq!(
        std::fs::read_dir(work.path().join("work")).unwrap().count(),
        0
    );

    let other = tempfile::tempdir().unwrap();
    let store = Store::open(&other.path().join("store")).unwrap();
    let lie = "bafkreih6atatqrgydmp3m3exmcdrcpdcggaz7xzvdguafezflaruwgxvdi";
    let layout = layout_promising(other.path(), lie);
    let err = import(
        &layout,
        &store,
        &other.path().join("work"),
        Limits::default(),
        "oci:test",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(&format!("give the root {root}, not the {lie}")),
        "{err}"
    );
    assert!(store.pins().unwrap().is_empty());
}
