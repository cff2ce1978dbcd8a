//! The compiled-component cache of the real `ww`: a cold boot of the `default` image compiles
//! pid0 and child-echo, a warm one loads both, a damaged entry is rebuilt with a warning,
//! `--no-cache` writes nothing, and a cache that cannot be written costs a warning, not the boot.
//! Entries are authenticated by the cache's own key (`compiled/key`, mode 0600): an entry
//! planted as the attack on format 1 did (a well-formed header with the real SHA-256 of int3
//! code), or copied from another cache, is refused, removed and rebuilt, never run. What ww
//! compiled or loaded is read from its `ww::compile` debug events.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use e2e::{bin, built_images, output, reachable_for_nobody, unhex, ww_in, Ww};

/// The output of pid0 of the default image.
const EXPECTED: &str = "child-echo exited with status 0";

/// What one boot compiled and loaded, by component name.
struct Boot {
    out: Output,
    compiled: Vec<String>,
    loaded: Vec<String>,
}

impl Boot {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    fn assert_ok(&self) {
        assert_eq!(
            self.out.status.signal(),
            None,
            "ww was killed by a signal: stderr {:?}",
            self.stderr()
        );
        assert!(
            self.out.status.success() && self.stdout().contains(EXPECTED),
            "ww run failed ({:?}): stdout {:?} stderr {:?}",
            self.out.status,
            self.stdout(),
            self.stderr()
        );
    }
}

/// Boots of the `default` image in a [`Ww`] home, and what they left in its compiled cache.
trait CacheExt {
    fn boot(&self, extra: &[&str]) -> Boot;
    fn boot_with(&self, cmd: Command, extra: &[&str]) -> Boot;
    fn entries(&self) -> Vec<PathBuf>;
    fn entry_names(&self) -> Vec<PathBuf>;
    fn key_file(&self) -> PathBuf;
}

impl CacheExt for Ww {
    fn boot(&self, extra: &[&str]) -> Boot {
        self.boot_with(Command::new(bin("ww")), extra)
    }

    fn boot_with(&self, mut cmd: Command, extra: &[&str]) -> Boot {
        e2e::hermetic(&mut cmd, self.home())
            .env("WW_LOG", "ww::compile=debug")
            .arg("run")
            .arg(built_images().join("images").join("default"))
            .args(extra);
        let out = output(&mut cmd);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let names = |prefix: &str, suffix: &str| {
            stderr
                .lines()
                .filter_map(|l| l.strip_prefix("ww: debug: "))
                .filter_map(|l| l.trim_start().strip_prefix(prefix))
                .filter_map(|rest| rest.split_once(suffix).map(|(name, _)| name.to_string()))
                .collect::<Vec<_>>()
        };
        Boot {
            compiled: names("compiled ", " ("),
            loaded: names("loaded ", " from the compiled cache"),
            out,
        }
    }

    /// The entries of the compiled cache (`compiled/<engine>/<wasm>`), sorted.
    fn entries(&self) -> Vec<PathBuf> {
        let mut entries = Vec::new();
        let Ok(engines) = std::fs::read_dir(self.cache().join("compiled")) else {
            return entries;
        };
        for engine in engines {
            let engine = engine.expect("engine dir entry").path();
            if !engine.is_dir() {
                continue; // the key
            }
            for entry in std::fs::read_dir(&engine).expect("read engine dir") {
                entries.push(entry.expect("entry").path());
            }
        }
        entries.sort();
        entries
    }

    /// The entries' paths below the cache (`compiled/<engine>/<wasm>`), as [`Ww::entries`].
    fn entry_names(&self) -> Vec<PathBuf> {
        self.entries()
            .iter()
            .map(|e| {
                e.strip_prefix(self.cache())
                    .expect("below the cache")
                    .to_path_buf()
            })
            .collect()
    }

    fn key_file(&self) -> PathBuf {
        self.cache().join("compiled").join("key")
    }
}

/// The magic of the current entry format (2) and of the format the attack used (1).
const MAGIC_V2: &[u8; 8] = b"wwcc\x02\0\0\0";
const MAGIC_V1: &[u8; 8] = b"wwcc\x01\0\0\0";

