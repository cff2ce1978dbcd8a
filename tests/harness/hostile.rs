//! What the hostile-image tests (`hostile.rs`: DAGs made by hand; `hostile_host.rs`: the
//! host's caches, store, signals and overlays) share: a [`Home`] for one `ww` with a directory
//! "outside" that must stay empty, commands run under a hang guard ([`guarded`]), refusals
//! checked for one clear message ([`assert_refused`]) and an image root made of a DAG
//! ([`image_with`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use ww_content::cid::Cid;

use crate::dag::Dag;
use crate::{exiting_command, kill, stderr};

/// How long a test lets a command run before it kills it, so that an unbounded walk fails the
/// test instead of hanging it. Nothing is asserted about how fast anything is.
pub const HANG_GUARD: Duration = Duration::from_secs(120);

/// A WASI command whose `run` returns `status` (0 or 1).
pub fn command(status: u8) -> Vec<u8> {
    exiting_command(status)
}

/// A home for one ww: its store, cache and data, and a directory "outside" that hostile
/// symlinks point at, which must stay empty.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Default for Home {
    fn default() -> Home {
        Home::new()
    }
}

impl Home {
    pub fn new() -> Home {
        let home = Home {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        std::fs::create_dir(home.outside()).expect("outside");
        home
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn store(&self) -> PathBuf {
        self.path().join("store")
    }

    pub fn cache(&self) -> PathBuf {
        self.path().join("cache")
    }

    pub fn outside(&self) -> PathBuf {
        self.path().join("outside")
    }

    pub fn ww(&self, layers: &[&str], flags: &[&str]) -> Output {
        guarded(&mut crate::ww_run(self.path(), layers, flags, &[]))
    }

    pub fn wwpack(&self, args: &[&str]) -> Output {
        guarded(
            Command::new(crate::bin("wwpack"))
                .env_remove("IPFS_API")
                .env_remove("IPFS_PATH")
                .arg("--store")
                .arg(self.store())
                .args(args),
        )
    }

    /// Asserts that nothing was written outside the cache's own directories: the "outside"
    /// directory is empty and the cache holds nothing but files/, roots/, tmp/ (and
    /// compiled/, held/ and the lock file), with an empty tmp/.
    pub fn assert_contained(&self) {
        let outside: Vec<_> = std::fs::read_dir(self.outside())
            .expect("outside")
            .map(|e| e.expect("entry").path())
            .collect();
        assert!(outside.is_empty(), "written outside the cache: {outside:?}");
        if let Ok(entries) = std::fs::read_dir(self.cache()) {
            for entry in entries {
                let name = entry.expect("entry").file_name();
                assert!(
                    ["files", "roots", "tmp", "compiled", "held", "lock"]
                        .contains(&name.to_str().unwrap_or("?")),
                    "unexpected {name:?} in the cache"
                );
            }
            let tmp: Vec<_> = std::fs::read_dir(self.cache().join("tmp"))
                .map(|d| d.map(|e| e.expect("entry").path()).collect())
                .unwrap_or_default();
            assert!(tmp.is_empty(), "left in the cache's tmp/: {tmp:?}");
            for file in std::fs::read_dir(self.cache().join("files"))
                .into_iter()
                .flatten()
            {
                let file = file.expect("entry");
                assert!(
                    file.file_type().expect("type").is_file(),
                    "{:?} in files/ is not a regular file",
                    file.path()
                );
            }
        }
    }
}

/// Runs `cmd` to its end, killing it after [`HANG_GUARD`].
pub fn guarded(cmd: &mut Command) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let pid = child.id();
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if wait.recv_timeout(HANG_GUARD).is_err() {
            // The child may have ended meanwhile: then there is nothing to kill.
            let _ = kill(pid, libc::SIGKILL);
        }
    });
    let out = child.wait_with_output().expect("wait");
    let _ = done.send(());
    out
}

/// Asserts `o` failed with `status`, one clear line on stderr holding every needle, no panic.
pub fn assert_refused(o: &Output, status: i32, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(status), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "`{needle}` not in: {err}");
    }
}

/// The root directory of an image holding `bin/main.wasm` (status 0) and `extra` entries.
pub fn image_with(dag: &Dag, extra: &[(&str, &Cid)]) -> Cid {
    let main = dag.raw(&command(0));
    let bin = dag.dir(&[("main.wasm", &main)]);
    let mut entries = vec![("bin", &bin)];
    entries.extend_from_slice(extra);
    dag.dir(&entries)
}
