//! `wwpack push` and `pull` with a real IPFS node (js-ipfs, offline, on 127.0.0.1, started by
//! `scripts/ipfs-node`): a push cut short by the node dying completes when run again, and what
//! it left on the node comes back whole; a CID from `wwpack add` is pushed, hundreds of blocks
//! in flight, and comes back whole; image roots and layer roots are pinned on the node (and
//! survive its gc); `--json` counts what was sent and skipped, per image; what cannot be pushed
//! is an error naming it. (Push, pull and boot together, with `ww`, are in the end-to-end tests,
//! `tests/ipfs.rs`.)

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use ww_content::cid::Cid;
use ww_test_support::project::{distinct_bytes, static_image_project};
use ww_test_support::{failed, ok, output, s, write_tree, IpfsNode};

const WWPACK: &str = env!("CARGO_BIN_EXE_wwpack");

/// `wwpack ARGS`, with no IPFS node from the environment.
fn run(args: &[&str]) -> Output {
    output(
        Command::new(WWPACK)
            .env_remove("IPFS_API")
            .env_remove("IPFS_PATH")
            .args(args),
    )
}

/// `wwpack --store STORE --api NODE --timeout 5 ARGS`.
fn at(store: &Path, node: &IpfsNode, args: &[&str]) -> Output {
    let mut all = vec!["--store", s(store), "--api", &node.url, "--timeout", "5"];
    all.extend_from_slice(args);
    run(&all)
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The node's JSON answer to `POST /api/v0/PATH_AND_QUERY`, one value per line (`refs/local`,
/// `repo/gc`) or one in all. Asked over HTTP/1.1 with `Connection: close` (js-ipfs's streamed
/// answers use trailers, which HTTP/1.0 cannot carry: it fails), the answer read to its end.
fn api(node: &IpfsNode, path_and_query: &str) -> Vec<serde_json::Value> {
    let address = node.url.strip_prefix("http://").expect("an http:// URL");
    let mut stream = std::net::TcpStream::connect(address).expect("connect to the node");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "POST /api/v0/{path_and_query} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{path_and_query}: not an HTTP answer: {answer:?}"));
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    let mut body = answer[split + 4..].to_vec();
    assert!(head.starts_with("http/1.1 200"), "{path_and_query}: {head}");
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    String::from_utf8(body)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(json)
        .collect()
}

/// The data of a chunked HTTP body (trailers dropped).
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size line");
        let size = std::str::from_utf8(&body[..line_end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&body[start..start + size]);
        body = &body[start + size + 2..];
    }
}

/// The multihashes of the blocks the node holds (`refs/local`).
fn blocks_on(node: &IpfsNode) -> HashSet<Vec<u8>> {
    api(node, "refs/local")
        .iter()
        .map(|r| {
            multihash(
                r["Ref"]
                    .as_str()
                    .unwrap_or_else(|| panic!("refs/local: {r}")),
            )
        })
        .collect()
}

/// The multihashes of the node's recursive pins (js-ipfs lists CIDs in varied bases: compare
/// parsed multihashes, as pins are keyed).
fn pins_on(node: &IpfsNode) -> HashSet<Vec<u8>> {
    let answer = &api(node, "pin/ls?type=recursive")[0];
    answer["Keys"]
        .as_object()
        .unwrap_or_else(|| panic!("pin/ls: no Keys: {answer}"))
        .keys()
        .map(|k| multihash(k))
        .collect()
}

fn multihash(cid: &str) -> Vec<u8> {
    cid.parse::<Cid>()
        .unwrap_or_else(|e| panic!("`{cid}` is not a CID: {e}"))
        .hash()
        .to_bytes()
}

/// The store's block files and their bytes (`store stat --json`).
fn blocks_in(store: &Path) -> (u64, u64) {
    let stat = json(&ok(&run(&["--store", s(store), "store", "stat", "--json"])));
    (
        stat["blocks"].as_u64().unwrap(),
        stat["bytes"].as_u64().unwrap(),
    )
}

