//! The real `ww` (and `wwpack` beside it) against hostile IPFS nodes
//! ([`e2e::hostile_node`]: a tiny HTTP/1.1 server on 127.0.0.1 that answers `version` and then
//! misbehaves), and against bad `--api`/`$IPFS_API` values. Each must fail with a message naming
//! the CID, the URL and the limit, within a bounded time and in bounded memory (the child's peak
//! RSS, from `wait4`); no bad address may panic; and the `HOST:PORT` and multiaddr forms, and
//! every source of the address (`--api`, `$IPFS_API`, `$IPFS_PATH/api`, `~/.ipfs/api`, in that
//! order), must reach a real js-ipfs node from `wwpack` and `ww` alike (`wwpack`'s every form
//! and source is in `wwpack/tests/node_read.rs`). What only `wwpack` does against such nodes (pull, push) is tested
//! in `wwpack/tests/hostile_node.rs`.

use std::path::Path;
use std::process::Command;

use e2e::hostile_node::{run, tiny_project, HostileNode, Hostility, BLOCK_LIMIT, CID};
use e2e::process::Outcome;
use e2e::{bin, output, IpfsNode};

fn wwpack(store: &Path) -> Command {
    let mut cmd = Command::new(bin("wwpack"));
    cmd.env_remove("IPFS_API").arg("--store").arg(store);
    cmd
}

#[test]
fn ww_run_stops_reading_a_block_at_the_largest_valid_block() {
    let node = HostileNode::start(Hostility::EndlessBlock);
    let home = tempfile::tempdir().unwrap();
    let o =
        run(e2e::ww_in(home.path()).args(["run", "--api", &node.url, "--api-timeout", "30", CID]));
    o.failed_cleanly(125).says(&[CID, &node.url, BLOCK_LIMIT]);
}

#[test]
fn a_huge_version_answer_is_refused() {
    let node = HostileNode::start(Hostility::HugeVersion);
    let work = tempfile::tempdir().unwrap();
    let o = run(wwpack(&work.path().join("store")).args([
        "--api",
        &node.url,
        "--timeout",
        "30",
        "pull",
        CID,
    ]));
    o.failed_cleanly(1)
        .says(&[&node.url, "version", "larger than 1048576 bytes"]);
    let o =
        run(e2e::ww_in(work.path()).args(["run", "--api", &node.url, "--api-timeout", "30", CID]));
    o.failed_cleanly(125)
        .says(&[CID, &node.url, "larger than 1048576 bytes"]);
}

/// Bad addresses and a word the message must contain for each.
const BAD_ADDRESSES: &[(&str, &str)] = &[
    ("https://127.0.0.1:5001", "only http is supported"),
    ("http://127.0.0.1:5001/api/v0", "no path"),
    ("127.0.0.1", "the port is missing"),
    ("http://127.0.0.1", "the port is missing"),
    ("127.0.0.1:65536", "not in 1..=65535"),
    ("/ip4/127.0.0.1/tcp", "a multiaddr here is"),
    ("/ip4/127.0.0.1/udp/5001", "must be tcp"),
    ("/ip4/999.0.0.1/tcp/5001", "not an IPv4 address"),
    ("not an address", "spaces"),
    ("\u{1b}]0;owned\u{7}:1", "control characters"),
];

