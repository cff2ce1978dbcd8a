//! The guest plan and the wave-by-wave build, on a real cargo workspace: the fixture
//! `tests/fixtures/embed` (leaf; middle embeds leaf; top embeds middle and leaf), copied to a
//! temporary directory so that builds never write into the repository.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use ww_image::wasm::{kind, Kind};
use ww_test_support::copy_dir;
use wwpack::guests::Workspace;
use wwpack::plan::{plan, Plan};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/embed")
}

/// A copy of the fixture at `dst`.
fn clone_fixture(dst: &Path) -> Workspace {
    copy_dir(&fixture(), dst);
    Workspace::load(dst).unwrap()
}

fn names(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap()
}

#[test]
fn the_fixture_is_read_with_its_embeds() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = clone_fixture(&tmp.path().join("ws"));
    assert_eq!(
        ws.guests.keys().collect::<Vec<_>>(),
        ["leaf", "middle", "top"]
    );
    let top = &ws.guests["top"];
    assert_eq!(top.package, "top");
    assert_eq!(top.version, "0.1.0");
    assert_eq!(top.bin, "top");
    assert_eq!(top.embeds, ["middle", "leaf"]);
    assert_eq!(top.manifest_path, ws.dir.join("top/Cargo.toml"));
    assert!(ws.guests["leaf"].embeds.is_empty());
    assert_eq!(
        plan(&ws, &names(&["top"])).unwrap(),
        Plan {
            waves: vec![
                vec!["leaf".into()],
                vec!["middle".into()],
                vec!["top".into()]
            ]
        }
    );
    assert_eq!(
        plan(&ws, &names(&["middle"])).unwrap().waves,
        [vec!["leaf".to_string()], vec!["middle".to_string()]]
    );
}

#[test]
fn embedded_artifacts_reach_the_embedder_and_rebuild_it() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = clone_fixture(&tmp.path().join("ws"));
    let target = tmp.path().join("target");
    let plan = plan(&ws, &names(&["top"])).unwrap();
    assert_eq!(
        plan.waves,
        [
            vec!["leaf".to_string()],
            vec!["middle".into()],
            vec!["top".into()]
        ]
    );

    let artifacts = ws.build_plan(&plan, &target, true).unwrap();
    assert_eq!(
        artifacts.keys().collect::<Vec<_>>(),
        ["leaf", "middle", "top"]
    );
    for (name, path) in &artifacts {
        assert!(path.is_absolute(), "{name}: {}", path.display());
        assert!(path.starts_with(&target), "{name}: {}", path.display());
        assert_eq!(kind(&read(path)), Kind::Component, "{name}");
    }
    let leaf = read(&artifacts["leaf"]);
    let middle = read(&artifacts["middle"]);
    let top = read(&artifacts["top"]);
    assert!(contains(&leaf, b"leaf says hello"));
    assert!(contains(&middle, &leaf), "middle does not embed leaf");
    assert!(contains(&top, &leaf), "top does not embed leaf");
    assert!(contains(&top, &middle), "top does not embed middle");

    // Nothing changed: cargo rebuilds nothing, the artifacts stay as they are.
    let mtime = |p: &Path| fs::metadata(p).unwrap().modified().unwrap();
    let before = artifacts.values().map(|p| mtime(p)).collect::<Vec<_>>();
    let again = ws.build_plan(&plan, &target, true).unwrap();
    assert_eq!(again, artifacts);
    assert_eq!(again.values().map(|p| mtime(p)).collect::<Vec<_>>(), before);
    assert_eq!(read(&again["middle"]), middle);

    // A new leaf: cargo sees the embedded file change and rebuilds middle and top.
    fs::write(
        ws.dir.join("leaf/src/main.rs"),
        "fn main() {\n    println!(\"leaf says something else entirely\");\n}\n",
    )
    .unwrap();
    let rebuilt = ws.build_plan(&plan, &target, true).unwrap();
    let new_leaf = read(&rebuilt["leaf"]);
    let new_middle = read(&rebuilt["middle"]);
    let new_top = read(&rebuilt["top"]);
    assert_ne!(new_leaf, leaf);
    assert!(contains(&new_leaf, b"leaf says something else entirely"));
    assert_ne!(new_middle, middle, "middle was not rebuilt");
    assert!(
        contains(&new_middle, &new_leaf),
        "middle embeds the old leaf"
    );
    assert!(!contains(&new_middle, b"leaf says hello"));
    assert!(contains(&new_top, &new_leaf), "top embeds the old leaf");
    assert!(contains(&new_top, &new_middle), "top embeds the old middle");
}

