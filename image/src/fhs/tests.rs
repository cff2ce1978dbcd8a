//! Tests of the FHS rules, through their public functions.

use super::boot::tests::{identity_peer, peer, sha_peer};
use super::*;
use crate::union::Union;
use std::path::Path;
use ww_content::tree::{Entry, RelPath, Tree};

/// A minimal WASI 0.2 command: a component exporting `wasi:cli/run@0.2.0`.
fn component() -> Vec<u8> {
    wat::parse_str(
        r#"(component
            (core module $m (func (export "run") (result i32) i32.const 0))
            (core instance $i (instantiate $m))
            (func $run (result (result)) (canon lift (core func $i "run")))
            (instance $inst (export "run" (func $run)))
            (export "wasi:cli/run@0.2.0" (instance $inst)))"#,
    )
    .unwrap()
}

fn module() -> Vec<u8> {
    wat::parse_str("(module)").unwrap()
}

/// A tree holding `files`, their bytes written below `dir`.
fn tree(dir: &Path, files: &[(&str, &[u8])]) -> Tree {
    let mut t = Tree::default();
    for (i, (path, bytes)) in files.iter().enumerate() {
        let source = dir.join(format!("f{i}-{}", path.replace('/', "_")));
        std::fs::write(&source, bytes).unwrap();
        t.insert_file(RelPath::new(path).unwrap(), source).unwrap();
    }
    t
}

/// Validates image `img` made of one layer `base` holding `files`.
fn validate(files: &[(&str, &[u8])]) -> std::result::Result<Vec<Warning>, String> {
    let dir = tempfile::tempdir().unwrap();
    let t = tree(dir.path(), files);
    let u = Union::of([("base", &t)]).unwrap();
    validate_image("img", &u).map_err(|e| e.to_string())
}

fn assert_has(err: &str, parts: &[&str]) {
    for p in parts {
        assert!(err.contains(p), "{p:?} not in:\n{err}");
    }
}

#[test]
fn a_minimal_image_is_valid() {
    let c = component();
    assert_eq!(validate(&[("bin/main.wasm", &c)]).unwrap(), []);
}

#[test]
fn pid0_missing_is_an_error_naming_the_layers() {
    let err = validate(&[("etc/motd", b"hi")]).unwrap_err();
    assert_has(
        &err,
        &[
            "image `img`",
            "`bin/main.wasm` is missing",
            "[base]",
            "pid0",
        ],
    );
}

#[test]
fn pid0_core_module_or_garbage_is_an_error_naming_layer_and_source() {
    let dir = tempfile::tempdir().unwrap();
    let c = component();
    let m = module();
    let base = tree(dir.path(), &[("bin/main.wasm", &c)]);
    let top = tree(dir.path(), &[("bin/main.wasm", &m)]);
    let u = Union::of([("base", &base), ("top", &top)]).unwrap();
    let err = validate_image("img", &u).unwrap_err().to_string();
    assert_has(
        &err,
        &[
            "image `img`: `bin/main.wasm` from layer `top` (",
            "is a core WebAssembly module, not a component",
        ],
    );
    assert!(err.contains(dir.path().to_str().unwrap()), "{err}");

    let err = validate(&[("bin/main.wasm", b"#!/bin/sh\n")]).unwrap_err();
    assert_has(
        &err,
        &["`bin/main.wasm` from layer `base`", "not WebAssembly"],
    );
}

