//! `wwpack build` end to end on copies of this repository's images (real guests, real cargo):
//! reproducible locks from clones at different paths, `--locked`, no-op builds that run no
//! cargo, pid0 shadowing, and validation errors that name the file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ww_test_support::{
    closed_pipe, copy_dir, mode_of, ok, output, repo, stderr, trapping_command, wat, write_tree,
};

const WWPACK: &str = env!("CARGO_BIN_EXE_wwpack");

/// Copies what goes into this repository's images (wwpack.toml, guests/ without target/ and
/// with its symlinks, layers/, and what those symlinks and the guests reach outside guests/: the
/// schema crates stem/ and capnp/, and wit/) to `dest`.
fn clone_project(dest: &Path) -> PathBuf {
    copy_dir(&repo().join("guests"), &dest.join("guests"));
    for dir in ["stem", "capnp", "wit"] {
        copy_dir(&repo().join(dir), &dest.join(dir));
    }
    copy_dir(&repo().join("layers"), &dest.join("layers"));
    std::fs::copy(repo().join("wwpack.toml"), dest.join("wwpack.toml")).unwrap();
    std::fs::copy(repo().join("wwpack.lock"), dest.join("wwpack.lock")).unwrap();
    dest.to_path_buf()
}

fn wwpack_build(project: &Path, args: &[&str], cargo: Option<&str>) -> Output {
    let mut cmd = Command::new(WWPACK);
    cmd.current_dir(project)
        .arg("--store")
        .arg(project.join("store"))
        .arg("build")
        .args(args);
    if let Some(cargo) = cargo {
        cmd.env("CARGO", cargo);
    }
    output(&mut cmd)
}

#[test]
fn two_clones_at_different_paths_give_identical_locks_and_wasm() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pa = clone_project(&a.path().join("first/clone"));
    let pb = clone_project(&b.path().join("x"));
    std::fs::remove_file(pa.join("wwpack.lock")).unwrap();
    std::fs::remove_file(pb.join("wwpack.lock")).unwrap();
    ok(&wwpack_build(&pa, &[], None));
    ok(&wwpack_build(&pb, &[], None));
    let lock_a = std::fs::read_to_string(pa.join("wwpack.lock")).unwrap();
    let lock_b = std::fs::read_to_string(pb.join("wwpack.lock")).unwrap();
    assert_eq!(lock_a, lock_b);
    assert!(
        !lock_a.contains(a.path().to_str().unwrap()),
        "the lock holds no checkout path"
    );
    let main =
        |p: &Path| std::fs::read(p.join("target/wwpack/images/default/bin/main.wasm")).unwrap();
    assert_eq!(main(&pa), main(&pb), "byte-identical pid0");
    // The OCI export of each clone has the same manifest digest (so the same layer and config
    // bytes): nothing of the checkout path or the time goes into it.
    let oci = |p: &Path| {
        ok(&output(
            Command::new(WWPACK)
                .current_dir(p)
                .env_remove("SOURCE_DATE_EPOCH")
                .arg("--store")
                .arg(p.join("store"))
                .args(["export", "--oci", "oci", "default"]),
        ))
    };
    let digest = oci(&pa);
    assert!(digest.starts_with("sha256:"), "{digest}");
    assert_eq!(
        digest,
        oci(&pb),
        "the same OCI manifest digest from both clones"
    );
    // `wwpack diff` says so too: the two locks, the two image directories, and (in the second
    // clone) its lock against a fresh build of its working tree.
    let diff = |args: &[&Path], cwd: &Path| {
        let o = output(
            Command::new(WWPACK)
                .current_dir(cwd)
                .arg("--store")
                .arg(cwd.join("store"))
                .arg("diff")
                .args(args),
        );
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (code, out) = diff(&[&pa.join("wwpack.lock"), &pb.join("wwpack.lock")], &pa);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.ends_with("identical (4 images)\n"), "{out}");
    let images = |p: &Path| p.join("target/wwpack/images/default");
    assert_eq!(diff(&[&images(&pa), &images(&pb)], &pa).0, Some(0));
    let (code, out) = diff(&[], &pb);
    assert_eq!(code, Some(0), "{out}");
    // The committed lock is what these sources give.
    let committed = std::fs::read_to_string(repo().join("wwpack.lock")).unwrap();
    assert_eq!(
        lock_a, committed,
        "wwpack.lock in the repository is stale: run `wwpack build`"
    );
    // A second run from scratch gives the same bytes again.
    std::fs::remove_dir_all(pa.join("target")).unwrap();
    ok(&wwpack_build(&pa, &[], None));
    assert_eq!(
        std::fs::read_to_string(pa.join("wwpack.lock")).unwrap(),
        lock_a
    );
}

