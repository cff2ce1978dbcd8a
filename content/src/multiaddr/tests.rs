//! Tests of the multiaddr and peer-ID grammar.

use super::*;

fn peer(multihash: &[u8]) -> String {
    bs58::encode(multihash).into_string()
}

/// An Ed25519 peer ID: an identity multihash of a 36-byte protobuf public key.
fn identity_peer() -> String {
    let mut mh = vec![0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
    mh.extend([7u8; 32]);
    peer(&mh)
}

fn sha_peer() -> String {
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
        check(&good).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for (bad, why) in [
        ("", "starts with `/`"),
        ("/", "empty protocol name"),
        ("/ip4/1.2.3.4/", "empty protocol name"),
        ("/ip4//tcp/1", "needs a value"),
        ("/ip6/1.2.3.4", "not an IPv6 address"),
        ("/tcp/+1", "not a port number"),
        ("/tcp/1 ", "not a port number"),
        ("/tcp/65536", "not a port number"),
        ("/dns4/exa mple.com", "not a host name"),
        ("/p2p/QmNope", "not a libp2p peer ID"),
        ("/quic/1", "unknown protocol `1`"),
        ("/unix/tmp/sock", "unknown protocol `unix`"),
    ] {
        let err = check(bad).unwrap_err().to_string();
        assert!(err.contains(why), "{bad:?}: {err}");
    }
}

#[test]
fn components_carry_typed_values() {
    let id = identity_peer();
    let text = format!("/ip4/10.0.0.1/tcp/4001/ws/ipfs/{id}/dns6/h/udp/0/sni/x");
    let parsed = parse(&text).unwrap();
    let want = [
        ("ip4", Value::Ip4(Ipv4Addr::new(10, 0, 0, 1))),
        ("tcp", Value::Port(4001)),
        ("ws", Value::None),
        ("ipfs", Value::PeerId(&id)),
        ("dns6", Value::Host("h")),
        ("udp", Value::Port(0)),
        ("sni", Value::Text("x")),
    ];
    let got: Vec<(&str, Value)> = parsed.into_iter().map(|c| (c.name, c.value)).collect();
    assert_eq!(got, want);
    assert_eq!(
        parse("/ip6/0:0::1/tcp/1").unwrap()[0].value,
        Value::Ip6(Ipv6Addr::LOCALHOST)
    );
    assert_eq!(
        parse("/tcp/x").unwrap_err(),
        MultiaddrError::BadValue {
            name: "tcp".into(),
            value: "x".into(),
            why: "is not a port number (0 to 65535)".into()
        }
    );
}
