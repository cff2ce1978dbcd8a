//! The content verbs of the real `wwpack` binary on real files: `cid` prints the CIDs IPFS
//! prints, `add` → `ls`/`cat` → `export` → `import` into an empty store gives the same bytes, a
//! corrupted block is caught and named, bad input stores nothing, and a 1 GiB file is imported
//! in bounded memory.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use ww_test_support::process::run_measured;
use ww_test_support::{
    closed_pipe, failed, flip_byte, mode_of, names_in, ok, output, reachable_for_nobody, s,
    walk_files, write_tree,
};

const WWPACK: &str = env!("CARGO_BIN_EXE_wwpack");

fn wwpack(store: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(WWPACK);
    cmd.env_remove("WW_STORE");
    if let Some(store) = store {
        cmd.arg("--store").arg(store);
    }
    output(cmd.args(args))
}

#[test]
fn cid_prints_the_cids_ipfs_prints() {
    let dir = tempfile::tempdir().unwrap();
    let hello = dir.path().join("hello");
    std::fs::write(&hello, "hello world").unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let cid = |args: &[&str]| ok(&wwpack(None, args)).trim().to_string();
    assert_eq!(
        cid(&["cid", s(&hello)]),
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    );
    assert_eq!(
        cid(&["cid", "--profile", "unixfs-v0-2015", s(&hello)]),
        "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"
    );
    assert_eq!(
        cid(&["cid", s(&empty)]),
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"
    );
    assert_eq!(
        cid(&["cid", "--profile", "unixfs-v0-2015", s(&empty)]),
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
    );
    let json: serde_json::Value = serde_json::from_str(&cid(&[
        "cid",
        "--json",
        "--profile",
        "kubo-cidv1",
        s(&hello),
    ]))
    .unwrap();
    assert_eq!(
        json["cid"],
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    );
    assert_eq!(json["profile"], "kubo-cidv1");
    assert_eq!(json["size"], 11);
    let err = failed(&wwpack(None, &["cid", "--profile", "v2", s(&hello)]));
    assert!(
        err.contains("unknown profile `v2`") && err.contains("unixfs-v1-2025"),
        "{err}"
    );
}