/// The value as a message shows it (control characters escaped).
fn shown(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_control() {
                format!("\\x{:02x}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn assert_clear_address_error(o: &Outcome, code: i32, value: &str, why: &str) {
    o.failed_cleanly(code).says(&[
        "invalid IPFS API address",
        &format!("`{}`", shown(value)),
        why,
        "accepted: http://HOST:PORT, HOST:PORT, /ip4/A.B.C.D/tcp/PORT",
    ]);
    assert!(!o.stderr.contains('\u{1b}'), "{}", o.describe());
    assert_eq!(o.stderr.trim_end().lines().count(), 1, "{}", o.describe());
}

#[test]
fn a_bad_api_address_is_a_clear_error_in_pull_diff_and_ww_run() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let other = "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq";
    for &(value, why) in BAD_ADDRESSES {
        for from_env in [false, true] {
            let api = |cmd: &mut Command| {
                if from_env {
                    cmd.env("IPFS_API", value);
                } else {
                    cmd.args(["--api", value]);
                }
            };
            let origin = if from_env {
                "(from $IPFS_API)"
            } else {
                "(from --api)"
            };

            // The subcommand first: `--api` is an option of `ww run`, global in wwpack.
            let mut pull = wwpack(&store);
            pull.arg("pull");
            api(&mut pull);
            let o = run(pull.arg(CID));
            assert_clear_address_error(&o, 1, value, why);
            o.says(&["wwpack: error: ", origin]);

            // diff(1)'s convention: 2 is trouble.
            let mut diff = wwpack(&store);
            diff.current_dir(work.path()).arg("diff");
            api(&mut diff);
            let o = run(diff.args([CID, other]));
            assert_clear_address_error(&o, 2, value, why);
            o.says(&["wwpack: error: ", origin]);

            let mut ww = e2e::ww_in(work.path());
            ww.arg("run");
            api(&mut ww);
            let o = run(ww.arg(CID));
            assert_clear_address_error(&o, 125, value, why);
            o.says(&[origin]);
        }
    }
    // An empty --api is no address either.
    let o = run(wwpack(&store).args(["--api", "", "pull", CID]));
    assert_clear_address_error(&o, 1, "", "it is empty");
}

/// What `ww run` finds in `~/.ipfs/api`, and what is added to its command line.
type Setup<'a> = (Option<&'a str>, &'a dyn Fn(&mut Command));

#[test]
fn host_port_and_multiaddr_forms_reach_a_real_node() {
    let node = IpfsNode::start();
    let port = node
        .url
        .rsplit(':')
        .next()
        .expect("the node's URL has a port")
        .to_string();
    let host_port = format!("127.0.0.1:{port}");
    let multiaddr = format!("/ip4/127.0.0.1/tcp/{port}");
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let (manifest, root) = tiny_project(&work.path().join("p"), &mut wwpack(&store));

    // push with HOST:PORT: the node reports the normalized URL.
    let o = run(wwpack(&store)
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--api", &host_port, "push", "--json"]));
    assert!(o.status.success(), "{}", o.describe());
    let json: serde_json::Value = serde_json::from_str(&o.stdout).expect("push --json");
    assert_eq!(json["api"], node.url.as_str(), "{json}");
    assert!(json["counts"]["blocks_sent"].as_u64() > Some(0), "{json}");
    // Again, from $IPFS_API: everything is there already.
    let o = run(wwpack(&store)
        .env("IPFS_API", &host_port)
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["push", "--json"]));
    assert!(o.status.success(), "{}", o.describe());
    let json: serde_json::Value = serde_json::from_str(&o.stdout).expect("push --json");
    assert_eq!(json["counts"]["blocks_sent"], 0, "{json}");

    // pull with the multiaddr into an empty store: the same file comes back.
    let other = work.path().join("other");
    let o = run(wwpack(&other).args(["--api", &multiaddr, "pull", &root]));
    assert!(o.status.success(), "{}", o.describe());
    let cat = output(wwpack(&other).args(["cat", &format!("{root}/etc/motd")]));
    assert_eq!(cat.stdout, b"a tiny image\n");

    // diff with HOST:PORT, from an empty store: both sides come from the node.
    let o = run(wwpack(&work.path().join("empty"))
        .current_dir(work.path())
        .args(["--api", &host_port, "diff", &root, &root]));
    assert_eq!(o.status.code(), Some(0), "{}", o.describe());

    // ww boots it from the node with $IPFS_API as a multiaddr ending in /http.
    let home = tempfile::tempdir().unwrap();
    let o = run(e2e::ww_in(home.path())
        .env("IPFS_API", format!("{multiaddr}/http"))
        .args(["run", "--api-timeout", "10", &root]));
    assert_eq!(o.status.code(), Some(0), "{}", o.describe());

    // ww finds the node as wwpack does, each run with an empty store and cache of its own: a
    // /dns multiaddr, the daemon's own $IPFS_PATH/api, ~/.ipfs/api; --api before $IPFS_API,
    // $IPFS_API before $IPFS_PATH.
    let dead = {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        format!("127.0.0.1:{port}")
    };
    let ww_run = |home_api: Option<&str>, setup: &dyn Fn(&mut Command)| {
        let home = tempfile::tempdir().unwrap();
        if let Some(api) = home_api {
            std::fs::create_dir(home.path().join(".ipfs")).unwrap();
            std::fs::write(home.path().join(".ipfs/api"), api).unwrap();
        }
        let mut ww = e2e::ww_in(home.path());
        ww.env_remove("IPFS_API")
            .env_remove("IPFS_PATH")
            .env("HOME", home.path())
            .arg("run");
        setup(&mut ww);
        run(ww.args(["--api-timeout", "10", &root]))
    };
    let dns = format!("/dns/localhost/tcp/{port}");
    let boots: [Setup<'_>; 4] = [
        (None, &|ww| {
            ww.args(["--api", &dns]);
        }),
        (None, &|ww| {
            ww.env("IPFS_PATH", &node.repo);
        }),
        (Some(&format!("{multiaddr}\n")), &|_| {}),
        (None, &|ww| {
            ww.env("IPFS_API", "garbage").args(["--api", &node.url]);
        }),
    ];
    for (home_api, setup) in boots {
        let o = ww_run(home_api, setup);
        assert_eq!(o.status.code(), Some(0), "{}", o.describe());
    }
    let o = ww_run(None, &|ww| {
        ww.env("IPFS_API", &dead).env("IPFS_PATH", &node.repo);
    });
    o.failed_cleanly(125).says(&[&root, &dead, "unreachable"]);
    let broken = work.path().join("broken-repo");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("api"), "/unix/ipfs.sock").unwrap();
    let o = ww_run(None, &|ww| {
        ww.env("IPFS_PATH", &broken);
    });
    let file = broken.join("api");
    o.failed_cleanly(125)
        .says(&[file.to_str().unwrap(), "`/unix/ipfs.sock`", "accepted"]);
}
