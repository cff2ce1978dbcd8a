//! Where the symlinks of a tree lead: each is resolved through the tree's own symlinks, as the
//! kernel resolves a path (chains, `..` through links, links to directories in the middle of a
//! path), with the tree's root as the top. [`check`] finds every symlink that leaves the tree,
//! loops, or takes more than [`MAX_SYMLINKS`] links to resolve; [`super::validate_layer`] and
//! [`super::check_image`] word what it finds.
//!
//! The walk follows the kernel's rules: `.` and empty components are skipped, `..` goes to the
//! parent of the directory reached so far (which is a real directory of the tree, never a
//! link: a link met on the way has been replaced by where it leads), a link is replaced by its
//! target, resolved from the link's own directory. Where the kernel and a tree differ:
//! - `..` at the root leaves the tree (the kernel would stay at `/`): that is what is refused;
//! - a component the tree does not have (a dangling link, which may point into another layer
//!   of the image) is resolved lexically from there on: later `..` still count, names are not
//!   looked up;
//! - a component that is a regular file ends the walk harmlessly (the kernel says `ENOTDIR`),
//!   and so does a link with an empty target or one too long for Linux (those are refused as
//!   themselves);
//! - a link with an absolute target leads out of the tree, and so does every link that passes
//!   through it.
//!
//! Work is bounded: each link's outcome (where it leads and how many links that took) does not
//! depend on where it is met, so it is computed once and remembered; a link met again while it
//! is being resolved is a loop. The walk keeps its own stack, so a chain of a million links
//! cannot overflow the call stack, and each target is at most [`MAX_TARGET_LEN`] bytes, so the
//! whole check is linear in the size of the tree's targets.

use std::collections::{HashMap, HashSet};

use ww_content::tree::{Entry, RelPath, Tree};

/// The most symlinks one path lookup follows on Linux (`MAXSYMLINKS`); one more is `ELOOP`.
pub const MAX_SYMLINKS: u32 = 40;

/// The longest symlink target Linux stores (`PATH_MAX` less its NUL).
pub const MAX_TARGET_LEN: usize = 4095;

/// What is wrong with one symlink of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Its target is an absolute path.
    Absolute,
    /// Its target is empty.
    Empty,
    /// Its target is longer than [`MAX_TARGET_LEN`] bytes (this many).
    TooLong(usize),
    /// Resolving it climbs above the tree's root. `via` is the link whose target holds the `..`
    /// that climbs out, or whose target is absolute (the link itself when it is its own target
    /// that does); `followed` says whether other links were followed on the way.
    Escapes { via: Via, followed: bool },
    /// Resolving it meets `via` again while `via` is being resolved: a cycle.
    Loops { via: RelPath },
    /// Resolving it takes more than [`MAX_SYMLINKS`] links (with itself).
    TooManyLinks,
}

/// The link through which a resolution leaves the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    pub path: RelPath,
    pub target: String,
    /// Its target is absolute (rather than climbing out with `..`).
    pub absolute: bool,
}

/// Every symlink of `tree` that is refused, in path order, with its target and the problem.
pub fn check(tree: &Tree) -> Vec<(RelPath, String, Problem)> {
    let mut resolver = Resolver {
        tree,
        memo: HashMap::new(),
    };
    let mut found = Vec::new();
    for (path, entry) in tree.iter() {
        let Entry::Symlink { target } = entry else {
            continue;
        };
        let problem = match own_problem(target) {
            Some(problem) => Some(problem),
            None => match resolver.resolve(path).kind {
                Kind::Escapes(via) => Some(Problem::Escapes {
                    followed: via.path != *path || resolver.memo[path].hops > 0,
                    via,
                }),
                Kind::Loops(via) => Some(Problem::Loops { via }),
                Kind::TooManyLinks => Some(Problem::TooManyLinks),
                Kind::Dir(_) | Kind::Lexical(_) | Kind::Stops => None,
            },
        };
        if let Some(problem) = problem {
            found.push((path.clone(), target.clone(), problem));
        }
    }
    found
}

/// What is wrong with a target by itself, before any resolution.
fn own_problem(target: &str) -> Option<Problem> {
    if target.is_empty() {
        Some(Problem::Empty)
    } else if target.starts_with('/') {
        Some(Problem::Absolute)
    } else if target.len() > MAX_TARGET_LEN {
        Some(Problem::TooLong(target.len()))
    } else {
        None
    }
}

/// Where resolving a link's target ends.
#[derive(Debug, Clone)]
enum Kind {
    /// At this directory of the tree (`""` the root).
    Dir(String),
    /// At a path that is not in the tree, resolved lexically (`/`-joined components).
    Lexical(String),
    /// At a regular file, or at a lookup that fails inside the tree: nothing can follow.
    Stops,
    Escapes(Via),
    Loops(RelPath),
    TooManyLinks,
}

/// A link's outcome and the links followed to reach it (not counting the link itself).
#[derive(Debug, Clone)]
struct Outcome {
    kind: Kind,
    hops: u32,
}

struct Resolver<'t> {
    tree: &'t Tree,
    memo: HashMap<RelPath, Outcome>,
}

/// Where a walk stands: a real directory of the tree, or a lexical path past a missing name.
enum At {
    Dir(String),
    Lexical(String),
}

/// One link being resolved: its target, the byte offset of the next component, where it
/// stands, and the links it followed so far.
struct Frame<'t> {
    link: RelPath,
    target: &'t str,
    next: usize,
    at: At,
    hops: u32,
}