/// 4096 int3 instructions (x86's breakpoint, `0xCC`): run as code, they kill ww with SIGTRAP.
const INT3: [u8; 4096] = [0xCC; 4096];

/// The SHA-256 of [`INT3`] (`head -c 4096 /dev/zero | tr '\0' '\314' | sha256sum`).
const INT3_SHA256: &str = "3892007bcf2ef17138ec5e053998923ea1f9340362e2cd9787ea5e483fa78e98";

/// The two keys an entry's path names: `compiled/<engine>/<wasm>`, in hex.
fn path_keys(entry: &Path) -> (Vec<u8>, Vec<u8>) {
    let name = |p: &Path| {
        p.file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned()
    };
    let engine = entry.parent().expect("the engine dir");
    (unhex(&name(engine)), unhex(&name(entry)))
}

/// An entry as the attack on format 1 planted it: a header that names this engine and
/// component, with the real SHA-256 and length of its int3 payload, then the payload.
fn planted_v1(entry: &Path) -> Vec<u8> {
    let (engine, wasm) = path_keys(entry);
    let mut data = MAGIC_V1.to_vec();
    data.extend_from_slice(&engine);
    data.extend_from_slice(&wasm);
    data.extend_from_slice(&unhex(INT3_SHA256));
    data.extend_from_slice(&(INT3.len() as u64).to_le_bytes());
    data.extend_from_slice(&INT3);
    data
}

/// The same attack on format 2: the current magic, and the SHA-256 where the tag goes.
fn planted_v2(entry: &Path) -> Vec<u8> {
    let (engine, wasm) = path_keys(entry);
    let mut data = MAGIC_V2.to_vec();
    data.extend_from_slice(&engine);
    data.extend_from_slice(&wasm);
    data.extend_from_slice(&(INT3.len() as u64).to_le_bytes());
    data.extend_from_slice(&unhex(INT3_SHA256));
    data.extend_from_slice(&INT3);
    data
}

fn is_pid0(name: &str) -> bool {
    name.ends_with("bin/main.wasm")
}

/// Exactly pid0 and one child, in any order.
fn pid0_and_child(names: &[String]) -> bool {
    names.len() == 2
        && names.iter().filter(|n| is_pid0(n)).count() == 1
        && names.iter().any(|n| n == "child.wasm")
}

#[test]
fn a_cold_boot_compiles_pid0_and_child_echo_and_a_warm_one_loads_both() {
    let ww = Ww::new();
    let cold = ww.boot(&[]);
    cold.assert_ok();
    assert!(
        pid0_and_child(&cold.compiled) && cold.loaded.is_empty(),
        "cold: compiled {:?}, loaded {:?}",
        cold.compiled,
        cold.loaded
    );
    assert_eq!(ww.entries().len(), 2, "{:?}", ww.entries());

    let warm = ww.boot(&[]);
    warm.assert_ok();
    assert!(
        warm.compiled.is_empty() && pid0_and_child(&warm.loaded),
        "warm: compiled {:?}, loaded {:?}",
        warm.compiled,
        warm.loaded
    );
    assert_eq!(warm.stdout(), cold.stdout());
    assert!(!warm.stderr().contains("ww: warning:"), "{}", warm.stderr());
}