#[test]
fn locked_fails_and_names_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let p = clone_project(dir.path());
    ok(&wwpack_build(&p, &["--locked"], None));
    std::fs::write(p.join("layers/base/etc/motd"), "a changed motd\n").unwrap();
    let before = std::fs::read(p.join("wwpack.lock")).unwrap();
    let o = wwpack_build(&p, &["--locked"], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("does not match") && err.contains("~ etc/motd"),
        "{err}"
    );
    assert!(err.contains("root "), "{err}");
    assert_eq!(
        std::fs::read(p.join("wwpack.lock")).unwrap(),
        before,
        "--locked writes no lock"
    );
    // ... and no blocks: a failing --locked into an empty store leaves it empty.
    let fresh = p.join("fresh-store");
    let o = output(
        Command::new(WWPACK)
            .current_dir(&p)
            .arg("--store")
            .arg(&fresh)
            .args(["build", "--locked"]),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let blocks = ["blocks", "packs"]
        .iter()
        .map(|kept| std::fs::read_dir(fresh.join(kept)).map_or(0, |d| d.count()))
        .sum::<usize>();
    assert_eq!(blocks, 0, "a failed --locked stored blocks");
    // Without --locked the lock follows the change.
    ok(&wwpack_build(&p, &[], None));
    assert_ne!(std::fs::read(p.join("wwpack.lock")).unwrap(), before);
}

#[test]
fn a_no_op_build_runs_no_cargo_and_a_change_does() {
    let dir = tempfile::tempdir().unwrap();
    let p = clone_project(dir.path());
    let first = ok(&wwpack_build(&p, &[], None));
    // `false` as cargo: any cargo run fails the build.
    let again = ok(&wwpack_build(&p, &[], Some("false")));
    assert!(again.contains("(up to date)"), "{again}");
    assert_eq!(again.replace("\t(up to date)", ""), first);
    let json: serde_json::Value =
        serde_json::from_str(&ok(&wwpack_build(&p, &["--json"], Some("false")))).unwrap();
    assert_eq!(json["up_to_date"], true);
    // A guest source changes: cargo must run, and `false` makes that visible.
    let main_rs = p.join("guests/hello/src/main.rs");
    let src = std::fs::read_to_string(&main_rs).unwrap();
    std::fs::write(&main_rs, format!("{src}\n// changed\n")).unwrap();
    let o = wwpack_build(&p, &[], Some("false"));
    assert!(!o.status.success(), "a changed guest must run cargo");
    // Only the rebuilt guest is hashed again; the unchanged motd comes from the stat cache.
    let json: serde_json::Value =
        serde_json::from_str(&ok(&wwpack_build(&p, &["--json"], None))).unwrap();
    assert_eq!(
        (json["up_to_date"].as_bool(), json["hashed_files"].as_u64()),
        (Some(false), Some(1)),
        "{json}"
    );
    // A layer file changes: only it is hashed again.
    std::fs::write(p.join("layers/base/etc/motd"), "changed\n").unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&ok(&wwpack_build(&p, &["--json"], None))).unwrap();
    assert_eq!(
        (json["up_to_date"].as_bool(), json["hashed_files"].as_u64()),
        (Some(false), Some(1)),
        "{json}"
    );
    let motd = &json["images"][0];
    assert_eq!(motd["name"], "default");
    // Inputs outside guests/ count too: a schema of a path dependency (read by a build script)
    // and the WIT the guest SDK's bindings are generated from (listed in cargo's dep-info).
    for outside in ["capnp/peer.capnp", "wit/connection.wit"] {
        ok(&wwpack_build(&p, &[], Some("false")));
        let file = p.join(outside);
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, format!("{text}\n")).unwrap();
        let o = wwpack_build(&p, &[], Some("false"));
        assert!(!o.status.success(), "a changed {outside} must run cargo");
        ok(&wwpack_build(&p, &[], None));
    }
}

