//! `wwpack diff` end to end: a project of static layers (text, binary, a symlink and a WAT
//! component as pid0) built with the real `wwpack`, changed in every way a path can change, and
//! diffed in each format (compared with golden files in `tests/golden/`), with `--git` against a
//! temporary repository, CIDs from the block store, image directories and the working tree.
//!
//! `WWPACK_UPDATE_GOLDEN=1 cargo test -p e2e --test diff` rewrites the golden files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use e2e::{bin, output, wat, write_tree};

/// pid0 before: imports one interface of one function, no data.
const MAIN_V1: &str = r#"
(component
  (import "wasi:cli/environment@0.2.0" (instance
    (export "get-arguments" (func (result (list string))))))
  (core module $m (func (export "run") (result i32) i32.const 0))
  (core instance $i (instantiate $m))
  (type $run-type (func (result (result))))
  (func $run (type $run-type) (canon lift (core func $i "run")))
  (instance $run-instance (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run-instance)))
"#;

/// pid0 after: a function added to the interface, a new interface, a data segment.
const MAIN_V2: &str = r#"
(component
  (import "wasi:cli/environment@0.2.0" (instance
    (export "get-arguments" (func (result (list string))))
    (export "get-environment" (func (result (list (tuple string string)))))))
  (import "wasi:clocks/monotonic-clock@0.2.0" (instance
    (export "now" (func (result u64)))))
  (core module $m
    (memory 1)
    (data (i32.const 0) "hello, wetware")
    (func (export "run") (result i32) i32.const 0))
  (core instance $i (instantiate $m))
  (type $run-type (func (result (result))))
  (func $run (type $run-type) (canon lift (core func $i "run")))
  (instance $run-instance (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run-instance)))
"#;

const TOML_V1: &str = r#"
[layers.base]
path = "layers/base"

[layers.app]
path = "layers/app"

[images.default]
layers = ["base", "app"]

[images.tools]
layers = ["app"]

# Shares base and app with default: their changes show here too, their content once.
[images.tiny]
layers = ["base", "app"]
"#;

const TOML_V2: &str = r#"
[layers.base]
path = "layers/base"

[layers.app]
path = "layers/app"

[layers.extra]
path = "layers/extra"

[images.default]
layers = ["base", "app", "extra"]

[images.more]
layers = ["app", "extra"]

# Shares base and app with default: their changes show here too, their content once.
[images.tiny]
layers = ["base", "app"]
"#;

/// A config file of 40 lines, with the lines numbered in `changed` edited: a diff long enough
/// to be folded in Markdown.
fn services(changed: &[usize]) -> String {
    (1..=40)
        .map(|i| {
            let port = if changed.contains(&i) {
                9000 + i
            } else {
                8000 + i
            };
            format!("service-{i} = {port}\n")
        })
        .collect()
}

struct Project {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Project {
    /// Version 1, built, committed in a new git repository, with its lock also in `v1.lock`.
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        write_tree(
            &root,
            &[
                ("wwpack.toml", TOML_V1.as_bytes()),
                (
                    "layers/base/etc/motd",
                    b"Welcome to Wetware.\nSecond line.\nThird line.\n",
                ),
                ("layers/base/etc/old.conf", b"retired = true\n"),
                ("layers/base/etc/a.conf", b"moved = true\n"),
                ("layers/base/etc/role", b"worker\n"),
                ("layers/base/etc/services.conf", services(&[]).as_bytes()),
                ("layers/base/etc/blob.bin", b"\0\x01\x02binary v1"),
                ("layers/app/bin/main.wasm", &wat(MAIN_V1)),
            ],
        );
        std::os::unix::fs::symlink("motd", root.join("layers/base/etc/greeting")).unwrap();
        let p = Project { _dir: dir, root };
        p.ok(&["build"]);
        std::fs::copy(p.root.join("wwpack.lock"), p.root.join("v1.lock")).unwrap();
        p.git(&["init", "-q", "-b", "main"]);
        p.git(&["add", "wwpack.toml", "wwpack.lock", "layers"]);
        p.git(&["commit", "-q", "-m", "v1"]);
        p
    }