/// The counts of a `--json` report (or one image's part of it): sent and skipped, blocks and
/// bytes.
fn counts(report: &serde_json::Value) -> [u64; 4] {
    let c = &report["counts"];
    [
        "blocks_sent",
        "bytes_sent",
        "blocks_skipped",
        "bytes_skipped",
    ]
    .map(|k| {
        c[k].as_u64()
            .unwrap_or_else(|| panic!("no counts.{k}: {report}"))
    })
}

/// A tree of many blocks: 300 small files of distinct text in 6 directories, and two files of
/// 3.5 MiB (4 chunks each).
fn many_blocks_tree(dir: &Path) -> Vec<u8> {
    let mut seed = 0x5851_f42d_4c95_7f2d;
    for i in 0..300 {
        let file = dir.join(format!("d{}/s{i}", i % 6));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, format!("small file {i}\n")).unwrap();
    }
    let big = distinct_bytes(7 << 19, &mut seed);
    std::fs::write(dir.join("big1"), &big).unwrap();
    std::fs::write(dir.join("big2"), distinct_bytes(7 << 19, &mut seed)).unwrap();
    big
}

#[test]
fn a_cid_from_add_is_pushed_whole_and_a_second_push_skips_it_all() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    let big = many_blocks_tree(&tree);
    let store = work.path().join("store");
    let root = ok(&run(&["--store", s(&store), "add", s(&tree)]))
        .trim()
        .to_string();
    // The store holds exactly the DAG: what the push must send.
    let (blocks, bytes) = blocks_in(&store);
    assert!(blocks > 300, "{blocks} blocks");

    let node = IpfsNode::start();
    let first = json(&ok(&at(&store, &node, &["push", "--json", &root])));
    assert_eq!(counts(&first), [blocks, bytes, 0, 0], "{first}");
    assert_eq!(first["api"], node.url.as_str(), "{first}");
    let image = &first["images"][0];
    assert_eq!(image["root"], root.as_str(), "{first}");
    assert_eq!(image["name"], serde_json::Value::Null, "{first}");
    assert_eq!(image["layers"], serde_json::json!([]), "{first}");
    assert_eq!(counts(image), counts(&first), "{first}");
    assert!(pins_on(&node).contains(&multihash(&root)));

    // Everything is there now: the second push sends nothing and says so, per image and in all.
    let again = json(&ok(&at(&store, &node, &["push", "--json", &root])));
    assert_eq!(counts(&again), [0, 0, blocks, bytes], "{again}");
    assert_eq!(
        counts(&again["images"][0]),
        [0, 0, blocks, bytes],
        "{again}"
    );
    // Without --json: the argument and root on stdout, the counts on stderr.
    let o = at(&store, &node, &["push", &root]);
    assert_eq!(ok(&o), format!("{root}\t{root}\n"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "sent 0 blocks (0 bytes), skipped {blocks} blocks ({bytes} bytes)"
        )),
        "{err}"
    );

    // Every block arrived: a pull into an empty store fetches (and verifies) every one of them
    // from the node, and the files come back the same.
    let other = work.path().join("other");
    ok(&at(&other, &node, &["pull", &root]));
    assert_eq!(blocks_in(&other), (blocks, bytes));
    let cat = run(&["--store", s(&other), "cat", &format!("{root}/big1")]);
    assert!(
        cat.status.success() && cat.stdout == big,
        "big1 came back different"
    );
    let cat = run(&["--store", s(&other), "cat", &format!("{root}/d5/s299")]);
    assert_eq!(cat.stdout, b"small file 299\n");
}

/// A project with two images sharing layers: `big` (base, app, data) and `small` (base, app).
fn two_image_project(dir: &Path, store: &Path) -> (std::path::PathBuf, serde_json::Value) {
    let manifest = static_image_project(dir, |etc| {
        std::fs::write(etc.join("data"), distinct_bytes(3 << 20, &mut 7)).unwrap();
    });
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("[images.small]\nlayers = [\"base\", \"app\"]\n");
    std::fs::write(&manifest, text).unwrap();
    ok(&run(&[
        "--manifest-path",
        s(&manifest),
        "--store",
        s(store),
        "build",
        "-q",
    ]));
    let lock = std::fs::read_to_string(dir.join("wwpack.lock")).unwrap();
    (manifest, json(&lock))
}

