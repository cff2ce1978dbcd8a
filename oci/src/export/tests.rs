//! Exports: the layout reads back through [`Layout`] with the lock's annotations; the `.tar`
//! is the directory's tar; a failed export leaves the layout that was there, and no temporary;
//! destinations that cannot take a layout are refused; `created` and tags.

use std::collections::BTreeMap;
use std::path::Path;

use ww_content::store::Store;
use ww_content::unixfs::{import_path, UNIXFS_V1_2025};
use ww_image::manifest::{ImageManifest, LayerRecord};

use super::*;
use crate::layout::Layout;

/// A store in `dir` with two layers, `base` and `app`, and the lock's entry of an image of
/// them (its root a CID the store need not hold: export only annotates with it).
fn image(dir: &Path) -> (Store, ImageManifest) {
    let store = Store::open(&dir.join("store")).unwrap();
    let mut layers = Vec::new();
    for (name, files) in [
        ("base", &[("etc/motd", &b"hello\n"[..])][..]),
        (
            "app",
            &[("bin/main.wasm", &b"\0asm"[..]), ("etc/motd", b"app\n")][..],
        ),
    ] {
        let tree = dir.join("src").join(name);
        for (path, bytes) in files {
            std::fs::create_dir_all(tree.join(path).parent().unwrap()).unwrap();
            std::fs::write(tree.join(path), bytes).unwrap();
        }
        let cid = import_path(&tree, &UNIXFS_V1_2025, &store).unwrap().cid;
        layers.push(LayerRecord {
            cid: cid.to_string(),
            name: name.to_string(),
        });
    }
    let root = layers[1].cid.clone();
    (
        store,
        ImageManifest {
            files: BTreeMap::new(),
            layers,
            profile: "unixfs-v1-2025".into(),
            root,
        },
    )
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_layout_reads_back_with_the_locks_annotations_and_its_tar_is_the_same_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (store, img) = image(dir.path());
    let out = dir.path().join("layout");
    let e = export(&store, "web", &img, &out, &ExportOptions::default()).unwrap();
    assert_eq!(e.tag, "web");
    let layout = Layout::open(&out, Some("web")).unwrap();
    assert_eq!(layout.manifest_descriptor.digest, e.manifest.digest);
    let m = &layout.manifest;
    assert_eq!(m.annotations[spec::ANNOTATION_ROOT], img.root);
    assert_eq!(m.annotations[spec::ANNOTATION_PROFILE], "unixfs-v1-2025");
    assert_eq!(m.annotations[spec::ANNOTATION_IMAGE], "web");
    assert_eq!(m.layers.len(), 2);
    for (d, record) in m.layers.iter().zip(&img.layers) {
        assert_eq!(d.media_type, spec::MEDIA_LAYER_ZSTD);
        assert_eq!(d.annotations[spec::ANNOTATION_LAYER_CID], record.cid);
        assert_eq!(d.annotations[spec::ANNOTATION_LAYER_NAME], record.name);
        layout.verify_blob(d).unwrap();
    }
    let config: Config = spec::from_bytes(&layout.read_blob(&m.config).unwrap(), "config").unwrap();
    assert_eq!(
        (config.architecture.as_str(), config.os.as_str()),
        ("wasm", "wasip2")
    );
    assert_eq!(config.created, None);
    let diff_ids: Vec<Digest> = e.layers.iter().map(|l| l.diff_id).collect();
    assert_eq!(config.rootfs.diff_ids, diff_ids);

    let tar = dir.path().join("web.tar");
    let t = export(&store, "web", &img, &tar, &ExportOptions::default()).unwrap();
    assert_eq!(t.manifest, e.manifest);
    assert_eq!(t.bytes, std::fs::metadata(&tar).unwrap().len());
    let mut archive = tar::Archive::new(std::fs::File::open(&tar).unwrap());
    let from_tar = dir.path().join("from-tar");
    archive.unpack(&from_tar).unwrap();
    for name in ["oci-layout", "index.json"] {
        assert_eq!(
            std::fs::read(from_tar.join(name)).unwrap(),
            std::fs::read(out.join(name)).unwrap()
        );
    }
    assert_eq!(
        names(&from_tar.join("blobs/sha256")),
        names(&out.join("blobs/sha256"))
    );
    assert_eq!(
        names(dir.path()),
        ["from-tar", "layout", "src", "store", "web.tar"]
    );
}

#[test]
fn a_failed_export_leaves_the_layout_that_was_there() {
    let dir = tempfile::tempdir().unwrap();
    let (store, img) = image(dir.path());
    let out = dir.path().join("layout");
    export(&store, "web", &img, &out, &ExportOptions::default()).unwrap();
    let index = std::fs::read(out.join("index.json")).unwrap();
    // The second layer's file blocks are gone: the export fails half way.
    let app: Cid = img.layers[1].cid.parse().unwrap();
    let reader = ww_content::unixfs::read::Reader::new(&store);
    let wasm = reader.resolve(&app, "bin/main.wasm").unwrap();
    assert!(store.remove_block(&wasm).unwrap());
    let options = ExportOptions {
        source_date_epoch: Some(1),
        ..ExportOptions::default()
    };
    let err = export(&store, "web", &img, &out, &options)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("image `web`") && err.contains("not found"),
        "{err}"
    );
    assert_eq!(std::fs::read(out.join("index.json")).unwrap(), index);
    assert!(Layout::open(&out, None).is_ok());
    assert_eq!(
        names(dir.path()),
        ["layout", "src", "store"],
        "no temporary left"
    );
}

#[test]
fn destinations_that_cannot_take_a_layout_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, img) = image(dir.path());
    let o = ExportOptions::default();
    let busy = dir.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("mine"), b"x").unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&busy, &link).unwrap();
    let tar_dir = dir.path().join("dir.tar");
    std::fs::create_dir(&tar_dir).unwrap();
    for (out, want) in [
        (&busy, "not empty and not an OCI image layout"),
        (&file, "is not a directory"),
        (&link, "is a symlink"),
        (&tar_dir, "a `.tar` layout is written as a file"),
    ] {
        let err = export(&store, "web", &img, out, &o)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(want) && err.contains(&out.display().to_string()),
            "{err}"
        );
    }
    assert_eq!(names(&busy), ["mine"]);
    let bad_tag = ExportOptions {
        tag: Some("a/b".into()),
        ..ExportOptions::default()
    };
    let err = export(&store, "web", &img, &dir.path().join("new"), &bad_tag)
        .unwrap_err()
        .to_string();
    assert!(err.contains("tag `a/b`"), "{err}");
    let mut bad = img.clone();
    bad.layers[0].cid = "bafy-not-a-cid".into();
    let err = export(&store, "web", &bad, &dir.path().join("new"), &o)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("image `web`") && err.contains("layer `base` `bafy-not-a-cid` is not a CID"),
        "{err}"
    );
    assert!(!dir.path().join("new").exists());
}

#[test]
fn created_is_rfc3339_and_tags_follow_the_distribution_spec() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(ustar::MAX_OCTAL), "2242-03-16T12:56:31Z");
    for good in ["default", "v1.2-rc_3", "_x", &"a".repeat(128)] {
        check_tag(good).unwrap();
    }
    for bad in ["", "-x", ".x", "a/b", "a:b", "é", &"a".repeat(129)] {
        assert!(check_tag(bad).is_err(), "{bad}");
    }
}
