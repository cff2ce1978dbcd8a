//! The store lifecycle verbs of the real `wwpack` binary on a real store on disk: `pin ls`,
//! `pin add` (fetching what the store lacks from a real js-ipfs node, started by
//! `scripts/ipfs-node`) and `pin rm`; `verify` finding flipped bytes and deleted blocks, and
//! `--repair` fetching them again from the node; `gc --dry-run` listing exactly what `gc` then
//! removes; `store stat` counting what is on disk.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use ww_content::block::BlockSink;
use ww_content::cid::Cid;
use ww_content::store::Store;
use ww_test_support::{
    closed_pipe, failed, flip_byte, ok, output, s, stderr, walk_files, write_tree, IpfsNode,
};

const WWPACK: &str = env!("CARGO_BIN_EXE_wwpack");

/// No node: nothing listens on the discard port.
const NO_NODE: &str = "http://127.0.0.1:9";

/// `wwpack --store STORE ARGS`, with no store or node from the environment.
fn wwpack(store: &Path, args: &[&str]) -> Output {
    output(
        Command::new(WWPACK)
            .env_remove("WW_STORE")
            .env_remove("IPFS_API")
            .env_remove("IPFS_PATH")
            .arg("--store")
            .arg(store)
            .args(args),
    )
}

/// Asserts that `o` failed with exit status 1 and returns its stderr.
fn failed_1(o: &Output) -> String {
    let err = failed(o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    err
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A tree with a small file, a file of three 1 MiB chunks and a hidden file, each distinct per
/// `seed`.
fn sample_tree(root: &Path, seed: u8) {
    let big: Vec<u8> = (0..2_500_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ seed)
        .collect();
    let motd = format!("welcome, tree {seed}\n");
    write_tree(
        root,
        &[
            ("etc/motd", motd.as_bytes()),
            ("bin/big", &big),
            (".hidden", &[seed; 7]),
        ],
    );
}

/// Adds `tree` to `store`, returns its root CID.
fn add(store: &Path, tree: &Path) -> String {
    ok(&wwpack(store, &["add", s(tree)])).trim().to_string()
}

/// The CID of the entry `path` (`dir/name`) below `root`, as `ls` lists it (a directory's name
/// ends in `/` there).
fn cid_of(store: &Path, root: &str, path: &str) -> String {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let listing = ok(&wwpack(store, &["ls", &format!("{root}/{dir}")]));
    listing
        .lines()
        .find(|l| l.rsplit(' ').next().map(|n| n.trim_end_matches('/')) == Some(name))
        .unwrap_or_else(|| panic!("no {name} in {listing}"))
        .split(' ')
        .next()
        .unwrap()
        .to_string()
}

/// The store at `store`, opened as another process would.
fn opened(store: &Path) -> Store {
    Store::open_read_only(store).unwrap()
}

/// Whether the store at `store` holds the block `cid` (as a block file or packed).
fn holds(store: &Path, cid: &str) -> bool {
    opened(store).locate(&cid.parse().unwrap()).is_some()
}

/// Damages the copy of the block `cid` the store reads (its first byte), wherever it is kept.
fn corrupt(store: &Path, cid: &str) {
    let at = opened(store)
        .locate(&cid.parse().unwrap())
        .unwrap_or_else(|| panic!("{cid} is not in {}", store.display()));
    flip_byte(&at.path, at.offset);
}

/// Removes the block `cid` from the store, block file or packed.
fn remove(store: &Path, cid: &str) {
    assert!(Store::open(store)
        .unwrap()
        .remove_block(&cid.parse().unwrap())
        .unwrap());
}

/// The blocks of `store`, by CID.
fn block_names(store: &Path) -> BTreeSet<String> {
    opened(store)
        .blocks()
        .unwrap()
        .iter()
        .map(|cid| cid.to_string())
        .collect()
}

/// Puts every block of the store at `dir` onto the node at `url` (as a push would).
fn put_all_on_node(dir: &Path, url: &str) {
    let store = Store::open(dir).unwrap();
    let node = ww_content::ipfs::Node::connect(url, Duration::from_secs(30)).unwrap();
    for cid in store.blocks().unwrap() {
        node.put(&cid, &store.get(&cid).unwrap()).unwrap();
    }
}

/// The CID of bytes stored nowhere.
fn nowhere(work: &Path) -> String {
    let file = work.join("nowhere");
    std::fs::write(&file, "stored nowhere at all").unwrap();
    ok(&output(Command::new(WWPACK).args(["cid", s(&file)])))
        .trim()
        .to_string()
}

#[test]
fn pin_ls_add_and_rm_keep_labels_and_name_what_is_not_pinned() {
    let work = tempfile::tempdir().unwrap();
    let (tree, store) = (work.path().join("tree"), work.path().join("store"));
    sample_tree(&tree, 1);
    let root = add(&store, &tree);
    assert_eq!(
        ok(&wwpack(&store, &["pin", "ls"])),
        format!("{root} {}\n", s(&tree))
    );

    // The whole DAG is in the store: no node is asked (there is none).
    let added = wwpack(
        &store,
        &["--api", NO_NODE, "pin", "add", &root, "--name", "mine"],
    );
    assert_eq!(ok(&added), format!("{root}\n"));
    assert!(
        stderr(&added).contains("all in the block store"),
        "{}",
        stderr(&added)
    );
    let motd = cid_of(&store, &root, "etc/motd");
    ok(&wwpack(&store, &["--api", NO_NODE, "pin", "add", &motd]));
    let mut expected = [format!("{root} mine"), motd.clone()];
    expected.sort();
    assert_eq!(
        ok(&wwpack(&store, &["pin", "ls"])),
        expected.join("\n") + "\n"
    );
    // Pinning again without --name keeps the label.
    ok(&wwpack(&store, &["--api", NO_NODE, "pin", "add", &root]));
    let lines: Vec<Value> = ok(&wwpack(&store, &["pin", "ls", "--json"]))
        .lines()
        .map(json)
        .collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        if line["cid"] == root.as_str() {
            assert_eq!(line["label"], "mine");
        } else {
            assert_eq!(line["cid"], motd.as_str());
            assert!(line["label"].is_null(), "{line}");
        }
    }
    let add_json = json(&ok(&wwpack(
        &store,
        &[
            "--api", NO_NODE, "pin", "add", "--json", &motd, "--name", "m",
        ],
    )));
    assert_eq!(add_json["cid"], motd.as_str());
    assert_eq!(add_json["label"], "m");
    assert_eq!(add_json["blocks"], 1);
    assert_eq!(add_json["fetched"], 0);

    assert_eq!(
        ok(&wwpack(&store, &["pin", "rm", &motd])),
        format!("{motd}\n")
    );
    assert_eq!(
        ok(&wwpack(&store, &["pin", "ls"])),
        format!("{root} mine\n")
    );
    let err = failed_1(&wwpack(&store, &["pin", "rm", &motd]));
    assert!(
        err.contains(&motd) && err.contains("is not pinned") && err.contains(s(&store)),
        "{err}"
    );
    let err = failed(&wwpack(&store, &["pin", "add", "bafy-not-a-cid"]));
    assert!(err.contains("bafy-not-a-cid"), "{err}");
    // An unpinned block stays until gc.
    assert!(holds(&store, &motd));
}

#[test]
fn pin_add_fetches_what_only_the_node_has_and_pins_nothing_when_a_block_is_nowhere() {
    let work = tempfile::tempdir().unwrap();
    let (tree, first) = (work.path().join("tree"), work.path().join("first"));
    sample_tree(&tree, 2);
    let root = add(&first, &tree);
    let node = IpfsNode::start();
    put_all_on_node(&first, &node.url);

    // A second, empty store: everything comes from the node, verified.
    let second = work.path().join("second");
    let api = ["--api", node.url.as_str(), "--timeout", "3"];
    let pin_add = |store: &Path, cid: &str, extra: &[&str]| {
        let mut args = api.to_vec();
        args.extend(["pin", "add", cid]);
        args.extend(extra);
        wwpack(store, &args)
    };
    let o = pin_add(&second, &root, &["--name", "from the node"]);
    assert_eq!(ok(&o), format!("{root}\n"));
    assert!(stderr(&o).contains(&node.url), "{}", stderr(&o));
    assert_eq!(block_names(&second), block_names(&first));
    assert_eq!(
        ok(&wwpack(&second, &["pin", "ls"])),
        format!("{root} from the node\n")
    );
    ok(&wwpack(&second, &["verify"]));
    assert_eq!(
        ok(&wwpack(&second, &["cat", &format!("{root}/etc/motd")])),
        "welcome, tree 2\n"
    );

    // A block of the store that no longer verifies is fetched again and its file repaired.
    let motd = cid_of(&second, &root, "etc/motd");
    corrupt(&second, &motd);
    let o = pin_add(&second, &root, &[]);
    ok(&o);
    assert!(
        stderr(&o).contains(&format!("repaired block {motd}")),
        "{}",
        stderr(&o)
    );
    ok(&wwpack(&second, &["verify"]));

    // A root nowhere: named, nothing pinned.
    let lost = nowhere(work.path());
    let err = failed_1(&pin_add(&second, &lost, &[]));
    assert!(
        err.contains(&lost) && err.contains(&node.url) && err.contains("nothing was pinned"),
        "{err}"
    );
    // A root on the node whose file is nowhere: both named, nothing pinned.
    let (partial_tree, partial) = (work.path().join("pt"), work.path().join("partial"));
    write_tree(
        &partial_tree,
        &[("only-here", b"a file the node never gets")],
    );
    let partial_root = add(&partial, &partial_tree);
    let leaf = cid_of(&partial, &partial_root, "only-here");
    let node_api = ww_content::ipfs::Node::connect(&node.url, Duration::from_secs(30)).unwrap();
    let root_cid: Cid = partial_root.parse().unwrap();
    node_api
        .put(&root_cid, &opened(&partial).get(&root_cid).unwrap())
        .unwrap();
    let err = failed_1(&pin_add(&second, &partial_root, &[]));
    assert!(
        err.contains(&partial_root) && err.contains(&leaf) && err.contains("nothing was pinned"),
        "{err}"
    );
    assert_eq!(
        ok(&wwpack(&second, &["pin", "ls"])),
        format!("{root} from the node\n")
    );
}

#[test]
fn verify_finds_flipped_and_deleted_blocks_and_repair_fetches_them_from_the_node() {
    let work = tempfile::tempdir().unwrap();
    let (tree, store) = (work.path().join("tree"), work.path().join("store"));
    sample_tree(&tree, 3);
    let root = add(&store, &tree);
    assert_eq!(ok(&wwpack(&store, &["verify"])), "");
    let node = IpfsNode::start();
    put_all_on_node(&store, &node.url);

    let motd = cid_of(&store, &root, "etc/motd");
    let big = cid_of(&store, &root, "bin/big");
    let etc = cid_of(&store, &root, "etc");
    let hidden = cid_of(&store, &root, ".hidden");
    corrupt(&store, &motd);
    // The big file's node: its chunks are left, but no pin reaches them now.
    remove(&store, &big);

    let o = wwpack(&store, &["verify"]);
    let err = failed_1(&o);
    assert!(
        err.contains("1 corrupt and 1 missing") && err.contains(s(&store)),
        "{err}"
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("corrupt {motd}\nmissing {big}\nincomplete {root}\n")
    );
    let report = json(&String::from_utf8_lossy(
        &wwpack(&store, &["verify", "--json"]).stdout,
    ));
    assert_eq!(report["corrupt"], serde_json::json!([motd]));
    assert_eq!(report["missing"], serde_json::json!([big]));
    assert_eq!(report["incomplete"], serde_json::json!([root]));
    assert_eq!(report["ok"], false);

    // Given CIDs: only their DAGs.
    assert_eq!(ok(&wwpack(&store, &["verify", &hidden])), "");
    let o = wwpack(&store, &["verify", &etc, &hidden]);
    failed_1(&o);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("corrupt {motd}\nincomplete {etc}\n")
    );

    // No node to repair from: an error naming it, and nothing repaired.
    let err = failed_1(&wwpack(&store, &["--api", NO_NODE, "verify", "--repair"]));
    assert!(err.contains(NO_NODE), "{err}");
    failed_1(&wwpack(&store, &["verify", "-q"]));

    let fixed = wwpack(
        &store,
        &["--api", &node.url, "--timeout", "5", "verify", "--repair"],
    );
    let out: BTreeSet<String> = ok(&fixed).lines().map(str::to_string).collect();
    let repaired: BTreeSet<String> = [format!("repaired {motd}"), format!("repaired {big}")].into();
    assert_eq!(out, repaired);
    assert!(
        stderr(&fixed).contains(&format!("repaired block {motd}")),
        "{}",
        stderr(&fixed)
    );
    let after = wwpack(&store, &["-q", "verify"]);
    assert_eq!((ok(&after), stderr(&after)), (String::new(), String::new()));
    assert_eq!(
        ok(&wwpack(&store, &["cat", &format!("{root}/etc/motd")])),
        "welcome, tree 3\n"
    );
    assert!(holds(&store, &big));
}

