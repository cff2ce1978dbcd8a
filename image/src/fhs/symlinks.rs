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
mod tests {
    use super::*;
    use std::io::ErrorKind;
    use std::path::Path;

    /// A tree of `links` (path, target), with `dirs` and `files` (empty).
    fn tree(dirs: &[&str], files: &[&str], links: &[(&str, &str)]) -> Tree {
        let mut t = Tree::default();
        for d in dirs {
            t.insert(RelPath::new(d).unwrap(), Entry::Dir).unwrap();
        }
        for f in files {
            t.insert_file(RelPath::new(f).unwrap(), "/dev/null".into())
                .unwrap();
        }
        for (path, target) in links {
            t.insert(
                RelPath::new(path).unwrap(),
                Entry::Symlink {
                    target: target.to_string(),
                },
            )
            .unwrap();
        }
        t
    }

    fn refused(t: &Tree) -> Vec<(String, Problem)> {
        check(t)
            .into_iter()
            .map(|(p, _, problem)| (p.to_string(), problem))
            .collect()
    }

    fn refused_paths(t: &Tree) -> Vec<String> {
        refused(t).into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn the_chain_of_the_issue_is_refused_link_by_link() {
        // d/up -> .. is the root; e1 -> d/up/.. is above it; e2, e3 build on e1.
        let t = tree(
            &["d"],
            &[],
            &[
                ("d/up", ".."),
                ("e1", "d/up/.."),
                ("e2", "e1/.."),
                ("e3", "e2/../etc"),
            ],
        );
        let found = refused(&t);
        assert_eq!(
            found.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
            ["e1", "e2", "e3"]
        );
        let e1 = RelPath::new("e1").unwrap();
        assert_eq!(
            found[0].1,
            Problem::Escapes {
                via: Via {
                    path: e1.clone(),
                    target: "d/up/..".into(),
                    absolute: false
                },
                followed: true
            }
        );
        // e2 leaves through e1, whose `..` climbs out.
        assert!(
            matches!(&found[1].1, Problem::Escapes { via, followed: true } if via.path == e1),
            "{found:?}"
        );
    }

    #[test]
    fn legitimate_links_pass() {
        let t = tree(
            &["bin", "etc/conf.d", "lib/x"],
            &["etc/motd", "bin/tool.wasm", "lib/x/y"],
            &[
                ("bin/main.wasm", "tool.wasm"),
                ("etc/greeting", "motd"),
                ("etc/conf.d/up", "../.."),
                ("etc/again", "conf.d/up/etc/motd"),
                ("current", "lib/x"),
                ("through", "current/../x/y"),
                ("lib/self-dir", "."),
                ("lib/deep", "self-dir/self-dir/x/../x/y"),
                ("chain1", "chain2"),
                ("chain2", "etc/greeting"),
                ("dangling", "no/such/file"),
                ("elsewhere", "etc/not-here/../../bin"),
                ("file-first", "etc/motd/../../../.."),
                ("trailing", "lib/x/"),
            ],
        );
        assert_eq!(refused(&t), []);
    }

    #[test]
    fn links_through_links_to_directories_mid_path() {
        // a/link -> ../b/c/d, so `..` after it climbs from b/c/d, not from a: a/link/../../..
        // is the root (lexically it would be above it), one more `..` is out.
        let t = tree(
            &["a", "b/c/d"],
            &[],
            &[
                ("a/link", "../b/c/d"),
                ("ok", "a/link/../../.."),
                ("out", "a/link/../../../.."),
            ],
        );
        assert_eq!(refused_paths(&t), ["out"]);
    }

    #[test]
    fn loops_and_self_links_are_refused() {
        let t = tree(
            &["d"],
            &[],
            &[
                ("self", "self"),
                ("dot-self", "./self-slash/"),
                ("self-slash", "./self-slash/"),
                ("a", "b"),
                ("b", "c/x"),
                ("c", "a"),
                ("into-loop", "d/../a/y"),
                ("d/parent-loop", "../d/parent-loop/.."),
            ],
        );
        let found = refused(&t);
        assert_eq!(
            found.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
            [
                "a",
                "b",
                "c",
                "d/parent-loop",
                "dot-self",
                "into-loop",
                "self",
                "self-slash"
            ]
        );
        for (path, problem) in &found {
            assert!(
                matches!(problem, Problem::Loops { .. }),
                "{path}: {problem:?}"
            );
        }
    }

    #[test]
    fn forty_links_resolve_and_forty_one_do_not() {
        let chain = |n: usize| {
            let links: Vec<(String, String)> = (0..n)
                .map(|i| (format!("l{i}"), format!("l{}", i + 1)))
                .collect();
            let refs: Vec<(&str, &str)> = links
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            // l0 -> l1 -> ... -> l(n-1) -> ln, a file: a lookup of l0 follows n links.
            tree(&[], &[&format!("l{n}")], &refs)
        };
        // The kernel agrees: 40 links resolve, the 41st is ELOOP.
        let on_disk = |t: &Tree, link: &str| {
            let dir = tempfile::tempdir().unwrap();
            materialize(t, dir.path());
            kernel(dir.path(), link).map_err(|e| e.raw_os_error())
        };
        assert_eq!(refused(&chain(40)), []);
        assert_eq!(on_disk(&chain(40), "l0"), Ok(()));
        assert_eq!(
            refused(&chain(41)),
            [("l0".to_string(), Problem::TooManyLinks)]
        );
        assert_eq!(on_disk(&chain(41), "l0"), Err(Some(ELOOP)));
        // Many links in one target count as the kernel counts them: `ok` itself and 39 more.
        let t = tree(
            &[],
            &[],
            &[
                ("here", "."),
                ("ok", &"here/".repeat(39)),
                ("over", &"here/".repeat(40)),
            ],
        );
        assert_eq!(refused(&t), [("over".to_string(), Problem::TooManyLinks)]);
        assert_eq!(on_disk(&t, "ok"), Ok(()));
        assert_eq!(on_disk(&t, "over"), Err(Some(ELOOP)));
    }

    #[test]
    fn a_long_chain_is_checked_in_linear_time_without_deep_recursion() {
        // 100,000 links, each to the next through a run of `.`: a recursive resolver would
        // overflow its stack, one without memory would take billions of steps.
        let n = 100_000;
        let dots = "./".repeat(200);
        let mut t = Tree::default();
        for i in 0..n {
            t.insert(
                RelPath::new(&format!("l{i}")).unwrap(),
                Entry::Symlink {
                    target: format!("{dots}l{}", i + 1),
                },
            )
            .unwrap();
        }
        t.insert_file(RelPath::new(&format!("l{n}")).unwrap(), "/dev/null".into())
            .unwrap();
        let found = check(&t);
        // All but the last 40 take too many links.
        assert_eq!(found.len(), n - 40);
        assert!(found
            .iter()
            .all(|(_, _, problem)| *problem == Problem::TooManyLinks));
    }

    #[test]
    fn a_wide_fan_of_links_is_not_exponential() {
        // Each level's link names the one below twice: 2^60 paths for a resolver that forgets.
        let mut links = Vec::new();
        for i in 0..60 {
            links.push((format!("f{i}"), format!("f{}/../f{}", i + 1, i + 1)));
        }
        let refs: Vec<(&str, &str)> = links
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let t = tree(&["f60"], &[], &refs);
        // f59 follows no link, f58 two, f(60-k) 2^k - 2: from f54 (62) on, too many.
        let found = refused(&t);
        assert!(found.iter().all(|(_, p)| *p == Problem::TooManyLinks));
        assert_eq!(found.len(), 55);
    }

    #[test]
    fn absolute_empty_and_overlong_targets_are_refused_as_themselves() {
        let long = "a/".repeat(2100);
        let t = tree(
            &[],
            &[],
            &[
                ("abs", "/etc/passwd"),
                ("empty", ""),
                ("long", &long),
                ("through-abs", "abs/x"),
                ("through-empty", "empty/x"),
            ],
        );
        let found = refused(&t);
        let abs = RelPath::new("abs").unwrap();
        assert_eq!(
            found,
            [
                ("abs".to_string(), Problem::Absolute),
                ("empty".to_string(), Problem::Empty),
                ("long".to_string(), Problem::TooLong(4200)),
                (
                    "through-abs".to_string(),
                    Problem::Escapes {
                        via: Via {
                            path: abs,
                            target: "/etc/passwd".into(),
                            absolute: true
                        },
                        followed: true
                    }
                ),
            ]
        );
    }

    #[test]
    fn dangling_components_are_resolved_lexically() {
        let t = tree(
            &["a"],
            &[],
            &[
                ("a/ok", "missing/../../b"),
                ("a/out", "missing/../../../b"),
                // Past a missing name nothing is looked up: `x/up` would be a link, but
                // `missing/..` lexically is `a`, and `a/x` is not looked up again.
                ("a/lex", "missing/../x/up/.."),
            ],
        );
        assert_eq!(refused_paths(&t), ["a/out"]);
    }

    /// What the kernel says of `link`, resolved beneath `root` (which holds the tree): escaping
    /// is `EXDEV`, too many links `ELOOP`.
    fn kernel(root: &Path, link: &str) -> std::io::Result<()> {
        use rustix::fs::{Mode, OFlags, ResolveFlags};
        let dir = std::fs::File::open(root)?;
        rustix::fs::openat2(
            &dir,
            link,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH,
        )
        .map(drop)
        .map_err(std::io::Error::from)
    }

    /// Writes `t` (directories, empty files, symlinks) below `root`.
    fn materialize(t: &Tree, root: &Path) {
        for (path, entry) in t.iter() {
            let at = path.under(root);
            match entry {
                Entry::Dir => std::fs::create_dir(&at).unwrap(),
                Entry::File { .. } => std::fs::write(&at, "").unwrap(),
                Entry::Symlink { target } => std::os::unix::fs::symlink(target, &at).unwrap(),
            }
        }
    }

    /// A small deterministic generator (xorshift), so the cases are the same on every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    const ENOTDIR: i32 = 20;
    const EXDEV: i32 = 18;
    const ELOOP: i32 = 40;

    #[test]
    fn agrees_with_the_kernel_on_random_trees() {
        // Random trees over a few names, with links whose targets mix names, `.` and `..`.
        // Where every name exists (the kernel can tell), the verdicts must agree: the kernel
        // refuses to leave (EXDEV) or gives up (ELOOP) exactly where the check refuses.
        let names = ["a", "b", "c", "d"];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut compared = 0;
        for case in 0..400 {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("root");
            std::fs::create_dir(&root).unwrap();
            let mut t = Tree::default();
            let mut links = Vec::new();
            for first in names {
                match rng.next(3) {
                    0 => {
                        t.insert(RelPath::new(first).unwrap(), Entry::Dir).unwrap();
                        for second in names {
                            let path = format!("{first}/{second}");
                            if rng.next(2) == 0 {
                                links.push(path);
                            } else if rng.next(2) == 0 {
                                t.insert(RelPath::new(&path).unwrap(), Entry::Dir).unwrap();
                            }
                        }
                    }
                    1 => links.push(first.to_string()),
                    _ => {
                        t.insert_file(RelPath::new(first).unwrap(), "/dev/null".into())
                            .unwrap();
                    }
                }
            }
            for link in &links {
                let parts: Vec<&str> = (0..1 + rng.next(4))
                    .map(|_| match rng.next(7) {
                        0 | 1 => "..",
                        2 => ".",
                        i => names[i - 3],
                    })
                    .collect();
                t.insert(
                    RelPath::new(link).unwrap(),
                    Entry::Symlink {
                        target: parts.join("/"),
                    },
                )
                .unwrap();
            }
            materialize(&t, &root);
            let refused: HashMap<String, Problem> = refused(&t).into_iter().collect();
            for link in &links {
                let verdict = kernel(&root, link);
                let ours = refused.get(link.as_str());
                match verdict.as_ref().map_err(|e| (e.kind(), e.raw_os_error())) {
                    Ok(()) => assert!(ours.is_none(), "case {case}: {link} in {t:?}: {ours:?}"),
                    Err((_, Some(EXDEV))) => assert!(
                        matches!(ours, Some(Problem::Escapes { .. })),
                        "case {case}: the kernel says {link} escapes in {t:?}; we say {ours:?}"
                    ),
                    Err((_, Some(ELOOP))) => assert!(
                        matches!(ours, Some(Problem::Loops { .. } | Problem::TooManyLinks)),
                        "case {case}: the kernel says {link} loops in {t:?}; we say {ours:?}"
                    ),
                    // A missing name or a file mid-path: our check goes on lexically, or stops.
                    Err((ErrorKind::NotFound, _)) | Err((_, Some(ENOTDIR))) => continue,
                    Err(other) => panic!("case {case}: {link}: {other:?}"),
                }
                compared += 1;
            }
        }
        assert!(compared > 500, "only {compared} links compared");
    }
}
