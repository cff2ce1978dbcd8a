//! `--json` prints what docs/json.md promises. Every verb of `wwpack` and `ww` that prints JSON
//! is run for real (a project built by `wwpack build`, real block stores, a real js-ipfs node for
//! the verbs that need one, the real `docker-registry` for `--oci`), and its output is validated
//! against its schema, `docs/json/<binary>-<verb>.schema.json`, by a JSON Schema (draft 2020-12)
//! validator (boon). The list is complete: every verb whose `--help` offers `--json` (or
//! `--format json`) has a schema, every schema is a verb's and was checked here, and every other
//! verb is named in docs/json.md as printing no JSON. And the schemas are strict: a renamed,
//! missing, retyped or undocumented field fails them.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Output};

use e2e::project::static_image_project;
use e2e::registry::Registry;
use e2e::{bin, ok, output, repo, s, stderr, IpfsNode};
use serde_json::{json, Value};

/// An IPFS API address nothing answers (port 9, discard, refuses at once on loopback), for the
/// verbs that must not need a node.
const NO_NODE: &str = "http://127.0.0.1:9";

fn schema_dir() -> PathBuf {
    repo().join("docs/json")
}

/// The verb of every schema file: `wwpack-pin-ls.schema.json` is `wwpack-pin-ls`.
fn schema_verbs() -> BTreeSet<String> {
    std::fs::read_dir(schema_dir())
        .expect("docs/json/")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .map(|name| {
            name.strip_suffix(".schema.json")
                .unwrap_or_else(|| panic!("docs/json/{name} is not a NAME.schema.json"))
                .to_string()
        })
        .collect()
}

/// The schemas of docs/json/, compiled, and the verbs whose output this test checked.
struct Schemas {
    schemas: boon::Schemas,
    /// Each verb's schema, and whether its output is JSON lines (`"x-json-lines": true`).
    index: BTreeMap<String, (boon::SchemaIndex, bool)>,
    checked: RefCell<BTreeSet<String>>,
}

impl Schemas {
    fn load() -> Schemas {
        let mut compiler = boon::Compiler::new();
        let mut schemas = boon::Schemas::new();
        let mut index = BTreeMap::new();
        for verb in schema_verbs() {
            let path = schema_dir().join(format!("{verb}.schema.json"));
            let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
            assert_eq!(
                schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
                "{verb}: a draft 2020-12 schema"
            );
            let lines = schema["x-json-lines"] == true;
            let url = format!("file://{}", path.display());
            compiler.add_resource(&url, schema).unwrap();
            let compiled = compiler
                .compile(&url, &mut schemas)
                .unwrap_or_else(|e| panic!("{} does not compile: {e:#}", path.display()));
            index.insert(verb, (compiled, lines));
        }
        Schemas {
            schemas,
            index,
            checked: RefCell::new(BTreeSet::new()),
        }
    }

    fn schema(&self, verb: &str) -> (boon::SchemaIndex, bool) {
        *self
            .index
            .get(verb)
            .unwrap_or_else(|| panic!("no schema docs/json/{verb}.schema.json"))
    }

    /// Whether `doc` matches the schema of `verb` (of one line, for a JSON-lines verb).
    fn valid(&self, verb: &str, doc: &Value) -> Result<(), String> {
        let (compiled, _) = self.schema(verb);
        self.schemas
            .validate(doc, compiled)
            .map_err(|e| format!("{e:#}"))
    }

    /// Validates `stdout`, what `verb` printed, against its schema: one document, or for a
    /// JSON-lines verb each line (at least one). Returns the documents.
    fn check(&self, verb: &str, stdout: &str) -> Vec<Value> {
        let (_, lines) = self.schema(verb);
        let parse = |text: &str| -> Value {
            serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("{verb} printed what is not JSON ({e}): {stdout}"))
        };
        let docs: Vec<Value> = if lines {
            stdout.lines().map(parse).collect()
        } else {
            vec![parse(stdout)]
        };
        assert!(!docs.is_empty(), "{verb} printed no line: {stdout:?}");
        for doc in &docs {
            if let Err(why) = self.valid(verb, doc) {
                panic!(
                    "{verb}: its output does not match docs/json/{verb}.schema.json:\n{why}\n\
                     output: {stdout}"
                );
            }
        }
        self.checked.borrow_mut().insert(verb.to_string());
        docs
    }

    /// [`Schemas::check`] of the one document a successful run printed.
    fn one(&self, verb: &str, out: &Output) -> Value {
        self.check(verb, &ok(out)).remove(0)
    }
}

/// A place for the verbs to run: a home, the project built there, and its block stores.
struct Bench {
    work: tempfile::TempDir,
}

impl Bench {
    fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    fn project(&self) -> PathBuf {
        self.path("project")
    }

