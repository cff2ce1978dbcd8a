//! Images in an OCI registry end to end, with real components on 127.0.0.1: the Debian
//! `docker-registry` (the CNCF distribution registry) started for each test, `skopeo` reading
//! what `wwpack push --oci` wrote, `wwpack pull --oci` into an empty store, `ww run oci://`
//! booting the default image with an empty store and cache, and a tampered blob refused.

use std::path::Path;
use std::process::{Command, Output};

use e2e::registry::Registry;
use e2e::{bin, built_images, ok, output, repo, s};

/// `wwpack` on the repository's project with the block store `store`.
fn wwpack(store: &Path, args: &[&str]) -> Output {
    let manifest = repo().join("wwpack.toml");
    output(
        Command::new(bin("wwpack"))
            .env_remove("DOCKER_CONFIG")
            .env("HOME", store.parent().unwrap_or(store))
            .args(["--manifest-path", s(&manifest), "--store", s(store)])
            .args(args),
    )
}

fn skopeo(args: &[&str]) -> String {
    ok(&output(Command::new("skopeo").args(args)))
}

/// The root CID of `image` in the committed lock.
fn lock_root(image: &str) -> String {
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("wwpack.lock")).unwrap())
            .unwrap();
    lock["images"][image]["root"].as_str().unwrap().to_string()
}

#[test]
fn push_to_a_registry_read_it_with_skopeo_pull_it_back_and_boot_it() {
    let registry = Registry::start();
    let store = built_images().join("store");
    let reference = format!("{}/wetware/default:v1", registry.host());
    let push = || -> serde_json::Value {
        serde_json::from_str(&ok(&wwpack(
            &store,
            &[
                "push",
                "--oci",
                &reference,
                "default",
                "--plain-http",
                "--json",
            ],
        )))
        .unwrap()
    };
    let first = push();
    assert!(first["blobs_sent"].as_u64().unwrap() >= 3, "{first}");
    eprintln!(
        "push --oci of the default image: {:.2} s, {} bytes sent (layout {} bytes)",
        first["seconds"].as_f64().unwrap(),
        first["bytes_sent"],
        first["layout_bytes"]
    );
    let again = push();
    assert_eq!(again["blobs_sent"], 0, "{again}");
    assert_eq!(again["manifest"], first["manifest"], "{again}");
    let manifest = first["manifest"].as_str().unwrap().to_string();

    // skopeo reads it: the manifest as pushed, its annotations, and a copy to a layout.
    let docker = format!("docker://{reference}");
    let raw = skopeo(&["inspect", "--tls-verify=false", "--raw", &docker]);
    let raw_json: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        raw_json["annotations"]["org.wetware.image.root"],
        lock_root("default").as_str(),
        "{raw}"
    );
    let inspected: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", "--tls-verify=false", &docker])).unwrap();
    assert_eq!(inspected["Digest"], manifest.as_str(), "{inspected}");
    assert_eq!(inspected["Os"], "wasip2", "{inspected}");
    let copy = tempfile::tempdir().unwrap();
    let layout = format!("oci:{}:v1", copy.path().join("layout").display());
    skopeo(&["copy", "--src-tls-verify=false", &docker, &layout]);
    let index: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(copy.path().join("layout/index.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        index["manifests"][0]["digest"],
        manifest.as_str(),
        "skopeo's copy keeps the manifest byte for byte: {index}"
    );

    // Pull into an empty store: the root the lock has, pinned.
    let empty = tempfile::tempdir().unwrap();
    let pulled: serde_json::Value = serde_json::from_str(&ok(&wwpack(
        &empty.path().join("store"),
        &["pull", "--oci", &reference, "--plain-http", "--json"],
    )))
    .unwrap();
    assert_eq!(pulled["root"], lock_root("default").as_str(), "{pulled}");
    assert_eq!(pulled["manifest"], manifest.as_str(), "{pulled}");
    let pins = ok(&wwpack(&empty.path().join("store"), &["pin", "ls"]));
    assert!(pins.contains(&lock_root("default")), "{pins}");

    // Boot it from the registry with an empty store and cache, by tag and by digest.
    for image in [
        format!("oci://{reference}"),
        format!("oci://{}/wetware/default@{manifest}", registry.host()),
    ] {
        let home = tempfile::tempdir().unwrap();
        let o = output(
            e2e::ww_in(home.path())
                .args(["run", &image, "--plain-http"])
                .stdin(std::process::Stdio::null()),
        );
        assert_eq!(
            e2e::stdout(&o),
            "CHILD_OK\nping 1\nping 2\nchild-echo exited with status 0\n",
            "{image}: {}",
            e2e::stderr(&o)
        );
        e2e::assert_no_temp_files(&home.path().join("cache"));
    }

    // Without --plain-http, ww speaks HTTPS, which this registry does not.
    let home = tempfile::tempdir().unwrap();
    let o = output(e2e::ww_in(home.path()).args(["run", &format!("oci://{reference}")]));
    assert_eq!(o.status.code(), Some(125), "{o:?}");
}

#[test]
fn a_tampered_blob_in_the_registry_is_refused_and_nothing_is_pinned() {
    let registry = Registry::start();
    let store = built_images().join("store");
    let reference = format!("{}/wetware/hello:v1", registry.host());
    ok(&wwpack(
        &store,
        &["push", "--oci", &reference, "hello", "--plain-http"],
    ));
    // The biggest layer: the one holding bin/main.wasm.
    let raw = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{reference}"),
    ]);
    let raw: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let layer = raw["layers"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|l| l["size"].as_u64().unwrap())
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .strip_prefix("sha256:")
        .unwrap()
        .to_string();
    let data = registry.blob_data(&layer);
    let mut bytes = std::fs::read(&data).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&data, bytes).unwrap();

    let home = tempfile::tempdir().unwrap();
    let o = output(e2e::ww_in(home.path()).args([
        "run",
        &format!("oci://{reference}"),
        "--plain-http",
    ]));
    assert_eq!(o.status.code(), Some(125), "{o:?}");
    let err = e2e::stderr(&o);
    assert!(err.contains(&layer), "the error names the blob: {err}");
    e2e::assert_no_temp_files(&home.path().join("cache"));

    let empty = tempfile::tempdir().unwrap();
    let o = wwpack(
        &empty.path().join("store"),
        &["pull", "--oci", &reference, "--plain-http"],
    );
    assert!(!o.status.success(), "{o:?}");
    assert!(e2e::stderr(&o).contains(&layer), "{o:?}");
    let pins = ok(&wwpack(&empty.path().join("store"), &["pin", "ls"]));
    assert!(pins.trim().is_empty(), "nothing pinned: {pins}");
}