#[test]
fn verify_of_given_cids_and_of_unpinned_blocks() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let (one, two) = (work.path().join("one"), work.path().join("two"));
    sample_tree(&one, 4);
    sample_tree(&two, 5);
    let (root1, root2) = (add(&store, &one), add(&store, &two));
    let motd1 = cid_of(&store, &root1, "etc/motd");
    corrupt(&store, &motd1);

    let o = wwpack(&store, &["verify", &root2]);
    assert_eq!(ok(&o), "");
    // root, etc, bin, motd, big (a node and 3 chunks), .hidden.
    assert!(stderr(&o).contains("checked 9 blocks"), "{}", stderr(&o));
    let o = wwpack(&store, &["verify", &root2, &root1]);
    failed_1(&o);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("corrupt {motd1}\nincomplete {root1}\n")
    );
    let lost = nowhere(work.path());
    let o = wwpack(&store, &["verify", "-q", &lost]);
    let err = failed_1(&o);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("missing {lost}\nincomplete {lost}\n")
    );
    assert_eq!(err.lines().count(), 1, "-q prints only the error: {err}");

    // Unpinned, the corrupt block is still found by a verify of the whole store; no pin is
    // incomplete.
    ok(&wwpack(&store, &["pin", "rm", &root1]));
    let o = wwpack(&store, &["verify"]);
    failed_1(&o);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("corrupt {motd1}\n")
    );
    let err = failed_1(&wwpack(
        &store,
        &["verify", "--json", "--repair", "--api", NO_NODE],
    ));
    assert!(err.contains(NO_NODE), "{err}");
    // gc removes it (no pin reaches it), and the store verifies.
    ok(&wwpack(&store, &["gc"]));
    ok(&wwpack(&store, &["verify"]));
}

