//! The command lines teach: every verb of `wwpack` and `ww`, at any depth, has examples in its
//! `--help`, and every argument and option it lists is described. Walked from the real
//! binaries' `--help` (the verbs are read from each "Commands:" section), so a verb added
//! without examples or an argument without a description fails here. Also: completions and man
//! pages come from the same definitions.

use std::process::Command;

use e2e::{bin, ok, output};

/// `exe words... --help`.
fn help(exe: &str, words: &[String]) -> String {
    ok(&output(Command::new(bin(exe)).args(words).arg("--help")))
}

/// The names in the "Commands:" section of a help text (without `help`).
fn verbs(text: &str) -> Vec<String> {
    let mut in_commands = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line == "Commands:" {
            in_commands = true;
            continue;
        }
        if in_commands {
            if !line.starts_with("  ") {
                break;
            }
            let name = line.split_whitespace().next().unwrap_or_default();
            if name != "help"
                && !name.is_empty()
                && line.starts_with("  ")
                && !line.starts_with("   ")
            {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// The lines of the "Arguments:" and "Options:" sections that start an entry and have no
/// description on them or on the next line.
fn undescribed(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut section = "";
    let mut bad = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !line.starts_with(' ') && line.ends_with(':') {
            section = line;
            continue;
        }
        if section != "Arguments:" && section != "Options:" {
            continue;
        }
        let trimmed = line.trim();
        let starts_entry =
            trimmed.starts_with('-') || trimmed.starts_with('<') || trimmed.starts_with('[');
        if !starts_entry || line.len() - trimmed.len() > 8 {
            continue;
        }
        // The entry's name, then two or more spaces, then its description.
        let described = trimmed.contains("  ")
            || lines.get(i + 1).is_some_and(|next| {
                next.len() - next.trim_start().len() > 8 && !next.trim().is_empty()
            });
        if !described {
            bad.push(line.to_string());
        }
    }
    bad
}

/// Every verb path of `exe`, depth first.
fn walk(exe: &str, words: Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    let text = help(exe, &words);
    let subs = verbs(&text);
    out.push((words.clone(), text));
    for sub in subs {
        let mut next = words.clone();
        next.push(sub);
        walk(exe, next, out);
    }
}

#[test]
fn every_verb_has_examples_and_every_argument_a_description() {
    let mut problems = Vec::new();
    let mut count = 0;
    for exe in ["wwpack", "ww"] {
        let mut all = Vec::new();
        walk(exe, Vec::new(), &mut all);
        for (words, text) in all {
            let name = format!("{exe} {}", words.join(" "));
            let undescribed = undescribed(&text);
            if !undescribed.is_empty() {
                problems.push(format!("{name}: undescribed: {undescribed:?}"));
            }
            // A verb that only groups others (pin, store, cache) lists them; a leaf shows how.
            if !words.is_empty() && verbs(&text).is_empty() {
                count += 1;
                if !text.contains("Example") {
                    problems.push(format!("{name}: no examples"));
                }
            }
        }
    }
    assert!(count >= 25, "only {count} verbs found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn completions_and_man_pages_come_from_the_same_definitions() {
    for exe in ["wwpack", "ww"] {
        for shell in ["bash", "zsh", "fish"] {
            let script = ok(&output(Command::new(bin(exe)).args(["completions", shell])));
            assert!(
                script.contains(exe) && script.contains("completions"),
                "{exe} {shell}: {script}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        ok(&output(
            Command::new(bin(exe))
                .arg("man")
                .arg(dir.path().join("man")),
        ));
        let mut pages: Vec<String> = std::fs::read_dir(dir.path().join("man"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        pages.sort();
        let expected: &[&str] = match exe {
            "wwpack" => &[
                "wwpack.1",
                "wwpack-build.1",
                "wwpack-pin-add.1",
                "wwpack-diff.1",
            ],
            _ => &["ww.1", "ww-run.1", "ww-cache-prune.1"],
        };
        for page in expected {
            assert!(
                pages.iter().any(|p| p == page),
                "{exe}: {page} in {pages:?}"
            );
        }
        let run = std::fs::read_to_string(dir.path().join("man").join(expected[1])).unwrap();
        assert!(run.contains(".TH"), "a man page: {run}");
    }
}

/// The checks above on help texts as clap writes them: an undescribed argument (clap pads it
/// with trailing spaces), a described one, an option whose help wraps.
#[test]
fn the_checks_catch_what_they_are_for() {
    let text = "Usage: x <PATH> <CID>\n\nArguments:\n  <PATH>  \n  <CID>   The root\n\n\
                Options:\n      --json\n      --api <ADDR>\n          The node\n  \
                -h, --help  Print help\n\nCommands:\n  build  Build\n  pin    Pins\n  help   Help\n";
    assert_eq!(undescribed(text), vec!["  <PATH>  ", "      --json"]);
    assert_eq!(verbs(text), vec!["build", "pin"]);
}
