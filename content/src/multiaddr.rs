//! Multiaddrs and libp2p peer IDs in their text forms, parsed in one place: the boot files of
//! an image (`/ip4/1.2.3.4/tcp/4001/p2p/12D3KooW...`, checked by `ww_image::fhs`) and the IPFS
//! API address (`/ip4/127.0.0.1/tcp/5001`, [`crate::ipfs::addr`]) are both read with
//! [`parse`]. This module knows the protocols and the grammar of their values; what a caller
//! accepts beyond that (an API address is one host and one tcp port) is the caller's rule.
//!
//! A multiaddr is `/` followed by protocol names, each followed by its value when it has one
//! ([`Value`]). A peer ID ([`check_peer_id`]) is base58btc (bitcoin alphabet) of an identity
//! multihash (digest at most [`MAX_IDENTITY_DIGEST`] bytes) or a sha2-256 multihash (32-byte
//! digest), with nothing left over: the two forms libp2p peers are named by.
//!
//! The `multiaddr` crate (rust-libp2p's) is not used: for what is here a table of protocol
//! names and five value grammars, it brings `libp2p-identity` (peer-ID key types), `multihash`,
//! `multibase`, `unsigned-varint`, `url`, `percent-encoding`, `byteorder`, `arrayref` and
//! `static_assertions`; it accepts protocols boot files refuse today (`unix`, `onion3`,
//! `memory`, ...), so using it would loosen what images may hold; and its errors
//! (`InvalidMultiaddr`, `UnknownProtocolString`) do not say which value is wrong and why, which
//! the messages about boot files and `--api` must.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::cid::{varint, IDENTITY, SHA2_256};

#[cfg(test)]
mod tests;

/// The longest identity-multihash digest accepted in a peer ID.
pub const MAX_IDENTITY_DIGEST: usize = 64;

/// One protocol of a multiaddr with its value: `tcp` and `Port(4001)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component<'a> {
    /// The protocol's name as written (`p2p` or its old name `ipfs`).
    pub name: &'a str,
    pub value: Value<'a>,
}

/// The value of a protocol, checked by its grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// The value-less protocols: `quic`, `quic-v1`, `ws`, `wss`, `tls`, `noise`,
    /// `webtransport`, `webrtc`, `webrtc-direct`, `http`, `https`, `p2p-circuit`.
    None,
    /// `ip4`: an IPv4 address.
    Ip4(Ipv4Addr),
    /// `ip6`: an IPv6 address.
    Ip6(Ipv6Addr),
    /// `dns`, `dns4`, `dns6`, `dnsaddr`: a host name, non-empty, without whitespace or control
    /// characters.
    Host(&'a str),
    /// `tcp`, `udp`: a port, decimal digits, 0 to 65535.
    Port(u16),
    /// `p2p`, `ipfs`: a peer ID ([`check_peer_id`]).
    PeerId(&'a str),
    /// `certhash`, `sni`: any non-empty value.
    Text(&'a str),
}

/// Why a text is not a multiaddr, as a phrase ("unknown protocol `foo`").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultiaddrError {
    #[error("a multiaddr starts with `/`")]
    NoSlash,
    #[error("empty protocol name (`//`, or `/` at the end)")]
    EmptyName,
    #[error("unknown protocol `{0}`")]
    Unknown(String),
    #[error("protocol `{0}` needs a value")]
    NeedsValue(String),
    /// The value breaks its protocol's grammar; `why` follows the value: "is not a port
    /// number (0 to 65535)".
    #[error("`{name}` value `{value}` {why}")]
    BadValue {
        name: String,
        value: String,
        why: String,
    },
}

/// The grammar of a protocol's value.
#[derive(Clone, Copy)]
enum Grammar {
    None,
    Ip4,
    Ip6,
    Host,
    Port,
    PeerId,
    Text,
}

/// The protocols known, with the grammar of their values.
fn grammar(name: &str) -> Option<Grammar> {
    Some(match name {
        "ip4" => Grammar::Ip4,
        "ip6" => Grammar::Ip6,
        "dns" | "dns4" | "dns6" | "dnsaddr" => Grammar::Host,
        "tcp" | "udp" => Grammar::Port,
        "p2p" | "ipfs" => Grammar::PeerId,
        "certhash" | "sni" => Grammar::Text,
        "quic" | "quic-v1" | "ws" | "wss" | "tls" | "noise" | "webtransport" | "webrtc"
        | "webrtc-direct" | "http" | "https" | "p2p-circuit" => Grammar::None,
        _ => return None,
    })
}

/// The components of the textual multiaddr `s`, in order, each value checked by its grammar
/// ([`Value`]); the error says what is wrong with the first bad part.
pub fn parse(s: &str) -> Result<Vec<Component<'_>>, MultiaddrError> {
    let rest = s.strip_prefix('/').ok_or(MultiaddrError::NoSlash)?;
    let mut parts = rest.split('/');
    let mut components = Vec::new();
    while let Some(name) = parts.next() {
        if name.is_empty() {
            return Err(MultiaddrError::EmptyName);
        }
        let grammar = grammar(name).ok_or_else(|| MultiaddrError::Unknown(name.to_string()))?;
        let value = match grammar {
            Grammar::None => Value::None,
            _ => match parts.next() {
                None | Some("") => return Err(MultiaddrError::NeedsValue(name.to_string())),
                Some(text) => value(name, grammar, text)?,
            },
        };
        components.push(Component { name, value });
    }
    Ok(components)
}

/// Checks that `s` is a multiaddr ([`parse`]).
pub fn check(s: &str) -> Result<(), MultiaddrError> {
    parse(s).map(drop)
}

/// The non-empty `text` read by `grammar`, the grammar of protocol `name`.
fn value<'a>(name: &str, grammar: Grammar, text: &'a str) -> Result<Value<'a>, MultiaddrError> {
    let parsed = match grammar {
        Grammar::None => Ok(Value::None),
        Grammar::Ip4 => text
            .parse()
            .map(Value::Ip4)
            .map_err(|_| "is not an IPv4 address".to_string()),
        Grammar::Ip6 => text
            .parse()
            .map(Value::Ip6)
            .map_err(|_| "is not an IPv6 address".to_string()),
        Grammar::Host => {
            if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
                Err("is not a host name (it holds whitespace or control characters)".to_string())
            } else {
                Ok(Value::Host(text))
            }
        }
        Grammar::Port => text
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| text.parse().ok())
            .flatten()
            .map(Value::Port)
            .ok_or_else(|| "is not a port number (0 to 65535)".to_string()),
        Grammar::PeerId => check_peer_id(text)
            .map(|()| Value::PeerId(text))
            .map_err(|why| format!("is not a libp2p peer ID: {why}")),
        Grammar::Text => Ok(Value::Text(text)),
    };
    parsed.map_err(|why| MultiaddrError::BadValue {
        name: name.to_string(),
        value: text.to_string(),
        why,
    })
}

/// Checks that `s` is a libp2p peer ID: base58btc (bitcoin alphabet) of an identity multihash
/// (digest at most [`MAX_IDENTITY_DIGEST`] bytes) or a sha2-256 multihash (32-byte digest), with
/// nothing left over. The error says why not, as a phrase ("not base58btc (...)").
pub fn check_peer_id(s: &str) -> Result<(), String> {
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
