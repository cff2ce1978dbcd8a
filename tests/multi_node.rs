//! Content that travels between real IPFS nodes: js-ipfs nodes on 127.0.0.1 linked by the
//! [`Swarm`] harness, an image pushed by `wwpack` to one node and booted by `ww` on another
//! "host" (a store and cache of its own) through another node, which never was given it; then
//! with the node that held it gone. Also the harness itself: its nodes listen on and talk to
//! 127.0.0.1 only, pass blocks along their links, and one stopped comes back on its ports.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use e2e::process::{run_measured, Outcome};
use e2e::swarm::loopback_only;
use e2e::{bin, built_images, repo, s, write_tree, IpfsNode, Swarm, Topology, Ww};

/// Generous bounds for commands that must end: a hang fails the test, never a slow machine.
const HANG: Duration = Duration::from_secs(300);

/// The root CID of the repository's `hello` image, built once per test process.
fn hello_root() -> String {
    built_images();
    let lock = std::fs::read_to_string(repo().join("wwpack.lock")).expect("read wwpack.lock");
    let lock: serde_json::Value = serde_json::from_str(&lock).expect("wwpack.lock is JSON");
    lock["images"]["hello"]["root"]
        .as_str()
        .expect("wwpack.lock has images.hello.root")
        .to_string()
}

/// `wwpack push hello` from the built images' store to `node` (`IPFS_API`).
fn push_hello(node: &IpfsNode) {
    let o = run_measured(
        Command::new(bin("wwpack"))
            .env("IPFS_API", &node.url)
            .arg("--manifest-path")
            .arg(repo().join("wwpack.toml"))
            .arg("--store")
            .arg(built_images().join("store"))
            .args(["push", "hello"]),
        HANG,
    );
    assert!(o.status.success(), "wwpack push: {}", o.describe());
}

/// An overlay that shadows the image's `etc/motd`, under `dir`.
fn motd_overlay(dir: &Path) -> std::path::PathBuf {
    let overlay = dir.join("overlay");
    write_tree(&overlay, &[("etc/motd", b"motd from afar\n")]);
    overlay
}

const BOOTED: &str = "Hello from Wetware!\nargs: 1\n  [0] n\nmotd from afar\n";

/// `ww run <root> <overlay> -- n` on `host`, with `IPFS_API` at `node` (or no node at all).
fn run_on(host: &Ww, node: Option<&IpfsNode>, root: &str, overlay: &Path) -> Outcome {
    let mut cmd = host.run_command(&[root, s(overlay)], &["--api-timeout", "5"], &["n"]);
    if let Some(node) = node {
        cmd.env("IPFS_API", &node.url);
    }
    run_measured(&mut cmd, HANG)
}

#[test]
fn the_nodes_listen_and_talk_on_127_0_0_1_only_and_pass_blocks_along_their_links() {
    let swarm = Swarm::start(3, Topology::Chain);
    // A block put on one end of the chain is fetched through its neighbour...
    let cid = swarm
        .node(2)
        .put_block(b"a block from the end of the chain\n");
    let got = swarm.node(1).get_block(&cid, Duration::from_secs(30));
    assert_eq!(
        got.as_deref(),
        Ok(&b"a block from the end of the chain\n"[..])
    );
    // ... over connections that, like every listener, are on 127.0.0.1 only.
    for (i, node) in swarm.nodes().iter().enumerate() {
        let wrong = loopback_only(node);
        assert!(wrong.is_empty(), "node {i} ({}): {wrong:#?}", node.url);
        assert!(node.url.starts_with("http://127.0.0.1:"), "{}", node.url);
    }
    // The topology is exact: the ends know only the middle, and a block two links away cannot
    // be had (bitswap does not forward, and the nodes have no DHT to find its holder by).
    assert_eq!(
        swarm.node(1).peers().len(),
        2,
        "the middle of the chain has two peers"
    );
    assert_eq!(swarm.node(0).peers(), [swarm.node(1).peer_id()]);
    assert_eq!(swarm.node(2).peers(), [swarm.node(1).peer_id()]);
    let far = swarm.node(2).put_block(b"two links away\n");
    let got = swarm.node(0).get_block(&far, Duration::from_secs(3));
    assert!(
        got.as_ref().is_err_and(|e| e.contains("timed out")),
        "{got:?}"
    );
}