#[test]
fn push_pins_image_roots_and_layer_roots_and_counts_per_image() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let (manifest, lock) = two_image_project(&work.path().join("p"), &store);
    let node = IpfsNode::start();
    let push = |args: &[&str]| {
        let mut all = vec!["--manifest-path", s(&manifest), "push", "--json"];
        all.extend_from_slice(args);
        json(&ok(&at(&store, &node, &all)))
    };
    let first = push(&[]);

    // Every image root and every layer root of the lock is pinned on the node.
    let mut roots = HashSet::new();
    for (name, image) in lock["images"].as_object().unwrap() {
        roots.insert(multihash(image["root"].as_str().unwrap()));
        let layers = image["layers"].as_array().unwrap();
        assert!(!layers.is_empty(), "image {name} has no layers");
        for layer in layers {
            roots.insert(multihash(layer["cid"].as_str().unwrap()));
        }
    }
    assert_eq!(roots.len(), 2 + 3, "two images, three distinct layers");
    let pins = pins_on(&node);
    assert!(
        roots.is_subset(&pins),
        "roots {roots:?} not all in the node's pins {pins:?}"
    );

    // The report: each image (in the lock's order) with its root and layers, and its counts,
    // which add up to the totals.
    let images = first["images"].as_array().unwrap();
    assert_eq!(images.len(), 2, "{first}");
    let mut sum = [0u64; 4];
    for (report, (name, image)) in images.iter().zip(lock["images"].as_object().unwrap()) {
        assert_eq!(report["name"], name.as_str(), "{first}");
        assert_eq!(report["root"], image["root"], "{first}");
        let layers: Vec<_> = image["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["cid"].clone())
            .collect();
        assert_eq!(
            report["layers"],
            serde_json::Value::Array(layers),
            "{first}"
        );
        for (s, c) in sum.iter_mut().zip(counts(report)) {
            *s += c;
        }
    }
    assert_eq!(sum, counts(&first), "{first}");
    let [sent, sent_bytes, skipped, _] = counts(&first);
    assert!(sent > 0 && skipped == 0, "{first}");

    // After the node's gc, every layer is still whole there: its pin kept it. (Pulling a
    // layer's root into an empty store fetches every block of its DAG from the node.)
    api(&node, "repo/gc");
    for layer in lock["images"]["big"]["layers"].as_array().unwrap() {
        let cid = layer["cid"].as_str().unwrap();
        let empty = work.path().join(format!("pulled-{cid}"));
        ok(&at(&empty, &node, &["pull", cid]));
    }

    // Pushed again, by name: everything is skipped, per image and in all.
    let again = push(&["small", "big"]);
    assert_eq!(counts(&again), [0, 0, sent, sent_bytes], "{again}");
    assert_eq!(again["images"][0]["name"], "small", "{again}");
    for image in again["images"].as_array().unwrap() {
        assert_eq!(counts(image)[..2], [0, 0], "{again}");
    }
}

