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

/// Where it was defined before the guests were split; the invocation owns it now.
pub use crate::guests::artifact_env_var;

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

/// The waves, in order: what the cargo invocation ([`Workspace::build_plan`]) takes.
impl AsRef<[Vec<String>]> for Plan {
    fn as_ref(&self) -> &[Vec<String>] {
        &self.waves
    }
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
mod tests;