#[test]
fn a_stopped_node_comes_back_on_its_ports_and_its_links_are_dialled_again() {
    let swarm = Swarm::start(3, Topology::Star);
    let (hub, url, id) = (
        swarm.node(0),
        swarm.node(0).url.clone(),
        swarm.node(0).peer_id(),
    );
    let cid = hub.put_block(b"kept across a restart\n");
    swarm.stop(0);
    assert!(
        hub.call("id", Duration::from_secs(2)).is_err(),
        "a stopped node answers"
    );
    // The leaves see it go (they do not dial it again themselves).
    for leaf in [1, 2] {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while swarm.node(leaf).peers().contains(&id) {
            assert!(
                std::time::Instant::now() < deadline,
                "leaf {leaf} still lists the hub"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    swarm.restart(0);
    assert_eq!((hub.url.as_str(), hub.peer_id()), (url.as_str(), id));
    assert!(swarm.linked(0, 1) && swarm.linked(0, 2));
    assert!(loopback_only(hub).is_empty(), "{:#?}", loopback_only(hub));
    // Its blocks were kept, and reach the leaves again.
    let got = swarm.node(2).get_block(&cid, Duration::from_secs(30));
    assert_eq!(got.as_deref(), Ok(&b"kept across a restart\n"[..]));
}

#[test]
fn an_image_pushed_to_one_node_boots_on_another_host_through_another_node_even_once_the_first_is_gone(
) {
    let root = hello_root();
    let swarm = Swarm::start(2, Topology::Chain); // B (1) dials A (0)
    let (a, b) = (swarm.node(0), swarm.node(1));
    push_hello(a);
    assert_eq!(b.local_blocks(), 0, "B was given something");
    let work = tempfile::tempdir().unwrap();
    let overlay = motd_overlay(work.path());

    // A second host, which knows only the CID and B, boots it: the blocks came from A via B.
    let second = Ww::new();
    let o = run_on(&second, Some(b), &root, &overlay);
    assert!(o.status.success(), "{}", o.describe());
    assert_eq!(o.stdout, BOOTED);
    assert!(b.local_blocks() > 0, "B did not keep what it fetched");
    // The second host keeps every block it fetched in its store: with no node at all and an
    // empty cache it boots again.
    std::fs::remove_dir_all(second.cache()).unwrap();
    let o = run_on(&second, None, &root, &overlay);
    assert!(o.status.success(), "{}", o.describe());
    assert_eq!(o.stdout, BOOTED);

    // A is gone; a third host, with nothing stored or cached, boots it from B alone.
    swarm.stop(0);
    assert!(
        a.call("id", Duration::from_secs(2)).is_err(),
        "A still answers"
    );
    let third = Ww::new();
    let o = run_on(&third, Some(b), &root, &overlay);
    assert!(o.status.success(), "{}", o.describe());
    assert_eq!(o.stdout, BOOTED);
}

#[test]
fn with_the_only_holder_gone_and_nothing_cached_the_run_fails_naming_the_cid() {
    let root = hello_root();
    let swarm = Swarm::start(2, Topology::Chain); // B (1) dials A (0)
    let b = swarm.node(1);
    push_hello(swarm.node(0));
    swarm.stop(0);
    assert_eq!(b.local_blocks(), 0, "B was given something");
    let work = tempfile::tempdir().unwrap();
    let host = Ww::new();
    let o = run_measured(
        host.run_command(
            &[root.as_str(), s(&motd_overlay(work.path()))],
            &["--api-timeout", "3"],
            &["n"],
        )
        .env("IPFS_API", &b.url),
        HANG,
    );
    assert_eq!(o.status.code(), Some(125), "{}", o.describe());
    assert!(
        o.stderr.contains(&root) && o.stderr.contains(&b.url),
        "the error names neither the CID nor the node: {}",
        o.stderr
    );
    assert!(o.stdout.is_empty(), "pid0 ran: {}", o.stdout);
}
