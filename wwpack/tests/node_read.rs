//! The node, as Kubo's clients find it, against a real js-ipfs node (tests/support `IpfsNode`):
//! content added with the node's own CLI (`jsipfs add -r`), so that only the node has it, read by
//! `cat`, `ls`, `export` and `diff` through the chain (store, then node) into empty stores;
//! what is fetched is kept unpinned in a writable store and only used with a read-only one; a
//! block found nowhere, or a node that cannot be reached, is an error naming the block, the
//! store and the node, with the way out (`wwpack pull`); and every address form and source
//! (`--api`, `$IPFS_API`, `$IPFS_PATH/api`, `~/.ipfs/api`, the default) reaches the node, in
//! that order of precedence.

use std::path::Path;
use std::process::{Command, Output};

use ww_test_support::{
    failed, ok, output, reachable_for_nobody, repo, s, stderr, write_tree, IpfsNode,
};

const WWPACK: &str = env!("CARGO_BIN_EXE_wwpack");

/// `wwpack --store STORE` with HOME at `home` and no node, store or IPFS repo from the
/// environment: each test says where the node is.
fn wwpack(home: &Path, store: &Path) -> Command {
    let mut cmd = Command::new(WWPACK);
    cmd.env_remove("IPFS_API")
        .env_remove("IPFS_PATH")
        .env_remove("WW_STORE")
        .env("HOME", home)
        .arg("--store")
        .arg(store);
    cmd
}

/// Adds `dir` to the node with the node's own CLI, as its user would (pinned, unless `extra`
/// says `--pin=false`); the root CID it prints (js-ipfs: CIDv1 in base58btc, 256 KiB chunks).
fn node_add(node: &IpfsNode, dir: &Path, extra: &[&str]) -> String {
    let o = output(
        Command::new(repo().join("scripts/ipfs-node"))
            .arg("cli")
            .arg(&node.repo)
            .args([
                "add",
                "-r",
                "-Q",
                "--progress=false",
                "--cid-version=1",
                "--raw-leaves",
            ])
            .args(extra)
            .arg(dir),
    );
    ok(&o).trim().to_string()
}

/// A URL nothing listens on (a port just freed: refused at once on loopback).
fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    format!("http://127.0.0.1:{port}")
}

/// The port of `http://HOST:PORT`.
fn port_of(url: &str) -> &str {
    url.rsplit(':').next().expect("a URL with a port")
}

