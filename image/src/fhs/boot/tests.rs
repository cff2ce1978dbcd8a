//! Tests of the boot-file format and of reading boot files from a union. (The grammar of
//! peer IDs and multiaddrs is tested in `ww_content::multiaddr`.)

use super::*;

pub(in crate::fhs) fn peer(multihash: &[u8]) -> String {
    bs58::encode(multihash).into_string()
}

pub(in crate::fhs) fn identity_peer() -> String {
    let mut mh = vec![0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
    mh.extend([7u8; 32]);
    peer(&mh)
}

pub(in crate::fhs) fn sha_peer() -> String {
    let mut mh = vec![0x12, 0x20];
    mh.extend([9u8; 32]);
    peer(&mh)
}

#[test]
fn parse_gives_the_multiaddrs_or_every_problem() {
    let id = identity_peer();
    assert_eq!(
        parse_boot_file(
            &id,
            b"/ip4/1.2.3.4/tcp/1\n/dns4/example.com/udp/4001/quic-v1\n"
        ),
        Ok(vec![
            "/ip4/1.2.3.4/tcp/1".to_string(),
            "/dns4/example.com/udp/4001/quic-v1".to_string()
        ])
    );
    assert_eq!(
        parse_boot_file(&id, b"/ip6/::1/tcp/1"),
        Ok(vec!["/ip6/::1/tcp/1".into()])
    );
    let problems = parse_boot_file("not-a-peer", b"/ip4/1.2.3.4\n\n# seeds\n").unwrap_err();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0].starts_with("the name `not-a-peer` is not a libp2p peer ID: not base58btc"),
        "{problems:?}"
    );
    assert!(problems[0].ends_with(BOOT_NAME_RULE), "{problems:?}");
    assert_eq!(problems[1], format!("line 2 is blank; {BOOT_CONTENT_RULE}"));
    assert!(
        problems[2].starts_with("line 3: `# seeds` is not a multiaddr: "),
        "{problems:?}"
    );
    // Lenient readers took these; the one parser does not.
    for bad in [&b"/ip4/1.2.3.4\r\n"[..], b" /ip4/1.2.3.4\n", b"", b"\n"] {
        assert!(parse_boot_file(&id, bad).is_err(), "{bad:?}");
    }
}

/// The result of `fhs::boot_peers` on an image whose only file is `boot/<name>`, written
/// by `write` to a host file.
fn boot_peers_of(
    name: &str,
    write: impl FnOnce(&std::path::Path),
) -> Result<Vec<(String, Vec<String>)>, String> {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("boot-file");
    write(&source);
    let mut tree = ww_content::tree::Tree::default();
    let path = format!("boot/{name}");
    tree.insert_file(ww_content::tree::RelPath::new(&path).unwrap(), source)
        .unwrap();
    let union = crate::union::Union::of([("base", &tree)]).unwrap();
    crate::fhs::boot_peers(&union)
}

#[test]
fn twenty_megabytes_of_blank_lines_give_bounded_problems() {
    // The attack: 20 MiB of `\n` (one repeated leaf as a DAG). Each blank line used to be
    // a message of its own, all kept: gigabytes. Now 20 are worded and the rest counted.
    let id = identity_peer();
    let size = 20 << 20;
    let problems = parse_boot_file(&id, &vec![b'\n'; size]).unwrap_err();
    assert_eq!(
        problems.len(),
        MAX_BOOT_PROBLEMS + 1,
        "{:?}",
        &problems[..3]
    );
    assert_eq!(problems[0], format!("line 1 is blank; {BOOT_CONTENT_RULE}"));
    assert_eq!(
        problems[MAX_BOOT_PROBLEMS - 1],
        format!("line {MAX_BOOT_PROBLEMS} is blank; {BOOT_CONTENT_RULE}")
    );
    // 20 MiB of `\n`: the last one ends the file, the others end 20 MiB blank lines.
    assert_eq!(
        problems[MAX_BOOT_PROBLEMS],
        format!("… and {} more problems", size - MAX_BOOT_PROBLEMS)
    );

    // As a file of an image it is refused from its size, before it is read.
    let err = boot_peers_of(&id, |p| std::fs::write(p, vec![b'\n'; size]).unwrap()).unwrap_err();
    assert_eq!(
        err,
        format!(
            "`boot/{id}` from layer `base`: is {size} bytes, more than the 65536 bytes a \
             boot file may hold; {BOOT_CONTENT_RULE}"
        )
    );
}

