//! The boot files of an image: `boot/<peer-id>`, each holding the multiaddrs of one peer, one
//! per line. [`parse_boot_file`] is the one parser, used by `wwpack build` (through
//! [`super::check_image`]) and by `ww` when it reads an image's peers, so both accept the same
//! files and word every problem the same way.
//!
//! Both are bounded, since boot files come from images: a boot file is at most
//! [`MAX_BOOT_FILE`] bytes (checked by the caller from the file's metadata before reading it,
//! see [`too_large`] and [`grew_too_large`]), and [`parse_boot_file`] words at most [`MAX_BOOT_PROBLEMS`] problems, then
//! counts the rest in one last line.

use std::net::{Ipv4Addr, Ipv6Addr};

use ww_content::cid::{varint, IDENTITY, SHA2_256};
use ww_content::text::printable;

/// The longest identity-multihash digest accepted in a peer ID.
pub const MAX_IDENTITY_DIGEST: usize = 64;

/// The largest boot file accepted, in bytes (64 KiB). A boot file is a handful of multiaddrs.
pub const MAX_BOOT_FILE: u64 = 64 * 1024;

/// The most problems [`parse_boot_file`] words for one file; the rest are counted in one line.
pub const MAX_BOOT_PROBLEMS: usize = 20;

/// The problem with a boot file of `size` bytes, more than [`MAX_BOOT_FILE`], worded to follow
/// its path and layer as the problems of [`parse_boot_file`] are.
pub fn too_large(size: u64) -> String {
    format!(
        "is {size} bytes, more than the {MAX_BOOT_FILE} bytes a boot file may hold; \
         {BOOT_CONTENT_RULE}"
    )
}

/// The problem with a boot file that was `size` bytes when its metadata was read but grew past
/// [`MAX_BOOT_FILE`] while it was read.
pub fn grew_too_large(size: u64) -> String {
    format!(
        "grew from {size} bytes to more than the {MAX_BOOT_FILE} bytes a boot file may hold \
         while it was read; {BOOT_CONTENT_RULE}"
    )
}

/// The rule for the names of boot files, quoted in messages.
pub const BOOT_NAME_RULE: &str = "boot files are named by the libp2p peer ID (base58btc \
     multihash, identity or sha2-256) of the peer they address";
/// The rule for the content of boot files, quoted in messages.
pub const BOOT_CONTENT_RULE: &str =
    "a boot file holds one multiaddr per line (no blank lines, no comments)";

/// The multiaddrs of the boot file `boot/<name>` holding `bytes`, or every problem with it.
///
/// `name` must be a libp2p peer ID ([`check_peer_id`]); `bytes` must be UTF-8 text of at least
/// one line, one multiaddr per line ([`check_multiaddr`]), a single final `\n` allowed, no
/// blank lines, comments, `\r` or surrounding spaces. Each problem is worded to follow the
/// file's path and layer, as `wwpack build` reports it (`` `boot/x` from layer `base`: `` and
/// then the problem); names and lines quoted in it have their control characters escaped.
/// At most [`MAX_BOOT_PROBLEMS`] problems are worded; when there are more, one last line says
/// how many (`… and N more problems`), so the messages stay bounded whatever the file holds.
/// `ww` reads the boot files of an image with this same function.
pub fn parse_boot_file(name: &str, bytes: &[u8]) -> Result<Vec<String>, Vec<String>> {
    let mut problems = Problems::default();
    if let Err(why) = check_peer_id(name) {
        problems.push(|| {
            format!(
                "the name `{}` is not a libp2p peer ID: {why}; {BOOT_NAME_RULE}",
                printable(name)
            )
        });
    }
    let addrs = multiaddr_lines(bytes, &mut problems);
    problems.into_result(addrs)
}

/// The problems of one boot file: the first [`MAX_BOOT_PROBLEMS`] worded, the rest counted.
#[derive(Default)]
struct Problems {
    worded: Vec<String>,
    more: usize,
}

impl Problems {
    /// Records a problem; `word` is called only while fewer than the cap are worded.
    fn push(&mut self, word: impl FnOnce() -> String) {
        if self.worded.len() < MAX_BOOT_PROBLEMS {
            self.worded.push(word());
        } else {
            self.more = self.more.saturating_add(1);
        }
    }

    /// `ok` when there was no problem, else the worded problems and the count of the rest.
    fn into_result<T>(mut self, ok: T) -> Result<T, Vec<String>> {
        if self.worded.is_empty() {
            return Ok(ok);
        }
        match self.more {
            0 => {}
            1 => self.worded.push("… and 1 more problem".into()),
            n => self.worded.push(format!("… and {n} more problems")),
        }
        Err(self.worded)
    }
}