    /// Changes every kind of thing, and builds version 2 into `wwpack.lock`.
    fn change(&self) {
        let r = &self.root;
        write_tree(
            r,
            &[
                ("wwpack.toml", TOML_V2.as_bytes()),
                (
                    "layers/base/etc/motd",
                    b"Welcome to Wetware!\nSecond line.\nThird line.\nFourth line.\n",
                ),
                ("layers/base/etc/new.conf", b"fresh = true\n"),
                (
                    "layers/base/etc/services.conf",
                    services(&[3, 17, 31]).as_bytes(),
                ),
                ("layers/base/etc/b.conf", b"moved = true\n"),
                ("layers/base/etc/blob.bin", b"\0\x01\x02binary v2!"),
                ("layers/extra/etc/role", b"worker\n"),
                ("layers/app/bin/main.wasm", &wat(MAIN_V2)),
            ],
        );
        std::fs::remove_file(r.join("layers/base/etc/old.conf")).unwrap();
        std::fs::remove_file(r.join("layers/base/etc/a.conf")).unwrap();
        std::fs::remove_file(r.join("layers/base/etc/greeting")).unwrap();
        std::os::unix::fs::symlink("new.conf", r.join("layers/base/etc/greeting")).unwrap();
        self.ok(&["build"]);
    }

