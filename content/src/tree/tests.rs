//! Tests of trees: path rules, scanning host directories, inserting entries.

use super::*;

#[test]
fn relpath_rules() {
    assert!(RelPath::new("bin/main.wasm").is_ok());
    assert!(RelPath::new(".hidden/x").is_ok());
    for bad in ["", "/a", "a//b", "a/", "./a", "a/../b", ".."] {
        assert!(RelPath::new(bad).is_err(), "{bad:?} accepted");
    }
    let p = RelPath::new("a/b/c").unwrap();
    assert_eq!(p.parent().unwrap().as_str(), "a/b");
    assert_eq!(RelPath::new("a").unwrap().parent(), None);
}

#[test]
fn scan_reads_files_dirs_symlinks_and_hidden_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("etc/empty")).unwrap();
    std::fs::write(dir.path().join("etc/motd"), "hi").unwrap();
    std::fs::write(dir.path().join(".hidden"), "").unwrap();
    std::os::unix::fs::symlink("motd", dir.path().join("etc/link")).unwrap();
    let tree = Tree::scan(dir.path()).unwrap();
    let kinds: Vec<_> = tree
        .iter()
        .map(|(p, e)| format!("{p}:{}", e.kind()))
        .collect();
    assert_eq!(
        kinds,
        [
            ".hidden:file",
            "etc:directory",
            "etc/empty:directory",
            "etc/link:symlink",
            "etc/motd:file"
        ]
    );
}

#[test]
fn scan_does_not_follow_symlinks_to_directories() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "x").unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
    // A loop through a symlink is only a symlink too.
    std::fs::create_dir(dir.path().join("d")).unwrap();
    std::os::unix::fs::symlink("..", dir.path().join("d/up")).unwrap();
    let tree = Tree::scan(dir.path()).unwrap();
    let kinds: Vec<_> = tree
        .iter()
        .map(|(p, e)| format!("{p}:{}", e.kind()))
        .collect();
    assert_eq!(kinds, ["d:directory", "d/up:symlink", "out:symlink"]);
}

#[test]
fn scan_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = Tree::scan(&missing).unwrap_err().to_string();
    assert!(err.contains("nope"), "{err}");
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let err = Tree::scan(&file).unwrap_err().to_string();
    assert!(
        err.contains("file") && err.contains("not a directory"),
        "{err}"
    );
}

#[test]
fn scan_rejects_fifos_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let err = Tree::scan(dir.path()).unwrap_err().to_string();
    assert!(err.contains("pipe") && err.contains("FIFO"), "{err}");
}

#[test]
fn insert_file_creates_parents() {
    let mut tree = Tree::default();
    tree.insert_file(RelPath::new("a/b/c").unwrap(), "/x".into())
        .unwrap();
    let paths: Vec<_> = tree.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["a", "a/b", "a/b/c"]);
}

#[test]
fn nothing_goes_below_a_symlink_or_a_file_and_full_directories_stay() {
    let rel = |s: &str| RelPath::new(s).unwrap();
    let link = Entry::Symlink {
        target: "/etc".into(),
    };
    let mut tree = Tree::default();
    tree.insert(rel("a"), link.clone()).unwrap();
    tree.insert_file(rel("f"), "/x".into()).unwrap();
    let err = tree.insert_file(rel("a/passwd"), "/x".into()).unwrap_err();
    assert!(matches!(err, InsertError::ParentNotDir { kind, .. } if kind == "symlink"));
    assert!(
        err.to_string()
            .contains("`a/passwd` cannot be added below `a`"),
        "{err}"
    );
    let err = tree.insert(rel("f/g/h"), Entry::Dir).unwrap_err();
    assert!(
        err.to_string().contains("below `f`, which is a file"),
        "{err}"
    );
    assert_eq!(tree.len(), 2, "a refused insert changes nothing");

    tree.insert(rel("d"), Entry::Dir).unwrap();
    tree.insert(rel("d-x"), Entry::Dir).unwrap();
    tree.insert(rel("d/e"), Entry::Dir).unwrap();
    let err = tree.insert(rel("d"), link.clone()).unwrap_err();
    assert!(matches!(err, InsertError::DirNotEmpty { .. }), "{err}");
    assert!(
        tree.insert(rel("d-x"), link).is_ok(),
        "an empty directory may be replaced"
    );
}

#[test]
fn paths_nest_at_most_max_depth_levels() {
    let deep = vec!["d"; MAX_DEPTH].join("/");
    let p = RelPath::new(&deep).unwrap();
    assert_eq!(p.depth(), MAX_DEPTH);
    assert!(RelPath::new(&format!("{deep}/x")).is_err());
    assert!(p.join("x").is_err());
    assert_eq!(
        RelPath::new("a/b").unwrap().join("c").unwrap().as_str(),
        "a/b/c"
    );
    assert!(RelPath::new("a").unwrap().join("b/c").is_err());
    assert_eq!(RelPath::new("a/b").unwrap().name(), "b");
}

#[test]
fn scan_refuses_a_tree_deeper_than_max_depth() {
    let dir = tempfile::tempdir().unwrap();
    // Built relative to a handle-free cwd-independent path, one level at a time.
    let mut path = dir.path().to_path_buf();
    for _ in 0..=MAX_DEPTH {
        path.push("d");
    }
    std::fs::create_dir_all(&path).unwrap();
    let err = Tree::scan(dir.path()).unwrap_err().to_string();
    assert!(err.contains("deeper than 256 levels"), "{err}");
}