/// The multiaddrs of a boot file's content (lines numbered from 1); what is wrong with it goes
/// to `problems`, one per problem.
fn multiaddr_lines(bytes: &[u8], problems: &mut Problems) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        problems.push(|| format!("is not UTF-8 text; {BOOT_CONTENT_RULE}"));
        return Vec::new();
    };
    if text.is_empty() {
        problems.push(|| format!("is empty; {BOOT_CONTENT_RULE}, at least one"));
        return Vec::new();
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut addrs = Vec::new();
    for (i, line) in body.split('\n').enumerate() {
        let n = i + 1;
        if line.is_empty() {
            problems.push(|| format!("line {n} is blank; {BOOT_CONTENT_RULE}"));
        } else if let Err(why) = check_multiaddr(line) {
            problems.push(|| {
                format!(
                    "line {n}: `{}` is not a multiaddr: {}; {BOOT_CONTENT_RULE}",
                    printable(line),
                    printable(&why)
                )
            });
        } else {
            addrs.push(line.to_string());
        }
    }
    addrs
}

/// Checks that `s` is a libp2p peer ID: base58btc (bitcoin alphabet) of an identity multihash
/// (digest at most [`MAX_IDENTITY_DIGEST`] bytes) or a sha2-256 multihash (32-byte digest), with
/// nothing left over. The error says why not, as a phrase ("not base58btc (...)").
pub fn check_peer_id(s: &str) -> std::result::Result<(), String> {
    if s.is_empty() {
        return Err("empty".into());
    }
    let bytes = bs58::decode(s)
        .into_vec()
        .map_err(|e| format!("not base58btc ({e})"))?;
    let (code, a) =
        varint::read(&bytes).ok_or("not a multihash (its code is not a valid varint)")?;
    let (len, b) = bytes
        .get(a..)
        .and_then(varint::read)
        .ok_or("not a multihash (its length is not a valid varint)")?;
    let len = usize::try_from(len).map_err(|_| "not a multihash (its length is too large)")?;
    match code {
        IDENTITY if len > MAX_IDENTITY_DIGEST => {
            return Err(format!(
                "an identity multihash of {len} bytes, more than {MAX_IDENTITY_DIGEST}"
            ))
        }
        IDENTITY => {}
        SHA2_256 if len != 32 => {
            return Err(format!("a sha2-256 multihash of {len} bytes, not 32"))
        }
        SHA2_256 => {}
        other => {
            return Err(format!(
                "a multihash with code {other:#04x}, neither identity (0x00) nor sha2-256 (0x12)"
            ))
        }
    }
    let held = bytes.len() - (a + b);
    if held < len {
        Err(format!(
            "a truncated multihash: it declares {len} digest bytes but holds {held}"
        ))
    } else if held > len {
        Err(format!(
            "a multihash followed by {} bytes left over",
            held - len
        ))
    } else {
        Ok(())
    }
}

/// How the value of a multiaddr protocol is checked.
enum Value {
    None,
    Ip4,
    Ip6,
    Host,
    Port,
    PeerId,
    Any,
}

