//! The plan on hand-made graphs: waves, cycles, unknown names, artifact variables.

use std::path::PathBuf;

use super::*;
use crate::guests::Guest;

fn workspace(graph: &[(&str, &[&str])]) -> Workspace {
    let guests = graph
        .iter()
        .map(|(name, embeds)| {
            let guest = Guest {
                package: name.to_string(),
                version: "0.1.0".into(),
                bin: name.to_string(),
                embeds: embeds.iter().map(|e| e.to_string()).collect(),
                manifest_path: PathBuf::from(format!("/ws/{name}/Cargo.toml")),
            };
            (name.to_string(), guest)
        })
        .collect();
    Workspace {
        dir: PathBuf::from("/ws"),
        guests,
        path_deps: BTreeMap::new(),
    }
}

fn roots(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn waves(plan: &Plan) -> Vec<Vec<&str>> {
    plan.waves
        .iter()
        .map(|w| w.iter().map(String::as_str).collect())
        .collect()
}

#[test]
fn a_diamond_is_built_in_three_waves() {
    let ws = workspace(&[
        ("top", &["right", "left"]),
        ("left", &["leaf"]),
        ("right", &["leaf"]),
        ("leaf", &[]),
        ("unrelated", &[]),
    ]);
    let plan = plan(&ws, &roots(&["top"])).unwrap();
    assert_eq!(
        waves(&plan),
        [vec!["leaf"], vec!["left", "right"], vec!["top"]]
    );
    assert_eq!(
        plan.guests().collect::<Vec<_>>(),
        ["leaf", "left", "right", "top"]
    );
}

#[test]
fn a_guest_waits_for_its_deepest_embed() {
    // top embeds leaf directly and through middle: it goes after middle.
    let ws = workspace(&[
        ("top", &["leaf", "middle"]),
        ("middle", &["leaf"]),
        ("leaf", &[]),
    ]);
    let plan = plan(&ws, &roots(&["top"])).unwrap();
    assert_eq!(waves(&plan), [vec!["leaf"], vec!["middle"], vec!["top"]]);
}

#[test]
fn independent_guests_share_a_wave_sorted() {
    let ws = workspace(&[
        ("zeta", &[]),
        ("alpha", &[]),
        ("mid", &["zeta"]),
        ("beta", &["alpha"]),
    ]);
    let plan = plan(&ws, &roots(&["zeta", "mid", "beta", "alpha"])).unwrap();
    assert_eq!(waves(&plan), [vec!["alpha", "zeta"], vec!["beta", "mid"]]);
    // The same plan whatever the order of the roots.
    let again = super::plan(&ws, &roots(&["beta", "mid"])).unwrap();
    assert_eq!(again, plan);
}

#[test]
fn no_roots_no_waves() {
    let ws = workspace(&[("a", &[])]);
    assert_eq!(plan(&ws, &BTreeSet::new()).unwrap(), Plan::default());
}

#[test]
fn an_unknown_root_is_named() {
    let ws = workspace(&[("a", &[]), ("b", &[])]);
    let err = plan(&ws, &roots(&["a", "nope"])).unwrap_err().to_string();
    assert_eq!(
        err,
        "guest `nope`: it is to be built, but it is not a package with a binary in \
         /ws/Cargo.toml (guests: a, b)"
    );
}

#[test]
fn an_unknown_embed_is_named_with_its_embedder() {
    let ws = workspace(&[("top", &["middle"]), ("middle", &["child-echo"])]);
    let err = plan(&ws, &roots(&["top"])).unwrap_err().to_string();
    assert_eq!(
        err,
        "guest `child-echo`: guest `middle` embeds it ([package.metadata.wwpack] in \
         /ws/middle/Cargo.toml), but it is not a package with a binary in /ws/Cargo.toml \
         (guests: middle, top)"
    );
}

#[test]
fn a_cycle_is_printed_in_order() {
    let ws = workspace(&[("top", &["b"]), ("b", &["c"]), ("c", &["a"]), ("a", &["b"])]);
    let err = plan(&ws, &roots(&["top"])).unwrap_err().to_string();
    assert_eq!(
        err,
        "guest `a`: guest cycle: a -> b -> c -> a (through [package.metadata.wwpack] embeds)"
    );
    // The same words whichever guest the walk enters the cycle from.
    for root in ["a", "b", "c"] {
        let again = plan(&ws, &roots(&[root])).unwrap_err().to_string();
        assert_eq!(again, err, "from {root}");
    }
}

#[test]
fn a_guest_embedding_itself_is_a_cycle() {
    let ws = workspace(&[("selfish", &["selfish"])]);
    let err = plan(&ws, &roots(&["selfish"])).unwrap_err().to_string();
    assert_eq!(
        err,
        "guest `selfish`: guest cycle: selfish -> selfish (through [package.metadata.wwpack] \
         embeds)"
    );
}

#[test]
fn colliding_artifact_variables_are_an_error() {
    let ws = workspace(&[("top", &["a-b", "a_b"]), ("a-b", &[]), ("a_b", &[])]);
    let err = plan(&ws, &roots(&["top"])).unwrap_err().to_string();
    assert!(
        err.contains("WWPACK_ARTIFACT_A_B") && err.contains("a-b") && err.contains("a_b"),
        "{err}"
    );
}

#[test]
fn artifact_variables_are_upper_case_with_underscores() {
    assert_eq!(artifact_env_var("leaf"), "WWPACK_ARTIFACT_LEAF");
    assert_eq!(artifact_env_var("child-echo"), "WWPACK_ARTIFACT_CHILD_ECHO");
    assert_eq!(artifact_env_var("a_b.c2"), "WWPACK_ARTIFACT_A_B_C2");
    assert_eq!(artifact_env_var("é"), "WWPACK_ARTIFACT__");
}