#[test]
fn a_boot_file_over_the_cap_is_one_error_from_its_metadata() {
    let id = identity_peer();
    let line = b"/ip4/1.2.3.4/tcp/1\n";
    let cap = usize::try_from(MAX_BOOT_FILE).unwrap();
    // Exactly the cap is accepted.
    let full: Vec<u8> = line.iter().copied().cycle().take(cap).collect();
    let lines = full.iter().filter(|&&b| b == b'\n').count();
    // The cap is not a multiple of the line: the last line is cut, so it is refused, but
    // for what it holds, not for its size.
    let err = boot_peers_of(&id, |p| std::fs::write(p, &full).unwrap()).unwrap_err();
    assert!(
        err.contains(&format!("line {}: `/ip4/`", lines + 1)),
        "{err}"
    );
    assert!(!err.contains("bytes a boot file may hold"), "{err}");
    let whole = &full[..lines * line.len()];
    let peers = boot_peers_of(&id, |p| std::fs::write(p, whole).unwrap()).unwrap();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].1.len(), lines);

    // One byte more is one error naming the path, the size and the cap.
    let over = [whole, &vec![b'/'; cap + 1 - whole.len()]].concat();
    let err = boot_peers_of(&id, |p| std::fs::write(p, &over).unwrap()).unwrap_err();
    assert_eq!(
        err,
        format!(
            "`boot/{id}` from layer `base`: {}",
            too_large(MAX_BOOT_FILE + 1)
        )
    );
    assert!(err.contains(&format!("is {} bytes", cap + 1)), "{err}");
    assert!(err.contains("more than the 65536 bytes"), "{err}");

    // A sparse 64 GiB file: reading it would exhaust memory, its size says enough.
    let huge = 64u64 << 30;
    let err = boot_peers_of(&id, |p| {
        std::fs::File::create(p).unwrap().set_len(huge).unwrap()
    })
    .unwrap_err();
    assert!(
        err.contains(&format!("is {huge} bytes, more than")),
        "{err}"
    );
}

#[test]
fn problems_past_the_cap_are_counted_in_one_line() {
    let blank = |n: usize| vec![b'\n'; n];
    // A bad name and 19 blank lines: 20 problems, all worded.
    let problems = parse_boot_file("not-a-peer", &blank(19)).unwrap_err();
    assert_eq!(problems.len(), MAX_BOOT_PROBLEMS, "{problems:?}");
    assert!(
        problems[0].starts_with("the name `not-a-peer`"),
        "{problems:?}"
    );
    assert!(problems.iter().all(|p| !p.starts_with('…')), "{problems:?}");
    // One more: counted, in the singular.
    let problems = parse_boot_file("not-a-peer", &blank(20)).unwrap_err();
    assert_eq!(problems.len(), MAX_BOOT_PROBLEMS + 1, "{problems:?}");
    assert_eq!(problems[MAX_BOOT_PROBLEMS], "… and 1 more problem");
    // Bad lines among good ones are counted too, the good ones not: 60 lines, the even
    // ones bad.
    let id = identity_peer();
    let text: String = (1..=60)
        .map(|n| {
            if n % 2 == 0 {
                "nope\n"
            } else {
                "/ip4/1.2.3.4\n"
            }
        })
        .collect();
    let problems = parse_boot_file(&id, text.as_bytes()).unwrap_err();
    assert_eq!(problems.len(), MAX_BOOT_PROBLEMS + 1, "{problems:?}");
    assert!(
        problems[0].starts_with("line 2: `nope` is not a multiaddr"),
        "{problems:?}"
    );
    assert!(
        problems[MAX_BOOT_PROBLEMS - 1].starts_with("line 40: `nope`"),
        "{problems:?}"
    );
    assert_eq!(problems[MAX_BOOT_PROBLEMS], "… and 10 more problems");
}

#[test]
fn quoted_names_and_lines_have_control_characters_escaped() {
    let problems = parse_boot_file("x\u{1b}[2J", b"/ip4/1.2.3.4/\x1b]0;pwned\x07\n").unwrap_err();
    let all = problems.join("\n");
    assert!(!all.contains('\u{1b}') && !all.contains('\u{7}'), "{all:?}");
    assert!(all.contains("x\\x1b[2J"), "{all}");
    assert!(all.contains("\\x1b]0;pwned\\x07"), "{all}");
}
