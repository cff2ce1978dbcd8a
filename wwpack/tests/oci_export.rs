//! `wwpack export --oci` end to end, with the real `wwpack` and the real `skopeo` and `umoci`
//! (Debian's, in /usr/bin; a test fails when they are missing): the repository's `default`
//! image exported twice gives byte-identical layouts that `skopeo inspect` reads; its layers,
//! unpacked by `umoci raw unpack` (from a `--compression gzip` export, and from the zstd export
//! converted by `skopeo copy`, since umoci 0.4.7 does not read tar+zstd), give a rootfs
//! identical, file for file and byte for byte, to the image directory `wwpack build` wrote; a
//! `.tar` export is the tar of that layout and `skopeo` reads it; `SOURCE_DATE_EPOCH` sets
//! `created`; a directory that is neither empty nor a layout is refused and left alone, a
//! layout is replaced; bad input is an error naming it.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ww_test_support::{exiting_command, failed, ok, output, repo, s, write_tree};

const WWPACK: &str = env!("CARGO_BIN_EXE_wwpack");

/// A refused command: its arguments, environment, and what its error must say.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a [&'a str]);

/// `wwpack --manifest-path MANIFEST --store STORE ARGS`, with `env` set.
fn wwpack(manifest: &Path, store: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(WWPACK);
    cmd.env_remove("SOURCE_DATE_EPOCH")
        .env_remove("IPFS_API")
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--store")
        .arg(store)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    output(&mut cmd)
}

/// A real tool of the test setup (`/usr/bin/skopeo`, `/usr/bin/umoci`), run to success; its
/// stdout.
fn tool(name: &str, args: &[&str]) -> String {
    let path = format!("/usr/bin/{name}");
    assert!(
        Path::new(&path).exists(),
        "{path} is missing: the OCI tests need it (Debian package `{name}`)"
    );
    ok(&output(Command::new(path).args(args)))
}

/// Every entry below `dir` by relative path: `d` for a directory, `l:TARGET` for a symlink,
/// `f:` and the bytes for a file.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, rel: &str, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let kind = e.file_type().unwrap();
            if kind.is_symlink() {
                let t = std::fs::read_link(e.path()).unwrap();
                out.insert(rel, format!("l:{}", t.display()).into_bytes());
            } else if kind.is_dir() {
                out.insert(rel.clone(), b"d".to_vec());
                walk(&e.path(), &rel, out);
            } else {
                assert!(kind.is_file(), "{rel}: only files, directories, symlinks");
                let mut bytes = b"f:".to_vec();
                bytes.extend(std::fs::read(e.path()).unwrap());
                out.insert(rel, bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, "", &mut out);
    out
}