    /// `wwpack ARGS` in the project, with the block store `store` and the IPFS node `api`, both
    /// from the environment (as a user's shell gives them), nothing else from the user's.
    fn wwpack(&self, store: &str, api: &str, args: &[&str]) -> Output {
        output(
            Command::new(bin("wwpack"))
                .current_dir(self.project())
                .env("HOME", self.path("home"))
                .env("WW_STORE", self.path(store))
                .env("IPFS_API", api)
                .env_remove("IPFS_PATH")
                .env_remove("DOCKER_CONFIG")
                .env_remove("WWPACK_LOG")
                .env_remove("RUST_LOG")
                .args(args),
        )
    }

    /// `ww ARGS`, kept away from the user's files ([`e2e::ww_in`]).
    fn ww(&self, args: &[&str]) -> Output {
        output(e2e::ww_in(&self.path("ww")).args(args))
    }
}

#[test]
fn every_verb_prints_json_its_schema_describes() {
    let schemas = Schemas::load();
    let bench = Bench {
        work: tempfile::tempdir().unwrap(),
    };
    let project = bench.project();
    static_image_project(&project, |etc| {
        std::fs::write(etc.join("hello.txt"), "v1\n").unwrap();
        std::os::unix::fs::symlink("hello.txt", etc.join("link")).unwrap();
    });
    let wwpack = |store: &str, args: &[&str]| bench.wwpack(store, NO_NODE, args);

    // The project and its block store.
    let built = schemas.one("wwpack-build", &wwpack("store", &["build", "--json"]));
    let root = built["images"][0]["root"].as_str().unwrap().to_string();
    assert_eq!(built["images"][0]["name"], "big", "{built}");
    let data = s(&project.join("layers/data")).to_string();
    let cid = schemas.one("wwpack-cid", &wwpack("store", &["cid", "--json", &data]));
    let added = schemas.one("wwpack-add", &wwpack("store", &["add", "--json", &data]));
    assert_eq!(cid["cid"], added["cid"], "{cid} {added}");
    let dag = added["cid"].as_str().unwrap().to_string();
    let listed = schemas.check(
        "wwpack-ls",
        &ok(&wwpack("store", &["ls", "--json", &format!("{root}/etc")])),
    );
    let kinds: BTreeSet<&str> = listed.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains("symlink") && kinds.contains("file"),
        "{listed:?}"
    );
    schemas.check("wwpack-ls", &ok(&wwpack("store", &["ls", "--json", &root])));
    let pins = schemas.check(
        "wwpack-pin-ls",
        &ok(&wwpack("store", &["pin", "ls", "--json"])),
    );
    assert!(pins.iter().any(|p| p["cid"] == dag.as_str()), "{pins:?}");
    schemas.one(
        "wwpack-store-stat",
        &wwpack("store", &["store", "stat", "--json"]),
    );
    let verified = schemas.one("wwpack-verify", &wwpack("store", &["verify", "--json"]));
    assert_eq!(verified["ok"], true, "{verified}");

    // Exports: a CAR and an OCI layout; a CAR on stdout leaves no room for the report.
    let car = s(&bench.path("data.car")).to_string();
    let exported = schemas.one(
        "wwpack-export",
        &wwpack("store", &["export", &dag, "-o", &car, "--json"]),
    );
    assert_eq!(exported["root"], dag.as_str(), "{exported}");
    let oci = s(&bench.path("oci")).to_string();
    let layout = schemas.one(
        "wwpack-export",
        &wwpack("store", &["export", "--oci", &oci, "big", "--json"]),
    );
    assert_eq!(layout["layers"].as_array().unwrap().len(), 3, "{layout}");
    let refused = wwpack("store", &["export", &dag, "-o", "-", "--json"]);
    assert!(
        !refused.status.success() && stderr(&refused).contains("-o -"),
        "{}",
        stderr(&refused)
    );

    // Into a second store: import, unpin, collect.
    let imported = schemas.one(
        "wwpack-import",
        &wwpack("store-b", &["import", &car, "--json"]),
    );
    assert_eq!(imported["roots"], json!([dag]), "{imported}");
    let unpinned = schemas.one(
        "wwpack-pin-rm",
        &wwpack("store-b", &["pin", "rm", &dag, "--json"]),
    );
    assert_eq!(unpinned["label"], car.as_str(), "{unpinned}");
    let would = schemas.one(
        "wwpack-gc",
        &wwpack("store-b", &["gc", "--dry-run", "--json"]),
    );
    assert!(would["removed"].as_u64().unwrap() > 0, "{would}");
    let collected = schemas.one("wwpack-gc", &wwpack("store-b", &["gc", "--json"]));
    assert_eq!(collected["blocks"], would["blocks"], "{collected}");

    // What changed since the lock (exit status 1: different).
    std::fs::write(project.join("layers/data/etc/hello.txt"), "v2\n").unwrap();
    let diff = wwpack("store", &["diff", "--format", "json"]);
    assert_eq!(diff.status.code(), Some(1), "{}", stderr(&diff));
    let report = schemas.check("wwpack-diff", &e2e::stdout(&diff)).remove(0);
    assert_eq!(report["summary"]["modified"], 1, "{report}");

    // With an IPFS node: push (an image, and a DAG by CID), pull, pin add, publish.
    let node = IpfsNode::start();
    let with_node = |store: &str, args: &[&str]| bench.wwpack(store, &node.url, args);
    let pushed = schemas.one(
        "wwpack-push",
        &with_node("store", &["push", "big", &dag, "--json"]),
    );
    assert_eq!(pushed["images"][1]["name"], Value::Null, "{pushed}");
    let pulled = schemas.one(
        "wwpack-pull",
        &with_node("store-c", &["pull", &dag, "--json"]),
    );
    assert!(pulled["blocks_fetched"].as_u64().unwrap() > 0, "{pulled}");
    let pinned = schemas.one(
        "wwpack-pin-add",
        &with_node("store-c", &["pin", "add", &root, "--name", "big", "--json"]),
    );
    assert!(pinned["fetched"].as_u64().unwrap() > 0, "{pinned}");
    let named = schemas.one(
        "wwpack-publish",
        &with_node(
            "store",
            &["publish", "big", "--name", "json", "--create-key", "--json"],
        ),
    );
    assert_eq!(
        named["published"][0]["value"],
        format!("/ipfs/{root}"),
        "{named}"
    );
    let head = s(&bench.path("HEAD")).to_string();
    let headed = schemas.one(
        "wwpack-publish",
        &wwpack("store", &["publish", "big", "--head", &head, "--json"]),
    );
    assert_eq!(headed["published"][0]["head"], head.as_str(), "{headed}");
    drop(node);

    // With an OCI registry: push --oci, pull --oci into an empty store.
    let registry = Registry::start();
    let reference = format!("{}/json/big:v1", registry.host());
    let sent = schemas.one(
        "wwpack-push",
        &wwpack(
            "store",
            &["push", "--oci", &reference, "big", "--plain-http", "--json"],
        ),
    );
    let fetched = schemas.one(
        "wwpack-pull",
        &wwpack(
            "store-d",
            &["pull", "--oci", &reference, "--plain-http", "--json"],
        ),
    );
    assert_eq!(fetched["manifest"], sent["manifest"], "{fetched}");
    assert_eq!(fetched["root"], root.as_str(), "{fetched}");

    // A new project.
    let new = s(&bench.path("new")).to_string();
    let made = schemas.one("wwpack-init", &wwpack("store", &["init", &new, "--json"]));
    assert!(
        made["files"]
            .as_array()
            .unwrap()
            .contains(&json!("wwpack.toml")),
        "{made}"
    );

    // ww: a run fills its cache, which the cache verbs show and empty.
    let image = project.join("target/wwpack/images/big");
    ok(&bench.ww(&["run", s(&image)]));
    let cached = schemas.one("ww-cache-ls", &bench.ww(&["cache", "ls", "--json"]));
    assert!(
        !cached["entries"].as_array().unwrap().is_empty(),
        "{cached}"
    );
    schemas.one(
        "ww-cache-prune",
        &bench.ww(&["cache", "prune", "--max-size", "1GiB", "--json"]),
    );
    let cleared = schemas.one("ww-cache-clear", &bench.ww(&["cache", "clear", "--json"]));
    assert!(
        !cleared["removed"].as_array().unwrap().is_empty(),
        "{cleared}"
    );
    schemas.one("ww-identity", &bench.ww(&["identity", "--json"]));

    let unchecked: Vec<String> = schema_verbs()
        .difference(&schemas.checked.borrow())
        .cloned()
        .collect();
    assert!(
        unchecked.is_empty(),
        "schemas no output was checked against here: {unchecked:?}"
    );
}

