//! The command lines teach: every verb of `wwpack` and `ww`, at any depth, has examples in its
//! `--help`, and every argument and option it lists is described. Walked from the real
//! binaries' `--help` (the verbs are read from each "Commands:" section), so a verb added
//! without examples or an argument without a description fails here. Also: completions and man
//! pages come from the same definitions; the node, registry, store and project flags are listed
//! only by the verbs that act on them; `wwpack help TOPIC` prints the long help of the profiles,
//! the store and `wwpack.toml`.

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

/// Whether a help section lists options: "Options:", or a group such as "Store options:".
fn options_section(heading: &str) -> bool {
    heading == "Options:" || heading.ends_with(" options:")
}

/// The lines of the "Arguments:" and options sections that start an entry and have no
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
        if section != "Arguments:" && !options_section(section) {
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

/// The flags a help text lists, in its options sections (`--name`, long forms).
fn flags(text: &str) -> Vec<String> {
    let mut section = "";
    let mut out = Vec::new();
    for line in text.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            section = line;
            continue;
        }
        if !options_section(section) {
            continue;
        }
        let trimmed = line.trim_start();
        if line.len() - trimmed.len() > 8 || !trimmed.starts_with('-') {
            continue;
        }
        if let Some(long) = trimmed
            .split([' ', ','])
            .find(|word| word.starts_with("--"))
        {
            out.push(long.trim_end_matches("...").to_string());
        }
    }
    out
}

/// The flags of the node, a registry, the store and the project, by the verbs that read them
/// (from the code of each verb in wwpack/src/ops and runtime/src/main.rs); no other verb may
/// list them.
const ACTS_ON: &[(&str, &[&str])] = &[
    ("wwpack build", &["--manifest-path", "--store"]),
    ("wwpack cid", &[]),
    ("wwpack add", &["--store"]),
    ("wwpack cat", &["--store", "--api", "--api-timeout"]),
    ("wwpack ls", &["--store", "--api", "--api-timeout"]),
    (
        "wwpack export",
        &["--manifest-path", "--store", "--api", "--api-timeout"],
    ),
    ("wwpack import", &["--store"]),
    ("wwpack gc", &["--store"]),
    ("wwpack pin ls", &["--store"]),
    ("wwpack pin add", &["--store", "--api", "--api-timeout"]),
    ("wwpack pin rm", &["--store"]),
    ("wwpack verify", &["--store", "--api", "--api-timeout"]),
    ("wwpack store stat", &["--store"]),
    (
        "wwpack push",
        &[
            "--manifest-path",
            "--store",
            "--api",
            "--api-timeout",
            "--plain-http",
            "--insecure",
        ],
    ),
    (
        "wwpack publish",
        &["--manifest-path", "--store", "--api", "--api-timeout"],
    ),
    (
        "wwpack pull",
        &[
            "--store",
            "--api",
            "--api-timeout",
            "--plain-http",
            "--insecure",
        ],
    ),
    (
        "wwpack diff",
        &["--manifest-path", "--store", "--api", "--api-timeout"],
    ),
    ("wwpack init", &[]),
    ("wwpack completions", &[]),
    ("wwpack man", &[]),
    (
        "ww run",
        &[
            "--store",
            "--cache",
            "--api",
            "--api-timeout",
            "--plain-http",
            "--insecure",
        ],
    ),
    ("ww cache ls", &["--cache"]),
    ("ww cache prune", &["--cache"]),
    ("ww cache clear", &["--cache"]),
    ("ww completions", &[]),
    ("ww man", &[]),
    ("ww identity", &[]),
];

/// The flags [`ACTS_ON`] places.
const PLACED: &[&str] = &[
    "--manifest-path",
    "--store",
    "--cache",
    "--api",
    "--api-timeout",
    "--timeout",
    "--plain-http",
    "--insecure",
];