/// The names of `tree`'s entries, for messages.
fn names(tree: &BTreeMap<String, Vec<u8>>) -> Vec<&str> {
    tree.keys().map(String::as_str).collect()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `umoci raw unpack` of `layout:tag` into `rootfs` (rootless: the files are ours), and the
/// modes it gave: every directory 0755, every file 0644, as the tars say.
fn umoci_unpack(layout: &Path, tag: &str, rootfs: &Path) {
    tool(
        "umoci",
        &[
            "raw",
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:{tag}", s(layout)),
            s(rootfs),
        ],
    );
    for (rel, _) in tree(rootfs) {
        let meta = std::fs::symlink_metadata(rootfs.join(&rel)).unwrap();
        let want = if meta.is_dir() {
            0o755
        } else if meta.is_file() {
            0o644
        } else {
            0o777
        };
        assert_eq!(meta.mode() & 0o777, want, "{rel}");
        assert_eq!(meta.mtime(), 0, "{rel}: the tars' mtime");
    }
}

#[test]
fn the_default_image_exports_reproducibly_and_unpacks_to_the_image_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (out, store) = (dir.path().join("out"), dir.path().join("store"));
    let manifest = repo().join("wwpack.toml");
    // All images are built, not only `default`: tests of other binaries build the repository
    // in parallel, and each build rewrites its `wwpack.lock`, which must keep every image.
    ok(&wwpack(
        &manifest,
        &store,
        &["build", "--out-dir", s(&out)],
        &[],
    ));
    let image_dir = out.join("images/default");
    let lock = json(&std::fs::read_to_string(repo().join("wwpack.lock")).unwrap());
    let entry = &lock["images"]["default"];

    let export = |to: &Path, extra: &[&str]| {
        let mut args = vec!["export", "--oci", s(to), "--json"];
        args.extend_from_slice(extra);
        args.push("default");
        json(&ok(&wwpack(&manifest, &store, &args, &[])))
    };
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let ja = export(&a, &[]);
    let jb = export(&b, &[]);
    assert_eq!(tree(&a), tree(&b), "two exports, byte for byte");
    assert_eq!(ja["manifest"], jb["manifest"]);
    assert_eq!(ja["layout"], s(&a));
    assert_eq!(ja["tag"], "default");
    let layers = ja["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    for (l, want) in layers.iter().zip(entry["layers"].as_array().unwrap()) {
        assert_eq!((&l["name"], &l["cid"]), (&want["name"], &want["cid"]));
        let digest = l["digest"].as_str().unwrap();
        let blob = a
            .join("blobs/sha256")
            .join(digest.strip_prefix("sha256:").unwrap());
        assert_eq!(
            std::fs::metadata(&blob).unwrap().len(),
            l["size"].as_u64().unwrap()
        );
    }
    let file_bytes: u64 = std::fs::read_dir(a.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum::<u64>()
        + std::fs::metadata(a.join("index.json")).unwrap().len()
        + std::fs::metadata(a.join("oci-layout")).unwrap().len();
    assert_eq!(ja["bytes"].as_u64().unwrap(), file_bytes);

    // skopeo reads the layout: the manifest is the one printed, with the lock's annotations.
    let raw = json(&tool(
        "skopeo",
        &["inspect", "--raw", &format!("oci:{}:default", s(&a))],
    ));
    assert_eq!(
        raw["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let ann = &raw["annotations"];
    assert_eq!(ann["org.wetware.image.root"], entry["root"]);
    assert_eq!(ann["org.wetware.image.profile"], entry["profile"]);
    assert_eq!(ann["org.wetware.image.name"], "default");
    for (l, want) in raw["layers"].as_array().unwrap().iter().zip(layers) {
        assert_eq!(
            l["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+zstd"
        );
        assert_eq!(l["digest"], want["digest"]);
        assert_eq!(l["annotations"]["org.wetware.layer.cid"], want["cid"]);
        assert_eq!(l["annotations"]["org.wetware.layer.name"], want["name"]);
    }
    let inspected = json(&tool(
        "skopeo",
        &["inspect", &format!("oci:{}:default", s(&a))],
    ));
    assert_eq!(inspected["Digest"], ja["manifest"]);
    assert_eq!(
        (&inspected["Architecture"], &inspected["Os"]),
        (&"wasm".into(), &"wasip2".into())
    );
    let config = json(&tool(
        "skopeo",
        &["inspect", "--config", &format!("oci:{}:default", s(&a))],
    ));
    assert!(
        config.get("created").is_none(),
        "no time without SOURCE_DATE_EPOCH: {config}"
    );
    let diff_ids: Vec<&serde_json::Value> = layers.iter().map(|l| &l["diff_id"]).collect();
    let config_ids: Vec<&serde_json::Value> = config["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(config_ids, diff_ids);

    // The layers, unpacked by umoci: the image directory, file for file, byte for byte. umoci
    // adds nothing to the rootfs (`raw unpack` writes no config.json or mtree).
    let want = tree(&image_dir);
    assert!(want.contains_key("bin/main.wasm"), "{:?}", names(&want));
    let gz = dir.path().join("gz");
    let jg = export(&gz, &["--compression", "gzip"]);
    assert_ne!(jg["manifest"], ja["manifest"]);
    for l in jg["layers"].as_array().unwrap().iter().zip(layers) {
        assert_eq!(
            l.0["diff_id"], l.1["diff_id"],
            "the same tars, compressed otherwise"
        );
    }
    let rootfs = dir.path().join("rootfs-gzip");
    umoci_unpack(&gz, "default", &rootfs);
    let got = tree(&rootfs);
    assert_eq!(names(&got), names(&want));
    assert!(
        got == want,
        "the rootfs of the gzip export differs from {}",
        image_dir.display()
    );
    // The zstd export itself, converted to gzip by skopeo (which reads tar+zstd).
    let converted = dir.path().join("converted");
    tool(
        "skopeo",
        &[
            "copy",
            "--dest-compress-format",
            "gzip",
            &format!("oci:{}:default", s(&a)),
            &format!("oci:{}:default", s(&converted)),
        ],
    );
    let rootfs = dir.path().join("rootfs-zstd");
    umoci_unpack(&converted, "default", &rootfs);
    assert!(
        tree(&rootfs) == want,
        "the rootfs of the zstd export differs"
    );

    // A `.tar` export: the same layout, as one deterministic file skopeo reads.
    let t1 = dir.path().join("default.tar");
    let t2 = dir.path().join("again.tar");
    let jt = export(&t1, &[]);
    export(&t2, &[]);
    assert_eq!(std::fs::read(&t1).unwrap(), std::fs::read(&t2).unwrap());
    assert_eq!(jt["manifest"], ja["manifest"]);
    assert_eq!(
        jt["bytes"].as_u64().unwrap(),
        std::fs::metadata(&t1).unwrap().len()
    );
    let archive = json(&tool(
        "skopeo",
        &["inspect", &format!("oci-archive:{}:default", s(&t1))],
    ));
    assert_eq!(archive["Digest"], ja["manifest"]);
    let listing = tool("tar", &["-tvf", s(&t1)]);
    let entries: Vec<&str> = listing
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    let mut blobs: Vec<String> = tree(&a)
        .keys()
        .filter_map(|k| {
            k.strip_prefix("blobs/sha256/")
                .map(|h| format!("blobs/sha256/{h}"))
        })
        .collect();
    blobs.sort();
    let mut want_entries = vec!["blobs/".to_string(), "blobs/sha256/".to_string()];
    want_entries.extend(blobs);
    want_entries.extend(["index.json".to_string(), "oci-layout".to_string()]);
    assert_eq!(entries, want_entries, "{listing}");
    for line in listing.lines() {
        assert!(line.contains(" 0/0 "), "owners 0/0: {line}");
        assert!(line.contains("1970-01-01 00:00"), "mtime 0: {line}");
    }
    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    tool("tar", &["-xf", s(&t1), "-C", s(&unpacked)]);
    assert!(
        tree(&unpacked) == tree(&a),
        "the .tar holds the directory layout"
    );
}

/// A project of static layers (no guests): image `two` of layers `base` and `app`.
fn static_project(dir: &Path) -> (PathBuf, PathBuf) {
    let p = dir.join("project");
    write_tree(
        &p,
        &[
            (
                "wwpack.toml",
                b"[layers.base]\npath = \"layers/base\"\n[layers.app]\npath = \"layers/app\"\n\
                  [images.two]\nlayers = [\"base\", \"app\"]\n",
            ),
            ("layers/base/etc/motd", b"hello\n"),
            ("layers/base/etc/conf.d/a.conf", b"a = 1\n"),
            ("layers/app/bin/main.wasm", &exiting_command(0)),
            ("layers/app/etc/motd", b"later wins\n"),
        ],
    );
    let (manifest, store) = (p.join("wwpack.toml"), dir.join("store"));
    ok(&wwpack(&manifest, &store, &["build"], &[]));
    (manifest, store)
}

#[test]
fn destinations_tags_and_the_epoch_are_checked_and_errors_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let (manifest, store) = static_project(dir.path());
    let run = |args: &[&str], env: &[(&str, &str)]| wwpack(&manifest, &store, args, env);

    // A directory that is not empty and not a layout is refused, and left as it was.
    let busy = dir.path().join("busy");
    write_tree(&busy, &[("notes.txt", b"mine\n")]);
    let err = failed(&run(&["export", "--oci", s(&busy), "two"], &[]));
    assert!(
        err.contains(s(&busy)) && err.contains("not empty and not an OCI image layout"),
        "{err}"
    );
    assert_eq!(tree(&busy).len(), 1);
    assert_eq!(std::fs::read(busy.join("notes.txt")).unwrap(), b"mine\n");
    let siblings: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(siblings.is_empty(), "no temporary left: {siblings:?}");

    // An empty directory takes the layout; a layout is replaced by the new one.
    let layout = dir.path().join("layout");
    std::fs::create_dir(&layout).unwrap();
    let first = ok(&run(
        &["export", "--oci", s(&layout), "--tag", "v1", "two"],
        &[],
    ));
    assert!(
        first.starts_with("sha256:") && first.trim().len() == 71,
        "{first}"
    );
    let tagged = json(&tool(
        "skopeo",
        &["inspect", "--raw", &format!("oci:{}:v1", s(&layout))],
    ));
    assert_eq!(tagged["annotations"]["org.wetware.image.name"], "two");
    assert_eq!(tagged["layers"].as_array().unwrap().len(), 2);
    let second = ok(&run(
        &["export", "--oci", s(&layout), "two"],
        &[("SOURCE_DATE_EPOCH", "1700000000")],
    ));
    assert_ne!(
        first, second,
        "SOURCE_DATE_EPOCH changes the tars' mtimes and the config"
    );
    let config = json(&tool(
        "skopeo",
        &["inspect", "--config", &format!("oci:{}:two", s(&layout))],
    ));
    assert_eq!(config["created"], "2023-11-14T22:13:20Z");
    let index = json(&std::fs::read_to_string(layout.join("index.json")).unwrap());
    assert_eq!(
        index["manifests"].as_array().unwrap().len(),
        1,
        "the old layout is gone"
    );
    // Two layers with the same file: umoci's union of the layers, in order, is the image
    // directory (the later layer's etc/motd).
    let gz = dir.path().join("gz.tar");
    ok(&run(
        &["export", "--oci", s(&gz), "--compression", "gzip", "two"],
        &[],
    ));
    let gz_dir = dir.path().join("gz");
    std::fs::create_dir(&gz_dir).unwrap();
    tool("tar", &["-xf", s(&gz), "-C", s(&gz_dir)]);
    let rootfs = dir.path().join("rootfs");
    umoci_unpack(&gz_dir, "two", &rootfs);
    let image_dir = dir.path().join("project/target/wwpack/images/two");
    assert!(
        tree(&rootfs) == tree(&image_dir),
        "{:?}",
        names(&tree(&rootfs))
    );
    assert_eq!(
        std::fs::read(rootfs.join("etc/motd")).unwrap(),
        b"later wins\n"
    );

    // Bad input: each error names the thing and the rule (and nothing is written).
    let (x, y) = (
        &*dir.path().join("x").display().to_string(),
        &*dir.path().join("y.car").display().to_string(),
    );
    let no_such = dir.path().join("no/such/dir/x").display().to_string();
    let cases: &[Case] = &[
        (
            &["export", "--oci", x, "nope"],
            &[],
            &["no image `nope`", "its images: two"],
        ),
        (
            &["export", "--oci", x, "two"],
            &[("SOURCE_DATE_EPOCH", "yesterday")],
            &["SOURCE_DATE_EPOCH=`yesterday`", "decimal number"],
        ),
        (
            &["export", "--oci", x, "--tag=.bad", "two"],
            &[],
            &["tag `.bad`", "starts with"],
        ),
        (
            &["export", "--oci", &no_such, "two"],
            &[],
            &["no/such/dir/x", "does not exist"],
        ),
    ];
    for (args, env, wants) in cases {
        let err = failed(&run(args, env));
        for want in *wants {
            assert!(err.contains(want), "{args:?}: {want:?} not in {err}");
        }
    }
    let o = run(&["export", "--oci", x, "--compression", "lz4", "two"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(failed(&o).contains("`lz4` is not a compression: zstd or gzip"));
    let o = run(&["export", "--oci", x, "-o", y, "two"], &[]);
    assert!(failed(&o).contains("cannot be used with"));
    // The CAR form is as it was: a CID and --output.
    assert!(!dir.path().join("x").exists() && !dir.path().join("y.car").exists());
    let o = run(&["export", "nope", "-o", s(&dir.path().join("x.car"))], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(failed(&o).contains("invalid value 'nope' for '<CID>'"));
    let lock = json(&std::fs::read_to_string(dir.path().join("project/wwpack.lock")).unwrap());
    let root = lock["images"]["two"]["root"].as_str().unwrap();
    let car = dir.path().join("two.car");
    ok(&run(&["export", root, "-o", s(&car)], &[]));
    assert!(std::fs::metadata(&car).unwrap().len() > 0);
}