/// 600 KiB of varied bytes: three chunks of js-ipfs's 256 KiB, so a DAG of four blocks.
fn big_bytes() -> Vec<u8> {
    (0..600u32 << 10)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// The blocks in the store at `store` (block files and packed).
fn blocks_in(store: &Path) -> usize {
    ww_content::store::Store::open_read_only(store).map_or(0, |store| store.blocks().unwrap().len())
}

#[test]
fn cat_ls_export_and_diff_read_what_only_the_node_has() {
    let node = IpfsNode::start();
    let work = tempfile::tempdir().unwrap();
    let home = work.path();
    let big = big_bytes();
    let (old, new) = (work.path().join("old"), work.path().join("new"));
    write_tree(&old, &[("etc/motd", b"old motd\n"), ("data/big", &big)]);
    write_tree(&new, &[("etc/motd", b"new motd\n"), ("data/big", &big)]);
    let (a, b) = (node_add(&node, &old, &[]), node_add(&node, &new, &[]));
    let api = ["--api", node.url.as_str(), "--timeout", "10"];

    // ls and cat into an empty store: everything comes from the node, verified.
    let store = work.path().join("store");
    let listing = ok(&output(wwpack(home, &store).args(api).args(["ls", &a])));
    assert!(
        listing.contains(" data/\n") && listing.contains(" etc/\n"),
        "{listing}"
    );
    let motd = output(
        wwpack(home, &store)
            .args(api)
            .args(["cat", &format!("{a}/etc/motd")]),
    );
    assert_eq!(ok(&motd), "old motd\n");
    let cat = output(
        wwpack(home, &store)
            .args(api)
            .args(["cat", &format!("/ipfs/{a}/data/big")]),
    );
    assert!(cat.status.success(), "{}", stderr(&cat));
    assert!(cat.stdout == big, "cat of the 600 KiB file differs");
    let part = output(wwpack(home, &store).args(api).args([
        "cat",
        &format!("{a}/data/big"),
        "--offset",
        "262140",
        "--length",
        "10",
    ]));
    assert_eq!(part.stdout, big[262140..262150]);

    // What was fetched is kept, unpinned: read again with no node, then gone with gc.
    let kept = blocks_in(&store);
    assert!(kept >= 6, "{kept} blocks kept");
    let dead = dead_url();
    let offline = output(
        wwpack(home, &store)
            .args(["--api", &dead])
            .args(["cat", &format!("{a}/etc/motd")]),
    );
    assert_eq!(ok(&offline), "old motd\n");
    assert_eq!(ok(&output(wwpack(home, &store).args(["pin", "ls"]))), "");
    ok(&output(wwpack(home, &store).args(["gc"])));
    assert_eq!(blocks_in(&store), 0);

    // export from an empty store: a complete CAR, imported where no node is.
    let car = work.path().join("a.car");
    let exported = output(
        wwpack(home, &work.path().join("export-store"))
            .args(api)
            .args(["export", &a, "-o", s(&car)]),
    );
    assert!(exported.status.success(), "{}", stderr(&exported));
    let island = work.path().join("island");
    ok(&output(
        wwpack(home, &island)
            .args(["--api", &dead])
            .args(["import", s(&car)]),
    ));
    let from_car = output(
        wwpack(home, &island)
            .args(["--api", &dead])
            .args(["cat", &format!("{a}/data/big")]),
    );
    assert!(from_car.stdout == big, "the CAR's file differs");

    // diff of two CIDs only the node has, from an empty store: the text change is read too.
    let diff = output(
        wwpack(home, &work.path().join("diff-store"))
            .current_dir(work.path())
            .args(api)
            .args(["diff", &a, &b]),
    );
    let report = String::from_utf8_lossy(&diff.stdout);
    assert_eq!(diff.status.code(), Some(1), "{report}{}", stderr(&diff));
    assert!(
        report.contains("etc/motd") && report.contains("new motd"),
        "{report}"
    );
    assert!(!report.contains("data/big"), "{report}");
}

#[test]
fn a_store_others_cannot_write_reads_through_the_node_and_keeps_nothing() {
    let node = IpfsNode::start();
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    write_tree(&tree, &[("etc/motd", b"from the node\n")]);
    let root = node_add(&node, &tree, &[]);
    // A store of root's, with one block of its own; run as `nobody`, who cannot write it.
    let store = work.path().join("store");
    let mine = work.path().join("mine");
    std::fs::write(&mine, b"mine").unwrap();
    ok(&output(wwpack(work.path(), &store).args(["add", s(&mine)])));
    let before = blocks_in(&store);
    reachable_for_nobody(&[
        work.path(),
        Path::new(WWPACK).parent().expect("the binary's directory"),
    ]);
    let as_nobody = |home: &Path| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(WWPACK)
            .env_remove("IPFS_API")
            .env_remove("IPFS_PATH")
            .env_remove("WW_STORE")
            .env("HOME", home)
            .arg("--store")
            .arg(&store);
        cmd
    };
    let o = output(
        as_nobody(work.path())
            .args(["--api", &node.url, "--timeout", "10"])
            .args(["cat", &format!("{root}/etc/motd")]),
    );
    assert_eq!(ok(&o), "from the node\n");
    assert_eq!(blocks_in(&store), before);

    // A HOME it may not search (another user's, kept under sudo): no API file, the default.
    let private = work.path().join("private");
    std::fs::create_dir_all(private.join(".ipfs")).unwrap();
    std::fs::write(
        private.join(".ipfs/api"),
        format!("/ip4/127.0.0.1/tcp/{}", port_of(&node.url)),
    )
    .unwrap();
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let err = failed(&output(as_nobody(&private).args([
        "--timeout",
        "2",
        "cat",
        &root,
    ])));
    assert!(
        err.contains("the default") && !err.contains("API file"),
        "{err}"
    );
}

/// A CID no one has: the raw block of bytes never added anywhere.
fn nowhere(home: &Path) -> String {
    let file = home.join("never-added");
    std::fs::write(&file, b"bytes no node was ever given\n").unwrap();
    ok(&output(Command::new(WWPACK).args([
        "cid",
        "--profile",
        "unixfs-v1-2025",
        s(&file),
    ])))
    .trim()
    .to_string()
}

/// Asserts that `o` failed (exit `code`) with one message naming `cid`, the store, `node_says`
/// and the way out.
fn says_where_it_looked(o: &Output, code: i32, cid: &str, store: &Path, node_says: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "{err}");
    for want in [cid, s(store), "wwpack pull"].iter().chain(node_says) {
        assert!(err.contains(want), "{want:?} missing in: {err}");
    }
}

