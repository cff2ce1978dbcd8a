//! `wwpack pull` and `push` against hostile IPFS nodes
//! ([`ww_test_support::hostile_node`]: a tiny HTTP/1.1 server on 127.0.0.1 that answers
//! `version` and then misbehaves with an endless block, an endless `refs/local` or one line of
//! it without end). Each must fail with a message naming the CID, the URL and the limit, within
//! a bounded time and in bounded memory (the child's peak RSS, from `wait4`). The same nodes
//! against `ww`, and bad `--api` values, are in the end-to-end tests (`tests/hostile_node.rs`).

use std::path::Path;
use std::process::Command;

use ww_test_support::hostile_node::{run, tiny_project, HostileNode, Hostility, BLOCK_LIMIT, CID};

const WWPACK: &str = env!("CARGO_BIN_EXE_wwpack");

fn wwpack(store: &Path) -> Command {
    let mut cmd = Command::new(WWPACK);
    cmd.env_remove("IPFS_API")
        .env_remove("IPFS_PATH")
        .arg("--store")
        .arg(store);
    cmd
}

#[test]
fn pull_stops_reading_a_block_at_the_largest_valid_block() {
    let node = HostileNode::start(Hostility::EndlessBlock);
    let work = tempfile::tempdir().unwrap();
    let o = run(wwpack(&work.path().join("store")).args([
        "--api",
        &node.url,
        "--timeout",
        "30",
        "pull",
        CID,
    ]));
    o.failed_cleanly(1).says(&[
        "wwpack: error: ",
        CID,
        &node.url,
        BLOCK_LIMIT,
        "connection dropped",
    ]);
    // Nothing of it was stored.
    let stored = std::fs::read_dir(work.path().join("store/blocks")).map_or(0, |d| d.count());
    assert_eq!(stored, 0);
}

#[test]
fn push_reads_an_endless_refs_listing_in_bounded_memory_and_time() {
    let node = HostileNode::start(Hostility::EndlessRefs);
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let (manifest, _) = tiny_project(&work.path().join("p"), &mut wwpack(&store));
    let o = run(wwpack(&store).arg("--manifest-path").arg(&manifest).args([
        "--api",
        &node.url,
        "--timeout",
        "2",
        "push",
    ]));
    // The listing never ends: the deadline (timeout + 2 s) does.
    o.failed_cleanly(1)
        .says(&[&node.url, "refs/local", "no complete answer within 4s"]);
}

#[test]
fn push_refuses_an_over_long_refs_line() {
    let node = HostileNode::start(Hostility::LongRefsLine);
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let (manifest, _) = tiny_project(&work.path().join("p"), &mut wwpack(&store));
    let o = run(wwpack(&store).arg("--manifest-path").arg(&manifest).args([
        "--api",
        &node.url,
        "--timeout",
        "30",
        "push",
    ]));
    o.failed_cleanly(1)
        .says(&[&node.url, "refs/local", "line longer than 4096 bytes"]);
}