#[test]
fn node_registry_store_and_project_flags_appear_only_where_they_act() {
    let mut problems = Vec::new();
    let mut leaves = Vec::new();
    for exe in ["wwpack", "ww"] {
        let mut all = Vec::new();
        walk(exe, Vec::new(), &mut all);
        for (words, text) in all {
            let name = format!("{exe} {}", words.join(" ")).trim_end().to_string();
            let listed = flags(&text);
            // Every verb, and the top, takes the log's and colour's flags.
            for global in ["--quiet", "--verbose", "--color"] {
                if !listed.iter().any(|f| f == global) {
                    problems.push(format!("{name}: no {global}"));
                }
            }
            if !words.is_empty() && verbs(&text).is_empty() {
                leaves.push(name.clone());
                let Some((_, acts)) = ACTS_ON.iter().find(|(verb, _)| *verb == name) else {
                    problems.push(format!("{name}: a verb this test does not know"));
                    continue;
                };
                for flag in PLACED {
                    let shown = listed.iter().any(|f| f == flag);
                    // ww run's --timeout is its processes' time limit, not the node's.
                    if *flag == "--timeout" && name == "ww run" {
                        continue;
                    }
                    if shown != acts.contains(flag) {
                        problems.push(format!(
                            "{name}: {flag} {}",
                            if shown {
                                "listed, but the verb ignores it"
                            } else {
                                "missing"
                            }
                        ));
                    }
                }
            } else {
                for flag in PLACED {
                    if listed.iter().any(|f| f == flag) && *flag != "--cache" {
                        problems.push(format!("{name}: {flag} listed on a group of verbs"));
                    }
                }
            }
        }
    }
    for (verb, _) in ACTS_ON {
        if !leaves.iter().any(|l| l == verb) {
            problems.push(format!("{verb}: not found in the help"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn help_topics_print_the_profiles_the_store_and_every_key_of_wwpack_toml() {
    let top = help("wwpack", &[]);
    for topic in ["profiles", "store", "config"] {
        assert!(
            top.lines().any(|l| l.starts_with(&format!("  {topic} "))),
            "wwpack --help lists {topic}: {top}"
        );
    }
    let topic = |name: &str| ok(&output(Command::new(bin("wwpack")).args(["help", name])));
    let profiles = topic("profiles");
    for name in [
        "unixfs-v1-2025",
        "unixfs-v0-2015",
        "kubo-cidv1",
        "1 MiB",
        "256 KiB",
    ] {
        assert!(profiles.contains(name), "{name}: {profiles}");
    }
    let store = topic("store");
    for word in [
        "--store",
        "WW_STORE",
        "XDG_DATA_HOME",
        "lock",
        "gc",
        "pins/",
    ] {
        assert!(store.contains(word), "{word}: {store}");
    }
    // Every table and key of a real wwpack.toml (this repository's, and the one `init` writes)
    // is explained.
    let config = topic("config");
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    ok(&output(
        Command::new(bin("wwpack"))
            .args(["init", "-q"])
            .arg(&project)
            .arg("--sdk")
            .arg(e2e::repo().join("guests").join("sdk")),
    ));
    let mut keys = Vec::new();
    for file in [e2e::repo().join("wwpack.toml"), project.join("wwpack.toml")] {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines().map(str::trim) {
            if let Some(table) = line.strip_prefix('[') {
                let table = table.trim_end_matches(']');
                keys.push(table.split('.').next().unwrap().to_string());
            } else if let Some((key, _)) = line.split_once('=') {
                if !line.starts_with('#') && !key.trim().starts_with('"') {
                    keys.push(key.trim().to_string());
                }
            }
        }
    }
    // And `profile`, which neither of them sets.
    keys.push("profile".into());
    keys.sort();
    keys.dedup();
    assert!(keys.len() >= 6, "{keys:?}");
    for key in &keys {
        assert!(
            config.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with(&format!("{key} ")) || l.starts_with(&format!("[{key}"))
            }),
            "`{key}` is not explained in `wwpack help config`:\n{config}"
        );
    }
    // `wwpack help VERB...` is the verb's --help, and a word that is neither is an error.
    assert_eq!(topic("build"), help("wwpack", &["build".into()]));
    let pin_add = ok(&output(
        Command::new(bin("wwpack")).args(["help", "pin", "add"]),
    ));
    assert_eq!(pin_add, help("wwpack", &["pin".into(), "add".into()]));
    let o = output(Command::new(bin("wwpack")).args(["help", "nope"]));
    assert_eq!(o.status.code(), Some(1));
    let err = e2e::stderr(&o);
    assert!(
        err.starts_with("wwpack: error: no help topic or verb `nope`")
            && err.contains("profiles, store, config"),
        "{err}"
    );
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
    assert_eq!(flags(text), vec!["--json", "--api", "--help"]);
    let grouped = "Options:\n  -q, --quiet  Quiet\n\nStore options:\n      --store <DIR>\n\n\
                   Examples:\n  x --api y\n";
    assert_eq!(flags(grouped), vec!["--quiet", "--store"]);
    assert_eq!(undescribed(grouped), vec!["      --store <DIR>"]);
}