#[test]
fn gc_dry_run_lists_exactly_what_gc_then_removes_and_removes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let (one, two) = (work.path().join("one"), work.path().join("two"));
    sample_tree(&one, 6);
    sample_tree(&two, 7);
    // A file both trees hold: one block, kept for the pinned tree.
    write_tree(&one, &[("etc/shared", b"in both trees")]);
    write_tree(&two, &[("etc/shared", b"in both trees")]);
    let (root1, root2) = (add(&store, &one), add(&store, &two));
    let shared = cid_of(&store, &root1, "etc/shared");
    ok(&wwpack(&store, &["pin", "rm", &root1]));

    let before = block_names(&store);
    let plan = json(&ok(&wwpack(&store, &["gc", "--dry-run", "--json"])));
    assert_eq!(block_names(&store), before, "a dry run removes nothing");
    assert_eq!(plan["dry_run"], true);
    let listed: BTreeSet<String> = plan["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(
        listed.contains(&root1) && !listed.contains(&root2),
        "{plan}"
    );
    assert!(!listed.contains(&shared), "{plan}");
    assert_eq!(plan["removed"], listed.len());
    let text = ok(&wwpack(&store, &["gc", "--dry-run"]));
    assert_eq!(
        text,
        format!(
            "would remove {} blocks ({} bytes), keep {}\n",
            listed.len(),
            plan["bytes_freed"],
            plan["kept"]
        )
    );
    let bytes: u64 = listed
        .iter()
        .map(|cid| opened(&store).locate(&cid.parse().unwrap()).unwrap().len)
        .sum();
    assert_eq!(plan["bytes_freed"], bytes);

    let done = json(&ok(&wwpack(&store, &["gc", "--json"])));
    assert_eq!(done["dry_run"], false);
    assert_eq!(done["blocks"], plan["blocks"]);
    let after = block_names(&store);
    let removed: BTreeSet<String> = before.difference(&after).cloned().collect();
    assert_eq!(removed, listed);
    assert_eq!(after.len() as u64, plan["kept"].as_u64().unwrap());
    ok(&wwpack(&store, &["verify"]));
    let again = json(&ok(&wwpack(&store, &["gc", "--dry-run", "--json"])));
    assert_eq!(again["blocks"], serde_json::json!([]));
    assert_eq!(
        ok(&wwpack(&store, &["gc"])),
        format!("removed 0 blocks (0 bytes), kept {}\n", after.len())
    );
}