#[test]
fn the_same_sources_give_the_same_bytes_at_different_paths() {
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    // Different absolute paths, of different lengths, for the sources and the target dirs.
    let ws_one = clone_fixture(&one.path().join("ws"));
    let ws_two = clone_fixture(&two.path().join("a-much-longer-checkout-name/embed"));
    let target_one = one.path().join("target");
    let target_two = two.path().join("some/other/target-dir");

    let plan_one = plan(&ws_one, &names(&["top"])).unwrap();
    let plan_two = plan(&ws_two, &names(&["top"])).unwrap();
    assert_eq!(plan_one, plan_two);
    let built_one = ws_one.build_plan(&plan_one, &target_one, true).unwrap();
    let built_two = ws_two.build_plan(&plan_two, &target_two, true).unwrap();
    assert_eq!(built_one.len(), 3);
    for (name, path) in &built_one {
        let a = read(path);
        let b = read(&built_two[name]);
        assert!(
            a == b,
            "{name}: {} and {} differ",
            path.display(),
            built_two[name].display()
        );
        for dir in [one.path(), two.path()] {
            let dir = dir.to_str().unwrap().as_bytes();
            assert!(
                !contains(&a, dir),
                "{name} holds the path {}",
                String::from_utf8_lossy(dir)
            );
        }
    }
}

/// Writes a workspace of bin crates at `dir`; each is (name, the body of its
/// `[package.metadata.wwpack]` table, or None).
fn write_workspace(dir: &Path, crates: &[(&str, Option<&str>)]) -> Workspace {
    let members = crates
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect::<Vec<_>>()
        .join(", ");
    fs::create_dir_all(dir).unwrap();
    fs::write(
        dir.join("Cargo.toml"),
        format!("[workspace]\nresolver = \"2\"\nmembers = [{members}]\n"),
    )
    .unwrap();
    for (name, wwpack) in crates {
        fs::create_dir_all(dir.join(name).join("src")).unwrap();
        let mut manifest =
            format!("[package]\nname = \"{name}\"\nversion = \"0.2.0\"\nedition = \"2021\"\n");
        if let Some(table) = wwpack {
            manifest.push_str(&format!("\n[package.metadata.wwpack]\n{table}\n"));
        }
        fs::write(dir.join(name).join("Cargo.toml"), manifest).unwrap();
        fs::write(dir.join(name).join("src/main.rs"), "fn main() {}\n").unwrap();
    }
    Workspace::load(dir).unwrap()
}

#[test]
fn a_cycle_in_a_workspace_is_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = write_workspace(
        tmp.path(),
        &[
            ("app", Some("embeds = [\"b\"]")),
            ("a", Some("embeds = [\"b\"]")),
            ("b", Some("embeds = [\"c\"]")),
            ("c", Some("embeds = [\"a\"]")),
        ],
    );
    assert_eq!(ws.guests["a"].version, "0.2.0");
    let err = plan(&ws, &names(&["app"])).unwrap_err().to_string();
    assert!(err.contains("guest cycle: a -> b -> c -> a"), "{err}");
}

#[test]
fn an_unknown_embed_in_a_workspace_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = write_workspace(
        tmp.path(),
        &[("app", Some("embeds = [\"child-echo\"]")), ("other", None)],
    );
    let err = plan(&ws, &names(&["app"])).unwrap_err().to_string();
    assert!(
        err.starts_with("guest `child-echo`: guest `app` embeds it"),
        "{err}"
    );
    assert!(err.contains("(guests: app, other)"), "{err}");
}

#[test]
fn a_malformed_wwpack_table_names_the_manifest_and_the_rule() {
    let cases = [
        (
            "embeds = \"leaf\"",
            "`embeds` must be an array of guest package names",
        ),
        (
            "embeds = [1]",
            "`embeds` must be an array of guest package names",
        ),
        (
            "embeds = [\"leaf\", \"leaf\"]",
            "`embeds` lists `leaf` twice",
        ),
        (
            "embed = [\"leaf\"]",
            "unknown key `embed` in [package.metadata.wwpack]",
        ),
    ];
    for (table, rule) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        fs::create_dir_all(dir.join("app/src")).unwrap();
        fs::create_dir_all(dir.join("leaf/src")).unwrap();
        fs::write(
            dir.join("Cargo.toml"),
            "[workspace]\nresolver = \"2\"\nmembers = [\"app\", \"leaf\"]\n",
        )
        .unwrap();
        fs::write(
            dir.join("app/Cargo.toml"),
            format!(
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [package.metadata.wwpack]\n{table}\n"
            ),
        )
        .unwrap();
        fs::write(
            dir.join("leaf/Cargo.toml"),
            "[package]\nname = \"leaf\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        )
        .unwrap();
        fs::write(dir.join("app/src/main.rs"), "fn main() {}\n").unwrap();
        fs::write(dir.join("leaf/src/main.rs"), "fn main() {}\n").unwrap();

        let err = Workspace::load(dir).unwrap_err().to_string();
        let manifest = dir.join("app/Cargo.toml");
        assert!(err.starts_with("guest `app`: "), "{table}: {err}");
        assert!(
            err.contains(&manifest.display().to_string()),
            "{table}: {err}"
        );
        assert!(err.contains(rule), "{table}: {err}");
    }
}