#[test]
fn flipped_truncated_and_foreign_entries_are_rebuilt_with_a_warning() {
    let ww = Ww::new();
    ww.boot(&[]).assert_ok();
    let entries = ww.entries();
    assert_eq!(entries.len(), 2, "{entries:?}");
    let originals: Vec<Vec<u8>> = entries
        .iter()
        .map(|e| std::fs::read(e).expect("read entry"))
        .collect();

    // A byte flipped in the middle of the code of one, the other cut short.
    let mut flipped = originals[0].clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    std::fs::write(&entries[0], &flipped).expect("write flipped entry");
    std::fs::write(&entries[1], &originals[1][..originals[1].len() / 3])
        .expect("write truncated entry");
    let repaired = ww.boot(&[]);
    repaired.assert_ok();
    assert!(
        pid0_and_child(&repaired.compiled) && repaired.loaded.is_empty(),
        "compiled {:?}, loaded {:?}",
        repaired.compiled,
        repaired.loaded
    );
    let stderr = repaired.stderr();
    assert_eq!(
        stderr
            .matches("discarding the compiled-cache entry")
            .count(),
        2,
        "{stderr}"
    );
    assert!(
        stderr.contains("not authenticated by this cache's key"),
        "{stderr}"
    );
    assert!(stderr.contains("payload length"), "{stderr}");
    for (entry, original) in entries.iter().zip(&originals) {
        assert_eq!(&std::fs::read(entry).expect("read rebuilt entry"), original);
    }

    // One entry's file in the other's place: a valid entry, of another component.
    std::fs::copy(&entries[0], &entries[1]).expect("copy entry");
    let foreign = ww.boot(&[]);
    foreign.assert_ok();
    assert_eq!(foreign.compiled.len(), 1, "{:?}", foreign.compiled);
    assert_eq!(foreign.loaded.len(), 1, "{:?}", foreign.loaded);
    assert!(
        foreign
            .stderr()
            .contains("names another component or engine"),
        "{}",
        foreign.stderr()
    );

    let warm = ww.boot(&[]);
    warm.assert_ok();
    assert!(warm.compiled.is_empty() && pid0_and_child(&warm.loaded));
}

#[test]
fn no_cache_compiles_everything_and_writes_no_entry() {
    let ww = Ww::new();
    for _ in 0..2 {
        let boot = ww.boot(&["--no-cache"]);
        boot.assert_ok();
        assert!(
            pid0_and_child(&boot.compiled) && boot.loaded.is_empty(),
            "compiled {:?}, loaded {:?}",
            boot.compiled,
            boot.loaded
        );
    }
    assert!(!ww.cache().join("compiled").exists());

    // Entries written without --no-cache are not read with it either.
    ww.boot(&[]).assert_ok();
    let entries = ww.entries();
    assert_eq!(entries.len(), 2);
    let bypassed = ww.boot(&["--no-cache"]);
    bypassed.assert_ok();
    assert!(pid0_and_child(&bypassed.compiled) && bypassed.loaded.is_empty());
    assert_eq!(ww.entries(), entries);
}

#[test]
fn planted_int3_entries_with_a_valid_sha256_are_refused_and_rebuilt_not_run() {
    let ww = Ww::new();
    ww.boot(&[]).assert_ok();
    let entries = ww.entries();
    assert_eq!(entries.len(), 2, "{entries:?}");
    // One in the format the attack was made for, one in the current format.
    std::fs::write(&entries[0], planted_v1(&entries[0])).expect("plant a format 1 entry");
    std::fs::write(&entries[1], planted_v2(&entries[1])).expect("plant a format 2 entry");
    let boot = ww.boot(&[]);
    boot.assert_ok();
    assert!(
        pid0_and_child(&boot.compiled) && boot.loaded.is_empty(),
        "compiled {:?}, loaded {:?}",
        boot.compiled,
        boot.loaded
    );
    let stderr = boot.stderr();
    assert_eq!(
        stderr
            .matches("discarding the compiled-cache entry")
            .count(),
        2,
        "{stderr}"
    );
    assert!(stderr.contains("format version 1, not 2"), "{stderr}");
    // Refused before wasmtime saw a byte of them.
    assert!(!stderr.contains("wasmtime refuses"), "{stderr}");
    assert!(
        stderr.contains("not authenticated by this cache's key"),
        "{stderr}"
    );
    for entry in &entries {
        let rebuilt = std::fs::read(entry).expect("the rebuilt entry");
        assert!(rebuilt.starts_with(MAGIC_V2), "{}", entry.display());
        assert!(!rebuilt.ends_with(&INT3), "{}", entry.display());
    }
    let warm = ww.boot(&[]);
    warm.assert_ok();
    assert!(warm.compiled.is_empty() && pid0_and_child(&warm.loaded));
    assert!(!warm.stderr().contains("ww: warning:"), "{}", warm.stderr());
}

