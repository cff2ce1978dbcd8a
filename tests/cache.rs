//! ww's cache kept to a size, with the real `ww` and real images: `ww cache ls` lists what runs
//! left (sizes summing to the total), `prune --max-size` evicts the least recently used first,
//! `clear` empties it, `ww run --cache-max-size` / `WW_CACHE_MAX_SIZE` keep it under a cap
//! across runs of different images, a running `ww`'s root and files survive a concurrent clear
//! and prune (and the run succeeds), concurrent pruners and runs do not break each other,
//! planted symlinks are removed and never followed, and bad input is a clear error.
//!
//! The images are the repository's `hello` and `probe`, each run under an overlay directory of
//! its own holding one file of a size of its own (`300 KiB + i` bytes), so that every run is a
//! different union (root) and its file is recognized in the listing by its size.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use e2e::{built_images, output, text, write_tree, Ww};
use serde_json::Value;

/// The size of the overlay file of run `i`.
fn big(i: usize) -> u64 {
    300 * 1024 + i as u64
}

/// An overlay `dir/overlay-i` adding `srv/big` of [`big`]`(i)` bytes, distinct for every `i`.
fn overlay(dir: &Path, i: usize) -> PathBuf {
    let at = dir.join(format!("overlay-{i}"));
    let mut bytes = Vec::with_capacity(big(i) as usize);
    let mut x = 0x9e37_79b9_u32.wrapping_mul(i as u32 + 1);
    while bytes.len() < big(i) as usize {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push(x as u8);
    }
    write_tree(&at, &[("srv/big", &bytes)]);
    at
}

fn image(name: &str) -> PathBuf {
    built_images().join("images").join(name)
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): stdout {:?} stderr {:?}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// `ww run hello OVERLAY FLAGS` in `ww`'s home, which must succeed.
fn run_hello(ww: &Ww, overlay: &Path, flags: &[&str]) {
    let out = output(&mut ww.run_command(&[&image("hello"), overlay], flags, &[]));
    assert_ok(&out, "ww run hello");
}

/// `ww cache ARGS` in `ww`'s home.
fn cache(ww: &Ww, args: &[&str]) -> Output {
    output(ww.command().arg("cache").args(args))
}

/// `ww cache ls --json`, parsed.
fn ls(ww: &Ww) -> Value {
    let out = cache(ww, &["ls", "--json"]);
    assert_ok(&out, "ww cache ls --json");
    serde_json::from_slice(&out.stdout).expect("ww cache ls --json prints JSON")
}

fn entries(listing: &Value) -> &Vec<Value> {
    listing["entries"].as_array().expect("entries")
}

fn total(listing: &Value) -> u64 {
    listing["total"].as_u64().expect("total")
}

/// The ids of the entries of `kind`.
fn ids(listing: &Value, kind: &str) -> BTreeSet<String> {
    entries(listing)
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["id"].as_str().expect("id").to_string())
        .collect()
}

/// The overlay files (by their run number) in the cache.
fn bigs(listing: &Value, runs: usize) -> BTreeSet<usize> {
    entries(listing)
        .iter()
        .filter(|e| e["kind"] == "file")
        .filter_map(|e| (0..runs).find(|&i| e["size"].as_u64() == Some(big(i))))
        .collect()
}

/// The root made by the run between `before` and `after`.
fn new_root(before: &Value, after: &Value) -> String {
    let made: Vec<_> = ids(after, "root")
        .difference(&ids(before, "root"))
        .cloned()
        .collect();
    assert_eq!(made.len(), 1, "one new root: {made:?}");
    made[0].clone()
}

