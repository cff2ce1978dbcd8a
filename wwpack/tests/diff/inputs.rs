//! What `wwpack diff` compares: git revisions, image directories, CIDs (from the block store
//! or fetched from an IPFS node), the working tree, and inputs that are not what they seem; and
//! images chosen by name, directories hashed under their image's profile.

use std::path::Path;
use std::process::Command;

use ww_test_support::{copy_dir, output, stderr, write_tree, IpfsNode};

use crate::change;
use crate::project::{Project, TOML_V1};
use crate::WWPACK;

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
        Command::new(WWPACK)
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
fn a_cid_missing_here_is_fetched_from_the_ipfs_node() {
    let p = Project::new();
    let node = IpfsNode::start();
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
        Command::new(WWPACK)
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
        Command::new(WWPACK)
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
        Command::new(WWPACK)
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
        Command::new(WWPACK)
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