#[test]
fn entries_planted_before_the_first_run_are_refused() {
    // Where the entries of the default image go, learnt from another cache: the path depends
    // only on the engine, ww's version and the component's bytes.
    let learn = Ww::new();
    learn.boot(&[]).assert_ok();
    let names = learn.entry_names();
    assert_eq!(names.len(), 2, "{names:?}");

    let ww = Ww::new();
    for name in &names {
        let entry = ww.cache().join(name);
        std::fs::create_dir_all(entry.parent().expect("engine dir")).expect("mkdir");
        std::fs::write(&entry, planted_v2(&entry)).expect("plant");
    }
    let boot = ww.boot(&[]);
    boot.assert_ok();
    assert!(pid0_and_child(&boot.compiled) && boot.loaded.is_empty());
    assert_eq!(
        boot.stderr()
            .matches("not authenticated by this cache's key")
            .count(),
        2,
        "{}",
        boot.stderr()
    );
    assert_eq!(ww.entry_names(), names, "rebuilt in place");
}

#[test]
fn an_entry_copied_from_another_cache_is_refused_and_rebuilt() {
    let other = Ww::new();
    other.boot(&[]).assert_ok();
    let ww = Ww::new();
    ww.boot(&[]).assert_ok();
    let names = ww.entry_names();
    assert_eq!(other.entry_names(), names, "the same paths in both caches");
    assert_ne!(
        std::fs::read(other.key_file()).expect("the other key"),
        std::fs::read(ww.key_file()).expect("this key"),
        "each cache makes its own key"
    );
    let originals: Vec<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(ww.cache().join(n)).expect("read entry"))
        .collect();
    for name in &names {
        std::fs::copy(other.cache().join(name), ww.cache().join(name)).expect("copy entry");
    }
    let boot = ww.boot(&[]);
    boot.assert_ok();
    assert!(
        pid0_and_child(&boot.compiled) && boot.loaded.is_empty(),
        "compiled {:?}, loaded {:?}",
        boot.compiled,
        boot.loaded
    );
    assert_eq!(
        boot.stderr()
            .matches("not authenticated by this cache's key")
            .count(),
        2,
        "{}",
        boot.stderr()
    );
    // Rebuilt under this cache's key: compilation is deterministic, so byte for byte.
    for (name, original) in names.iter().zip(&originals) {
        assert_eq!(
            &std::fs::read(ww.cache().join(name)).expect("read"),
            original
        );
    }
}

