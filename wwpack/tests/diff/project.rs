//! The project the diff tests change: version 1 of a few static layers (text, a binary file, a
//! symlink, a 40-line config, a WAT pid0) and three images, built and committed in a new git
//! repository; [`Project::change`] makes every kind of change and builds version 2.

use std::path::PathBuf;
use std::process::{Command, Output};

use ww_test_support::{output, stderr, wat, write_tree};

use crate::WWPACK;

/// pid0 before: imports one interface of one function, no data.
pub const MAIN_V1: &str = r#"
(component
  (import "wasi:cli/environment@0.2.0" (instance
    (export "get-arguments" (func (result (list string))))))
  (core module $m (func (export "run") (result i32) i32.const 0))
  (core instance $i (instantiate $m))
  (type $run-type (func (result (result))))
  (func $run (type $run-type) (canon lift (core func $i "run")))
  (instance $run-instance (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run-instance)))
"#;

/// pid0 after: a function added to the interface, a new interface, a data segment.
const MAIN_V2: &str = r#"
(component
  (import "wasi:cli/environment@0.2.0" (instance
    (export "get-arguments" (func (result (list string))))
    (export "get-environment" (func (result (list (tuple string string)))))))
  (import "wasi:clocks/monotonic-clock@0.2.0" (instance
    (export "now" (func (result u64)))))
  (core module $m
    (memory 1)
    (data (i32.const 0) "hello, wetware")
    (func (export "run") (result i32) i32.const 0))
  (core instance $i (instantiate $m))
  (type $run-type (func (result (result))))
  (func $run (type $run-type) (canon lift (core func $i "run")))
  (instance $run-instance (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run-instance)))
"#;

pub const TOML_V1: &str = r#"
[layers.base]
path = "layers/base"

[layers.app]
path = "layers/app"

[images.default]
layers = ["base", "app"]

[images.tools]
layers = ["app"]

# Shares base and app with default: their changes show here too, their content once.
[images.tiny]
layers = ["base", "app"]
"#;

const TOML_V2: &str = r#"
[layers.base]
path = "layers/base"

[layers.app]
path = "layers/app"

[layers.extra]
path = "layers/extra"

[images.default]
layers = ["base", "app", "extra"]

[images.more]
layers = ["app", "extra"]

# Shares base and app with default: their changes show here too, their content once.
[images.tiny]
layers = ["base", "app"]
"#;

/// A config file of 40 lines, with the lines numbered in `changed` edited: a diff long enough
/// to be folded in Markdown.
fn services(changed: &[usize]) -> String {
    (1..=40)
        .map(|i| {
            let port = if changed.contains(&i) {
                9000 + i
            } else {
                8000 + i
            };
            format!("service-{i} = {port}\n")
        })
        .collect()
}

pub struct Project {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Project {
    /// Version 1, built, committed in a new git repository, with its lock also in `v1.lock`.
    pub fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        write_tree(
            &root,
            &[
                ("wwpack.toml", TOML_V1.as_bytes()),
                (
                    "layers/base/etc/motd",
                    b"Welcome to Wetware.\nSecond line.\nThird line.\n",
                ),
                ("layers/base/etc/old.conf", b"retired = true\n"),
                ("layers/base/etc/a.conf", b"moved = true\n"),
                ("layers/base/etc/role", b"worker\n"),
                ("layers/base/etc/services.conf", services(&[]).as_bytes()),
                ("layers/base/etc/blob.bin", b"\0\x01\x02binary v1"),
                ("layers/app/bin/main.wasm", &wat(MAIN_V1)),
            ],
        );
        std::os::unix::fs::symlink("motd", root.join("layers/base/etc/greeting")).unwrap();
        let p = Project { _dir: dir, root };
        p.ok(&["build"]);
        std::fs::copy(p.root.join("wwpack.lock"), p.root.join("v1.lock")).unwrap();
        p.git(&["init", "-q", "-b", "main"]);
        p.git(&["add", "wwpack.toml", "wwpack.lock", "layers"]);
        p.git(&["commit", "-q", "-m", "v1"]);
        p
    }

    /// A project of `files` (paths relative to its root, `wwpack.toml` among them), built,
    /// with its lock also in `v1.lock`.
    pub fn with(files: &[(&str, &[u8])]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        write_tree(&root, files);
        let p = Project { _dir: dir, root };
        p.ok(&["build"]);
        std::fs::copy(p.root.join("wwpack.lock"), p.root.join("v1.lock")).unwrap();
        p
    }

    /// Changes every kind of thing, and builds version 2 into `wwpack.lock`.
    pub fn change(&self) {
        let r = &self.root;
        write_tree(
            r,
            &[
                ("wwpack.toml", TOML_V2.as_bytes()),
                (
                    "layers/base/etc/motd",
                    b"Welcome to Wetware!\nSecond line.\nThird line.\nFourth line.\n",
                ),
                ("layers/base/etc/new.conf", b"fresh = true\n"),
                (
                    "layers/base/etc/services.conf",
                    services(&[3, 17, 31]).as_bytes(),
                ),
                ("layers/base/etc/b.conf", b"moved = true\n"),
                ("layers/base/etc/blob.bin", b"\0\x01\x02binary v2!"),
                ("layers/extra/etc/role", b"worker\n"),
                ("layers/app/bin/main.wasm", &wat(MAIN_V2)),
            ],
        );
        std::fs::remove_file(r.join("layers/base/etc/old.conf")).unwrap();
        std::fs::remove_file(r.join("layers/base/etc/a.conf")).unwrap();
        std::fs::remove_file(r.join("layers/base/etc/greeting")).unwrap();
        std::os::unix::fs::symlink("new.conf", r.join("layers/base/etc/greeting")).unwrap();
        self.ok(&["build"]);
    }

    pub fn wwpack(&self, args: &[&str]) -> Output {
        output(
            Command::new(WWPACK)
                .current_dir(&self.root)
                .env("WW_STORE", self.root.join("store"))
                .env("IPFS_API", "http://127.0.0.1:9")
                .env_remove("NO_COLOR")
                .args(args),
        )
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.wwpack(args);
        assert!(o.status.success(), "wwpack {args:?}: {}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    }

    /// `wwpack diff ARGS`: its exit status and stdout.
    pub fn diff(&self, args: &[&str]) -> (i32, String) {
        let mut all = vec!["diff"];
        all.extend_from_slice(args);
        let o = self.wwpack(&all);
        let code = o.status.code().expect("exited");
        assert!(code < 2, "wwpack {all:?} failed ({code}): {}", stderr(&o));
        (code, String::from_utf8(o.stdout).unwrap())
    }

    /// `wwpack diff ARGS` that must fail with status 2: its stderr.
    pub fn diff_error(&self, args: &[&str]) -> String {
        let mut all = vec!["diff"];
        all.extend_from_slice(args);
        let o = self.wwpack(&all);
        assert_eq!(o.status.code(), Some(2), "wwpack {all:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty());
        stderr(&o)
    }

    pub fn git(&self, args: &[&str]) {
        let o = output(
            Command::new("git")
                .current_dir(&self.root)
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@example.org")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@example.org")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("HOME", &self.root)
                .args(args),
        );
        assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--format", "json"]);
        serde_json::from_str(&self.diff(&all).1).unwrap()
    }
}