#[test]
fn store_stat_counts_what_is_on_disk() {
    let work = tempfile::tempdir().unwrap();
    let (tree, store) = (work.path().join("tree"), work.path().join("store"));
    let err = failed_1(&wwpack(&store, &["store", "stat"]));
    assert!(
        err.contains("no block store") && err.contains(s(&store)),
        "{err}"
    );
    sample_tree(&tree, 8);
    let root = add(&store, &tree);
    ok(&wwpack(
        &store,
        &["pin", "add", &cid_of(&store, &root, "bin/big")],
    ));
    // Every block once, wherever it is kept (a block file or a pack), with its bytes.
    let blocks = opened(&store).blocks().unwrap();
    let bytes: u64 = blocks
        .iter()
        .map(|cid| opened(&store).locate(cid).unwrap().len)
        .sum();
    let packs = walk_files(&store.join("packs"));
    assert_eq!(packs.len(), 2, "one pack and its index: {packs:?}");
    let stat = json(&ok(&wwpack(&store, &["store", "stat", "--json"])));
    assert_eq!(stat["blocks"], blocks.len());
    assert_eq!(stat["bytes"], bytes);
    assert_eq!(stat["pins"], 2);
    assert_eq!(stat["path"], s(&store));
    assert_eq!(
        ok(&wwpack(&store, &["store", "stat"])),
        format!(
            "path   {}\nblocks {}\nbytes  {bytes}\npins   2\n",
            s(&store),
            blocks.len()
        )
    );
}