#[test]
fn shadowing_pid0_is_a_warning_or_with_deny_shadowing_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = clone_project(dir.path());
    write_tree(
        &p.join("layers/over"),
        &[("bin/main.wasm", &trapping_command())],
    );
    let toml = std::fs::read_to_string(p.join("wwpack.toml"))
        .unwrap()
        .replace(
            "layers = [\"base\", \"hello\"]",
            "layers = [\"base\", \"hello\", \"over\"]",
        )
        + "\n[layers.over]\npath = \"layers/over\"\n";
    std::fs::write(p.join("wwpack.toml"), toml).unwrap();
    let o = wwpack_build(&p, &[], None);
    ok(&o);
    let err = stderr(&o);
    assert!(
        err.contains("wwpack: warning: ")
            && err.contains("bin/main.wasm")
            && err.contains("over")
            && err.contains("hello"),
        "{err}"
    );
    let lock = std::fs::read_to_string(p.join("wwpack.lock")).unwrap();
    let lock: serde_json::Value = serde_json::from_str(&lock).unwrap();
    let main = &lock["images"]["hello"]["files"]["bin/main.wasm"];
    assert_eq!(main["layer"], "over");
    assert_eq!(main["shadows"], serde_json::json!(["hello"]));
    let o = wwpack_build(&p, &["--deny-shadowing"], None);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--deny-shadowing"), "{}", stderr(&o));
}

#[test]
fn validation_errors_name_the_file_and_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let p = clone_project(dir.path());
    let base = p.join("layers/base");
    let expect = |needles: &[&str]| {
        let o = wwpack_build(&p, &[], None);
        assert!(!o.status.success(), "{needles:?} passed validation");
        let err = stderr(&o);
        for needle in needles {
            assert!(err.contains(needle), "{needle:?} not in: {err}");
        }
    };
    // boot/: the name must be a peer ID, the content multiaddrs.
    write_tree(&base, &[("boot/not-a-peer-id", b"/ip4/127.0.0.1/tcp/1\n")]);
    expect(&["boot/not-a-peer-id", "peer ID"]);
    std::fs::remove_dir_all(base.join("boot")).unwrap();
    let peer = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
    write_tree(
        &base,
        &[(
            &format!("boot/{peer}"),
            b"/ip4/127.0.0.1/tcp/1\n/ip4/1.2.3/tcp/2\n",
        )],
    );
    expect(&[&format!("boot/{peer}"), "line 2", "ip4"]);
    std::fs::remove_dir_all(base.join("boot")).unwrap();
    // svc/<name>/ is a nested image with its own pid0.
    write_tree(&base, &[("svc/echo/etc/motd", b"x")]);
    expect(&["svc/echo/bin/main.wasm", "missing"]);
    write_tree(&base, &[("svc/echo/bin/main.wasm", &wat("(component)"))]);
    expect(&["svc/echo/bin/main.wasm", "not a WASI command"]);
    std::fs::remove_dir_all(base.join("svc")).unwrap();
    // Symlinks may not be absolute or leave the layer.
    std::os::unix::fs::symlink("/etc/passwd", base.join("etc/passwd")).unwrap();
    expect(&["etc/passwd", "/etc/passwd", "absolute"]);
    std::fs::remove_file(base.join("etc/passwd")).unwrap();
    std::os::unix::fs::symlink("../../outside", base.join("etc/up")).unwrap();
    expect(&["etc/up", "outside"]);
    std::fs::remove_file(base.join("etc/up")).unwrap();
    // Devices, FIFOs and sockets have no place in a layer.
    assert!(Command::new("mkfifo")
        .arg(base.join("etc/pipe"))
        .status()
        .unwrap()
        .success());
    expect(&["etc/pipe", "FIFO"]);
    std::fs::remove_file(base.join("etc/pipe")).unwrap();
    // With everything removed again, the image builds.
    ok(&wwpack_build(&p, &[], None));
}

/// A project of static layers only (no guests, so no cargo): `base` with etc/ files and a WAT
/// pid0, `extra` with whatever a test puts in `layers/extra`, images `default` (base) and
/// `both` (base, extra).
fn static_project(dir: &Path) -> PathBuf {
    let p = dir.join("project");
    write_tree(
        &p,
        &[
            (
                "wwpack.toml",
                br#"
[layers.base]
path = "layers/base"

[layers.extra]
path = "layers/extra"

[images.default]
layers = ["base"]

[images.both]
layers = ["base", "extra"]
"#,
            ),
            ("layers/base/etc/motd", b"hello\n"),
            ("layers/base/etc/conf.d/a.conf", b"a = 1\n"),
            ("layers/base/bin/main.wasm", &trapping_command()),
            ("layers/extra/etc/extra", b"extra\n"),
        ],
    );
    p
}