#[test]
fn the_key_is_32_bytes_mode_0600_and_a_bad_one_disables_the_cache() {
    let ww = Ww::new();
    ww.boot(&[]).assert_ok();
    let meta = std::fs::symlink_metadata(ww.key_file()).expect("the key file");
    assert!(meta.is_file());
    assert_eq!(meta.len(), 32);
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    // A key ww did not make (here one byte short) is left alone: the cache is not used, with
    // one warning saying what to do, and the boot goes on.
    std::fs::write(ww.key_file(), [0u8; 31]).expect("damage the key");
    let entries = ww.entries();
    let boot = ww.boot(&[]);
    boot.assert_ok();
    assert!(pid0_and_child(&boot.compiled) && boot.loaded.is_empty());
    let stderr = boot.stderr();
    assert_eq!(
        stderr.matches("cannot use the compiled cache").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("a file of 31 bytes") && stderr.contains("remove it"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(ww.key_file()).expect("key"), vec![0u8; 31]);
    assert_eq!(ww.entries(), entries);

    // Removed, a new key is made, and the old entries are refused and rebuilt under it.
    std::fs::remove_file(ww.key_file()).expect("remove the key");
    let boot = ww.boot(&[]);
    boot.assert_ok();
    assert!(pid0_and_child(&boot.compiled));
    assert_eq!(
        boot.stderr()
            .matches("not authenticated by this cache's key")
            .count(),
        2,
        "{}",
        boot.stderr()
    );
    let warm = ww.boot(&[]);
    warm.assert_ok();
    assert!(warm.compiled.is_empty() && pid0_and_child(&warm.loaded));
}

#[test]
fn a_key_of_mode_0444_or_with_another_link_is_refused_and_left_alone() {
    // The attack: a `compiled/key` of 32 bytes that is not one ww made: mode 0444 and a second
    // link, as a file of ww's files cache hard-linked into place by an image.
    let ww = Ww::new();
    ww.boot(&[]).assert_ok();
    let entries = ww.entries();
    std::fs::remove_file(ww.key_file()).expect("remove the key");
    let planted = ww.home().join("planted");
    std::fs::write(&planted, [7u8; 32]).expect("plant");
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    std::fs::hard_link(&planted, ww.key_file()).expect("link into place");

    let refused = |rules: &[&str]| {
        let boot = ww.boot(&[]);
        boot.assert_ok();
        assert!(pid0_and_child(&boot.compiled) && boot.loaded.is_empty());
        let stderr = boot.stderr();
        assert_eq!(
            stderr.matches("cannot use the compiled cache").count(),
            1,
            "{stderr}"
        );
        let key = ww.key_file().display().to_string();
        assert!(
            stderr.contains(&key) && stderr.contains("remove it"),
            "{stderr}"
        );
        for rule in rules {
            assert!(stderr.contains(rule), "{rule:?} not in {stderr}");
        }
        assert_eq!(std::fs::read(ww.key_file()).expect("key"), [7u8; 32]);
        assert_eq!(ww.entries(), entries, "the cache is not used");
    };
    refused(&[
        "has mode 0444, which gives group or others access",
        "has 2 links",
    ]);
    std::fs::set_permissions(ww.key_file(), std::fs::Permissions::from_mode(0o600)).expect("chmod");
    refused(&["has 2 links"]);

    // Its other name gone, it is a key as ww makes them (not the one the entries were made
    // with, so they are refused and rebuilt under it).
    std::fs::remove_file(&planted).expect("unlink the other name");
    let boot = ww.boot(&[]);
    boot.assert_ok();
    let stderr = boot.stderr();
    assert!(
        !stderr.contains("cannot use the compiled cache"),
        "{stderr}"
    );
    assert_eq!(
        stderr
            .matches("not authenticated by this cache's key")
            .count(),
        2,
        "{stderr}"
    );
}

/// Lets `nobody` reach `dir` (and read everything below it), the ww binary and the images.
fn open_to_nobody(dir: &Path) {
    let exe = bin("ww");
    let ran = Command::new("chmod").args(["-R", "o+rX"]).arg(dir).status();
    assert!(
        ran.is_ok_and(|s| s.success()),
        "chmod -R o+rX {}",
        dir.display()
    );
    reachable_for_nobody(&[dir, exe.parent().expect("bin dir"), built_images()]);
}

#[test]
fn a_cache_nobody_can_write_still_boots_compiling_with_a_warning() {
    let ww = Ww::new();
    // The union root is materialized (by root, as CI runs) with the compiled cache bypassed, so
    // that `compiled/` does not exist and `nobody` cannot create it.
    ww.boot(&["--no-cache"]).assert_ok();
    open_to_nobody(ww.home());
    // The block store is nobody's own (ww locks it); only the cache is someone else's.
    let store = ww.home().join("store");
    let chowned = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(&store)
        .status();
    assert!(
        chowned.is_ok_and(|s| s.success()),
        "chown -R nobody {}",
        store.display()
    );

    let mut as_nobody = Command::new("setpriv");
    as_nobody
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin("ww"));
    let boot = ww.boot_with(as_nobody, &[]);
    boot.assert_ok();
    assert!(
        pid0_and_child(&boot.compiled) && boot.loaded.is_empty(),
        "compiled {:?}, loaded {:?}",
        boot.compiled,
        boot.loaded
    );
    let stderr = boot.stderr();
    assert_eq!(
        stderr.matches("cannot use the compiled cache").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("cannot create"), "{stderr}");
    assert!(ww.entries().is_empty());
    assert!(!ww.cache().join("compiled").exists());
}

/// `--json-log` writes ww's log as one JSON object per line, and `RUST_LOG` filters it when
/// `WW_LOG` is not set.
#[test]
fn the_log_is_json_with_json_log_and_filtered_by_rust_log() {
    let ww = Ww::new();
    let mut cmd = ww_in(ww.home());
    cmd.env("RUST_LOG", "ww::compile=debug")
        .args(["--json-log", "run"])
        .arg(built_images().join("images").join("default"));
    let out = output(&mut cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let compiled: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["target"] == "ww::compile" && e["level"] == "DEBUG")
        .collect();
    assert_eq!(compiled.len(), 2, "pid0 and child-echo compiled: {stderr}");
    for event in compiled {
        let message = event["fields"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("compiled "), "{event}");
    }
}
