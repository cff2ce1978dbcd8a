//! Text diffs whose alignment is quadratic are bounded: random short lines, many files,
//! guarded against a hang (no timing claim), and still valid diffs.

use std::path::Path;
use std::process::Command;

use ww_test_support::write_tree;

use crate::WWPACK;

/// `count` random short lines, each one of `distinct`, from `seed` (xorshift64*).
fn random_lines(seed: u64, count: usize, distinct: u64) -> String {
    let mut state = seed.max(1);
    let mut text = String::new();
    for _ in 0..count {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let n = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
        text.push_str(&format!("l{}\n", n % distinct));
    }
    text
}

/// Runs `wwpack diff ARGS` in `dir`, killed if it has not finished after `guard`: its status
/// and stdout.
fn diff_guarded(dir: &Path, args: &[&str], guard: std::time::Duration) -> (Option<i32>, String) {
    use std::io::Read;
    let mut child = Command::new(WWPACK)
        .current_dir(dir)
        .env("WW_STORE", dir.join("store"))
        .env("IPFS_API", "http://127.0.0.1:9")
        .arg("diff")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        stdout.read_to_string(&mut out).unwrap();
        out
    });
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > guard {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("wwpack diff {args:?} did not finish within {guard:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    (status.code(), reader.join().unwrap())
}

#[test]
fn text_diffs_of_random_lines_are_bounded_in_time_and_still_valid() {
    // The attack: text files of random short lines just under --text-limit (~210 KB, 35,000
    // lines each side), whose alignment is quadratic: one such pair took minutes. Twelve pairs
    // spend more than the whole diff's budget. A hang guard only, no timing claim.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for i in 0..12u64 {
        let path = format!("etc/random-{i:02}");
        write_tree(
            &a,
            &[(&path, random_lines(2 * i + 1, 35_000, 10_000).as_bytes())],
        );
        write_tree(
            &b,
            &[(&path, random_lines(2 * i + 2, 35_000, 10_000).as_bytes())],
        );
    }
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let guard = std::time::Duration::from_secs(180);
    let (code, json) = diff_guarded(dir.path(), &[a, b, "--format", "json"], guard);
    assert_eq!(code, Some(1), "{json}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let changes = report["images"][0]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 12);
    let mut simplified = 0;
    for c in changes {
        let content = &c["content"];
        assert_eq!(content["kind"], "text", "{}", c["path"]);
        let diff = content["diff"].as_str().unwrap();
        let path = c["path"].as_str().unwrap();
        assert!(
            diff.starts_with(&format!("--- a/{path}\n+++ b/{path}\n@@ -1,")),
            "{path}"
        );
        // Counted lines are the diff's lines; removed plus kept is the old file, added plus
        // kept the new one.
        let count = |tag: char| {
            diff.lines()
                .filter(|l| l.starts_with(tag) && !l.starts_with("---") && !l.starts_with("+++"))
                .count()
        };
        let (added, removed) = (count('+'), count('-'));
        assert_eq!(content["lines_added"], added, "{path}");
        assert_eq!(content["lines_removed"], removed, "{path}");
        let kept = diff.lines().filter(|l| l.starts_with(' ')).count();
        assert!(removed + kept <= 35_000 && added + kept <= 35_000, "{path}");
        match &content["simplified"] {
            serde_json::Value::Null => {}
            serde_json::Value::Bool(true) => simplified += 1,
            other => panic!("{path}: simplified is {other}"),
        }
    }
    // The text format names each simplified diff (how many depends on the machine's speed).
    let (code, text) = diff_guarded(dir.path(), &[a, b, "--color", "never"], guard);
    assert_eq!(code, Some(1));
    let notes = text
        .matches("diff simplified: too many changes to align within the time limit")
        .count();
    assert!(
        simplified == 0 || notes > 0,
        "{simplified} simplified in JSON, no note in the text"
    );
}