/// Checks a textual multiaddr: `/` followed by protocol names, each followed by its value when
/// it has one. Accepted: `ip4` (an IPv4 address), `ip6` (an IPv6 address), `dns`, `dns4`,
/// `dns6`, `dnsaddr` (a host name: non-empty, without whitespace or control characters), `tcp`,
/// `udp` (a port, decimal digits, 0 to 65535), `p2p`, `ipfs` (a peer ID, see [`check_peer_id`]),
/// `certhash`, `sni` (any non-empty value), and the value-less `quic`, `quic-v1`, `ws`, `wss`,
/// `tls`, `noise`, `webtransport`, `webrtc`, `webrtc-direct`, `http`, `https`, `p2p-circuit`.
/// The error says why not, as a phrase.
pub fn check_multiaddr(s: &str) -> std::result::Result<(), String> {
    let Some(rest) = s.strip_prefix('/') else {
        return Err("a multiaddr starts with `/`".into());
    };
    let mut parts = rest.split('/');
    while let Some(name) = parts.next() {
        let value = match name {
            "" => return Err("empty protocol name (`//`, or `/` at the end)".into()),
            "ip4" => Value::Ip4,
            "ip6" => Value::Ip6,
            "dns" | "dns4" | "dns6" | "dnsaddr" => Value::Host,
            "tcp" | "udp" => Value::Port,
            "p2p" | "ipfs" => Value::PeerId,
            "certhash" | "sni" => Value::Any,
            "quic" | "quic-v1" | "ws" | "wss" | "tls" | "noise" | "webtransport" | "webrtc"
            | "webrtc-direct" | "http" | "https" | "p2p-circuit" => Value::None,
            _ => return Err(format!("unknown protocol `{name}`")),
        };
        if let Value::None = value {
            continue;
        }
        let v = match parts.next() {
            None | Some("") => return Err(format!("protocol `{name}` needs a value")),
            Some(v) => v,
        };
        let bad = match value {
            Value::Ip4 => v
                .parse::<Ipv4Addr>()
                .err()
                .map(|_| "is not an IPv4 address".to_string()),
            Value::Ip6 => v
                .parse::<Ipv6Addr>()
                .err()
                .map(|_| "is not an IPv6 address".to_string()),
            Value::Host => v
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
                .then(|| "is not a host name (it holds whitespace or control characters)".into()),
            Value::Port => (!v.bytes().all(|b| b.is_ascii_digit()) || v.parse::<u16>().is_err())
                .then(|| "is not a port number (0 to 65535)".into()),
            Value::PeerId => check_peer_id(v)
                .err()
                .map(|why| format!("is not a libp2p peer ID: {why}")),
            Value::Any | Value::None => None,
        };
        if let Some(why) = bad {
            return Err(format!("`{name}` value `{v}` {why}"));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
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
    fn peer_ids() {
        let id = identity_peer();
        assert!(id.starts_with("12D3KooW"), "{id}");
        let sha = sha_peer();
        assert!(sha.starts_with("Qm"), "{sha}");
        check_peer_id(&id).unwrap();
        check_peer_id(&sha).unwrap();
        check_peer_id(&peer(&[0x00, 0x00])).unwrap();

        let cases: [(String, &str); 8] = [
            ("".into(), "empty"),
            ("0OIl".into(), "not base58btc"),
            ("Qm!".into(), "not base58btc"),
            (
                peer(&[[0x11, 0x14].as_slice(), &[1; 20]].concat()),
                "code 0x11",
            ),
            (
                peer(&[[0x12, 0x1f].as_slice(), &[1; 31]].concat()),
                "31 bytes, not 32",
            ),
            (
                peer(&[[0x00, 65].as_slice(), &[1; 65]].concat()),
                "65 bytes, more than 64",
            ),
            (
                peer(&[[0x12, 0x20].as_slice(), &[1; 33]].concat()),
                "1 bytes left over",
            ),
            (
                peer(&[[0x12, 0x20].as_slice(), &[1; 10]].concat()),
                "truncated",
            ),
        ];
        for (s, why) in cases {
            let err = check_peer_id(&s).unwrap_err();
            assert!(err.contains(why), "{s:?}: {err}");
        }
        assert!(check_peer_id(&peer(&[0x80]))
            .unwrap_err()
            .contains("varint"));
    }

    #[test]
    fn multiaddrs() {
        let id = identity_peer();
        let sha = sha_peer();
        for good in [
            format!("/ip4/127.0.0.1/tcp/2020/p2p/{id}"),
            "/dns4/example.com/udp/4001/quic-v1".into(),
            "/ip6/::1/tcp/1".into(),
            format!("/dnsaddr/bootstrap.libp2p.io/ipfs/{sha}"),
            "/ip4/1.2.3.4/udp/1/quic-v1/webtransport/certhash/uEiAbc".into(),
            format!("/ip4/1.2.3.4/tcp/443/tls/sni/example.com/ws/p2p/{id}/p2p-circuit/p2p/{sha}"),
            "/dns/a/tcp/80/http".into(),
            "/ip4/1.2.3.4/udp/1/webrtc-direct".into(),
            "/ip4/1.2.3.4/tcp/1/noise".into(),
        ] {
            check_multiaddr(&good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for (bad, why) in [
            ("", "starts with `/`"),
            ("/", "empty protocol name"),
            ("/ip4/1.2.3.4/", "empty protocol name"),
            ("/ip4//tcp/1", "needs a value"),
            ("/ip6/1.2.3.4", "not an IPv6 address"),
            ("/tcp/+1", "not a port number"),
            ("/tcp/1 ", "not a port number"),
            ("/dns4/exa mple.com", "not a host name"),
            ("/p2p/QmNope", "not a libp2p peer ID"),
            ("/quic/1", "unknown protocol `1`"),
        ] {
            let err = check_multiaddr(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
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
        let err =
            boot_peers_of(&id, |p| std::fs::write(p, vec![b'\n'; size]).unwrap()).unwrap_err();
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
        let problems =
            parse_boot_file("x\u{1b}[2J", b"/ip4/1.2.3.4/\x1b]0;pwned\x07\n").unwrap_err();
        let all = problems.join("\n");
        assert!(!all.contains('\u{1b}') && !all.contains('\u{7}'), "{all:?}");
        assert!(all.contains("x\\x1b[2J"), "{all}");
        assert!(all.contains("\\x1b]0;pwned\\x07"), "{all}");
    }
}
