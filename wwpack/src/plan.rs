//! The guest plan: which guests to build, in which order.
//!
//! The graph's nodes are the guests of a [`Workspace`]; a guest's edges are the guests it embeds
//! (`[package.metadata.wwpack] embeds`). The roots are the guests the selected images' layers
//! install. [`plan`] takes the closure of the roots over `embeds` and cuts it into waves: a
//! guest's wave is one more than the highest wave of the guests it embeds (Kahn layering), so
//! every artifact a guest embeds is built, by an earlier cargo invocation, before it. Guests of
//! one wave are independent and built by one invocation.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::guests::Workspace;

/// The guests to build, wave by wave. Names are sorted inside a wave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub waves: Vec<Vec<String>>,
}

impl Plan {
    /// Every guest of the plan, wave by wave.
    pub fn guests(&self) -> impl Iterator<Item = &str> {
        self.waves.iter().flatten().map(String::as_str)
    }
}

/// The environment variable that hands the artifact of guest `package` to the guests that
/// embed it: `WWPACK_ARTIFACT_` + the name in upper case, every character that is not an ASCII
/// letter or digit replaced by `_` (`child-echo` → `WWPACK_ARTIFACT_CHILD_ECHO`).
pub fn artifact_env_var(package: &str) -> String {
    let name: String = package
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("WWPACK_ARTIFACT_{name}")
}

/// Plans the build of `roots` and of every guest they embed, directly or not.
///
/// A root or an embedded name that is not a guest of `workspace` is an error naming it and
/// who asked for it; a cycle of embeds is an error that prints the cycle, e.g.
/// `guest cycle: a -> b -> c -> a`.
pub fn plan(workspace: &Workspace, roots: &BTreeSet<String>) -> Result<Plan> {
    let mut planner = Planner {
        workspace,
        state: BTreeMap::new(),
        stack: Vec::new(),
    };
    for root in roots {
        if !workspace.guests.contains_key(root) {
            return Err(unknown(workspace, root, "it is to be built"));
        }
        planner.visit(root)?;
    }

    // Two guests whose variables coincide (`a-b`, `a_b`) could not both be embedded.
    let mut vars: BTreeMap<String, &str> = BTreeMap::new();
    for name in planner.state.keys() {
        if let Some(other) = vars.insert(artifact_env_var(name), name) {
            return Err(Error::Guest {
                guest: name.to_string(),
                message: format!(
                    "its artifact variable {} is also that of guest `{other}`; rename one",
                    artifact_env_var(name)
                ),
            });
        }
    }

    let mut waves: Vec<Vec<String>> = Vec::new();
    for (name, state) in &planner.state {
        if let State::Done(wave) = *state {
            if waves.len() <= wave {
                waves.resize(wave + 1, Vec::new());
            }
            waves[wave].push(name.to_string());
        }
    }
    // `state` is a BTreeMap, so each wave is already sorted.
    Ok(Plan { waves })
}

/// The depth-first walk over `embeds`.
struct Planner<'w> {
    workspace: &'w Workspace,
    /// Guests entered: on the stack, or done with their wave.
    state: BTreeMap<&'w str, State>,
    /// The path from a root to the guest being visited.
    stack: Vec<&'w str>,
}

#[derive(Debug, Clone, Copy)]
enum State {
    OnStack,
    Done(usize),
}

impl<'w> Planner<'w> {
    /// Visits `name` (a known guest) and returns its wave.
    fn visit(&mut self, name: &str) -> Result<usize> {
        match self.state.get(name) {
            Some(State::Done(wave)) => return Ok(*wave),
            Some(State::OnStack) => return Err(self.cycle(name)),
            None => {}
        }
        let Some((name, guest)) = self.workspace.guests.get_key_value(name) else {
            return Err(unknown(self.workspace, name, "it is to be built"));
        };
        let name = name.as_str();
        self.state.insert(name, State::OnStack);
        self.stack.push(name);
        let embeds: BTreeSet<&str> = guest.embeds.iter().map(String::as_str).collect();
        let mut wave = 0;
        for embedded in embeds {
            if !self.workspace.guests.contains_key(embedded) {
                return Err(unknown(
                    self.workspace,
                    embedded,
                    &format!(
                        "guest `{name}` embeds it ([package.metadata.wwpack] in {})",
                        guest.manifest_path.display()
                    ),
                ));
            }
            wave = wave.max(self.visit(embedded)? + 1);
        }
        self.stack.pop();
        self.state.insert(name, State::Done(wave));
        Ok(wave)
    }

    /// The error for reaching `name` again while it is on the stack. The cycle is printed from
    /// its smallest name, so that it reads the same whichever guest the walk started from.
    fn cycle(&self, name: &str) -> Error {
        let start = self.stack.iter().rposition(|n| *n == name).unwrap_or(0);
        let cycle = &self.stack[start..];
        let first = cycle
            .iter()
            .enumerate()
            .min_by_key(|(_, n)| **n)
            .map_or(0, |(i, _)| i);
        let mut path: Vec<&str> = cycle[first..]
            .iter()
            .chain(&cycle[..first])
            .copied()
            .collect();
        let smallest = path.first().copied().unwrap_or(name).to_string();
        path.push(&smallest);
        Error::Guest {
            guest: smallest.clone(),
            message: format!(
                "guest cycle: {} (through [package.metadata.wwpack] embeds)",
                path.join(" -> ")
            ),
        }
    }
}

/// The error for a name that is not a guest of `workspace`.
fn unknown(workspace: &Workspace, name: &str, asked_by: &str) -> Error {
    Error::Guest {
        guest: name.to_string(),
        message: format!(
            "{asked_by}, but it is not a package with a binary in {} (guests: {})",
            workspace.dir.join("Cargo.toml").display(),
            workspace.guest_list()
        ),
    }
}

#[cfg(test)]
mod tests {
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
}
