//! `wwpack push` and `pull` with a real IPFS node (js-ipfs, offline, on 127.0.0.1, started by
//! `scripts/ipfs-node`): a push cut short by the node dying completes when run again, and what
//! it left on the node comes back whole. (Push, pull and boot together, with `ww`, are in the
//! end-to-end tests, `tests/ipfs.rs`.)

use std::process::{Command, Output};
use std::time::Duration;

use ww_test_support::project::{distinct_bytes, static_image_project};
use ww_test_support::{ok, output, s, IpfsNode};

const WWPACK: &str = env!("CARGO_BIN_EXE_wwpack");

/// `wwpack ARGS`, with no IPFS node from the environment.
fn run(args: &[&str]) -> Output {
    output(Command::new(WWPACK).env_remove("IPFS_API").args(args))
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
