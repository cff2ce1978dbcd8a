//! Cross-node fetch benchmark: a 256 MiB image (`big`: 1 MiB files of distinct bytes) built by
//! `wwpack build` and pushed by `wwpack push` to node A of a [`Swarm`] star (A in the middle,
//! B and C linked to it, never given the image); then, in one run, each into an empty store:
//!
//! - `wwpack pull` from A itself, which holds every block (the reference);
//! - `wwpack pull` through B, which fetches every block from A over bitswap as it serves it
//!   (the cross-node fetch);
//! - `wwpack pull` through B again, now that B holds every block;
//! - `ww run` of the image from a fresh host (store and cache), through A, then through C
//!   (cold, as B was).
//!
//! `cargo bench -p e2e --bench fetch` (release binaries; the first run compiles wasmtime in
//! release) or `cargo bench -p e2e --bench fetch --profile dev` (the binaries the tests use);
//! `WW_BENCH_FETCH_MIB` sets the size (default 256). It measures the `wwpack` and `ww` of the
//! profile it is built with. Only the ratios mean something: the machine is shared.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use e2e::process::{run_measured, Outcome};
use e2e::project::{mib_files, static_image_project};
use e2e::{IpfsNode, Swarm, Topology, Ww};

/// A bound for each command: a hang fails the benchmark, a slow machine does not.
const HANG: Duration = Duration::from_secs(1800);

/// The `wwpack` and `ww` of this benchmark's profile, built first (`--workspace --bins`, as
/// the tests build them, so the dependencies are reused), then linked (or copied) into `into`,
/// so that a build during the run cannot change what is measured. Returns the profile's name.
fn binaries(into: &Path) -> String {
    let exe = std::env::current_exe().expect("the benchmark's path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .to_path_buf();
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(e2e::repo())
        .args(["build", "--quiet", "--workspace", "--bins"]);
    match dir.file_name().and_then(|n| n.to_str()) {
        Some("release") => {
            cargo.arg("--release");
        }
        Some("debug") => {}
        other => panic!("unknown profile directory {other:?} ({})", dir.display()),
    }
    assert!(
        cargo.status().expect("run cargo build").success(),
        "cargo build of wwpack and ww failed"
    );
    std::fs::create_dir_all(into).expect("create the binaries' directory");
    for name in ["wwpack", "ww"] {
        let (from, to) = (dir.join(name), into.join(name));
        if std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to)
                .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
        }
    }
    let profile = dir.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    profile.to_string()
}

fn must(what: &str, o: Outcome) -> Duration {
    assert!(o.status.success(), "{what}: {}", o.describe());
    o.took
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("fetch benchmark: run with `cargo bench -p e2e --bench fetch`");
        return;
    }
    let mib: usize = std::env::var("WW_BENCH_FETCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let work = tempfile::tempdir().expect("temp dir");
    let bins = work.path().join("bin");
    let profile = binaries(&bins);
    let (wwpack, ww) = (bins.join("wwpack"), bins.join("ww"));
    let manifest = static_image_project(&work.path().join("p"), |etc| mib_files(etc, mib));
    let store = work.path().join("store");
    let wwpack_in = |node: Option<&IpfsNode>, store: &Path| {
        let mut cmd = Command::new(&wwpack);
        cmd.env_remove("IPFS_API")
            .env_remove("IPFS_PATH")
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--store")
            .arg(store);
        if let Some(node) = node {
            cmd.env("IPFS_API", &node.url);
        }
        cmd
    };
    must(
        "wwpack build",
        run_measured(wwpack_in(None, &store).args(["build", "-q"]), HANG),
    );
    let lock = manifest.with_file_name("wwpack.lock");
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&lock).expect("read wwpack.lock"))
            .expect("wwpack.lock is JSON");
    let root = lock["images"]["big"]["root"]
        .as_str()
        .unwrap_or_else(|| panic!("no images.big.root in {lock}"))
        .to_string();

    let swarm = Swarm::start(3, Topology::Star);
    let (a, b, c) = (swarm.node(0), swarm.node(1), swarm.node(2));
    let push = must(
        "wwpack push",
        run_measured(wwpack_in(Some(a), &store).args(["push", "-q", "big"]), HANG),
    );
    let pull = |node: &IpfsNode, into: &str| {
        let store = work.path().join(into);
        let took = must(
            &format!("wwpack pull via {}", node.url),
            run_measured(
                wwpack_in(Some(node), &store).args(["pull", "-q", "--timeout", "120", &root]),
                HANG,
            ),
        );
        std::fs::remove_dir_all(&store).expect("remove the pulled store");
        took
    };
    let reference = pull(a, "from-a");
    assert_eq!(b.local_blocks(), 0, "B was given blocks before the fetch");
    let cross = pull(b, "via-b");
    let blocks_b = b.local_blocks();
    let warm = pull(b, "via-b-again");
    let run = |node: &IpfsNode| {
        let host = Ww::new();
        let mut cmd = Command::new(&ww);
        e2e::hermetic(&mut cmd, host.home());
        cmd.env("IPFS_API", &node.url).args([
            "run",
            "--api-timeout",
            "120",
            "--cache-max-size",
            "4GiB",
            &root,
        ]);
        must(
            &format!("ww run via {}", node.url),
            run_measured(&mut cmd, HANG),
        )
    };
    let ww_reference = run(a);
    let ww_cross = run(c);
    drop(swarm);

    let line = |what: &str, d: Duration, reference: Option<Duration>| {
        let ratio = reference.map_or(String::new(), |r| {
            format!(
                "  {:>5.2}x the reference",
                d.as_secs_f64() / r.as_secs_f64()
            )
        });
        println!(
            "  {what:<44} {:>7.2} s  {:>7.1} MiB/s{ratio}",
            d.as_secs_f64(),
            mib as f64 / d.as_secs_f64()
        );
    };
    println!(
        "fetch benchmark: {mib} MiB image ({} files of 1 MiB + layers/base), js-ipfs nodes on \
         127.0.0.1, one run, {} binaries",
        mib, profile
    );
    line("wwpack push to A", push, None);
    line(
        "wwpack pull from A (A holds it: reference)",
        reference,
        None,
    );
    line(
        "wwpack pull via B (B fetches from A)",
        cross,
        Some(reference),
    );
    line(
        "wwpack pull via B again (B holds it)",
        warm,
        Some(reference),
    );
    line("ww run, fresh host, via A (reference)", ww_reference, None);
    line(
        "ww run, fresh host, via C (C fetches from A)",
        ww_cross,
        Some(ww_reference),
    );
    println!("  blocks B kept after serving the fetch: {blocks_b}");
}
