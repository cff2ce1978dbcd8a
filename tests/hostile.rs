//! Hostile images against the real `ww`: DAGs made by hand as an attacker would publish them
//! (names with `/`, duplicate names, a symlink for `boot`, HAMTs that link one shard over and
//! over, DAGs thousands of levels deep, sizes that overflow, a 2^60-byte file, names longer than
//! the file system takes). Each is refused or bounded with a message naming the CID or file and
//! the rule; nothing is written outside the directories ww made. The host's side (caches, the
//! store, signals, overlays) is in `hostile_host.rs`.

use e2e::dag::Dag;
use e2e::hostile::{assert_refused, command, image_with, Home};
use e2e::{stderr, write_tree};
use ww_content::cid::Cid;

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