/// `exe words... --help`.
fn help(exe: &str, words: &[String]) -> String {
    ok(&output(Command::new(bin(exe)).args(words).arg("--help")))
}

/// The verbs in the "Commands:" section of a help text (without `help`).
fn subcommands(text: &str) -> Vec<String> {
    let section = text.split("\nCommands:\n").nth(1).unwrap_or_default();
    section
        .lines()
        .take_while(|line| line.starts_with("  "))
        .filter(|line| !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Whether a help text offers JSON output: a `--json` option, or a `--format` whose entry
/// names `json`.
fn offers_json(text: &str) -> bool {
    let options = text.split("\nOptions:\n").nth(1).unwrap_or_default();
    let mut entries: Vec<String> = Vec::new();
    for line in options.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('-') && line.len() - trimmed.len() <= 8 {
            entries.push(trimmed.to_string());
        } else if let Some(last) = entries.last_mut() {
            last.push(' ');
            last.push_str(trimmed);
        }
    }
    entries.iter().any(|e| {
        e.starts_with("--json ")
            || e == "--json"
            || (e.starts_with("--format ") && e.contains("json"))
    })
}

/// Every leaf verb of `exe`, as its words (`["wwpack", "pin", "ls"]`), and whether it offers
/// JSON.
fn leaves(exe: &str, words: Vec<String>, out: &mut BTreeMap<Vec<String>, bool>) {
    let text = help(exe, &words);
    let subs = subcommands(&text);
    if subs.is_empty() {
        let name = std::iter::once(exe.to_string()).chain(words.clone());
        out.insert(name.collect(), offers_json(&text));
    }
    for sub in subs {
        let mut next = words.clone();
        next.push(sub);
        leaves(exe, next, out);
    }
}

#[test]
fn every_verb_with_json_has_a_schema_and_every_other_is_documented_without() {
    let doc = std::fs::read_to_string(repo().join("docs/json.md")).unwrap();
    let without = doc
        .split("\n## Verbs without JSON\n")
        .nth(1)
        .expect("docs/json.md has a section `## Verbs without JSON`");
    let without = without.split("\n## ").next().unwrap_or_default();
    let schemas = schema_verbs();
    let mut verbs = BTreeMap::new();
    for exe in ["wwpack", "ww"] {
        leaves(exe, Vec::new(), &mut verbs);
    }
    assert!(
        verbs.len() >= 25,
        "only {} verbs found: {verbs:?}",
        verbs.len()
    );
    let mut problems = Vec::new();
    for (words, json) in &verbs {
        let verb = words.join("-");
        let file = format!("{verb}.schema.json");
        let command = format!("`{}`", words.join(" "));
        match (json, schemas.contains(&verb)) {
            (true, false) => {
                problems.push(format!("{verb} offers JSON but has no docs/json/{file}"))
            }
            (false, true) => problems.push(format!("docs/json/{file}: {verb} offers no JSON")),
            (true, true) if !doc.contains(&format!("json/{file}")) => {
                problems.push(format!("docs/json.md does not list json/{file}"))
            }
            (false, false) if !without.contains(&command) => problems.push(format!(
                "{verb} offers no JSON and docs/json.md's `Verbs without JSON` does not say \
                 why ({command})"
            )),
            _ => {}
        }
    }
    let names: BTreeSet<String> = verbs.keys().map(|w| w.join("-")).collect();
    for verb in &schemas {
        if !names.contains(verb) {
            problems.push(format!("docs/json/{verb}.schema.json is of no verb"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_renamed_retyped_missing_or_undocumented_field_fails_its_schema() {
    let schemas = Schemas::load();
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("wwpack/tests/golden/diff.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        schemas.valid("wwpack-diff", &golden),
        Ok(()),
        "the golden diff"
    );
    let stat = json!({"path": "/s", "blocks": 3, "bytes": 300, "pins": 1});
    assert_eq!(schemas.valid("wwpack-store-stat", &stat), Ok(()));
    let line = json!({"name": "motd", "cid": "bafkreif4btkfrtceqhfpu4sqwxj5frbhzbq7xwvpoyd65zrlwhavqlwt54", "kind": "file", "size": 4});
    assert_eq!(schemas.valid("wwpack-ls", &line), Ok(()));

    let edit = |doc: &Value, how: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut doc = doc.clone();
        how(doc.as_object_mut().unwrap());
        doc
    };
    let renamed = edit(&stat, &|o| {
        let v = o.remove("blocks").unwrap();
        o.insert("block_count".into(), v);
    });
    let retyped = edit(&stat, &|o| {
        o.insert("bytes".into(), json!("300"));
    });
    let missing = edit(&line, &|o| {
        o.remove("cid");
    });
    let bad_cid = edit(&line, &|o| {
        o.insert("cid".into(), json!("not a cid"));
    });
    let undocumented = edit(&line, &|o| {
        o.insert("mode".into(), json!(420));
    });
    let mut deep = golden.clone();
    deep["images"][0]["changes"][0]["a"]
        .as_object_mut()
        .unwrap()
        .remove("size");
    let mut wrong_kind = golden.clone();
    wrong_kind["images"][0]["changes"][0]["content"]["kind"] = json!("picture");
    for (verb, doc) in [
        ("wwpack-store-stat", renamed),
        ("wwpack-store-stat", retyped),
        ("wwpack-ls", missing),
        ("wwpack-ls", bad_cid),
        ("wwpack-ls", undocumented),
        ("wwpack-diff", deep),
        ("wwpack-diff", wrong_kind),
    ] {
        assert!(
            schemas.valid(verb, &doc).is_err(),
            "{verb}'s schema takes {doc}"
        );
    }
}
