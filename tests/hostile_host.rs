//! Hostile input against the host side of the real `ww` and `wwpack`: planted or damaged cache
//! entries and roots, corrupt store blocks (repaired by `add`, `import`, `pull` and by `ww` from
//! a node), signals while ww loads or writes, and overlays that hold symlinks, FIFOs or change
//! while ww reads them. Each is refused or bounded with a message naming the CID or file and the
//! rule; nothing is written outside the directories ww made; what was cached is verified before
//! use. DAGs made by hand are in `hostile.rs`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::dag::Dag;
use e2e::hostile::{assert_refused, command, guarded, image_with, Home, HANG_GUARD};
use e2e::{output, stderr, write_tree};
use ww_content::cid::Cid;

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
    // The copy readers take, wherever the store keeps it (a pack, then the block file that
    // repaired it).
    let flip = || {
        let at = store.locate(&leaf).expect("the leaf is stored");
        e2e::flip_byte(&at.path, at.offset);
    };

    flip();
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
    flip();
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
    e2e::signal(&child, signal);
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
        let at = store.locate(&motd).expect("the motd is stored");
        e2e::flip_byte(&at.path, at.offset);
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
