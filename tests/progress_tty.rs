//! `ww run` of a CID that only the IPFS node (a real js-ipfs one) has, with stderr on a real
//! pseudo-terminal: a bar shows the files fetched into the cache, bytes of their total, the
//! rate and the time left, and is cleared before pid0 runs; with stderr a pipe or with
//! `--json-log`, no escape code reaches stderr.

use std::path::Path;
use std::process::Command;

use e2e::project::{mib_files, static_image_project};
use e2e::terminal::on_terminal;
use e2e::{bin, ok, output, s, IpfsNode, Ww};

/// A project of static layers (a WAT pid0 that exits 0, 4 MiB of data), built into `store`
/// and pushed to `node`; returns its root CID.
fn pushed_image(work: &Path, store: &Path, node: &IpfsNode) -> String {
    let manifest = static_image_project(&work.join("p"), |etc| mib_files(etc, 4));
    let wwpack = |args: &[&str]| {
        ok(&output(
            Command::new(bin("wwpack"))
                .env_remove("IPFS_API")
                .env_remove("IPFS_PATH")
                .args(["--manifest-path", s(&manifest), "--store", s(store)])
                .args(args),
        ))
    };
    let built = wwpack(&["build", "-q", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&built).unwrap();
    let root = report["images"][0]["root"].as_str().unwrap().to_string();
    wwpack(&["--api", &node.url, "push", "-q"]);
    root
}

#[test]
fn ww_run_of_a_cid_on_the_node_draws_a_bar_and_clears_it_before_pid0() {
    let node = IpfsNode::start();
    let work = tempfile::tempdir().unwrap();
    let root = pushed_image(work.path(), &work.path().join("store"), &node);

    // A home with an empty store and cache: every block comes from the node.
    let ww = Ww::new();
    let run = on_terminal(&mut ww.run_command(&[&root], &["--api", &node.url], &[]));
    run.shows(&["fetching", " MiB/", "4.00 MiB", "/s", "ETA ", " files"]);
    // The last thing on the terminal is the bar being cleared: pid0 started on a clean line.
    assert!(run.terminal.ends_with("\r\x1b[2K"), "{:?}", run.terminal);

    // stderr a pipe, in a fresh home: nothing drawn.
    let piped = Ww::new();
    let out = output(&mut piped.run_command(&[&root], &["--api", &node.url], &[]));
    assert!(out.status.success(), "{out:?}");
    assert!(!out.stderr.contains(&0x1b), "{out:?}");

    // --json-log on a terminal, in a fresh home: nothing drawn either.
    let json = Ww::new();
    let mut cmd = json.command();
    cmd.args(["--json-log", "run", &root, "--api", &node.url]);
    let run = on_terminal(&mut cmd);
    run.shows(&[]);
    assert!(!run.terminal.contains('\x1b'), "{:?}", run.terminal);
}
