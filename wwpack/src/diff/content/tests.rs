//! Content diffs: text detection, unified diffs and their time budget, the patch checker.

use super::*;

#[test]
fn text_is_utf8_without_nul() {
    assert!(looks_text(b"hello\n"));
    assert!(looks_text("héllo".as_bytes()));
    assert!(looks_text(&"é".as_bytes()[..1]), "cut at the end");
    assert!(!looks_text(b"a\0b"));
    assert!(!looks_text(&[0xff, 0xfe, b'a']));
}

#[test]
fn unified_diff_of_added_and_changed_text() {
    let Content::Text {
        lines_added,
        lines_removed,
        diff,
        simplified,
    } = text_diff(
        "etc/motd",
        true,
        true,
        "a\nb\nc\n",
        "a\nB\nc\nd\n",
        &TextBudget::default(),
    )
    else {
        panic!("not text")
    };
    assert_eq!((lines_added, lines_removed), (2, 1));
    assert!(!simplified);
    assert!(
        diff.starts_with("--- a/etc/motd\n+++ b/etc/motd\n@@ -1,3 +1,4 @@\n"),
        "{diff}"
    );
    assert!(diff.contains("-b\n+B\n c\n+d\n"), "{diff}");
    let budget = TextBudget::default();
    let Content::Text { diff, .. } = text_diff("etc/new", false, true, "", "x\n", &budget) else {
        panic!("not text")
    };
    assert!(diff.starts_with("--- /dev/null\n+++ b/etc/new\n"), "{diff}");
}
/// `count` random short lines, each one of `distinct` (`l0` to `l<distinct - 1>`), from
/// `seed`.
fn random_lines(seed: u64, count: usize, distinct: u64) -> String {
    let mut state = seed.max(1);
    let mut text = String::new();
    for _ in 0..count {
        // xorshift64*: deterministic, no dependency.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let n = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
        text.push_str(&format!("l{}\n", n % distinct));
    }
    text
}

/// Applies the unified diff `diff` to `old`: the new text, or why the diff is not valid
/// for it (a hunk that does not match, lines out of order, a count that is wrong).
fn apply(old: &str, diff: &str) -> Result<String, String> {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let mut out = String::new();
    let mut at = 0; // next old line to copy, 0-based
    let mut lines = diff.split_inclusive('\n');
    let headers: Vec<&str> = lines.by_ref().take(2).collect();
    if headers.len() != 2 || !headers[0].starts_with("--- ") || !headers[1].starts_with("+++ ") {
        return Err(format!("bad headers {headers:?}"));
    }
    while let Some(header) = lines.next() {
        let ranges = header
            .strip_prefix("@@ -")
            .and_then(|h| h.split_once(" @@"))
            .map(|(r, _)| r)
            .ok_or_else(|| format!("not a hunk header: {header:?}"))?;
        let (minus, plus) = ranges
            .split_once(" +")
            .ok_or_else(|| format!("bad ranges {ranges:?}"))?;
        let parse = |r: &str| -> Result<(usize, usize), String> {
            let (start, len) = r.split_once(',').unwrap_or((r, "1"));
            Ok((
                start.parse().map_err(|e| format!("{r}: {e}"))?,
                len.parse().map_err(|e| format!("{r}: {e}"))?,
            ))
        };
        let ((o_start, o_len), (_, n_len)) = (parse(minus)?, parse(plus)?);
        // An empty old range names the line before it.
        let first = match o_len {
            0 => o_start,
            _ => o_start.checked_sub(1).ok_or("hunk at line 0")?,
        };
        if first < at || first > old_lines.len() {
            return Err(format!("hunk {header:?} out of order or range"));
        }
        out.extend(old_lines[at..first].iter().copied());
        at = first;
        let (mut seen_old, mut seen_new) = (0, 0);
        while seen_old < o_len || seen_new < n_len {
            let line = lines.next().ok_or("hunk cut short")?;
            let (tag, body) = line.split_at(line.len().min(1));
            match tag {
                " " | "-" => {
                    let expected = old_lines.get(at).ok_or("hunk past the end")?;
                    if *expected != body {
                        return Err(format!("{line:?} does not match {expected:?}"));
                    }
                    if tag == " " {
                        out.push_str(expected);
                        seen_new += 1;
                    }
                    at += 1;
                    seen_old += 1;
                }
                "+" => {
                    out.push_str(body);
                    seen_new += 1;
                }
                _ => return Err(format!("bad hunk line {line:?}")),
            }
        }
        if seen_old != o_len || seen_new != n_len {
            return Err(format!("hunk {header:?} holds other counts"));
        }
    }
    out.extend(old_lines[at..].iter().copied());
    Ok(out)
}

