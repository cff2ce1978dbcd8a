//! The progress bars of `wwpack` on a real pseudo-terminal: `add`, `export`, `import`, `build`,
//! `push` and `pull` (with a real js-ipfs node) draw a bar on a terminal stderr, with the total,
//! the rate and the time left, and clear it before their normal output; with stderr a pipe, with
//! `-q`, or with `--json`, no escape code reaches stderr.

use std::path::Path;
use std::process::Command;

use ww_test_support::project::{mib_files, static_image_project};
use ww_test_support::terminal::{on_terminal, OnTerminal};
use ww_test_support::{ok, output, s, IpfsNode};

const WWPACK: &str = env!("CARGO_BIN_EXE_wwpack");

/// The parts every bar with a total shows: the label, bytes of a total in MiB, a rate, the
/// time left.
fn bar_parts(label: &'static str) -> [&'static str; 4] {
    [label, " MiB/", "/s", "ETA "]
}

fn wwpack(store: &Path) -> Command {
    let mut cmd = Command::new(WWPACK);
    cmd.env_remove("IPFS_API")
        .env_remove("IPFS_PATH")
        .args(["--store", s(store)]);
    cmd
}

#[test]
fn add_export_and_import_draw_a_bar_then_their_output() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    mib_files(&tree, 6);
    let store = work.path().join("store");

    let add = on_terminal(wwpack(&store).args(["add", s(&tree)]));
    let cid = add.shows(&bar_parts("adding")).trim().to_string();
    assert!(cid.starts_with("bafy"), "{cid}");
    add.shows(&["6.00 MiB", "6/6 files"]);
    assert!(add.terminal.ends_with("\r\x1b[2K"), "{:?}", add.terminal);

    let car = work.path().join("tree.car");
    let export = on_terminal(wwpack(&store).args(["export", &cid, "-o", s(&car)]));
    export.shows(&bar_parts("exporting"));
    export.shows(&["blocks", "wrote "]);
    export.cleared_before("wrote ");

    let fresh = work.path().join("fresh");
    let import = on_terminal(wwpack(&fresh).args(["import", s(&car)]));
    assert_eq!(import.shows(&bar_parts("importing")).trim(), cid);
    import.cleared_before("imported ");
}

#[test]
fn no_escape_codes_on_a_pipe_with_quiet_or_with_json() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    mib_files(&tree, 3);
    let store = work.path().join("store");

    // stderr a pipe: the normal output, no bar.
    let piped = output(wwpack(&store).args(["add", s(&tree)]));
    let cid = ok(&piped).trim().to_string();
    assert!(!piped.stderr.contains(&0x1b), "{piped:?}");
    let car = work.path().join("tree.car");
    let piped = output(wwpack(&store).args(["export", &cid, "-o", s(&car)]));
    ok(&piped);
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(
        stderr.starts_with("wrote ") && !stderr.contains('\x1b'),
        "{stderr:?}"
    );

    // On a terminal, with -q or --json: nothing drawn.
    let checks: [(&str, Vec<&str>); 4] = [
        ("add -q", vec!["add", "-q", s(&tree)]),
        ("add --json", vec!["add", "--json", s(&tree)]),
        ("export -q", vec!["-q", "export", &cid, "-o", s(&car)]),
        ("import -q", vec!["-q", "import", s(&car)]),
    ];
    for (what, args) in checks {
        let run = on_terminal(wwpack(&store).args(&args));
        run.shows(&[]);
        assert!(
            !run.terminal.contains('\x1b'),
            "{what} drew on the terminal: {:?}",
            run.terminal
        );
    }
    // And the bar really is drawn on that terminal without them.
    on_terminal(wwpack(&store).args(["add", s(&tree)])).shows(&bar_parts("adding"));
}

/// A project of static layers only (a WAT pid0, `data` of `mib` MiB), built into `store`
/// with the build on a terminal; returns the project's manifest.
fn built_project(work: &Path, store: &Path, mib: usize) -> (std::path::PathBuf, OnTerminal) {
    let manifest = static_image_project(&work.join("p"), |etc| mib_files(etc, mib));
    let build = on_terminal(wwpack(store).args(["--manifest-path", s(&manifest), "build"]));
    (manifest, build)
}

#[test]
fn build_push_and_pull_draw_a_bar_with_a_real_node() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let (manifest, build) = built_project(work.path(), &store, 4);
    let line = build
        .shows(&["hashing", " files", "/s", " MiB"])
        .to_string();
    assert!(line.starts_with("big\tbafy"), "{line}");
    let root = line.split('\t').nth(1).unwrap().to_string();

    let node = IpfsNode::start();
    let push = on_terminal(wwpack(&store).args([
        "--manifest-path",
        s(&manifest),
        "--api",
        &node.url,
        "push",
    ]));
    assert!(push.shows(&bar_parts("pushing")).starts_with("big\t"));
    push.shows(&[" blocks"]);
    push.cleared_before("sent ");

    let fresh = work.path().join("fresh");
    let pull = on_terminal(wwpack(&fresh).args(["--api", &node.url, "pull", &root]));
    assert_eq!(pull.shows(&bar_parts("pulling")).trim(), root);
    pull.cleared_before("fetched ");

    // With --json on a terminal, push draws nothing; its report is on stdout.
    let json = on_terminal(wwpack(&store).args([
        "--manifest-path",
        s(&manifest),
        "--api",
        &node.url,
        "push",
        "--json",
    ]));
    let report: serde_json::Value = serde_json::from_str(json.shows(&[])).unwrap();
    assert_eq!(report["images"][0]["root"], root.as_str());
    assert!(!json.terminal.contains('\x1b'), "{:?}", json.terminal);
}