#[test]
fn ls_lists_what_a_run_left_and_the_sizes_sum_to_the_total() {
    let ww = Ww::new();
    let empty = ls(&ww);
    assert!(entries(&empty).is_empty(), "{empty}");
    assert_eq!(total(&empty), 0);
    assert!(!ww.cache().exists(), "ls does not make the cache");

    let dir = tempfile::tempdir().expect("temp dir");
    run_hello(&ww, &overlay(dir.path(), 0), &[]);
    let listing = ls(&ww);
    let sum: u64 = entries(&listing)
        .iter()
        .map(|e| e["size"].as_u64().expect("size"))
        .sum();
    assert_eq!(sum, total(&listing), "{listing}");
    for kind in ["file", "root", "compiled"] {
        assert!(!ids(&listing, kind).is_empty(), "a {kind} entry: {listing}");
    }
    assert_eq!(ids(&listing, "root").len(), 1);
    assert_eq!(bigs(&listing, 1), BTreeSet::from([0]));
    // Nothing is held once the run ended; every entry says when it was last used.
    for e in entries(&listing) {
        assert_eq!(e["held"], false, "{e}");
        let used = e["last_used"].as_str().expect("last_used");
        assert!(used.ends_with('Z') && used.len() == 20, "{used}");
    }
    // Each file once: the overlay file is in files/ and hard-linked into the root, so the total
    // holds its bytes once.
    assert!(total(&listing) >= big(0) && total(&listing) < 2 * big(0) + (64 << 20));

    let out = cache(&ww, &["ls"]);
    assert_ok(&out, "ww cache ls");
    let shown = text(&out.stdout);
    assert!(
        shown.contains(&format!("total {} bytes", total(&listing))),
        "{shown}"
    );
    assert_eq!(
        shown.lines().count(),
        entries(&listing).len() + 2,
        "{shown}"
    );
}

#[test]
fn prune_evicts_the_least_recently_used_first_and_gets_under_the_size() {
    let ww = Ww::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let overlays: Vec<_> = (0..3).map(|i| overlay(dir.path(), i)).collect();
    let mut roots = Vec::new();
    let mut before = ls(&ww);
    for o in &overlays {
        run_hello(&ww, o, &[]);
        let after = ls(&ww);
        roots.push(new_root(&before, &after));
        before = after;
    }
    // Run 0 again: run 1 is now the least recently used.
    run_hello(&ww, &overlays[0], &[]);
    let listing = ls(&ww);
    assert_eq!(bigs(&listing, 3), BTreeSet::from([0, 1, 2]));
    let max = total(&listing) - big(1);

    let out = cache(&ww, &["prune", "--max-size", &max.to_string(), "--json"]);
    assert_ok(&out, "ww cache prune");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(report["total"].as_u64().expect("total") <= max, "{report}");
    let after = ls(&ww);
    assert!(total(&after) <= max, "{after}");
    assert_eq!(total(&after), report["total"].as_u64().expect("total"));
    // Run 1's root and file went, nothing else.
    assert_eq!(bigs(&after, 3), BTreeSet::from([0, 2]), "{after}");
    let kept = ids(&after, "root");
    assert!(!kept.contains(&roots[1]), "{after}");
    assert!(
        kept.contains(&roots[0]) && kept.contains(&roots[2]),
        "{after}"
    );
    let removed: Vec<_> = report["removed"]
        .as_array()
        .expect("removed")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("").to_string(),
                e["size"].as_u64(),
            )
        })
        .collect();
    assert_eq!(removed.len(), 2, "{report}");
    assert!(
        removed.contains(&("file".to_string(), Some(big(1)))),
        "{report}"
    );
    assert!(removed.iter().any(|(k, _)| k == "root"), "{report}");
    assert!(!ww.cache().join("roots").join(&roots[1]).exists());

    // Pruning to the current size removes nothing; the evicted image boots again.
    let out = cache(
        &ww,
        &["prune", "--max-size", &total(&after).to_string(), "--json"],
    );
    assert_ok(&out, "ww cache prune");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["removed"].as_array().map(Vec::len), Some(0));
    run_hello(&ww, &overlays[1], &[]);
    assert_eq!(bigs(&ls(&ww), 3), BTreeSet::from([0, 1, 2]));

    // The text form says what it did.
    let out = cache(&ww, &["prune", "--max-size", "1KiB"]);
    assert_ok(&out, "ww cache prune --max-size 1KiB");
    assert!(
        text(&out.stdout).contains("removed"),
        "{}",
        text(&out.stdout)
    );
    assert!(total(&ls(&ww)) <= 1024);
}

