//! Push benchmark: `wwpack push` (the library's `transfer::push`, `IN_FLIGHT` requests at a
//! time) of a 256 MiB image tree to a local IPFS node, next to that node's own `ipfs add -r` of
//! the same tree in a fresh repo, in one run; then a re-push of the unchanged tree. Needs the
//! test node (`scripts/ipfs-node`).
//!
//! `cargo bench -p ww-content --bench push`; `WWPACK_BENCH_PUSH_MIB` sets the size (default 256).
//! Only the ratios mean something: the machine is shared.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ww_content::ipfs::Node;
use ww_content::store::Store;
use ww_content::transfer::{push, PushItem, IN_FLIGHT};
use ww_content::unixfs::{import_path, UNIXFS_V1_2025};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ipfs-node")
}

fn node(repo: &Path, port: u16) -> String {
    let o = Command::new(script())
        .arg("start")
        .arg(repo)
        .arg(port.to_string())
        .output()
        .expect("run scripts/ipfs-node");
    assert!(
        o.status.success(),
        "node did not start: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn stop(repo: &Path) {
    let _ = Command::new(script()).arg("stop").arg(repo).status();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn mib_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / d.as_secs_f64()
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("push benchmark: run with `cargo bench -p ww-content --bench push`");
        return;
    }
    let mib: u64 = std::env::var("WWPACK_BENCH_PUSH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    // 4 MiB files of distinct pseudo-random bytes, plus 256 small files.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..(mib / 4) {
        let dir = tree.join(format!("d{}", i % 8));
        std::fs::create_dir_all(&dir).unwrap();
        let data: Vec<u8> = (0..(4 << 20) / 8)
            .flat_map(|_| next().to_le_bytes())
            .collect();
        std::fs::write(dir.join(format!("f{i}.bin")), data).unwrap();
    }
    for i in 0..256 {
        std::fs::create_dir_all(tree.join("etc")).unwrap();
        std::fs::write(
            tree.join("etc").join(format!("s{i}")),
            format!("small file {i} {}", next()),
        )
        .unwrap();
    }
    let bytes = mib << 20;

    // Our side: the tree in a local store (not timed), then pushed to a fresh node.
    let store = Store::open(&work.path().join("store")).unwrap();
    let root = import_path(&tree, &UNIXFS_V1_2025, &store).unwrap().cid;
    let repo_a = work.path().join("node-a");
    let url = node(&repo_a, free_port());
    let n = Node::connect(&url, Duration::from_secs(60)).unwrap();
    let item = PushItem {
        name: "tree".into(),
        root: root.clone(),
        also: vec![],
    };
    let t = Instant::now();
    let first = push(&store, &n, std::slice::from_ref(&item), |_| {}).unwrap();
    let push_time = t.elapsed();
    let t = Instant::now();
    let again = push(&store, &n, std::slice::from_ref(&item), |_| {}).unwrap();
    let repush_time = t.elapsed();
    drop(n);
    stop(&repo_a);

    // The node's own import of the same tree, in a fresh repo, with the same CID parameters.
    let repo_b = work.path().join("node-b");
    node(&repo_b, free_port());
    let cli = |args: &[&str]| {
        let t = Instant::now();
        let o = Command::new(script())
            .arg("cli")
            .arg(&repo_b)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (
            t.elapsed(),
            String::from_utf8_lossy(&o.stdout).trim().to_string(),
        )
    };
    let (startup, _) = cli(&["version"]);
    let (add_time, add_root) = cli(&[
        "add",
        "-r",
        "-Q",
        "--progress=false",
        "--cid-version=1",
        "--raw-leaves",
        "--chunker=size-1048576",
        tree.to_str().unwrap(),
    ]);
    stop(&repo_b);
    let same = add_root
        .parse::<ww_content::cid::Cid>()
        .map(|c| c == root)
        .unwrap_or(false);

    println!(
        "push benchmark: {mib} MiB tree ({} files), one run, 2 shared cores, {IN_FLIGHT} requests \
         in flight",
        mib / 4 + 256
    );
    println!(
        "  wwpack push (fresh node)        {:>8.2} s  {:>7.1} MiB/s  {} blocks sent",
        push_time.as_secs_f64(),
        mib_s(bytes, push_time),
        first.total.blocks_sent
    );
    println!(
        "  wwpack push again (unchanged)   {:>8.2} s  {} blocks sent, {} skipped",
        repush_time.as_secs_f64(),
        again.total.blocks_sent,
        again.total.blocks_skipped
    );
    println!("  jsipfs add -r (fresh node)      {:>8.2} s  {:>7.1} MiB/s  (includes {:.2} s of CLI start-up)", add_time.as_secs_f64(), mib_s(bytes, add_time), startup.as_secs_f64());
    let net = add_time.saturating_sub(startup);
    println!(
        "  jsipfs add -r less start-up     {:>8.2} s  {:>7.1} MiB/s",
        net.as_secs_f64(),
        mib_s(bytes, net)
    );
    println!(
        "  ratio push / add (less start-up)  {:.2}  (below 1: push is faster)",
        push_time.as_secs_f64() / net.as_secs_f64()
    );
    println!(
        "  ratio re-push / push              {:.3}",
        repush_time.as_secs_f64() / push_time.as_secs_f64()
    );
    println!("  same root CID from both: {same} ({root} / {add_root})");
}