fn sample_tree(root: &Path) -> Vec<u8> {
    let big: Vec<u8> = (0..3_500_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write_tree(
        root,
        &[
            ("etc/motd", b"welcome to the store\n"),
            ("bin/big", &big),
            (".hidden", b"dotfile"),
        ],
    );
    std::fs::create_dir_all(root.join("var/empty")).unwrap();
    std::os::unix::fs::symlink("../etc/motd", root.join("bin/motd")).unwrap();
    big
}

/// The sample tree under `work/tree`, added to the store `work/store`: (tree, store, root CID).
fn add_sample(work: &Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let (tree, store) = (work.join("tree"), work.join("store"));
    sample_tree(&tree);
    let root = ok(&wwpack(Some(&store), &["add", s(&tree)]))
        .trim()
        .to_string();
    (tree, store, root)
}

#[test]
fn add_ls_cat_export_import_round_trip() {
    let work = tempfile::tempdir().unwrap();
    let (tree, one, two) = (
        work.path().join("tree"),
        work.path().join("s1"),
        work.path().join("s2"),
    );
    let big = sample_tree(&tree);

    let expected = ok(&wwpack(None, &["cid", s(&tree)])).trim().to_string();
    let root = ok(&wwpack(Some(&one), &["add", s(&tree)]))
        .trim()
        .to_string();
    assert_eq!(root, expected, "add and cid agree");

    let listing = ok(&wwpack(Some(&one), &["ls", &root]));
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(names, [".hidden", "bin/", "etc/", "var/"], "{listing}");
    let bin_listing = ok(&wwpack(Some(&one), &["ls", &format!("/ipfs/{root}/bin")]));
    assert!(bin_listing.contains(" 3500000 big\n"), "{bin_listing}");
    assert!(bin_listing.contains("motd -> ../etc/motd"), "{bin_listing}");

    let motd = wwpack(Some(&one), &["cat", &format!("{root}/etc/motd")]);
    assert_eq!(ok(&motd), "welcome to the store\n");
    let range = wwpack(
        Some(&one),
        &[
            "cat",
            "--offset",
            "1048570",
            "--length",
            "20",
            &format!("{root}/bin/big"),
        ],
    );
    assert_eq!(range.stdout, &big[1_048_570..1_048_590]);

    let car = work.path().join("tree.car");
    ok(&wwpack(Some(&one), &["export", &root, "-o", s(&car)]));
    let imported = ok(&wwpack(Some(&two), &["import", s(&car)]));
    assert_eq!(imported.trim(), root);
    let out = wwpack(Some(&two), &["cat", &format!("{root}/bin/big")]);
    assert!(out.status.success());
    assert_eq!(out.stdout, big, "bytes out of the second store");

    // Pinned content survives gc.
    let gc = ok(&wwpack(Some(&two), &["gc"]));
    assert!(gc.starts_with("removed 0 blocks"), "{gc}");
    assert_eq!(
        ok(&wwpack(Some(&two), &["cat", &format!("{root}/etc/motd")])),
        "welcome to the store\n"
    );
}

#[test]
fn a_corrupted_block_is_detected_and_named() {
    let work = tempfile::tempdir().unwrap();
    let (_, store, root) = add_sample(work.path());
    let motd_cid = ok(&wwpack(Some(&store), &["ls", &format!("{root}/etc")]))
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let at = ww_content::store::Store::open_read_only(&store)
        .unwrap()
        .locate(&motd_cid.parse().unwrap())
        .expect("the motd block is stored");
    flip_byte(&at.path, at.offset);
    let err = failed(&wwpack(Some(&store), &["cat", &format!("{root}/etc/motd")]));
    assert!(
        err.contains(&motd_cid) && err.contains("do not match"),
        "{err}"
    );
    let car = work.path().join("x.car");
    let err = failed(&wwpack(Some(&store), &["export", &root, "-o", s(&car)]));
    assert!(err.contains(&motd_cid), "{err}");
    assert!(!car.exists(), "a failed export leaves no CAR behind");
}

#[test]
fn bad_input_is_named_and_stores_nothing() {
    let work = tempfile::tempdir().unwrap();
    let (tree, store) = (work.path().join("tree"), work.path().join("store"));
    sample_tree(&tree);
    let fifo = tree.join("etc/pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let err = failed(&wwpack(Some(&store), &["add", s(&tree)]));
    assert!(err.contains(s(&fifo)) && err.contains("FIFO"), "{err}");
    let stored: Vec<_> = walk_files(&store.join("blocks"))
        .into_iter()
        .chain(walk_files(&store.join("packs")))
        .collect();
    assert!(stored.is_empty(), "blocks stored: {stored:?}");
    assert_eq!(std::fs::read_dir(store.join("pins")).unwrap().count(), 0);

    let missing = work.path().join("missing");
    let err = failed(&wwpack(Some(&store), &["add", s(&missing)]));
    assert!(err.contains(s(&missing)), "{err}");

    let not_a_dir = work.path().join("file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let err = failed(&wwpack(Some(&not_a_dir), &["add", s(&missing)]));
    assert!(
        err.contains("not writable") && err.contains(s(&not_a_dir)),
        "{err}"
    );

    let err = failed(&wwpack(Some(&store), &["cat", "bafy-not-a-cid/x"]));
    assert!(err.contains("bafy-not-a-cid"), "{err}");
}

#[test]
fn a_one_gib_file_is_imported_in_bounded_memory() {
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("big");
    // Sparse: reads as 1 GiB of zeros without using 1 GiB of disk.
    std::fs::File::create(&file)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    // A hang guard only, no timing claim.
    let o = run_measured(
        Command::new(WWPACK).args(["cid", s(&file)]),
        Duration::from_secs(600),
    );
    assert!(o.status.success(), "{}", o.describe());
    assert!(o.peak_rss < 64 << 20, "peak RSS {} MiB", o.peak_rss >> 20);
}

/// Runs the real binary as the unprivileged user `nobody`: as root, permission bits decide
/// nothing, and CI runs as root.
fn wwpack_as_nobody(store: &Path, args: &[&str]) -> Output {
    output(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(WWPACK)
            .env_remove("WW_STORE")
            .arg("--store")
            .arg(store)
            .args(args),
    )
}

/// Lets `nobody` reach `dir` and the wwpack binary (o+rx on every parent directory).
fn open_to_nobody(dir: &Path) {
    let exe = Path::new(WWPACK);
    reachable_for_nobody(&[dir, exe.parent().expect("the binary's directory")]);
}

#[test]
fn a_store_others_cannot_write_serves_reads_and_refuses_writes() {
    let work = tempfile::tempdir().unwrap();
    let (tree, store, root) = add_sample(work.path());
    // The binary and the store must be reachable for `nobody`; the store stays root's.
    open_to_nobody(work.path());
    let motd = wwpack_as_nobody(&store, &["cat", &format!("{root}/etc/motd")]);
    assert_eq!(ok(&motd), "welcome to the store\n");
    let listing = ok(&wwpack_as_nobody(&store, &["ls", &root]));
    assert!(listing.contains("etc/"), "{listing}");
    let err = failed(&wwpack_as_nobody(&store, &["add", s(&tree)]));
    assert!(
        err.contains("not writable") && err.contains(s(&store)),
        "{err}"
    );
}

#[test]
fn an_unreadable_file_is_named_and_nothing_is_stored() {
    let work = tempfile::tempdir().unwrap();
    let (tree, store) = (work.path().join("tree"), work.path().join("store"));
    sample_tree(&tree);
    let secret = tree.join("etc/secret");
    std::fs::write(&secret, "root only").unwrap();
    open_to_nobody(work.path());
    // Everything readable by `nobody` but the secret; the store belongs to `nobody`.
    let _ = Command::new("chmod")
        .args(["-R", "o+rX"])
        .arg(&tree)
        .status();
    let _ = Command::new("chmod").arg("0600").arg(&secret).status();
    std::fs::create_dir(&store).unwrap();
    assert!(Command::new("chown")
        .args(["65534:65534"])
        .arg(&store)
        .status()
        .unwrap()
        .success());
    let err = failed(&wwpack_as_nobody(&store, &["add", s(&tree)]));
    assert!(
        err.contains(s(&secret)) && err.contains("Permission denied"),
        "{err}"
    );
    for kept in ["blocks", "packs"] {
        assert_eq!(
            walk_files(&store.join(kept)),
            Vec::<std::path::PathBuf>::new()
        );
    }
    assert_eq!(std::fs::read_dir(store.join("pins")).unwrap().count(), 0);
}

/// Runs `wwpack` with a stdout whose reader is already gone, so that every write to it fails
/// with `EPIPE`, as it does once `head` has exited.
fn wwpack_into_closed_pipe(store: &Path, args: &[&str]) -> Output {
    output(
        Command::new(WWPACK)
            .env_remove("WW_STORE")
            .env("IPFS_API", "http://127.0.0.1:9")
            .arg("--store")
            .arg(store)
            .args(args)
            .stdout(closed_pipe()),
    )
}

#[test]
fn a_closed_stdout_ends_every_verb_quietly() {
    let work = tempfile::tempdir().unwrap();
    let (tree, store, root) = add_sample(work.path());
    let other = work.path().join("other");
    write_tree(&other, &[("etc/motd", b"another tree\n")]);
    let other_root = ok(&wwpack(Some(&store), &["add", s(&other)]))
        .trim()
        .to_string();
    let car = work.path().join("sample.car");
    ok(&wwpack(Some(&store), &["export", &root, "-o", s(&car)]));
    let big = format!("{root}/bin/big");
    let cases: [&[&str]; 12] = [
        &["cid", s(&tree)],
        &["cid", "--json", s(&tree)],
        &["add", s(&tree)],
        &["add", "--json", s(&tree)],
        &["cat", &big],
        &["ls", &root],
        &["ls", "--json", &root],
        &["export", &root, "-o", "-"],
        &["import", s(&car)],
        &["gc"],
        &["diff", &root, &other_root],
        &["diff", "--format", "json", &root, &other_root],
    ];
    for args in cases {
        let o = wwpack_into_closed_pipe(&store, args);
        assert_eq!(
            (o.status.code(), String::from_utf8_lossy(&o.stderr).as_ref()),
            (Some(0), ""),
            "wwpack {args:?} into a closed pipe"
        );
    }
    // The same through a real pipeline: `head` exits after 10 bytes of a 3.5 MB file.
    let o = output(
        Command::new("bash")
            .arg("-c")
            .arg(r#"set -o pipefail; "$0" "$@" | head -c 10 >/dev/null"#)
            .arg(WWPACK)
            .args(["--store", s(&store), "cat", &big]),
    );
    assert_eq!(
        (o.status.code(), String::from_utf8_lossy(&o.stderr).as_ref()),
        (Some(0), "")
    );
    // A failure that is not the reader's is still reported.
    let o = wwpack_into_closed_pipe(&store, &["cat", &format!("{root}/no-such-file")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no-such-file"),
        "{o:?}"
    );
}

#[test]
fn ls_escapes_control_characters_in_text_and_json_keeps_them_exact() {
    let work = tempfile::tempdir().unwrap();
    let (tree, store) = (work.path().join("tree"), work.path().join("store"));
    let name = "evil\u{1b}]0;owned\u{7}name";
    let target = "\u{1b}[2Jtarget";
    write_tree(&tree, &[(name, b"x")]);
    std::os::unix::fs::symlink(target, tree.join("link")).unwrap();
    let root = ok(&wwpack(Some(&store), &["add", s(&tree)]))
        .trim()
        .to_string();
    let text = ok(&wwpack(Some(&store), &["ls", &root]));
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains(" evil\\x1b]0;owned\\x07name\n"), "{text}");
    assert!(text.contains(" link -> \\x1b[2Jtarget\n"), "{text}");
    let json = ok(&wwpack(Some(&store), &["ls", "--json", &root]));
    let entries: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries[0]["name"], name);
    assert_eq!(entries[1]["target"], target);
}

#[test]
fn export_writes_stdout_fifos_and_links_in_place_and_files_atomically() {
    use std::os::unix::fs::FileTypeExt;
    let work = tempfile::tempdir().unwrap();
    let (_, store, root) = add_sample(work.path());
    let out = work.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let car = out.join("a.car");
    ok(&wwpack(Some(&store), &["export", &root, "-o", s(&car)]));
    let bytes = std::fs::read(&car).unwrap();
    assert!(bytes.len() > 1_000_000, "{}", bytes.len());

    // `-` is stdout: the CAR streams into a pipe, and no file named `-` appears.
    let o = output(Command::new(WWPACK).current_dir(&out).args([
        "--store",
        s(&store),
        "export",
        &root,
        "-o",
        "-",
    ]));
    assert!(o.status.success(), "{o:?}");
    assert!(o.stdout == bytes, "the CAR on stdout differs");
    assert_eq!(names_in(&out), ["a.car"]);

    // A new file honours the umask.
    let o = output(
        Command::new("sh")
            .arg("-c")
            .arg(r#"umask 027 && exec "$0" "$@""#)
            .arg(WWPACK)
            .args(["--store", s(&store), "export", &root, "-o"])
            .arg(out.join("b.car")),
    );
    assert!(o.status.success(), "{o:?}");
    assert_eq!(mode_of(&out.join("b.car")), 0o640);
    std::fs::remove_file(out.join("b.car")).unwrap();

    // A failed export leaves the previous file as it was, and nothing beside it.
    std::fs::write(&car, "previous").unwrap();
    let absent = work.path().join("absent");
    std::fs::write(&absent, "not in the store").unwrap();
    let absent_cid = ok(&wwpack(None, &["cid", s(&absent)])).trim().to_string();
    let err = failed(&wwpack(
        Some(&store),
        &["export", &absent_cid, "-o", s(&car)],
    ));
    assert!(err.contains(&absent_cid), "{err}");
    assert_eq!(std::fs::read(&car).unwrap(), b"previous");
    assert_eq!(names_in(&out), ["a.car"]);

    // A symlink to a regular file: the target is replaced, the link stays.
    let link = out.join("link.car");
    std::os::unix::fs::symlink("a.car", &link).unwrap();
    ok(&wwpack(Some(&store), &["export", &root, "-o", s(&link)]));
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("a.car"));
    assert!(std::fs::read(&car).unwrap() == bytes);

    // A FIFO is written in place: `import` reads it while `export` writes it.
    let fifo = out.join("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let second = work.path().join("second-store");
    let importer = Command::new(WWPACK)
        .env_remove("WW_STORE")
        .arg("--store")
        .arg(&second)
        .arg("import")
        .arg(&fifo)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    ok(&wwpack(Some(&store), &["export", &root, "-o", s(&fifo)]));
    let imported = importer.wait_with_output().unwrap();
    assert_eq!(ok(&imported).trim(), root);
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());

    // A link whose target only the kernel can name (as /dev/stdout's is): written through,
    // never replaced.
    let magic = out.join("stdout");
    std::os::unix::fs::symlink("/proc/self/fd/1", &magic).unwrap();
    let o =
        output(Command::new(WWPACK).args(["--store", s(&store), "export", &root, "-o", s(&magic)]));
    assert!(o.status.success(), "{o:?}");
    assert!(o.stdout == bytes, "the CAR through the link differs");
    assert_eq!(
        std::fs::read_link(&magic).unwrap(),
        Path::new("/proc/self/fd/1")
    );
    assert_eq!(names_in(&out), ["a.car", "link.car", "pipe", "stdout"]);
}