#[test]
fn push_names_what_it_cannot_push() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let (manifest, lock) = two_image_project(&work.path().join("p"), &store);
    let node = IpfsNode::start();
    let push = |args: &[&str]| {
        let mut all = vec!["--manifest-path", s(&manifest), "push"];
        all.extend_from_slice(args);
        failed(&at(&store, &node, &all))
    };

    // A name that is no image of the lock: the error names it, the lock and its images.
    let err = push(&["big", "nosuch"]);
    let lock_file = work.path().join("p/wwpack.lock");
    assert!(
        err.contains("`nosuch` is neither a CID")
            && err.contains(s(&lock_file))
            && err.contains("its images: big, small"),
        "{err}"
    );
    // Nothing was pushed: names are checked before the node is.
    assert!(pins_on(&node).is_empty());

    // A CID cut short is no CID, and without a project no image either.
    let cut = "bafybeic6k4hpvud63c2ptminzjjcrx3ir5p7gnfdo5mzwekdepjapk2a";
    let err = failed(&output(
        Command::new(WWPACK)
            .current_dir(work.path())
            .env_remove("IPFS_API")
            .env_remove("IPFS_PATH")
            .args(["--store", s(&store), "--api", &node.url, "push", cut]),
    ));
    assert!(
        err.contains(&format!("`{cut}` is not a CID"))
            && err.contains("cannot be looked up as an image")
            && err.contains("wwpack.toml"),
        "{err}"
    );

    // A CID whose DAG the store lacks a block of: the error names the block and the store, and
    // says how to get it; nothing is sent or pinned.
    let tree = work.path().join("tree");
    write_tree(&tree, &[("a", b"first file\n"), ("b", b"second file\n")]);
    let root = ok(&run(&["--store", s(&store), "add", s(&tree)]))
        .trim()
        .to_string();
    let leaf = ok(&run(&["--store", s(&store), "ls", &format!("{root}/b")]));
    // `CID SIZE NAME`
    let leaf = leaf.split_whitespace().next().unwrap().to_string();
    remove_block(&store, &leaf);
    let err = push(&[&root]);
    assert!(
        err.contains(&format!(
            "cannot push {root}: block {leaf} is not in the block store"
        )) && err.contains(s(&store))
            && err.contains(&format!("wwpack pull {root}")),
        "{err}"
    );
    assert!(pins_on(&node).is_empty());
    assert!(!blocks_on(&node).contains(&multihash(&root)));

    // The same for an image whose block the store lost: rebuilding it is the way.
    let big = lock["images"]["big"]["root"].as_str().unwrap();
    let data = ok(&run(&[
        "--store",
        s(&store),
        "ls",
        &format!("{big}/etc/data"),
    ]));
    let data = data.split_whitespace().next().unwrap().to_string();
    remove_block(&store, &data);
    let err = push(&["big"]);
    assert!(
        err.contains(&format!(
            "cannot push image `big`: block {data} is not in the block store"
        )) && err.contains("wwpack build big"),
        "{err}"
    );
    assert!(pins_on(&node).is_empty());
}

/// Removes the block `cid` from the store (a block file or packed).
fn remove_block(store: &Path, cid: &str) {
    let removed = ww_content::store::Store::open(store)
        .unwrap()
        .remove_block(&cid.parse().unwrap())
        .unwrap();
    assert!(removed, "{cid} was not in {}", store.display());
}

#[test]
fn a_push_cut_by_the_node_dying_completes_when_rerun() {
    // An image big enough that the push takes a while: 48 MiB of distinct 1 MiB blocks.
    let work = tempfile::tempdir().unwrap();
    let big = distinct_bytes(48 << 20, &mut 0x9e37_79b9_7f4a_7c15);
    let manifest = static_image_project(&work.path().join("p"), |etc| {
        std::fs::write(etc.join("big"), &big).unwrap();
    });
    let project = manifest.parent().unwrap().to_path_buf();
    let store = work.path().join("store");
    ok(&output(Command::new(WWPACK).current_dir(&project).args([
        "--store",
        s(&store),
        "build",
        "-q",
    ])));

    let node = IpfsNode::start();
    let mut push = Command::new(WWPACK);
    push.args([
        "--manifest-path",
        s(&manifest),
        "--store",
        s(&store),
        "--api",
        &node.url,
        "--timeout",
        "5",
        "push",
        "--json",
    ]);
    let child = push
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    node.stop();
    let cut = child.wait_with_output().unwrap();
    node.restart();
    let done = output(&mut push);
    let json: serde_json::Value = serde_json::from_str(&ok(&done)).unwrap();
    let counts = &json["counts"];
    let total =
        counts["blocks_sent"].as_u64().unwrap() + counts["blocks_skipped"].as_u64().unwrap();
    assert!(total >= 48, "{json}");
    if !cut.status.success() {
        // The cut push stored some blocks; the rerun skipped them.
        let err = String::from_utf8_lossy(&cut.stderr);
        assert!(err.contains(&node.url), "{err}");
    }
    // The node now holds the whole image: pulling it into an empty store verifies every block.
    let root = json["images"][0]["root"].as_str().unwrap().to_string();
    let other = work.path().join("other");
    ok(&run(&[
        "--store",
        s(&other),
        "--api",
        &node.url,
        "pull",
        &root,
    ]));
    let out = run(&["--store", s(&other), "cat", &format!("{root}/etc/big")]);
    assert!(
        out.stdout == big,
        "the image's big file came back different"
    );
}