#[test]
fn a_closed_stdout_ends_the_lifecycle_verbs_quietly() {
    let work = tempfile::tempdir().unwrap();
    let (tree, store) = (work.path().join("tree"), work.path().join("store"));
    sample_tree(&tree, 9);
    let root = add(&store, &tree);
    let cases: [&[&str]; 9] = [
        &["pin", "ls"],
        &["pin", "ls", "--json"],
        &["pin", "add", &root],
        &["pin", "add", "--json", &root],
        &["store", "stat"],
        &["store", "stat", "--json"],
        &["gc", "--dry-run"],
        &["gc", "--dry-run", "--json"],
        &["verify", "--json"],
    ];
    for args in cases {
        let o = output(
            Command::new(WWPACK)
                .env_remove("WW_STORE")
                .env("IPFS_API", NO_NODE)
                .arg("--store")
                .arg(&store)
                .args(args)
                .stdout(closed_pipe()),
        );
        assert_eq!(
            (o.status.code(), stderr(&o).as_str()),
            (Some(0), ""),
            "wwpack {args:?} into a closed pipe"
        );
    }
}

#[test]
fn a_store_others_cannot_write_is_verified_and_listed_but_not_repaired() {
    let work = tempfile::tempdir().unwrap();
    let (tree, store) = (work.path().join("tree"), work.path().join("store"));
    sample_tree(&tree, 10);
    let root = add(&store, &tree);
    // As root, permission bits decide nothing: run as `nobody`, the store staying root's.
    ww_test_support::reachable_for_nobody(&[
        work.path(),
        Path::new(WWPACK).parent().expect("the binary's directory"),
    ]);
    let as_nobody = |args: &[&str]| {
        output(
            Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(WWPACK)
                .env_remove("WW_STORE")
                .env("IPFS_API", NO_NODE)
                .arg("--store")
                .arg(&store)
                .args(args),
        )
    };
    let o = as_nobody(&["verify"]);
    assert_eq!(ok(&o), "");
    assert!(stderr(&o).contains("checked 9 blocks"), "{}", stderr(&o));
    assert!(ok(&as_nobody(&["pin", "ls"])).starts_with(&root));
    assert!(ok(&as_nobody(&["store", "stat"])).contains("pins   1\n"));
    let err = failed_1(&as_nobody(&["verify", "--repair"]));
    assert!(
        err.contains("not writable") && err.contains(s(&store)),
        "{err}"
    );
    let err = failed_1(&as_nobody(&["pin", "rm", &root]));
    assert!(err.contains("not writable"), "{err}");
    assert!(ok(&wwpack(&store, &["pin", "ls"])).starts_with(&root));
}

#[test]
fn block_files_and_packs_are_read_only_and_keep_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    sample_tree(&tree, 9);
    for (umask, expected) in [("022", 0o444), ("077", 0o400)] {
        let store = dir.path().join(format!("store-{umask}"));
        ok(&output(
            Command::new("sh")
                .args(["-c", &format!("umask {umask} && exec \"$0\" \"$@\"")])
                .arg(WWPACK)
                .env_remove("WW_STORE")
                .env_remove("IPFS_API")
                .env_remove("IPFS_PATH")
                .arg("--store")
                .arg(&store)
                .args(["add", s(&tree)]),
        ));
        let (files, packs) = (
            walk_files(&store.join("blocks")),
            walk_files(&store.join("packs")),
        );
        // The big file's chunks are block files, the small blocks are in a pack.
        assert!(files.len() > 2 && packs.len() == 2, "{files:?} {packs:?}");
        let files = files.into_iter().chain(packs);
        for file in files {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, expected, "umask {umask}: {}", file.display());
        }
    }
}