#[test]
fn clear_empties_the_cache_and_runs_fill_it_again() {
    let ww = Ww::new();
    let dir = tempfile::tempdir().expect("temp dir");
    run_hello(&ww, &overlay(dir.path(), 0), &[]);
    let out = output(&mut ww.run_command(&[image("probe")], &[], &["exit", "0"]));
    assert_ok(&out, "ww run probe");
    assert_eq!(ids(&ls(&ww), "root").len(), 2);

    let out = cache(&ww, &["clear"]);
    assert_ok(&out, "ww cache clear");
    let listing = ls(&ww);
    assert!(entries(&listing).is_empty(), "{listing}");
    assert_eq!(total(&listing), 0);
    for sub in ["files", "roots", "tmp", "held"] {
        let left: Vec<_> = std::fs::read_dir(ww.cache().join(sub))
            .expect("read")
            .collect();
        assert!(left.is_empty(), "{sub}: {left:?}");
    }
    // The compiled cache's key stays: it is not an entry.
    assert!(ww.cache().join("compiled").join("key").is_file());

    run_hello(&ww, &overlay(dir.path(), 0), &[]);
    assert_eq!(bigs(&ls(&ww), 1), BTreeSet::from([0]));
    // A second clear of an empty cache, and of one that does not exist, are fine.
    assert_ok(&cache(&ww, &["clear"]), "ww cache clear");
    assert_ok(&cache(&ww, &["clear"]), "ww cache clear");
    let none = Ww::new();
    assert_ok(&cache(&none, &["clear"]), "ww cache clear (no cache)");
    assert!(!none.cache().exists());
}

/// Runs of five different images under a cap that holds about two of their overlay files: after
/// every run the cache is at most the cap, and the files left are the latest runs'.
fn the_cap_holds_across_runs(ww: &Ww, flags: &[&str], env_cap: bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    // What one run leaves, uncapped, in a home of its own.
    let probe = Ww::new();
    run_hello(&probe, &overlay(dir.path(), 9), &[]);
    let one = total(&ls(&probe));
    let cap = one + 2 * big(0) - big(0) / 2;
    let cap_text = cap.to_string();
    for i in 0..5 {
        let overlay = overlay(dir.path(), i);
        let mut cmd = ww.run_command(&[&image("hello"), &overlay], flags, &[]);
        if env_cap {
            cmd.env("WW_CACHE_MAX_SIZE", &cap_text);
        } else {
            cmd.args(["--cache-max-size", &cap_text]);
        }
        let out = output(&mut cmd);
        assert_ok(&out, "ww run hello (capped)");
        let listing = ls(ww);
        assert!(
            total(&listing) <= cap,
            "run {i}: {} bytes over the cap {cap}: {listing}",
            total(&listing)
        );
        let left = bigs(&listing, 5);
        assert!(left.contains(&i), "run {i} keeps its own file: {left:?}");
        let latest: BTreeSet<usize> = (i.saturating_sub(1)..=i).collect();
        assert!(left.is_subset(&latest), "run {i}: {left:?}");
        assert_eq!(ids(&listing, "root").len(), left.len(), "{listing}");
    }
}

#[test]
fn the_cap_flag_keeps_the_cache_under_it_across_runs() {
    the_cap_holds_across_runs(&Ww::new(), &[], false);
}

#[test]
fn the_cap_variable_keeps_the_cache_under_it_across_runs() {
    the_cap_holds_across_runs(&Ww::new(), &[], true);
}

/// `ww run probe OVERLAY -- hold 0`, started and read until pid0 says it holds: it then waits
/// for its stdin to end.
struct Holding {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
}