#[test]
fn a_block_found_nowhere_names_the_store_the_node_and_wwpack_pull() {
    let node = IpfsNode::start();
    let work = tempfile::tempdir().unwrap();
    let home = work.path();
    let cid = nowhere(home);
    let store = work.path().join("store");
    let absent = format!("nor on the IPFS node at {}", node.url);
    let api = ["--api", node.url.as_str(), "--timeout", "2"];
    let car = work.path().join("x.car");
    for (verb, code) in [
        (vec!["cat", cid.as_str()], 1),
        (vec!["ls", cid.as_str()], 1),
        (vec!["export", cid.as_str(), "-o", s(&car)], 1),
    ] {
        let o = output(wwpack(home, &store).args(api).args(&verb));
        says_where_it_looked(&o, code, &cid, &store, &[&absent]);
    }
    assert!(!car.exists(), "a failed export leaves no CAR");
    let o = output(
        wwpack(home, &store)
            .current_dir(work.path())
            .args(api)
            .args(["diff", &cid, &cid]),
    );
    says_where_it_looked(&o, 2, &cid, &store, &[&absent]);

    // A file of a directory the node has, but whose block it lost: named the same way.
    let tree = work.path().join("tree");
    write_tree(
        &tree,
        &[("etc/motd", b"soon gone\n"), ("etc/issue", b"kept\n")],
    );
    // Unpinned, so that the node lets one of its blocks go.
    let root = node_add(&node, &tree, &["--pin=false"]);
    let motd = ok(&output(
        Command::new(WWPACK).args(["cid", s(&tree.join("etc/motd"))]),
    ))
    .trim()
    .to_string();
    let rm = output(
        Command::new(repo().join("scripts/ipfs-node"))
            .arg("cli")
            .arg(&node.repo)
            .args(["block", "rm", &motd]),
    );
    ok(&rm);
    let o = output(
        wwpack(home, &store)
            .args(api)
            .args(["cat", &format!("{root}/etc/motd")]),
    );
    says_where_it_looked(&o, 1, &motd, &store, &[&absent]);
    let issue = output(
        wwpack(home, &store)
            .args(api)
            .args(["cat", &format!("{root}/etc/issue")]),
    );
    assert_eq!(ok(&issue), "kept\n");

    // A node that cannot be reached: said so, with its URL.
    let dead = dead_url();
    let o = output(
        wwpack(home, &store)
            .args(["--api", &dead])
            .args(["cat", &cid]),
    );
    says_where_it_looked(&o, 1, &cid, &store, &[&dead, "unreachable"]);
    // The default, from nowhere: the message says so (whatever listens there).
    let o = output(wwpack(home, &store).args(["--timeout", "2", "cat", &cid]));
    says_where_it_looked(
        &o,
        1,
        &cid,
        &store,
        &["http://127.0.0.1:5001", "the default"],
    );
}