#[test]
fn pid0_directory_or_symlink_is_an_error() {
    let c = component();
    let err = validate(&[("bin/main.wasm/x", &c)]).unwrap_err();
    assert_has(
        &err,
        &["`bin/main.wasm` from layer `base` is a directory, not a file"],
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bin")).unwrap();
    std::fs::write(dir.path().join("bin/real.wasm"), &c).unwrap();
    std::os::unix::fs::symlink("real.wasm", dir.path().join("bin/main.wasm")).unwrap();
    let t = Tree::scan(dir.path()).unwrap();
    validate_layer("base", &t).unwrap();
    let u = Union::of([("base", &t)]).unwrap();
    let err = validate_image("img", &u).unwrap_err().to_string();
    assert_has(
        &err,
        &["`bin/main.wasm` from layer `base` is a symlink, not a file"],
    );
}

#[test]
fn pid0_must_be_a_wasi_command() {
    let library = wat::parse_str("(component)").unwrap();
    let err = validate(&[("bin/main.wasm", &library)]).unwrap_err();
    assert!(
        err.contains("bin/main.wasm") && err.contains("not a WASI command"),
        "{err}"
    );
}

#[test]
fn other_wasm_files_in_bin_must_be_components() {
    let c = component();
    let m = module();
    assert_eq!(
        validate(&[
            ("bin/main.wasm", &c),
            ("bin/shell.wasm", &c),
            ("bin/README", b"not wasm, not checked"),
        ])
        .unwrap(),
        []
    );
    let err = validate(&[("bin/main.wasm", &c), ("bin/tools/other.wasm", &m)]).unwrap_err();
    assert_has(
        &err,
        &[
            "`bin/tools/other.wasm` from layer `base`",
            "core WebAssembly module",
            "every `.wasm` file under `bin/` must be a WebAssembly component",
        ],
    );
}

#[test]
fn root_entries_must_be_directories() {
    let c = component();
    let err = validate(&[("bin/main.wasm", &c), ("etc/x", b""), ("svc", b"")]).unwrap_err();
    assert_has(
        &err,
        &["`svc` from layer `base` is a file; `svc` must be a directory"],
    );
}

#[test]
fn unexpected_root_entries_are_warnings() {
    let c = component();
    let warnings = validate(&[
        ("bin/main.wasm", &c),
        ("etc/anything/goes", b"free-form"),
        ("lib/libc.so", b""),
        ("README", b""),
    ])
    .unwrap();
    let paths: Vec<_> = warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, ["README", "lib"]);
    let text = warnings[1].to_string();
    assert_has(
        &text,
        &[
            "`lib`",
            "not part of the image layout",
            "bin, boot, etc, svc",
        ],
    );
}

#[test]
fn errors_are_all_reported_one_per_line() {
    let m = module();
    let err = validate(&[("bin/main.wasm", &m), ("boot/nope", b"/ip4/1.2.3.4")]).unwrap_err();
    assert!(
        err.starts_with("image `img`: 2 problems:\n  `bin/main.wasm`"),
        "{err}"
    );
    assert!(err.contains("\n  `boot/nope`"), "{err}");
}

#[test]
fn boot_files_named_by_peer_ids_pass() {
    let c = component();
    let id = identity_peer();
    let sha = sha_peer();
    let text = format!(
        "/ip4/127.0.0.1/tcp/2020/p2p/{id}\n/dns4/example.com/udp/4001/quic-v1\n/ip6/::1/tcp/1\n"
    );
    let a = format!("boot/{id}");
    let b = format!("boot/{sha}");
    validate(&[
        ("bin/main.wasm", &c),
        (&a, text.as_bytes()),
        (&b, b"/ip6/::1/tcp/1"),
    ])
    .unwrap();
}

#[test]
fn boot_file_names_must_be_peer_ids() {
    let c = component();
    let wrong_code = format!(
        "boot/{}",
        peer(&[[0x11, 0x14].as_slice(), &[1; 20]].concat())
    );
    for (path, why) in [
        ("boot/not-a-peer", "not base58btc"),
        (wrong_code.as_str(), "code 0x11"),
    ] {
        let err = validate(&[("bin/main.wasm", &c), (path, b"/ip4/1.2.3.4/tcp/1\n")]).unwrap_err();
        assert_has(
            &err,
            &[
                &format!("`{path}` from layer `base`"),
                "is not a libp2p peer ID",
                why,
                "boot files are named by the libp2p peer ID",
            ],
        );
    }
}

#[test]
fn boot_entries_must_be_regular_files() {
    let c = component();
    let nested = format!("boot/{}/x", sha_peer());
    let err = validate(&[("bin/main.wasm", &c), (&nested, b"/ip4/1.2.3.4\n")]).unwrap_err();
    assert_has(
        &err,
        &[&format!(
            "`boot/{}` from layer `base` is a directory",
            sha_peer()
        )],
    );
    // Nothing is said about the file inside the directory.
    assert!(!err.contains("problems"), "{err}");
}

