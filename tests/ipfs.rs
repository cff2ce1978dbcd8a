//! Push, pull and boot with a real IPFS node (js-ipfs, offline, on 127.0.0.1), and with nodes
//! that cannot be reached or that lie: what `ww` does with them, beside `wwpack`. What only
//! `wwpack` does with a node is tested in `wwpack/tests/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use e2e::{bin, build_image, ok, output, s, write_tree, IpfsNode};

fn run(exe: &str, args: &[&str]) -> Output {
    output(
        Command::new(bin(exe))
            .env_remove("IPFS_API")
            .env_remove("IPFS_PATH")
            .args(args),
    )
}

/// `wwpack` on the repository's project, with the block store `store` and the node at `api`.
fn wwpack(store: &Path, api: &str, args: &[&str]) -> Output {
    let manifest = e2e::repo().join("wwpack.toml");
    let mut all = vec![
        "--manifest-path",
        s(&manifest),
        "--store",
        s(store),
        "--api",
        api,
    ];
    all.extend_from_slice(args);
    run("wwpack", &all)
}

/// The repository's `hello` image, built into `out`, with its root CID.
fn built_image(out: &Path) -> (PathBuf, String) {
    let dir = build_image(out, "hello");
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(e2e::repo().join("wwpack.lock")).unwrap())
            .unwrap();
    (
        dir,
        lock["images"]["hello"]["root"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

#[test]
fn push_pull_repush_and_boot_from_the_node_then_offline() {
    let node = IpfsNode::start();
    let work = tempfile::tempdir().unwrap();
    let (image, root) = built_image(work.path());
    let store = work.path().join("store");
    let push = || -> serde_json::Value {
        serde_json::from_str(&ok(&wwpack(
            &store,
            &node.url,
            &["push", "--json", "hello"],
        )))
        .unwrap()
    };
    let first = push();
    assert_eq!(first["images"][0]["root"], root.as_str());
    assert!(
        first["counts"]["blocks_sent"].as_u64().unwrap() > 0,
        "{first}"
    );
    let again = push();
    assert_eq!(
        again["counts"]["blocks_sent"], 0,
        "an unchanged image sends nothing: {again}"
    );
    assert_eq!(
        again["counts"]["blocks_skipped"],
        first["counts"]["blocks_sent"]
    );

    // Pull into an empty store: the same bytes come out.
    let other = work.path().join("other");
    ok(&run(
        "wwpack",
        &["--store", s(&other), "--api", &node.url, "pull", &root],
    ));
    let main = std::fs::read(image.join("bin/main.wasm")).unwrap();
    let out = run(
        "wwpack",
        &[
            "--store",
            s(&other),
            "cat",
            &format!("{root}/bin/main.wasm"),
        ],
    );
    assert!(
        out.status.success() && out.stdout == main,
        "pulled pid0 differs"
    );

    // ww boots the CID from the node into an empty store, with an overlay...
    let ww_store = work.path().join("ww-store");
    let cache = work.path().join("ww-cache");
    let overlay = work.path().join("overlay");
    write_tree(&overlay, &[("etc/motd", b"motd over the node\n")]);
    let boot = || {
        run(
            "ww",
            &[
                "run",
                "--store",
                s(&ww_store),
                "--cache",
                s(&cache),
                "--api",
                &node.url,
                "--api-timeout",
                "5",
                &root,
                s(&overlay),
                "--",
                "n",
            ],
        )
    };
    assert_eq!(
        ok(&boot()),
        "Hello from Wetware!\nargs: 1\n  [0] n\nmotd over the node\n"
    );
    // ... and again with the node stopped: everything it needs is in its store now.
    node.stop();
    std::fs::remove_dir_all(&cache).unwrap();
    assert_eq!(
        ok(&boot()),
        "Hello from Wetware!\nargs: 1\n  [0] n\nmotd over the node\n"
    );
}

#[test]
fn unreachable_node_and_unknown_cid_fail_clearly_within_the_timeout() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let dead = {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        format!("http://127.0.0.1:{port}")
    };
    let cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk4";
    let o = run(
        "wwpack",
        &[
            "--store",
            s(&store),
            "--api",
            &dead,
            "--timeout",
            "2",
            "pull",
            cid,
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains(&dead) && err.contains("unreachable"),
        "{err}"
    );

    let node = IpfsNode::start();
    let started = Instant::now();
    let o = run(
        "wwpack",
        &[
            "--store",
            s(&store),
            "--api",
            &node.url,
            "--timeout",
            "2",
            "pull",
            cid,
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains(cid) && err.contains(&node.url),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let o = run(
        "ww",
        &[
            "run",
            "--store",
            s(&store),
            "--cache",
            s(&work.path().join("c")),
            "--api",
            &node.url,
            "--api-timeout",
            "2",
            cid,
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(125), "{err}");
    assert!(err.contains(cid) && err.contains(&node.url), "{err}");
}

#[test]
fn a_node_that_lies_is_caught() {
    use e2e::{Lie, LyingNode};
    let work = tempfile::tempdir().unwrap();
    let (_, root) = built_image(work.path());
    let store = work.path().join("store");
    let manifest = e2e::repo().join("wwpack.toml");

    // A node that files our blocks under another CID.
    let liar = LyingNode::start(Lie::WrongCid);
    let o = run(
        "wwpack",
        &[
            "--manifest-path",
            s(&manifest),
            "--store",
            s(&store),
            "--api",
            &liar.url,
            "--timeout",
            "5",
            "push",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "a push to a lying node succeeded");
    assert!(
        err.contains("under a different CID") && err.contains(&liar.url),
        "{err}"
    );

    // A node that serves corrupt bytes: pull and ww both refuse them, naming the CID.
    let liar = LyingNode::start(Lie::CorruptBytes);
    let empty = work.path().join("empty");
    let o = run(
        "wwpack",
        &[
            "--store",
            s(&empty),
            "--api",
            &liar.url,
            "--timeout",
            "5",
            "pull",
            &root,
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains(&root) && err.contains("do not match"),
        "{err}"
    );
    let o = run(
        "ww",
        &[
            "run",
            "--store",
            s(&empty),
            "--cache",
            s(&work.path().join("c")),
            "--api",
            &liar.url,
            "--api-timeout",
            "5",
            &root,
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(125), "{err}");
    assert!(err.contains(&root) && err.contains("do not match"), "{err}");
    // Nothing the liar sent was stored.
    let stored = ww_content::store::Store::open_read_only(&empty)
        .map_or(0, |store| store.blocks().unwrap().len());
    assert_eq!(stored, 0);
}

#[test]
fn an_ipns_name_boots_what_it_points_at_and_a_name_that_does_not_resolve_is_named() {
    let node = IpfsNode::start();
    let work = tempfile::tempdir().unwrap();
    let (_image, root) = built_image(work.path());
    let store = work.path().join("store");
    let wwpack_no_node = |args: &[&str]| wwpack(&store, "http://127.0.0.1:9", args);
    let wwpack = |args: &[&str]| wwpack(&store, &node.url, args);
    // No such key, and no --create-key: nothing is made.
    let o = wwpack(&["publish", "hello", "--name", "fleet"]);
    assert!(!o.status.success(), "{o:?}");
    let err = e2e::stderr(&o);
    assert!(
        err.contains("has no key `fleet`") && err.contains("--create-key"),
        "{err}"
    );
    // `publish` pushes the image and points the key's name at its root.
    let published: serde_json::Value = serde_json::from_str(&ok(&wwpack(&[
        "publish",
        "hello",
        "--name",
        "fleet",
        "--create-key",
        "--json",
    ])))
    .unwrap();
    let first = &published["published"][0];
    assert_eq!(
        first["value"],
        format!("/ipfs/{root}").as_str(),
        "{published}"
    );
    assert_eq!(first["key"], "fleet");
    assert_eq!(first["target"], "hello");
    let sequence = first["sequence"].as_u64().expect("the record's sequence");
    assert!(
        published["counts"]["blocks_sent"].as_u64().unwrap() > 0,
        "{published}"
    );
    let name = first["name"].as_str().unwrap().to_string();
    let keys = node.api("key/list");
    let id = keys["Keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["Name"] == "fleet")
        .expect("the key was made")["Id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(name, format!("/ipns/{id}"));
    // Again: the key is there, nothing new to send.
    let again: serde_json::Value = serde_json::from_str(&ok(&wwpack(&[
        "publish", "hello", "--name", "fleet", "--json",
    ])))
    .unwrap();
    assert_eq!(again["counts"]["blocks_sent"], 0, "{again}");
    assert_eq!(
        again["published"][0]["sequence"].as_u64(),
        Some(sequence),
        "the same value again keeps the record's sequence, as Kubo does: {again}"
    );
    // Two images, two names, in order; `fleet` moves (its sequence goes up), `fleet-hello` is
    // new. The plain lines are name, value and sequence.
    let two = ok(&wwpack(&[
        "publish",
        "default",
        "hello",
        "--name",
        "fleet",
        "--name",
        "fleet-hello",
        "--create-key",
    ]));
    let lines: Vec<Vec<&str>> = two.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 2, "{two}");
    assert_eq!(lines[0][0], name, "{two}");
    assert_ne!(lines[0][1], format!("/ipfs/{root}"), "{two}");
    assert!(lines[0][2].parse::<u64>().unwrap() > sequence, "{two}");
    assert_ne!(lines[1][0], name, "{two}");
    assert_eq!(lines[1][1], format!("/ipfs/{root}"), "{two}");
    ok(&wwpack(&["publish", "hello", "--name", "fleet"]));
    let o = wwpack(&["publish", "hello", "default", "--name", "fleet"]);
    assert!(!o.status.success(), "{o:?}");
    assert!(
        e2e::stderr(&o).contains("2 images and 1 --name: give one --name per image"),
        "{o:?}"
    );
    // A head file instead: `/ipfs/CID`, no node needed.
    let head = work.path().join("HEAD");
    ok(&wwpack_no_node(&["publish", "hello", "--head", s(&head)]));
    assert_eq!(
        std::fs::read_to_string(&head).unwrap(),
        format!("/ipfs/{root}\n")
    );

    // A key that the node had and no longer has: a well-formed name nothing points.
    let gone = node.api("key/gen?arg=gone&type=ed25519")["Id"]
        .as_str()
        .unwrap()
        .to_string();
    node.api("key/rm?arg=gone");

    let overlay = work.path().join("overlay");
    write_tree(&overlay, &[("etc/motd", b"motd by name\n")]);
    let boot = |image: &str| {
        run(
            "ww",
            &[
                "run",
                "--store",
                s(&work.path().join("ww-store")),
                "--cache",
                s(&work.path().join("ww-cache")),
                "--api",
                &node.url,
                "--api-timeout",
                "5",
                image,
                s(&overlay),
            ],
        )
    };
    assert_eq!(
        ok(&boot(&name)),
        "Hello from Wetware!\nargs: 0\nmotd by name\n"
    );

    let o = boot(&format!("/ipns/{gone}"));
    assert_eq!(o.status.code(), Some(125), "{o:?}");
    let err = e2e::stderr(&o);
    assert!(
        err.contains(&format!(
            "/ipns/{gone} does not resolve through the IPFS node at {}",
            node.url
        )),
        "{err}"
    );
    let o = boot("/ipns/not a name");
    assert_eq!(o.status.code(), Some(125), "{o:?}");
    assert!(
        e2e::stderr(&o).contains("an IPNS name is a key's CID or a DNS name"),
        "{o:?}"
    );
}