/// The diff of `old` and `new` with `budget`, checked to be a valid diff of them.
fn checked_diff(old: &str, new: &str, budget: &TextBudget) -> (usize, usize, String, bool) {
    let Content::Text {
        lines_added,
        lines_removed,
        diff,
        simplified,
    } = text_diff("etc/x", true, true, old, new, budget)
    else {
        panic!("not text")
    };
    assert_eq!(apply(old, &diff).as_deref(), Ok(new), "not a valid diff");
    let count = |tag: char| {
        diff.lines()
            .filter(|l| l.starts_with(tag) && !l.starts_with("+++") && !l.starts_with("---"))
            .count()
    };
    assert_eq!((count('+'), count('-')), (lines_added, lines_removed));
    (lines_added, lines_removed, diff, simplified)
}

#[test]
fn the_patch_checker_refuses_a_wrong_diff() {
    let (old, new) = ("a\nb\nc\n", "a\nB\nc\nd\n");
    let budget = TextBudget::default();
    let (_, _, diff, _) = checked_diff(old, new, &budget);
    assert!(apply("a\nx\nc\n", &diff).is_err());
    assert_ne!(apply(old, &diff.replace("+d", "+e")).as_deref(), Ok(new));
}

#[test]
fn a_diff_out_of_time_is_coarser_but_correct_and_says_so() {
    let old = random_lines(1, 400, 20);
    let new = random_lines(2, 400, 20);
    let (added, removed, _, simplified) = checked_diff(&old, &new, &TextBudget::default());
    assert!(!simplified, "400 lines align well within the time");
    assert!(added < 400 && removed < 400, "random lines share some");

    // No time left: nothing is aligned between the common start and end, though the
    // middles share lines.
    let spent = TextBudget::new(Duration::ZERO);
    let framed = |body: &str| format!("head\n{body}tail\n");
    let (old, new) = (framed(&old), framed(&new));
    let (added, removed, diff, simplified) = checked_diff(&old, &new, &spent);
    assert!(simplified);
    assert_eq!((added, removed), (400, 400), "{diff}");

    // Changes that need no alignment (the middles share no line) are exact whatever the
    // time.
    let (added, removed, _, simplified) = checked_diff("a\nb\nc\n", "a\nB\nc\n", &spent);
    assert!(!simplified);
    assert_eq!((added, removed), (1, 1));
    let (_, _, _, simplified) = checked_diff("a\n", "a\nb\n", &spent);
    assert!(!simplified);
}

#[test]
fn random_lines_under_the_text_limit_are_diffed_in_bounded_time() {
    // The attack: two texts of random short lines just under the text limit (~235 KB,
    // 35,000 lines each): aligning them is quadratic, and took minutes. A hang guard only;
    // the budget is TEXT_DIFF_TIMEOUT.
    let old = random_lines(11, 35_000, 10_000);
    let new = random_lines(12, 35_000, 10_000);
    let limit = usize::try_from(DEFAULT_TEXT_LIMIT).unwrap();
    assert!(old.len() < limit && new.len() < limit && old.len() > limit * 3 / 4);
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let budget = TextBudget::default();
        let result = checked_diff(&old, &new, &budget);
        let _ = tx.send((result, budget.left()));
    });
    let ((added, removed, _, _), left) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the diff of two random texts did not finish within 60 s");
    worker.join().unwrap();
    assert!(added > 0 && removed > 0);
    assert!(left < TEXT_DIFF_TOTAL, "the diff spent from the budget");
}

#[test]
fn the_budget_is_shared_and_runs_out() {
    let budget = TextBudget::new(Duration::from_millis(1500));
    assert_eq!(budget.for_one_file(), TEXT_DIFF_TIMEOUT);
    budget.spend(Duration::from_millis(1000));
    assert_eq!(budget.for_one_file(), Duration::from_millis(500));
    budget.spend(Duration::from_secs(5));
    assert_eq!(budget.left(), Duration::ZERO);
    assert_eq!(budget.for_one_file(), Duration::ZERO);
}
