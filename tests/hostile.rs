//! Hostile images against the real `ww` and `wwpack`: DAGs made by hand as an attacker would
//! publish them (names with `/`, duplicate names, a symlink for `boot`, HAMTs that link one
//! shard over and over, DAGs thousands of levels deep, sizes that overflow, a 2^60-byte file),
//! planted cache entries, corrupt store blocks, and signals while ww loads. Each is refused or
//! bounded with a message naming the CID or file and the rule; nothing is written outside the
//! directories ww made; what was cached is verified before use.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use e2e::dag::Dag;
use e2e::{output, write_tree};
use ww_content::cid::Cid;

/// How long a test lets a command run before it kills it, so that an unbounded walk fails the
/// test instead of hanging it. Nothing is asserted about how fast anything is.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// A WASI command whose `run` returns `status` (0 or 1).
fn command(status: u8) -> Vec<u8> {
    e2e::exiting_command(status)
}

/// A home for one ww: its store, cache and data, and a directory "outside" that hostile
/// symlinks point at, which must stay empty.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let home = Home {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        std::fs::create_dir(home.outside()).expect("outside");
        home
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn store(&self) -> PathBuf {
        self.path().join("store")
    }

    fn cache(&self) -> PathBuf {
        self.path().join("cache")
    }

    fn outside(&self) -> PathBuf {
        self.path().join("outside")
    }

    fn ww(&self, layers: &[&str], flags: &[&str]) -> Output {
        guarded(e2e::ww_in(self.path()).arg("run").args(layers).args(flags))
    }

    fn wwpack(&self, args: &[&str]) -> Output {
        guarded(
            Command::new(e2e::bin("wwpack"))
                .env_remove("IPFS_API")
                .arg("--store")
                .arg(self.store())
                .args(args),
        )
    }

    /// Asserts that nothing was written outside the cache's own directories: the "outside"
    /// directory is empty and the cache holds nothing but files/, roots/, tmp/ (and
    /// compiled/), with an empty tmp/.
    fn assert_contained(&self) {
        let outside: Vec<_> = std::fs::read_dir(self.outside())
            .expect("outside")
            .map(|e| e.expect("entry").path())
            .collect();
        assert!(outside.is_empty(), "written outside the cache: {outside:?}");
        if let Ok(entries) = std::fs::read_dir(self.cache()) {
            for entry in entries {
                let name = entry.expect("entry").file_name();
                assert!(
                    ["files", "roots", "tmp", "compiled"].contains(&name.to_str().unwrap_or("?")),
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
fn guarded(cmd: &mut Command) -> Output {
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
            // SAFETY: sending a signal to our own child process; no memory is involved.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    });
    let out = child.wait_with_output().expect("wait");
    let _ = done.send(());
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts `o` failed with `status`, one clear line on stderr holding every needle, no panic.
fn assert_refused(o: &Output, status: i32, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(status), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "`{needle}` not in: {err}");
    }
}

/// The root directory of an image holding `bin/main.wasm` (status 0) and `extra` entries.
fn image_with(dag: &Dag, extra: &[(&str, &Cid)]) -> Cid {
    let main = dag.raw(&command(0));
    let bin = dag.dir(&[("main.wasm", &main)]);
    let mut entries = vec![("bin", &bin)];
    entries.extend_from_slice(extra);
    dag.dir(&entries)
}

#[test]
fn a_name_with_a_slash_is_refused_and_nothing_lands_under_a_symlink() {
    let home = Home::new();
    let dag = Dag::new();
    let link = dag.symlink(home.outside().to_str().unwrap());
    let payload = dag.raw(b"planted\n");
    let root = image_with(&dag, &[("etc", &link), ("etc/passwd", &payload)]);
    dag.store_into(&home.store());
    let o = home.ww(&[&root.to_string()], &[]);
    assert_refused(
        &o,
        125,
        &[&root.to_string(), "`etc/passwd`", "contains `/`"],
    );
    home.assert_contained();

    let o = home.wwpack(&["ls", &root.to_string()]);
    assert_refused(&o, 1, &["`etc/passwd`", "contains `/`"]);
}

#[test]
fn a_name_with_a_slash_inside_a_hamt_shard_is_refused() {
    let home = Home::new();
    let dag = Dag::new();
    let link = dag.symlink("../outside");
    let payload = dag.raw(b"planted\n");
    let shard = dag.shard(
        &[("0Aetc".into(), &link), ("B7etc/passwd".into(), &payload)],
        256,
    );
    let root = image_with(&dag, &[("etc", &shard)]);
    dag.store_into(&home.store());
    let o = home.ww(&[&root.to_string()], &[]);
    assert_refused(&o, 125, &[&shard.to_string(), "contains `/`"]);
    home.assert_contained();
}

#[test]
fn duplicate_names_a_symlink_then_a_directory_are_refused() {
    let home = Home::new();
    let dag = Dag::new();
    let link = dag.symlink(home.outside().to_str().unwrap());
    let payload = dag.raw(b"planted\n");
    let sub = dag.dir(&[("passwd", &payload)]);
    let root = image_with(&dag, &[("etc", &link), ("etc", &sub)]);
    dag.store_into(&home.store());
    let o = home.ww(&[&root.to_string()], &[]);
    assert_refused(&o, 125, &[&root.to_string(), "`etc`", "appears twice"]);
    home.assert_contained();
    let o = home.wwpack(&["cat", &format!("{root}/etc/passwd")]);
    assert_refused(&o, 1, &["appears twice"]);
}

#[test]
fn names_that_are_dot_dotdot_empty_or_hold_nul_are_refused() {
    for (name, rule) in [
        ("..", "is `.` or `..`"),
        (".", "is `.` or `..`"),
        ("", "is empty"),
        ("a\0b", "contains a NUL byte"),
    ] {
        let home = Home::new();
        let dag = Dag::new();
        let payload = dag.raw(b"x");
        let root = image_with(&dag, &[(name, &payload)]);
        dag.store_into(&home.store());
        let o = home.ww(&[&root.to_string()], &[]);
        assert_refused(&o, 125, &[rule]);
        home.assert_contained();
    }
}

#[test]
fn control_characters_in_a_name_are_escaped_in_messages() {
    let home = Home::new();
    let dag = Dag::new();
    let payload = dag.raw(b"x");
    let root = image_with(&dag, &[("a\u{1b}]0;pwned\u{7}/b", &payload)]);
    dag.store_into(&home.store());
    let o = home.ww(&[&root.to_string()], &[]);
    assert_refused(&o, 125, &["a\\x1b]0;pwned\\x07/b"]);
    assert!(!stderr(&o).contains('\u{1b}'), "raw escape on stderr");
}

#[test]
fn a_hamt_linking_one_shard_twice_per_level_is_refused_at_once() {
    // Fanout 2: 60 levels, two links per level to the same shard: 2^60 paths in 61 blocks.
    let home = Home::new();
    let dag = Dag::new();
    let leaf = dag.raw(b"leaf");
    let mut shard = dag.shard(&[("0x".into(), &leaf)], 2);
    for _ in 0..60 {
        shard = dag.shard(&[("0".into(), &shard), ("1".into(), &shard)], 2);
    }
    let root = image_with(&dag, &[("etc", &shard)]);
    dag.store_into(&home.store());
    let o = home.wwpack(&["ls", &shard.to_string()]);
    assert_refused(&o, 1, &["linked twice"]);
    let o = home.ww(&[&root.to_string()], &[]);
    assert_refused(&o, 125, &["linked twice"]);
    home.assert_contained();
}

#[test]
fn a_directory_linked_twice_per_level_is_bounded_by_the_block_budget() {
    // Unique names, each pair naming the same child: 2^40 paths from 41 blocks. The walk is
    // refused once it has decoded its budget of blocks, long before it could finish.
    let home = Home::new();
    let dag = Dag::new();
    let leaf = dag.raw(b"leaf");
    let mut dir = dag.dir(&[("f", &leaf)]);
    for _ in 0..40 {
        dir = dag.dir(&[("a", &dir), ("b", &dir)]);
    }
    let root = image_with(&dag, &[("etc", &dir)]);
    dag.store_into(&home.store());
    let o = home.ww(&[&root.to_string()], &[]);
    assert_refused(&o, 125, &["reading this DAG took more than"]);
    home.assert_contained();
}

#[test]
fn a_directory_dag_thousands_deep_is_refused_without_overflowing_the_stack() {
    let home = Home::new();
    let dag = Dag::new();
    let mut dir = dag.dir(&[]);
    for _ in 0..4000 {
        dir = dag.dir(&[("d", &dir)]);
    }
    let root = image_with(&dag, &[("etc", &dir)]);
    dag.store_into(&home.store());
    let o = home.ww(&[&root.to_string()], &[]);
    assert_refused(&o, 125, &["nests deeper than 256 levels"]);
    home.assert_contained();
}

#[test]
fn block_sizes_that_overflow_are_a_malformed_node_not_a_panic() {
    let home = Home::new();
    let dag = Dag::new();
    let a = dag.raw(b"a");
    let b = dag.raw(b"b");
    // The largest sizes a 63-bit varint holds, which add up past u64.
    let max = u64::MAX >> 1;
    let file = dag.file(&[(&a, max), (&b, max), (&a, 2)], None);
    let root = image_with(&dag, &[("etc", &dag.dir(&[("big", &file)]))]);
    dag.store_into(&home.store());
    let o = home.wwpack(&["cat", &file.to_string()]);
    assert_refused(&o, 1, &[&file.to_string(), "past 2^64"]);
    let o = home.ww(&[&root.to_string()], &[]);
    assert_refused(&o, 125, &[&file.to_string(), "past 2^64"]);
    home.assert_contained();
}

#[test]
fn a_2_pow_60_byte_file_is_refused_before_anything_is_written() {
    // One 1 MiB leaf linked 1024 times per level over 4 levels: a 2^60-byte file in 5 blocks.
    let home = Home::new();
    let dag = Dag::new();
    let leaf = dag.raw(&vec![7u8; 1 << 20]);
    let mut node = leaf;
    let mut size: u64 = 1 << 20;
    for _ in 0..4 {
        let children: Vec<(&Cid, u64)> = (0..1024).map(|_| (&node, size)).collect();
        let next = dag.file(&children, Some(size * 1024));
        node = next;
        size *= 1024;
    }
    assert_eq!(size, 1 << 60);
    let root = image_with(&dag, &[("etc", &dag.dir(&[("huge", &node)]))]);
    dag.store_into(&home.store());
    let o = home.ww(&[&root.to_string()], &[]);
    assert_refused(&o, 125, &["`etc/huge`", "--max-image-size 4 GiB"]);
    home.assert_contained();
    let files = std::fs::read_dir(home.cache().join("files"))
        .expect("files")
        .count();
    assert_eq!(files, 0, "a file was written before the size check");

    // The flag moves the limit: a small image over 1 KiB is refused, under it boots.
    let small = Home::new();
    let dag = Dag::new();
    let root = image_with(
        &dag,
        &[("etc", &dag.dir(&[("two-kib", &dag.raw(&[1; 2048]))]))],
    );
    dag.store_into(&small.store());
    let size_of_main = command(0).len();
    let o = small.ww(&[&root.to_string()], &["--max-image-size", "1KiB"]);
    assert_refused(&o, 125, &["--max-image-size 1 KiB"]);
    let limit = format!("{}", size_of_main + 2048);
    let o = small.ww(&[&root.to_string()], &["--max-image-size", &limit]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn a_boot_symlink_in_an_image_or_an_overlay_is_refused_and_never_read() {
    let home = Home::new();
    let peer = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
    let dag = Dag::new();
    let peers = dag.dir(&[(peer, &dag.raw(b"/ip4/1.2.3.4/tcp/1\n"))]);
    let etc = dag.dir(&[("peers", &peers)]);
    let link = dag.symlink("etc/peers");
    let root = image_with(&dag, &[("boot", &link), ("etc", &etc)]);
    dag.store_into(&home.store());
    let o = home.ww(&[&root.to_string()], &[]);
    assert_refused(&o, 125, &["`boot`", "is a symlink", "must be a directory"]);
    home.assert_contained();

    // An overlay's boot/ symlink to a host directory: refused by the layer's symlink rule.
    let host = home.path().join("host-peers");
    write_tree(&host, &[(peer, b"/ip4/9.9.9.9/tcp/9\n")]);
    let overlay = home.path().join("overlay");
    std::fs::create_dir(&overlay).expect("overlay");
    std::os::unix::fs::symlink(&host, overlay.join("boot")).expect("symlink");
    let image = home.path().join("image");
    write_tree(&image, &[("bin/main.wasm", &command(0))]);
    let o = home.ww(&[image.to_str().unwrap(), overlay.to_str().unwrap()], &[]);
    assert_refused(&o, 125, &["`boot`", "absolute path"]);
    // And a boot file that is a symlink inside the overlay's own boot/.
    std::fs::remove_file(overlay.join("boot")).expect("rm");
    std::fs::create_dir(overlay.join("boot")).expect("boot");
    std::os::unix::fs::symlink(format!("../etc/{peer}"), overlay.join("boot").join(peer))
        .expect("symlink");
    write_tree(
        &overlay,
        &[(&format!("etc/{peer}"), b"/ip4/9.9.9.9/tcp/9\n")],
    );
    let o = home.ww(&[image.to_str().unwrap(), overlay.to_str().unwrap()], &[]);
    assert_refused(&o, 125, &[&format!("`boot/{peer}`"), "is a symlink"]);
}

#[test]
fn a_boot_file_that_breaks_the_build_rules_stops_the_boot_with_the_same_message() {
    let home = Home::new();
    let image = home.path().join("image");
    write_tree(
        &image,
        &[
            ("bin/main.wasm", &command(0)),
            ("boot/not-a-peer-id", b"/ip4/1.2.3.4/tcp/1\n"),
        ],
    );
    let o = home.ww(&[image.to_str().unwrap()], &[]);
    assert_refused(
        &o,
        125,
        &["`boot/not-a-peer-id`", "is not a libp2p peer ID"],
    );
}

#[test]
fn a_planted_or_damaged_cached_file_is_verified_warned_about_and_rewritten() {
    let home = Home::new();
    let image = home.path().join("image");
    write_tree(&image, &[("bin/main.wasm", &command(0))]);
    let image = image.to_str().unwrap().to_string();
    let first = home.ww(&[&image], &["--no-cache"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));

    // Replace the cached pid0 with another command (status 1) of the same size.
    let files = home.cache().join("files");
    let entry = std::fs::read_dir(&files)
        .expect("files")
        .map(|e| e.expect("entry").path())
        .next()
        .expect("one cached file");
    let evil = command(1);
    assert_eq!(evil.len(), command(0).len());
    std::fs::remove_file(&entry).expect("rm");
    std::fs::write(&entry, &evil).expect("plant");
    let o = home.ww(&[&image], &["--no-cache"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "the planted pid0 ran: {}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("holds other bytes"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&entry).expect("entry"), command(0));

    // A symlink planted as the entry is not followed, and replaced.
    let target = home.outside().join("evil.wasm");
    std::fs::write(&target, &evil).expect("evil");
    std::fs::remove_file(&entry).expect("rm");
    std::os::unix::fs::symlink(&target, &entry).expect("symlink");
    let o = home.ww(&[&image], &["--no-cache"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot be used"), "{}", stderr(&o));
    assert!(!std::fs::symlink_metadata(&entry)
        .expect("entry")
        .is_symlink());
    assert_eq!(
        std::fs::read(&target).expect("target"),
        command(1),
        "written through"
    );
    std::fs::remove_file(&target).expect("rm");
    home.assert_contained();
}

#[test]
fn a_cached_root_that_does_not_match_its_union_is_made_anew() {
    let home = Home::new();
    let image = home.path().join("image");
    write_tree(
        &image,
        &[("bin/main.wasm", &command(0)), ("etc/motd", b"hello\n")],
    );
    let image = image.to_str().unwrap().to_string();
    let o = home.ww(&[&image], &["--no-cache"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let roots = home.cache().join("roots");
    let root = std::fs::read_dir(&roots)
        .expect("roots")
        .map(|e| e.expect("entry").path())
        .next()
        .expect("one root");

    // A planted extra entry, then a symlink in place of a directory.
    std::fs::write(root.join("etc/planted"), b"x").expect("plant");
    let o = home.ww(&[&image], &["--no-cache"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("does not match its union"),
        "{}",
        stderr(&o)
    );
    assert!(!root.join("etc/planted").exists());

    std::fs::remove_dir_all(root.join("etc")).expect("rm");
    std::os::unix::fs::symlink(home.outside(), root.join("etc")).expect("symlink");
    let o = home.ww(&[&image], &["--no-cache"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("does not match its union"),
        "{}",
        stderr(&o)
    );
    assert!(root.join("etc").is_dir() && !root.join("etc").is_symlink());
    assert_eq!(
        std::fs::read(root.join("etc/motd")).expect("motd"),
        b"hello\n"
    );
    home.assert_contained();
}

#[test]
fn a_name_longer_than_the_file_system_takes_is_refused_before_anything_is_written() {
    let home = Home::new();
    let dag = Dag::new();
    let long = "x".repeat(300);
    let root = image_with(&dag, &[("etc", &dag.dir(&[(&long, &dag.raw(b"x"))]))]);
    dag.store_into(&home.store());
    let o = home.ww(&[&root.to_string()], &[]);
    assert_refused(&o, 125, &["is longer than 255 bytes"]);
    home.assert_contained();
    let roots = std::fs::read_dir(home.cache().join("roots"))
        .expect("roots")
        .count();
    assert_eq!(roots, 0);
}

#[test]
fn a_corrupt_store_block_is_repaired_by_add_and_import() {
    let home = Home::new();
    let src = home.path().join("src");
    write_tree(
        &src,
        &[("a.txt", b"some content"), ("b/c.txt", b"more content")],
    );
    let add = home.wwpack(&["add", src.to_str().unwrap()]);
    assert!(add.status.success(), "{}", stderr(&add));
    let root = String::from_utf8_lossy(&add.stdout).trim().to_string();
    let leaf = Cid::v1_sha2_256(ww_content::cid::RAW, b"some content");
    let store = ww_content::store::Store::open(&home.store()).expect("store");
    let path = store.block_path(&leaf);
    let flip = |path: &Path| {
        let mut bytes = std::fs::read(path).expect("block");
        bytes[0] ^= 1;
        std::fs::write(path, bytes).expect("corrupt");
    };

    flip(&path);
    let o = home.wwpack(&["cat", &format!("{root}/a.txt")]);
    assert_refused(&o, 1, &[&leaf.to_string(), "do not match"]);
    let o = home.wwpack(&["add", src.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("repaired block {leaf}")),
        "{}",
        stderr(&o)
    );
    let o = home.wwpack(&["cat", &format!("{root}/a.txt")]);
    assert_eq!(o.stdout, b"some content", "{}", stderr(&o));

    let car = home.path().join("x.car");
    let o = home.wwpack(&["export", &root, "-o", car.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    flip(&path);
    let o = home.wwpack(&["import", car.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("repaired block {leaf}")),
        "{}",
        stderr(&o)
    );
    let o = home.wwpack(&["cat", &format!("{root}/a.txt")]);
    assert_eq!(o.stdout, b"some content", "{}", stderr(&o));
}

/// Sends `signal` to `child` and returns its exit code, its stderr and how long it took to end.
fn stop(mut child: std::process::Child, signal: i32) -> (Option<i32>, String, Duration) {
    // SAFETY: sending a signal to our own child process; no memory is involved.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let sent = Instant::now();
    let status = child.wait().expect("wait");
    let took = sent.elapsed();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
        .expect("stderr");
    (status.code(), err, took)
}

#[test]
fn sigterm_while_waiting_on_a_node_that_never_answers_stops_ww() {
    // A "node" that accepts connections and never says a word, with a timeout far away.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let home = Home::new();
    let missing = Cid::v1_sha2_256(ww_content::cid::DAG_PB, b"nowhere");
    for (signal, status) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let child = e2e::ww_in(home.path())
            .args([
                "run",
                &missing.to_string(),
                "--api",
                &url,
                "--api-timeout",
                "600",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ww");
        std::thread::sleep(Duration::from_millis(500));
        let (code, err, took) = stop(child, signal);
        assert_eq!(code, Some(status), "{err}");
        assert!(err.contains("while loading the image"), "{err}");
        assert!(took < Duration::from_secs(30), "took {took:?} to stop");
        eprintln!("stopped {took:?} after the signal");
        home.assert_contained();
    }
}

#[test]
fn sigterm_while_a_large_file_is_written_to_the_cache_stops_ww_and_cleans_up() {
    let home = Home::new();
    let dag = Dag::new();
    let leaf = dag.raw(&vec![3u8; 1 << 20]);
    let children: Vec<(&Cid, u64)> = (0..1024).map(|_| (&leaf, 1 << 20)).collect();
    let big = dag.file(&children, Some(1 << 30));
    let root = image_with(&dag, &[("etc", &dag.dir(&[("big", &big)]))]);
    dag.store_into(&home.store());
    for (signal, status) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let child = e2e::ww_in(home.path())
            .args(["run", &root.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ww");
        // Wait until the big file is being written.
        let tmp = home.cache().join("tmp");
        let started = Instant::now();
        while std::fs::read_dir(&tmp).map_or(0, |d| d.count()) == 0 {
            assert!(started.elapsed() < HANG_GUARD, "ww never started writing");
            std::thread::sleep(Duration::from_millis(10));
        }
        let (code, err, took) = stop(child, signal);
        assert_eq!(code, Some(status), "{err}");
        assert!(err.contains("while loading the image"), "{err}");
        assert!(took < Duration::from_secs(30), "took {took:?} to stop");
        eprintln!("stopped {took:?} after the signal");
        home.assert_contained();
        let big_entry = home.cache().join("files").join(big.to_string());
        assert!(!big_entry.exists(), "a half file was kept");
    }
}

#[test]
fn an_overlay_cannot_put_files_under_a_symlink_of_the_image() {
    // The image links `etc` to a directory of its own; an overlay brings `etc/passwd`.
    let home = Home::new();
    let dag = Dag::new();
    let real = dag.dir(&[("motd", &dag.raw(b"hi\n"))]);
    let link = dag.symlink("real");
    let root = image_with(&dag, &[("etc", &link), ("real", &real)]);
    dag.store_into(&home.store());
    let overlay = home.path().join("overlay");
    write_tree(&overlay, &[("etc/passwd", b"planted\n")]);
    let o = home.ww(&[&root.to_string(), overlay.to_str().unwrap()], &[]);
    assert_refused(&o, 125, &["`etc`", "symlink", "directory"]);
    home.assert_contained();
}

#[test]
fn a_fifo_or_socket_in_an_overlay_is_refused_as_the_build_refuses_it() {
    let home = Home::new();
    let image = home.path().join("image");
    write_tree(&image, &[("bin/main.wasm", &command(0))]);
    let overlay = home.path().join("overlay");
    std::fs::create_dir_all(overlay.join("etc")).expect("overlay");
    let fifo = overlay.join("etc/pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo")
        .success());
    let o = home.ww(&[image.to_str().unwrap(), overlay.to_str().unwrap()], &[]);
    assert_refused(&o, 125, &["etc/pipe", "FIFO"]);
    let _socket = std::os::unix::net::UnixListener::bind(overlay.join("etc/sock"));
    std::fs::remove_file(&fifo).expect("rm");
    let o = home.ww(&[image.to_str().unwrap(), overlay.to_str().unwrap()], &[]);
    assert_refused(&o, 125, &["etc/sock", "socket"]);
}

#[test]
fn a_corrupt_store_block_is_repaired_by_pull_and_by_ww_from_the_node() {
    let node = e2e::IpfsNode::start();
    let home = Home::new();
    let image = home.path().join("image");
    write_tree(
        &image,
        &[
            ("bin/main.wasm", &command(0)),
            ("etc/motd", b"from the node\n"),
        ],
    );
    let add = home.wwpack(&["add", image.to_str().unwrap()]);
    assert!(add.status.success(), "{}", stderr(&add));
    let root = String::from_utf8_lossy(&add.stdout).trim().to_string();
    // Put the DAG on the node through a CAR, as another host would have pushed it.
    let car = home.path().join("image.car");
    let o = home.wwpack(&["export", &root, "-o", car.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let imported = output(
        Command::new(e2e::repo().join("scripts/ipfs-node"))
            .arg("cli")
            .arg(&node.repo)
            .args(["dag", "import"])
            .arg(&car),
    );
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );

    let motd = Cid::v1_sha2_256(ww_content::cid::RAW, b"from the node\n");
    let store = ww_content::store::Store::open(&home.store()).expect("store");
    let corrupt = || {
        let path = store.block_path(&motd);
        let mut bytes = std::fs::read(&path).expect("block");
        bytes[0] ^= 1;
        std::fs::write(&path, bytes).expect("corrupt");
    };
    corrupt();
    let o = home.wwpack(&["--api", &node.url, "pull", &root]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("repaired block {motd}")),
        "{}",
        stderr(&o)
    );
    assert_eq!(store.get(&motd).expect("repaired"), b"from the node\n");

    corrupt();
    let o = guarded(e2e::ww_in(home.path()).env("IPFS_API", &node.url).args([
        "run",
        &root,
        "--no-cache",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("repaired block {motd}")),
        "{}",
        stderr(&o)
    );
    assert_eq!(store.get(&motd).expect("repaired"), b"from the node\n");
}

#[test]
fn an_overlay_changed_while_ww_reads_it_cannot_bring_in_a_host_file() {
    // While ww copies `a/big`, the overlay's `d` (after `a` in ww's order) becomes a symlink
    // to a directory outside it holding a secret. Read by path, `d/f` would be the secret.
    let home = Home::new();
    let secret_dir = home.path().join("secret");
    write_tree(&secret_dir, &[("f", b"TOP SECRET host file\n")]);
    let image = home.path().join("image");
    write_tree(&image, &[("bin/main.wasm", &command(0))]);
    let overlay = home.path().join("overlay");
    write_tree(&overlay, &[("d/f", b"decoy\n")]);
    std::fs::create_dir_all(overlay.join("a")).expect("a");
    let big = std::fs::File::create(overlay.join("a/big")).expect("big");
    big.set_len(256 << 20).expect("256 MiB");
    drop(big);

    let child = e2e::ww_in(home.path())
        .args([
            "run",
            "--no-cache",
            image.to_str().unwrap(),
            overlay.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ww");
    // Wait until `a/big` is being copied (a temporary file past 1 MiB).
    let tmp = home.cache().join("tmp");
    let copying = || {
        std::fs::read_dir(&tmp)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.metadata().is_ok_and(|m| m.len() > 1 << 20))
    };
    let started = Instant::now();
    while !copying() {
        assert!(started.elapsed() < HANG_GUARD, "ww never started copying");
        std::thread::sleep(Duration::from_millis(2));
    }
    std::fs::rename(overlay.join("d"), home.path().join("d.old")).expect("move d away");
    std::os::unix::fs::symlink(&secret_dir, overlay.join("d")).expect("swap in a symlink");
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(
        err.contains("`d`") && err.contains("absolute path"),
        "{err}"
    );
    for entry in std::fs::read_dir(home.cache().join("files")).expect("files") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        assert!(
            bytes != b"TOP SECRET host file\n",
            "the host file was cached"
        );
    }
    home.assert_contained();
}
