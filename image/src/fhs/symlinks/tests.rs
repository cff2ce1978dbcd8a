//! Tests of symlink resolution: chains, `..` through links, loops and the bounds on work.

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