/// Where `wwpack` is told the node is, for one run.
enum Given<'a> {
    Flag(&'a str),
    Env(&'a str),
    /// `IPFS_PATH` is this repository.
    Repo(&'a Path),
}

#[test]
fn every_address_form_and_source_reaches_the_node_in_the_order_kubo_reads_them() {
    let node = IpfsNode::start();
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    write_tree(&tree, &[("etc/motd", b"found it\n")]);
    let root = node_add(&node, &tree, &[]);
    let motd = format!("{root}/etc/motd");
    let port = port_of(&node.url);
    let dead = dead_url();
    let mut stores = 0;
    // A fresh store and home each time (what one run fetches, the next would not need); the
    // home's ~/.ipfs/api holds `home_api`, if any.
    let mut cat = |given: &[Given<'_>], home_api: Option<&str>| -> Output {
        stores += 1;
        let home = work.path().join(format!("home{stores}"));
        std::fs::create_dir_all(home.join(".ipfs")).unwrap();
        if let Some(api) = home_api {
            std::fs::write(home.join(".ipfs/api"), api).unwrap();
        }
        let mut cmd = wwpack(&home, &home.join("store"));
        for g in given {
            match g {
                Given::Flag(v) => cmd.args(["--api", v]),
                Given::Env(v) => cmd.env("IPFS_API", v),
                Given::Repo(dir) => cmd.env("IPFS_PATH", dir),
            };
        }
        output(cmd.args(["--timeout", "10", "cat", &motd]))
    };

    // Every form, by --api and by $IPFS_API.
    let forms = [
        node.url.clone(),
        format!("{}/", node.url),
        format!("127.0.0.1:{port}"),
        format!("/ip4/127.0.0.1/tcp/{port}"),
        format!("/ip4/127.0.0.1/tcp/{port}/http"),
        format!("/dns/localhost/tcp/{port}"),
        format!("/dns4/localhost/tcp/{port}/http"),
        format!("localhost:{port}"),
    ];
    for form in &forms {
        assert_eq!(
            ok(&cat(&[Given::Flag(form)], None)),
            "found it\n",
            "--api {form}"
        );
        assert_eq!(
            ok(&cat(&[Given::Env(form)], None)),
            "found it\n",
            "IPFS_API={form}"
        );
    }
    // The node's own repository: js-ipfs wrote `/ip4/127.0.0.1/tcp/PORT/http` to its api file.
    let written = std::fs::read_to_string(node.repo.join("api")).expect("the daemon's api file");
    assert_eq!(written.trim(), format!("/ip4/127.0.0.1/tcp/{port}/http"));
    assert_eq!(ok(&cat(&[Given::Repo(&node.repo)], None)), "found it\n");
    // ~/.ipfs/api, as Kubo writes it (a multiaddr; here with a final newline).
    let kubo_style = format!("/ip4/127.0.0.1/tcp/{port}\n");
    assert_eq!(ok(&cat(&[], Some(&kubo_style))), "found it\n");

    // Precedence: each source hides the ones after it, even when they are broken.
    let broken = "/unix/not/an/api";
    let broken_repo = work.path().join("broken-repo");
    std::fs::create_dir(&broken_repo).unwrap();
    std::fs::write(broken_repo.join("api"), broken).unwrap();
    let good = node.url.as_str();
    for (given, home_api) in [
        (vec![Given::Flag(good), Given::Env(broken)], Some(broken)),
        (
            vec![Given::Env(good), Given::Repo(&broken_repo)],
            Some(broken),
        ),
        (vec![Given::Repo(&node.repo)], Some(broken)),
    ] {
        assert_eq!(ok(&cat(&given, home_api)), "found it\n");
    }
    // ... and the first one given is the one used.
    for (given, home_api) in [
        (vec![Given::Flag(&dead), Given::Env(good)], None),
        (vec![Given::Env(&dead), Given::Repo(&node.repo)], None),
    ] {
        let err = failed(&cat(&given, home_api));
        assert!(err.contains(&dead) && err.contains("unreachable"), "{err}");
    }
    let dead_api = format!("/ip4/127.0.0.1/tcp/{}", port_of(&dead));
    let err = failed(&cat(&[], Some(&dead_api)));
    assert!(
        err.contains(&dead) && err.contains("from the API file") && err.contains(".ipfs/api"),
        "{err}"
    );
    // A repository with no daemon (no api file) leaves the default, not ~/.ipfs/api.
    let idle = work.path().join("idle-repo");
    std::fs::create_dir(&idle).unwrap();
    let err = failed(&cat(&[Given::Repo(&idle)], Some(&kubo_style)));
    assert!(err.contains("http://127.0.0.1:5001"), "{err}");

    // A broken api file is an error naming it, and the rule.
    let err = failed(&cat(&[Given::Repo(&broken_repo)], None));
    let file = broken_repo.join("api");
    assert!(
        err.contains(s(&file)) && err.contains("`/unix/not/an/api`") && err.contains("accepted"),
        "{err}"
    );
    let huge = work.path().join("huge-repo");
    std::fs::create_dir(&huge).unwrap();
    std::fs::write(huge.join("api"), vec![b'/'; 1 << 20]).unwrap();
    let err = failed(&cat(&[Given::Repo(&huge)], None));
    assert!(
        err.contains(s(&huge.join("api"))) && err.contains("larger than 4096 bytes"),
        "{err}"
    );
    assert!(err.len() < 1000, "{} bytes: {err}", err.len());

    // Every verb that reaches the node resolves it the same way: pull and pin add by the repo.
    let home = work.path().join("pull-home");
    let pulled = output(
        wwpack(&home, &home.join("store"))
            .env("IPFS_PATH", &node.repo)
            .args(["--timeout", "10", "pull", &root]),
    );
    assert!(pulled.status.success(), "{}", stderr(&pulled));
    let pin_home = work.path().join("pin-home");
    let pinned = output(
        wwpack(&pin_home, &pin_home.join("store"))
            .env("IPFS_PATH", &node.repo)
            .args(["--timeout", "10", "pin", "add", &root]),
    );
    assert!(pinned.status.success(), "{}", stderr(&pinned));
}