#[test]
fn boot_file_contents_are_one_multiaddr_per_line() {
    let c = component();
    let path = format!("boot/{}", identity_peer());
    let not = "is not a multiaddr:";
    let cases: [(&[u8], String); 10] = [
        (
            b"ip4/1.2.3.4/tcp/1\n",
            format!("line 1: `ip4/1.2.3.4/tcp/1` {not} a multiaddr starts with `/`"),
        ),
        (
            b"/ip4/1.2.3.4\n/foo/1\n",
            format!("line 2: `/foo/1` {not} unknown protocol `foo`"),
        ),
        (
            b"/ip4/1.2.3.4/tcp/70000",
            format!("line 1: `/ip4/1.2.3.4/tcp/70000` {not} `tcp` value `70000` is not a port"),
        ),
        (
            b"/ip4/1.2.3.4\n/ip4/1.2.3/tcp/1\n",
            format!("line 2: `/ip4/1.2.3/tcp/1` {not} `ip4` value `1.2.3` is not an IPv4"),
        ),
        (
            b"/ip4/1.2.3.4/tcp",
            format!("line 1: `/ip4/1.2.3.4/tcp` {not} protocol `tcp` needs a value"),
        ),
        (b"", "is empty".into()),
        (b"/ip4/1.2.3.4\n\n/ip4/1.2.3.4\n", "line 2 is blank".into()),
        (b"/ip4/1.2.3.4\n\n", "line 2 is blank".into()),
        (
            b"# seeds\n/ip4/1.2.3.4\n",
            format!("line 1: `# seeds` {not}"),
        ),
        (b"\xff\n", "is not UTF-8".into()),
    ];
    for (content, why) in cases {
        let err = validate(&[("bin/main.wasm", &c), (&path, content)]).unwrap_err();
        assert_has(
            &err,
            &[
                &format!("`{path}` from layer `base`: "),
                &why,
                "one multiaddr per line",
            ],
        );
    }
}

#[test]
fn nested_images_are_validated_recursively() {
    let c = component();
    let m = module();
    let boot = format!("svc/foo/boot/{}", sha_peer());
    validate(&[
        ("bin/main.wasm", &c),
        ("svc/foo/bin/main.wasm", &c),
        ("svc/foo/etc/conf", b"x"),
        (&boot, b"/ip4/10.0.0.1/tcp/1\n"),
        ("svc/foo/svc/bar/bin/main.wasm", &c),
    ])
    .unwrap();

    // A nested image missing its pid0.
    let err = validate(&[("bin/main.wasm", &c), ("svc/foo/etc/conf", b"x")]).unwrap_err();
    assert_has(
        &err,
        &[
            "`svc/foo/bin/main.wasm` is missing",
            "pid0 of the nested image `svc/foo`",
        ],
    );

    // A file directly in svc/.
    let err = validate(&[("bin/main.wasm", &c), ("svc/foo", &c)]).unwrap_err();
    assert_has(
        &err,
        &["`svc/foo` from layer `base` is a file; each entry of `svc/` must be a directory"],
    );

    // Deeper nesting, with full paths in every message.
    let err = validate(&[
        ("bin/main.wasm", &c),
        ("svc/a/bin/main.wasm", &c),
        ("svc/a/svc/b/bin/main.wasm", &m),
        ("svc/a/svc/b/boot/x", b"/ip4/1.2.3.4\n"),
        ("svc/a/svc/c/etc/x", b""),
    ])
    .unwrap_err();
    assert_has(
        &err,
        &[
            "3 problems",
            "`svc/a/svc/b/bin/main.wasm` from layer `base`",
            "core WebAssembly module",
            "`svc/a/svc/b/boot/x` from layer `base`: the name `x` is not a libp2p peer ID",
            "`svc/a/svc/c/bin/main.wasm` is missing",
        ],
    );

    // Warnings in nested images carry their full path.
    let warnings = validate(&[
        ("bin/main.wasm", &c),
        ("svc/foo/bin/main.wasm", &c),
        ("svc/foo/lib/x", b""),
    ])
    .unwrap();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].path, "svc/foo/lib");
}

fn layer_of(links: &[(&str, &str)]) -> Tree {
    let dir = tempfile::tempdir().unwrap();
    for (path, target) in links {
        let at = dir.path().join(path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, at).unwrap();
    }
    Tree::scan(dir.path()).unwrap()
}

#[test]
fn symlinks_must_stay_inside_the_layer() {
    validate_layer(
        "l",
        &layer_of(&[
            ("a/b", "../c"),
            ("a2", "b/c"),
            ("d/e", "./../f/./g"),
            ("x/y", ".."),
        ]),
    )
    .unwrap();

    for (path, target, why) in [
        ("etc/passwd", "/etc/passwd", "absolute path `/etc/passwd`"),
        ("x", "../x", "climbs above the layer root"),
        ("a/b", "../../x", "climbs above the layer root"),
        ("a/b", "c/../../../x", "climbs above the layer root"),
        ("a", "..", "climbs above the layer root"),
    ] {
        let err = validate_layer("l", &layer_of(&[(path, target)]))
            .unwrap_err()
            .to_string();
        assert_has(
            &err,
            &[
                &format!("layer `l`: `{path}` is a symlink to"),
                &format!("`{target}`"),
                why,
                "symlinks must be relative and stay inside their layer",
            ],
        );
    }

    let err = validate_layer("l", &layer_of(&[("a", "/x"), ("b", "../y")]))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("layer `l`: 2 problems:\n  `a`"), "{err}");
}