impl<'t> Frame<'t> {
    fn new(link: &RelPath, target: &'t str) -> Frame<'t> {
        let dir = link.parent().map(|p| p.to_string()).unwrap_or_default();
        Frame {
            link: link.clone(),
            target,
            next: 0,
            at: At::Dir(dir),
            hops: 0,
        }
    }

    /// The next component and the offset after it; `None` at the end of the target.
    fn part(&self) -> Option<(&'t str, usize)> {
        // Past the end (the last component taken) `get` is `None`.
        let rest = self.target.get(self.next..)?;
        Some(match rest.find('/') {
            Some(i) => (&rest[..i], self.next + i + 1),
            None => (rest, self.target.len() + 1),
        })
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// `path` less its last component; `None` at the root.
fn up(path: &str) -> Option<String> {
    if path.is_empty() {
        None
    } else {
        Some(
            path.rfind('/')
                .map_or(String::new(), |i| path[..i].to_string()),
        )
    }
}

/// What a frame does next.
enum Step {
    /// Go on with the next component.
    Continue,
    /// The frame is resolved.
    Done(Kind),
    /// Resolve this link first, then take the same component again.
    Push(RelPath),
}

impl<'t> Resolver<'t> {
    /// The outcome of the link at `link` (a symlink of the tree with a valid target).
    fn resolve(&mut self, link: &RelPath) -> Outcome {
        if let Some(done) = self.memo.get(link) {
            return done.clone();
        }
        let mut active: HashSet<RelPath> = HashSet::new();
        let mut stack: Vec<Frame<'t>> = Vec::new();
        if let Some(frame) = self.frame(link) {
            active.insert(link.clone());
            stack.push(frame);
        }
        while let Some(frame) = stack.last_mut() {
            let step = self.step(frame, &active);
            match step {
                Step::Continue => {}
                Step::Push(inner) => {
                    // `None`: its target alone decided it; the component is taken again and
                    // finds it remembered.
                    if let Some(f) = self.frame(&inner) {
                        active.insert(inner);
                        stack.push(f);
                    }
                }
                Step::Done(kind) => {
                    let hops = frame.hops;
                    let done = frame.link.clone();
                    stack.pop();
                    active.remove(&done);
                    self.memo.insert(done, Outcome { kind, hops });
                }
            }
        }
        self.memo.get(link).cloned().unwrap_or(Outcome {
            kind: Kind::Stops,
            hops: 0,
        })
    }

    /// A frame for the link at `link`, or `None` when its outcome is known without a walk
    /// (remembered, or decided by its target alone).
    fn frame(&mut self, link: &RelPath) -> Option<Frame<'t>> {
        if self.memo.contains_key(link) {
            return None;
        }
        let tree: &'t Tree = self.tree;
        let Some(Entry::Symlink { target }) = tree.get(link) else {
            self.memo.insert(
                link.clone(),
                Outcome {
                    kind: Kind::Stops,
                    hops: 0,
                },
            );
            return None;
        };
        let kind = match own_problem(target) {
            None => return Some(Frame::new(link, target)),
            Some(Problem::Absolute) => Kind::Escapes(Via {
                path: link.clone(),
                target: target.clone(),
                absolute: true,
            }),
            // Refused as themselves; the kernel cannot follow them either.
            Some(_) => Kind::Stops,
        };
        self.memo.insert(link.clone(), Outcome { kind, hops: 0 });
        None
    }

    /// Takes one component of `frame`'s target.
    fn step(&self, frame: &mut Frame<'t>, active: &HashSet<RelPath>) -> Step {
        let Some((part, after)) = frame.part() else {
            return Step::Done(match &frame.at {
                At::Dir(dir) => Kind::Dir(dir.clone()),
                At::Lexical(path) => Kind::Lexical(path.clone()),
            });
        };
        match part {
            "" | "." => {}
            ".." => {
                let (At::Dir(path) | At::Lexical(path)) = &mut frame.at;
                match up(path) {
                    Some(parent) => *path = parent,
                    None => {
                        return Step::Done(Kind::Escapes(Via {
                            path: frame.link.clone(),
                            target: frame.target.to_string(),
                            absolute: false,
                        }))
                    }
                }
            }
            name => match &mut frame.at {
                At::Lexical(path) => *path = join(path, name),
                At::Dir(dir) => {
                    let child = join(dir, name);
                    let found = RelPath::new(&child)
                        .ok()
                        .and_then(|p| self.tree.get(&p).map(|entry| (p, entry)));
                    match found {
                        None => frame.at = At::Lexical(child),
                        Some((_, Entry::Dir)) => frame.at = At::Dir(child),
                        Some((_, Entry::File { .. })) => return Step::Done(Kind::Stops),
                        Some((link, Entry::Symlink { .. })) => {
                            let Some(inner) = self.memo.get(&link) else {
                                if active.contains(&link) {
                                    return Step::Done(Kind::Loops(link));
                                }
                                // Resolve it first, then take this component again.
                                return Step::Push(link);
                            };
                            frame.hops = frame.hops.saturating_add(1 + inner.hops);
                            // The lookup of the outermost link counts that link too.
                            if frame.hops >= MAX_SYMLINKS {
                                return Step::Done(Kind::TooManyLinks);
                            }
                            match &inner.kind {
                                Kind::Dir(d) => frame.at = At::Dir(d.clone()),
                                Kind::Lexical(p) => frame.at = At::Lexical(p.clone()),
                                other => return Step::Done(other.clone()),
                            }
                        }
                    }
                }
            },
        }
        frame.next = after;
        Step::Continue
    }
}

#[cfg(test)]
mod tests;