impl Holding {
    fn start(ww: &Ww, overlay: &Path) -> Holding {
        let mut child = ww
            .run_command(&[&image("probe"), overlay], &[], &["hold", "0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ww");
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("read pid0's first line");
        assert_eq!(line, "holding 0 MiB\n", "pid0 started");
        Holding { child, stdin }
    }

    /// Ends pid0's stdin and waits for `ww`: it must succeed.
    fn finish(mut self) {
        drop(self.stdin.take());
        let out = self.child.wait_with_output().expect("wait for ww");
        assert_ok(&out, "the holding ww run");
    }
}

#[test]
fn a_running_ww_keeps_its_root_and_files_through_clear_and_prune() {
    let ww = Ww::new();
    let dir = tempfile::tempdir().expect("temp dir");
    // Another image, not held: what clear removes.
    run_hello(&ww, &overlay(dir.path(), 1), &[]);
    let before = ls(&ww);
    let holding = Holding::start(&ww, &overlay(dir.path(), 0));
    let during = ls(&ww);
    let root = new_root(&before, &during);
    let held: BTreeSet<_> = entries(&during)
        .iter()
        .filter(|e| e["held"] == true)
        .map(|e| {
            (
                e["kind"].as_str().expect("kind").to_string(),
                e["size"].as_u64(),
            )
        })
        .collect();
    assert!(
        held.contains(&("file".to_string(), Some(big(0)))),
        "{during}"
    );
    assert!(held.iter().any(|(k, _)| k == "root"), "{during}");

    let out = cache(&ww, &["clear", "--json"]);
    assert_ok(&out, "ww cache clear");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        !report["held"].as_array().expect("held").is_empty(),
        "{report}"
    );
    let out = cache(&ww, &["prune", "--max-size", "0"]);
    assert_ok(&out, "ww cache prune --max-size 0");
    assert!(
        text(&out.stdout).contains("a running ww holds"),
        "{}",
        text(&out.stdout)
    );
    // Another run, capped at nothing, prunes at its start: it keeps the first run's entries too.
    let out = output(&mut ww.run_command(
        &[image("probe")],
        &["--cache-max-size", "0"],
        &["exit", "0"],
    ));
    assert_ok(&out, "a second ww run, capped at 0");

    let after = ls(&ww);
    assert!(ids(&after, "root").contains(&root), "{after}");
    assert_eq!(bigs(&after, 2), BTreeSet::from([0]), "{after}");
    // What the held run's union uses is all still there: its root and every file it links.
    let pid0 = ww.cache().join("roots").join(&root).join("bin/main.wasm");
    assert!(std::fs::read(&pid0)
        .map(|b| b.starts_with(b"\0asm"))
        .unwrap_or(false));
    holding.finish();

    // Once it ended, nothing is held.
    assert_ok(&cache(&ww, &["clear"]), "ww cache clear");
    let listing = ls(&ww);
    assert!(entries(&listing).is_empty(), "{listing}");
}

#[test]
fn concurrent_pruners_and_runs_do_not_break_each_other() {
    let ww = Ww::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let overlays: Vec<_> = (0..4).map(|i| overlay(dir.path(), i)).collect();
    for round in 0..2 {
        let runs: Vec<_> = overlays
            .iter()
            .map(|o| {
                ww.run_command(&[&image("hello"), o], &["--cache-max-size", "0"], &[])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("start ww run")
            })
            .collect();
        let pruners: Vec<_> = (0..3)
            .map(|i| {
                let mut cmd = ww.command();
                if i == 0 {
                    cmd.args(["cache", "prune", "--max-size", "1MiB"]);
                } else {
                    cmd.args(["cache", "clear"]);
                }
                cmd.stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("start ww cache")
            })
            .collect();
        for child in runs.into_iter().chain(pruners) {
            let out = child.wait_with_output().expect("wait");
            assert_ok(&out, &format!("round {round}: a concurrent ww"));
        }
    }
    assert_ok(&cache(&ww, &["clear"]), "ww cache clear");
    assert!(entries(&ls(&ww)).is_empty());
}