#[test]
fn symlinks_are_resolved_through_the_layers_own_symlinks() {
    // The chain of issue 13: each link is fine lexically, and leaves the layer.
    let err = validate_layer(
        "l",
        &layer_of(&[("d/up", ".."), ("e1", "d/up/.."), ("e2", "e1/..")]),
    )
    .unwrap_err()
    .to_string();
    assert_has(
        &err,
        &[
            "layer `l`: 2 problems:",
            "\n  `e1` is a symlink to `d/up/..`, which climbs above the layer root once the \
             symlinks on its way are followed; symlinks must be relative and stay inside \
             their layer",
            "\n  `e2` is a symlink to `e1/..`, which climbs above the layer root through \
             the symlink `e1` -> `d/up/..`;",
        ],
    );
    let err = validate_layer("l", &layer_of(&[("a", "b/x"), ("b", "a"), ("s", "s")]))
        .unwrap_err()
        .to_string();
    assert_has(
        &err,
        &[
            "`a` is a symlink to `b/x`, which loops",
            "`s` is a symlink to `s`, which loops: resolving it leads back to itself",
        ],
    );
    let deep: Vec<(String, String)> = (0..41)
        .map(|i| (format!("l{i}"), format!("l{}", i + 1)))
        .collect();
    let deep: Vec<(&str, &str)> = deep.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let err = validate_layer("l", &layer_of(&deep))
        .unwrap_err()
        .to_string();
    assert_has(
        &err,
        &["`l0` is a symlink to `l1`, which takes more than 40 symlinks to resolve"],
    );
    // Control characters of names and targets are escaped in the message.
    let err = validate_layer("l", &layer_of(&[("e\u{1b}[2J", "/\u{1b}]0;x\u{7}")]))
        .unwrap_err()
        .to_string();
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    assert_has(
        &err,
        &["`e\\x1b[2J` is a symlink to the absolute path `/\\x1b]0;x\\x07`"],
    );
}

#[test]
fn symlinks_are_resolved_across_the_layers_of_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let c = component();
    let link = |t: &mut Tree, path: &str, target: &str| {
        t.insert(
            RelPath::new(path).unwrap(),
            Entry::Symlink {
                target: target.into(),
            },
        )
        .unwrap();
    };
    // Layer a: `sub/q` is the root, `top` dangles into sub/x; layer b: `sub/x` climbs from a
    // `q` it lacks. Each is fine alone; in the union, sub/x -> q/../.. climbs out.
    let mut a = tree(dir.path(), &[("bin/main.wasm", &c), ("sub/keep", b"")]);
    link(&mut a, "sub/q", "..");
    link(&mut a, "top", "sub/x");
    let mut b = Tree::default();
    link(&mut b, "sub/x", "q/../..");
    validate_layer("a", &a).unwrap();
    validate_layer("b", &b).unwrap();
    let u = Union::of([("a", &a), ("b", &b)]).unwrap();
    let err = validate_image("img", &u).unwrap_err().to_string();
    assert_has(
        &err,
        &[
            "image `img`: 2 problems:",
            "\n  `sub/x` from layer `b` is a symlink to `q/../..`, which climbs above the \
             image root once the symlinks on its way are followed; symlinks must be \
             relative and stay inside their image",
            "\n  `top` from layer `a` is a symlink to `sub/x`, which climbs above the image \
             root through the symlink `sub/x` (from layer `b`) -> `q/../..`;",
        ],
    );
}

#[test]
fn pid0_paths() {
    for yes in [
        "bin/main.wasm",
        "svc/a/bin/main.wasm",
        "svc/a/svc/b/bin/main.wasm",
    ] {
        assert!(is_pid0_path(yes), "{yes}");
    }
    for no in [
        "bin/other.wasm",
        "svc/bin/main.wasm",
        "svc//bin/main.wasm",
        "svc/a/etc/bin/main.wasm",
        "etc/bin/main.wasm",
        "/bin/main.wasm",
        "bin/main.wasm/x",
        "svc/a/bin",
        "",
    ] {
        assert!(!is_pid0_path(no), "{no}");
    }
}