#[test]
fn images_and_the_lock_are_written_with_the_umask_applied() {
    let dir = tempfile::tempdir().unwrap();
    let p = static_project(dir.path());
    // Sources with modes the umask must still narrow.
    let motd = p.join("layers/base/etc/motd");
    std::fs::set_permissions(&motd, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let o = output(
        Command::new("sh")
            .current_dir(&p)
            .arg("-c")
            .arg(r#"umask 027 && exec "$0" "$@""#)
            .arg(WWPACK)
            .arg("--store")
            .arg(p.join("store"))
            .arg("build"),
    );
    ok(&o);
    let image = p.join("target/wwpack/images/default");
    for file in ["etc/motd", "etc/conf.d/a.conf", "bin/main.wasm"] {
        let mode = mode_of(&image.join(file));
        assert_eq!(mode & 0o027, 0, "{file} is {mode:o} under umask 027");
        assert_ne!(
            mode & 0o400,
            0,
            "{file} is {mode:o}: not readable by its owner"
        );
    }
    for d in ["", "etc", "etc/conf.d", "bin"] {
        let mode = mode_of(&image.join(d));
        assert_eq!(
            mode & 0o027,
            0,
            "directory `{d}` is {mode:o} under umask 027"
        );
    }
    assert_eq!(mode_of(&p.join("wwpack.lock")), 0o640);
}

#[test]
fn a_closed_stdout_ends_build_and_diff_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let p = static_project(dir.path());
    for args in [&["build"][..], &["build", "--json"], &["diff"]] {
        let o = output(
            Command::new(WWPACK)
                .current_dir(&p)
                .arg("--store")
                .arg(p.join("store"))
                .args(args)
                .stdout(closed_pipe()),
        );
        assert_eq!(
            (o.status.code(), stderr(&o).as_str()),
            (Some(0), ""),
            "wwpack {args:?} into a closed pipe"
        );
    }
    assert!(p.join("target/wwpack/images/both/etc/extra").exists());
}

#[test]
fn symlinks_are_resolved_through_the_layers_own_and_the_images_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let p = static_project(dir.path());
    let link = |layer: &str, path: &str, target: &str| {
        let at = p.join("layers").join(layer).join(path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, at).unwrap();
    };
    let build_fails = |needles: &[&str]| {
        let o = wwpack_build(&p, &[], None);
        assert!(!o.status.success(), "{needles:?} passed validation");
        let err = stderr(&o);
        for needle in needles {
            assert!(err.contains(needle), "{needle:?} not in: {err}");
        }
    };
    // Legitimate links, within a layer and across layers, build.
    link("base", "etc/greeting", "motd");
    link("base", "etc/conf.d/up", "..");
    link("base", "etc/again", "conf.d/up/motd");
    link("extra", "etc/via-base", "conf.d/up/conf.d/a.conf");
    ok(&wwpack_build(&p, &[], None));
    // The chain of issue 13: each link stays inside lexically, e1 resolves above the layer.
    link("extra", "d/up", "..");
    link("extra", "e1", "d/up/..");
    build_fails(&[
        "layer `extra`",
        "`e1` is a symlink to `d/up/..`, which climbs above the layer root",
        "symlinks must be relative and stay inside their layer",
    ]);
    std::fs::remove_file(p.join("layers/extra/e1")).unwrap();
    // A loop.
    link("extra", "etc/loop", "loop/x");
    build_fails(&[
        "layer `extra`",
        "`etc/loop` is a symlink to `loop/x`, which loops",
    ]);
    std::fs::remove_file(p.join("layers/extra/etc/loop")).unwrap();
    // Across layers: fine in each layer, out of the image in their union. extra's `etc/out`
    // goes through a `conf.d/up` that only base has (it is `etc`), so `../..` leaves.
    link("extra", "etc/out", "conf.d/up/../..");
    build_fails(&[
        "image `both`",
        "`etc/out` from layer `extra` is a symlink to `conf.d/up/../..`, which climbs above \
         the image root",
        "stay inside their image",
    ]);
    std::fs::remove_file(p.join("layers/extra/etc/out")).unwrap();
    ok(&wwpack_build(&p, &[], None));
}