#[test]
fn planted_symlinks_are_removed_and_never_followed() {
    let ww = Ww::new();
    let dir = tempfile::tempdir().expect("temp dir");
    run_hello(&ww, &overlay(dir.path(), 0), &[]);
    let outside = dir.path().join("outside");
    let victim = outside.join("victim");
    write_tree(
        &outside,
        &[("victim", &vec![7u8; 1 << 20]), ("sub/kept", b"kept")],
    );
    let cache_dir = ww.cache();
    let link = |at: PathBuf, to: &Path| std::os::unix::fs::symlink(to, at).expect("symlink");
    link(cache_dir.join("files/bafkreiplanted"), &victim);
    link(cache_dir.join("roots/bafyplanted"), &outside);
    let engine = std::fs::read_dir(cache_dir.join("compiled"))
        .expect("compiled")
        .map(|e| e.expect("entry").path())
        .find(|p| p.is_dir())
        .expect("an engine directory");
    link(engine.join("planted"), &victim);
    link(cache_dir.join("compiled/planted"), &outside);
    // Inside a root-like directory: a link to a directory outside, and one to a file.
    let fake = cache_dir.join("roots/bafyfake");
    std::fs::create_dir_all(fake.join("etc")).expect("mkdir");
    link(fake.join("etc/passwd"), &victim);
    link(fake.join("sub"), &outside.join("sub"));

    let listing = ls(&ww);
    let planted = entries(&listing)
        .iter()
        .find(|e| e["id"] == "bafkreiplanted")
        .expect("the planted link is listed");
    assert_eq!(
        planted["size"].as_u64(),
        Some(victim.as_os_str().len() as u64),
        "a link counts as itself, not its target"
    );

    let out = cache(&ww, &["clear"]);
    assert_ok(&out, "ww cache clear");
    let listing = ls(&ww);
    assert!(entries(&listing).is_empty(), "{listing}");
    assert_eq!(std::fs::read(&victim).expect("victim"), vec![7u8; 1 << 20]);
    assert_eq!(
        std::fs::read(outside.join("sub/kept")).expect("kept"),
        b"kept"
    );
    let mut names: Vec<_> = std::fs::read_dir(&outside)
        .expect("outside")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["sub", "victim"]);
    assert!(std::fs::symlink_metadata(engine.join("planted")).is_err());
}

#[test]
fn bad_sizes_and_a_cache_that_is_a_file_are_clear_errors() {
    let ww = Ww::new();
    let out = cache(&ww, &["prune", "--max-size", "12XB"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("`12XB` is not a size"),
        "{}",
        text(&out.stderr)
    );

    let out = output(&mut ww.run_command(&[image("hello")], &["--cache-max-size", "lots"], &[]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("`lots` is not a size"),
        "{}",
        text(&out.stderr)
    );

    let out = output(
        ww.run_command(&[image("hello")], &[], &[])
            .env("WW_CACHE_MAX_SIZE", "1GB"),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("`1GB` is not a size"),
        "{}",
        text(&out.stderr)
    );

    let out = output(
        ww.command()
            .args(["cache", "prune"])
            .env("WW_CACHE_MAX_SIZE", "-5"),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    let file = ww.home().join("a-file");
    std::fs::File::create(&file)
        .and_then(|mut f| f.write_all(b"x"))
        .expect("write");
    for verb in [&["ls"][..], &["prune"], &["clear"]] {
        let out = output(
            ww.command()
                .arg("cache")
                .args(verb)
                .arg("--cache")
                .arg(&file),
        );
        assert_eq!(
            out.status.code(),
            Some(125),
            "{verb:?}: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("the cache {} is not a directory", file.display())),
            "{verb:?}: {err}"
        );
    }
    assert_eq!(std::fs::read(&file).expect("read"), b"x");
}