    fn wwpack(&self, args: &[&str]) -> Output {
        output(
            Command::new(bin("wwpack"))
                .current_dir(&self.root)
                .env("WW_STORE", self.root.join("store"))
                .env("IPFS_API", "http://127.0.0.1:9")
                .env_remove("NO_COLOR")
                .args(args),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.wwpack(args);
        assert!(o.status.success(), "wwpack {args:?}: {}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    }

    /// `wwpack diff ARGS`: its exit status and stdout.
    fn diff(&self, args: &[&str]) -> (i32, String) {
        let mut all = vec!["diff"];
        all.extend_from_slice(args);
        let o = self.wwpack(&all);
        let code = o.status.code().expect("exited");
        assert!(code < 2, "wwpack {all:?} failed ({code}): {}", stderr(&o));
        (code, String::from_utf8(o.stdout).unwrap())
    }

    /// `wwpack diff ARGS` that must fail with status 2: its stderr.
    fn diff_error(&self, args: &[&str]) -> String {
        let mut all = vec!["diff"];
        all.extend_from_slice(args);
        let o = self.wwpack(&all);
        assert_eq!(o.status.code(), Some(2), "wwpack {all:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty());
        stderr(&o)
    }

    fn git(&self, args: &[&str]) {
        let o = output(
            Command::new("git")
                .current_dir(&self.root)
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@example.org")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@example.org")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("HOME", &self.root)
                .args(args),
        );
        assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--format", "json"]);
        serde_json::from_str(&self.diff(&all).1).unwrap()
    }
}

/// `cp -a FROM TO`: symlinks and all.
fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp").arg("-a").arg(from).arg(to).status();
    assert!(status.unwrap().success(), "cp -a {from:?} {to:?}");
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Compares `actual` with `tests/golden/<name>`, or rewrites it with WWPACK_UPDATE_GOLDEN=1.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
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
fn change<'a>(report: &'a serde_json::Value, image: &str, path: &str) -> &'a serde_json::Value {
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

#[test]
fn every_kind_of_change_in_every_format() {
    let p = Project::new();
    p.change();
    for (format, file) in [
        ("text", "diff.txt"),
        ("markdown", "diff.md"),
        ("json", "diff.json"),
    ] {
        let (code, out) = p.diff(&["v1.lock", "wwpack.lock", "--format", format]);
        assert_eq!(code, 1, "different: status 1");
        golden(file, &out);
    }

    let report = p.json(&["v1.lock", "wwpack.lock"]);
    assert_eq!(report["version"], 1);
    assert_eq!(report["identical"], false);
    let motd = change(&report, "default", "etc/motd");
    assert_eq!(motd["change"], "modified");
    assert_eq!(motd["content"]["kind"], "text");
    let diff = motd["content"]["diff"].as_str().unwrap();
    assert!(
        diff.contains("-Welcome to Wetware.\n+Welcome to Wetware!\n"),
        "{diff}"
    );
    assert!(diff.contains("+Fourth line.\n"), "{diff}");
    assert_ne!(motd["a"]["cid"], motd["b"]["cid"]);
    assert_eq!(
        change(&report, "default", "etc/new.conf")["change"],
        "added"
    );
    assert_eq!(
        change(&report, "default", "etc/old.conf")["change"],
        "removed"
    );
    let moved = change(&report, "default", "etc/b.conf");
    assert_eq!(moved["change"], "moved");
    assert_eq!(moved["from"], "etc/a.conf");
    let role = change(&report, "default", "etc/role");
    assert_eq!(role["change"], "provenance");
    assert_eq!(
        role["provenance"]["layer"],
        serde_json::json!(["base", "extra"])
    );
    assert_eq!(
        role["provenance"]["shadows"],
        serde_json::json!([[], ["base"]])
    );
    assert_eq!(
        change(&report, "default", "etc/blob.bin")["content"]["kind"],
        "binary"
    );
    let link = change(&report, "default", "etc/greeting");
    assert_eq!(link["change"], "modified");
    assert_eq!(link["b"]["target"], "new.conf");
    let main = &change(&report, "default", "bin/main.wasm")["content"];
    assert_eq!(main["kind"], "wasm");
    assert_eq!(
        main["imports"]["added"][0]["name"],
        "wasi:clocks/monotonic-clock@0.2.0"
    );
    assert_eq!(
        main["imports"]["added"][0]["functions"],
        serde_json::json!(["now"])
    );
    assert_eq!(
        main["imports"]["changed"][0]["name"],
        "wasi:cli/environment@0.2.0"
    );
    assert_eq!(
        main["imports"]["changed"][0]["functions_added"],
        serde_json::json!(["get-environment"])
    );
    assert_eq!(main["sections"]["data"][0], 0);
    assert!(main["sections"]["data"][1].as_u64().unwrap() > 0);
    let images: Vec<(&str, &str)> = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap(), i["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        images,
        [
            ("default", "modified"),
            ("more", "added"),
            ("tiny", "modified"),
            ("tools", "removed")
        ]
    );
    // default and tiny both move etc/a.conf; only default gains the extra layer.
    let s = &report["summary"];
    assert_eq!(
        (
            &s["moved"],
            &s["provenance"],
            &s["images_added"],
            &s["images_removed"]
        ),
        (&2.into(), &1.into(), &1.into(), &1.into())
    );

    // The same change seen from the other side is the mirror image.
    let back = p.json(&["wwpack.lock", "v1.lock"]);
    assert_eq!(
        change(&back, "default", "etc/new.conf")["change"],
        "removed"
    );
    assert_eq!(change(&back, "default", "etc/a.conf")["from"], "etc/b.conf");
    assert_eq!(
        back["summary"]["bytes_added"],
        report["summary"]["bytes_removed"]
    );

    // Text over the limit is named, not shown.
    let report = p.json(&["v1.lock", "wwpack.lock", "--text-limit", "16"]);
    let motd = change(&report, "default", "etc/motd");
    assert_eq!(
        motd["content"],
        serde_json::json!({"kind": "too-large", "limit": 16})
    );
}

#[test]
fn exit_status_is_0_identical_1_different_2_trouble() {
    let p = Project::new();
    let (code, out) = p.diff(&["wwpack.lock", "v1.lock"]);
    assert_eq!(
        (code, out.trim_end().lines().last()),
        (0, Some("identical (3 images)"))
    );
    // The committed lock against a fresh build of the same working tree.
    let (code, out) = p.diff(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        std::fs::read(p.root.join("wwpack.lock")).unwrap()
            == std::fs::read(p.root.join("v1.lock")).unwrap(),
        "diff leaves wwpack.lock alone"
    );
    p.change();
    assert_eq!(p.diff(&["v1.lock", "wwpack.lock"]).0, 1);

    let e = p.diff_error(&["no-such-file"]);
    assert!(
        e.contains("no-such-file") && e.contains("not a file, a directory or a CID"),
        "{e}"
    );
    std::fs::write(p.root.join("garbage.lock"), "{").unwrap();
    let e = p.diff_error(&["garbage.lock", "wwpack.lock"]);
    assert!(
        e.contains("garbage.lock") && e.contains("not a valid wwpack.lock"),
        "{e}"
    );
    let e = p.diff_error(&["--git", "no-such-rev", "wwpack.lock"]);
    assert!(e.contains("no-such-rev"), "{e}");
    let e = p.diff_error(&["wwpack.lock:nope", "v1.lock"]);
    assert!(
        e.contains("no image `nope`") && e.contains("default, more"),
        "{e}"
    );
    let e = p.diff_error(&["a", "b", "c"]);
    assert!(e.contains("at most two"), "{e}");
    let absent = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
    let e = p.diff_error(&[absent, "wwpack.lock"]);
    assert!(
        e.contains(absent) && e.contains("not in the block store"),
        "{e}"
    );
}

#[test]
fn git_revisions_image_directories_cids_and_the_working_tree() {
    let p = Project::new();
    p.change();
    let by_lock = p.json(&["v1.lock", "wwpack.lock"]);
    let strip = |mut v: serde_json::Value| {
        v.as_object_mut().unwrap().remove("a");
        v.as_object_mut().unwrap().remove("b");
        v
    };

    // --git HEAD is the lock committed at HEAD (v1); it may come in either position.
    let by_git = p.json(&["--git", "HEAD", "wwpack.lock"]);
    assert_eq!(
        by_git["a"],
        serde_json::json!({"kind": "git", "label": "git HEAD"})
    );
    assert_eq!(strip(by_git), strip(by_lock.clone()));
    let reversed = p.json(&["wwpack.lock", "--git", "main"]);
    assert_eq!(reversed["b"]["label"], "git main");
    assert_eq!(
        change(&reversed, "default", "etc/new.conf")["change"],
        "removed"
    );

    // One side only: the other is a fresh build of the working tree (v2, uncommitted).
    let worktree = p.json(&["--git", "HEAD"]);
    assert_eq!(worktree["b"]["kind"], "worktree");
    assert_eq!(strip(worktree), strip(by_lock.clone()));

    // One image against one image: a revision's image, an image directory, CIDs.
    let default = |r: &serde_json::Value| {
        r["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "default")
            .unwrap()
            .clone()
    };
    let dir = p.json(&["--git", "HEAD:default", "target/wwpack/images/default"]);
    assert_eq!(dir["images"].as_array().unwrap().len(), 1);
    assert_eq!(
        default(&dir),
        default(&by_lock),
        "the directory's root is in wwpack.lock: provenance too"
    );
    let roots = default(&by_lock)["root"].clone();
    let (old, new) = (roots[0].as_str().unwrap(), roots[1].as_str().unwrap());
    let by_cid = p.json(&[old, new]);
    let motd = change(&by_cid, "default", "etc/motd");
    assert_eq!(
        motd["content"]["kind"], "text",
        "content read from the block store"
    );
    assert_eq!(
        change(&by_cid, "default", "bin/main.wasm")["content"]["kind"],
        "wasm"
    );
    // An image directory outside any project: no provenance, still every content change.
    let copy = tempfile::tempdir().unwrap();
    let copied = copy.path().join("default");
    copy_dir(&p.root.join("target/wwpack/images/default"), &copied);
    std::fs::write(copied.join("etc/motd"), "edited by hand\n").unwrap();
    let hand = p.json(&["target/wwpack/images/default", copied.to_str().unwrap()]);
    let motd = change(&hand, "default", "etc/motd");
    assert_eq!(motd["b"]["layer"], serde_json::Value::Null);
    assert!(motd["content"]["diff"]
        .as_str()
        .unwrap()
        .contains("+edited by hand\n"));

    // Without the old blocks the paths still compare; the content is named unavailable.
    let o = output(
        Command::new(bin("wwpack"))
            .current_dir(&p.root)
            .env("WW_STORE", p.root.join("empty-store"))
            .env("IPFS_API", "http://127.0.0.1:9")
            .args(["diff", "v1.lock", "wwpack.lock", "--format", "json"]),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let motd = change(&report, "default", "etc/motd");
    assert_eq!(motd["content"]["kind"], "unavailable");
    let reason = motd["content"]["reason"].as_str().unwrap();
    assert!(
        reason.contains(motd["a"]["cid"].as_str().unwrap()) && reason.contains("wwpack pull"),
        "{reason}"
    );
}

#[test]
fn colour_on_request_plain_when_piped() {
    let p = Project::new();
    p.change();
    let (_, plain) = p.diff(&["v1.lock", "wwpack.lock"]);
    assert!(!plain.contains('\x1b'), "piped output is plain");
    let (_, coloured) = p.diff(&["v1.lock", "wwpack.lock", "--color", "always"]);
    assert!(coloured.contains("\x1b[32m+ etc/new.conf"), "{coloured}");
    assert!(coloured.contains("\x1b[31m- etc/old.conf"), "{coloured}");
    let strip = coloured
        .replace("\x1b[0m", "")
        .replace("\x1b[1m", "")
        .replace("\x1b[31m", "")
        .replace("\x1b[32m", "")
        .replace("\x1b[33m", "")
        .replace("\x1b[36m", "");
    assert_eq!(strip, plain);
}

#[test]
fn a_cid_missing_here_is_fetched_from_the_ipfs_node() {
    let p = Project::new();
    let node = e2e::IpfsNode::start();
    p.ok(&["--api", &node.url, "push", "default"]);
    let v1_root = p.json(&["v1.lock", "wwpack.lock"]);
    assert_eq!(v1_root["identical"], true);
    let old = v1_root["images"][0]["root"][0]
        .as_str()
        .unwrap()
        .to_string();
    p.change();

    // An empty block store: the old image comes from the node, the new one from its directory.
    let store = p.root.join("fresh-store");
    let o = output(
        Command::new(bin("wwpack"))
            .current_dir(&p.root)
            .arg("--store")
            .arg(&store)
            .args(["--api", &node.url, "diff", &old])
            .args(["target/wwpack/images/default", "--format", "json"]),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["a"]["kind"], "cid");
    let image = &report["images"][0];
    assert_eq!(
        image["name"], "default",
        "named after the lock image with that root"
    );
    assert_eq!(image["renamed_from"], old.as_str());
    let motd = change(&report, "default", "etc/motd");
    let diff = motd["content"]["diff"].as_str().unwrap();
    assert!(diff.contains("-Welcome to Wetware.\n"), "{motd:#}");
    let old_motd = motd["a"]["cid"].as_str().unwrap();
    assert!(
        Command::new(bin("wwpack"))
            .arg("--store")
            .arg(&store)
            .args(["cat", old_motd])
            .output()
            .unwrap()
            .status
            .success(),
        "fetched blocks are kept in the store"
    );

    // With the node gone, the same CID is an error that names it and the node.
    node.stop();
    let o = output(
        Command::new(bin("wwpack"))
            .current_dir(&p.root)
            .arg("--store")
            .arg(p.root.join("another-store"))
            .args(["--api", &node.url, "diff", &old, "wwpack.lock:default"]),
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains(&old) && e.contains(&node.url), "{e}");
}

/// Runs `wwpack diff ARGS` in `dir` (with the project's store) and returns status and stderr.
fn diff_in(p: &Project, dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let o = output(
        Command::new(bin("wwpack"))
            .current_dir(dir)
            .env("WW_STORE", p.root.join("store"))
            .env("IPFS_API", "http://127.0.0.1:9")
            .arg("diff")
            .args(args),
    );
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    (o.status.code(), stdout, stderr(&o))
}

#[test]
fn revisions_cids_and_directories_that_are_not_what_they_seem() {
    let p = Project::new();
    // A revision with a `:` in it is a revision first (`:/v1` finds the commit by message).
    let (code, _, e) = diff_in(&p, &p.root, &["--git", ":/v1", "v1.lock"]);
    assert_eq!(code, Some(0), "{e}");
    // Not options, not empty.
    let e = p.diff_error(&["--git=--output=/tmp/x", "v1.lock"]);
    assert!(e.contains("is not a revision"), "{e}");
    // A CID that names a file or a symlink inside an image is not an image.
    let root = p.json(&["v1.lock", "wwpack.lock"])["images"][0]["root"][0]
        .as_str()
        .unwrap()
        .to_string();
    let e = p.diff_error(&[&format!("{root}/etc/motd"), "v1.lock:default"]);
    assert!(e.contains("is a file, not a directory"), "{e}");
    let e = p.diff_error(&[&format!("/ipfs/{root}/etc/greeting"), "v1.lock:default"]);
    assert!(e.contains("is a symlink, not a directory"), "{e}");
    // A project directory without a lock is named as such, not hashed as an image.
    let bare = tempfile::tempdir().unwrap();
    write_tree(bare.path(), &[("wwpack.toml", TOML_V1.as_bytes())]);
    let e = p.diff_error(&[bare.path().to_str().unwrap(), "v1.lock"]);
    assert!(e.contains("without a wwpack.lock"), "{e}");

    // Outside any git repository, --git says so; a broken wwpack.toml is reported as itself.
    let (code, _, e) = diff_in(&p, bare.path(), &["--git", "HEAD"]);
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("is not in a git repository"), "{e}");
    std::fs::write(bare.path().join("wwpack.toml"), "layers = = 1").unwrap();
    let (code, _, e) = diff_in(&p, bare.path(), &["--git", "HEAD"]);
    assert_eq!(code, Some(2), "{e}");
    assert!(
        e.contains("wwpack.toml") && !e.contains("needs a project"),
        "{e}"
    );

    // A file that becomes a symlink is modified; its content is the target.
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_tree(a.path(), &[("etc/x", b"a file\n"), ("etc/y", b"y\n")]);
    write_tree(b.path(), &[("etc/y", b"y\n")]);
    std::os::unix::fs::symlink("y", b.path().join("etc/x")).unwrap();
    let (code, out, e) = diff_in(
        &p,
        &p.root,
        &[
            a.path().to_str().unwrap(),
            b.path().to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(code, Some(1), "{e}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let x = &report["images"][0]["changes"][0];
    assert_eq!(
        (&x["path"], &x["change"]),
        (&"etc/x".into(), &"modified".into())
    );
    assert_eq!(
        (&x["a"]["target"], &x["b"]["target"]),
        (&serde_json::Value::Null, &"y".into())
    );
    assert_eq!(x["content"], serde_json::Value::Null);
}

#[test]
fn images_are_chosen_by_name_and_directories_hashed_under_their_profile() {
    let p = Project::new();
    // An image under the older profile: its directory is hashed under it, so it matches.
    let toml = format!(
        "{TOML_V1}\n[images.legacy]\nlayers = [\"base\", \"app\"]\nprofile = \"unixfs-v0-2015\"\n"
    );
    std::fs::write(p.root.join("wwpack.toml"), toml).unwrap();
    p.ok(&["build"]);
    let (code, out) = p.diff(&["wwpack.lock:legacy", "target/wwpack/images/legacy"]);
    assert_eq!(code, 0, "{out}");
    let copy = tempfile::tempdir().unwrap();
    let edited = copy.path().join("legacy");
    copy_dir(&p.root.join("target/wwpack/images/legacy"), &edited);
    std::fs::write(edited.join("etc/motd"), "edited\n").unwrap();
    let report = p.json(&["wwpack.lock:legacy", edited.to_str().unwrap()]);
    let changes = report["images"][0]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "only the edited file differs: {report:#}");
    assert_eq!(changes[0]["path"], "etc/motd");
    assert!(changes[0]["a"]["cid"].as_str().unwrap().starts_with("Qm"));
    assert_eq!(
        report["images"][0]["profile"],
        serde_json::json!(["unixfs-v0-2015", "unixfs-v0-2015"])
    );

    // --image picks one image of whole locks, the working tree included; an old image CID that
    // the current lock no longer names pairs with it.
    let old_root = p.json(&["v1.lock", "wwpack.lock", "--image", "default"])["images"][0]["root"]
        [0]
    .as_str()
    .unwrap()
    .to_string();
    p.change();
    let report = p.json(&["--git", "HEAD", "--image", "tiny"]);
    let names: Vec<&str> = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tiny"]);
    let e = p.diff_error(&[&old_root]);
    assert!(e.contains("--image NAME"), "{e}");
    let report = p.json(&[&old_root, "--image", "default"]);
    assert_eq!(report["images"][0]["name"], "default");
    assert_eq!(
        report["images"][0]["profile"][0],
        serde_json::Value::Null,
        "unknown"
    );
    let e = p.diff_error(&["--git", "HEAD", "--image", "nope"]);
    assert!(e.contains("has no image `nope`"), "{e}");
}

/// `count` random short lines, each one of `distinct`, from `seed` (xorshift64*).
fn random_lines(seed: u64, count: usize, distinct: u64) -> String {
    let mut state = seed.max(1);
    let mut text = String::new();
    for _ in 0..count {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let n = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
        text.push_str(&format!("l{}\n", n % distinct));
    }
    text
}

/// Runs `wwpack diff ARGS` in `dir`, killed if it has not finished after `guard`: its status
/// and stdout.
fn diff_guarded(dir: &Path, args: &[&str], guard: std::time::Duration) -> (Option<i32>, String) {
    use std::io::Read;
    let mut child = Command::new(bin("wwpack"))
        .current_dir(dir)
        .env("WW_STORE", dir.join("store"))
        .env("IPFS_API", "http://127.0.0.1:9")
        .arg("diff")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        stdout.read_to_string(&mut out).unwrap();
        out
    });
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > guard {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("wwpack diff {args:?} did not finish within {guard:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    (status.code(), reader.join().unwrap())
}

#[test]
fn text_diffs_of_random_lines_are_bounded_in_time_and_still_valid() {
    // The attack: text files of random short lines just under --text-limit (~210 KB, 35,000
    // lines each side), whose alignment is quadratic: one such pair took minutes. Twelve pairs
    // spend more than the whole diff's budget. A hang guard only, no timing claim.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for i in 0..12u64 {
        let path = format!("etc/random-{i:02}");
        write_tree(
            &a,
            &[(&path, random_lines(2 * i + 1, 35_000, 10_000).as_bytes())],
        );
        write_tree(
            &b,
            &[(&path, random_lines(2 * i + 2, 35_000, 10_000).as_bytes())],
        );
    }
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let guard = std::time::Duration::from_secs(180);
    let (code, json) = diff_guarded(dir.path(), &[a, b, "--format", "json"], guard);
    assert_eq!(code, Some(1), "{json}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let changes = report["images"][0]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 12);
    let mut simplified = 0;
    for c in changes {
        let content = &c["content"];
        assert_eq!(content["kind"], "text", "{}", c["path"]);
        let diff = content["diff"].as_str().unwrap();
        let path = c["path"].as_str().unwrap();
        assert!(
            diff.starts_with(&format!("--- a/{path}\n+++ b/{path}\n@@ -1,")),
            "{path}"
        );
        // Counted lines are the diff's lines; removed plus kept is the old file, added plus
        // kept the new one.
        let count = |tag: char| {
            diff.lines()
                .filter(|l| l.starts_with(tag) && !l.starts_with("---") && !l.starts_with("+++"))
                .count()
        };
        let (added, removed) = (count('+'), count('-'));
        assert_eq!(content["lines_added"], added, "{path}");
        assert_eq!(content["lines_removed"], removed, "{path}");
        let kept = diff.lines().filter(|l| l.starts_with(' ')).count();
        assert!(removed + kept <= 35_000 && added + kept <= 35_000, "{path}");
        match &content["simplified"] {
            serde_json::Value::Null => {}
            serde_json::Value::Bool(true) => simplified += 1,
            other => panic!("{path}: simplified is {other}"),
        }
    }
    // The text format names each simplified diff (how many depends on the machine's speed).
    let (code, text) = diff_guarded(dir.path(), &[a, b, "--color", "never"], guard);
    assert_eq!(code, Some(1));
    let notes = text
        .matches("diff simplified: too many changes to align within the time limit")
        .count();
    assert!(
        simplified == 0 || notes > 0,
        "{simplified} simplified in JSON, no note in the text"
    );
}
