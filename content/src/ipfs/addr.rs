//! The node's address: `--api`, else `$IPFS_API`, else [`DEFAULT_API`], checked before anything
//! connects and normalized to the one form the client uses, `http://HOST:PORT`.
//!
//! Accepted: `http://HOST:PORT` (with or without a final `/`), `HOST:PORT` (meaning http), and
//! Kubo's multiaddr form `/ip4/A.B.C.D/tcp/PORT`, `/ip6/ADDR/tcp/PORT`,
//! `/dns/NAME/tcp/PORT` (also `/dns4`, `/dns6`), each optionally ending in `/http`. A HOST is an
//! IPv4 address, a bracketed IPv6 address or a DNS name. Everything else (https, a path, a
//! missing port, userinfo, garbage) is an [`AddrError`] naming the value and the accepted forms.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::multiaddr::{MultiaddrError, Value};
use crate::text::printable;

/// The default API address, as Kubo's.
pub const DEFAULT_API: &str = "http://127.0.0.1:5001";

/// The forms an address may take, for messages.
pub const ACCEPTED_FORMS: &str = "accepted: http://HOST:PORT, HOST:PORT, /ip4/A.B.C.D/tcp/PORT, \
     /ip6/ADDR/tcp/PORT or /dns/NAME/tcp/PORT (also /dns4, /dns6; optionally ending in /http)";

/// The longest part of a bad value quoted in an [`AddrError`].
const QUOTED_MAX: usize = 200;

/// An address that is not one of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid IPFS API address `{value}`{origin}: {reason}; {ACCEPTED_FORMS}")]
pub struct AddrError {
    /// The value as given, made printable and cut to a sane length.
    pub value: String,
    /// Where the value came from, e.g. ` (from $IPFS_API)`; empty when unknown.
    pub origin: String,
    /// The rule it broke.
    pub reason: String,
}

/// `--api`, else `$IPFS_API` (unset or empty: not given), else [`DEFAULT_API`], as
/// `http://HOST:PORT`.
pub fn api_url(flag: Option<&str>) -> Result<String, AddrError> {
    if let Some(value) = flag {
        return normalize(value).map_err(|e| e.with_origin("--api"));
    }
    match std::env::var_os("IPFS_API") {
        None => Ok(DEFAULT_API.to_string()),
        Some(value) if value.is_empty() => Ok(DEFAULT_API.to_string()),
        Some(value) => match value.to_str() {
            Some(value) => normalize(value).map_err(|e| e.with_origin("$IPFS_API")),
            None => Err(
                AddrError::new(&value.to_string_lossy(), "not valid UTF-8".to_string())
                    .with_origin("$IPFS_API"),
            ),
        },
    }
}

/// `value` in one of the accepted forms, as `http://HOST:PORT`.
pub fn normalize(value: &str) -> Result<String, AddrError> {
    let fail = |reason: &str| AddrError::new(value, reason.to_string());
    if value.is_empty() {
        return Err(fail("it is empty"));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(fail("it contains spaces or control characters"));
    }
    if value.starts_with('/') {
        return multiaddr(value).map_err(|reason| fail(&reason));
    }
    let authority = match value.split_once("://") {
        Some((scheme, rest)) => {
            let scheme = scheme.to_ascii_lowercase();
            if scheme == "https" {
                return Err(fail(
                    "only http is supported (Kubo's RPC API is plain http)",
                ));
            }
            if scheme != "http" {
                return Err(fail(&format!(
                    "unsupported scheme `{}`: only http is supported",
                    quote(&scheme)
                )));
            }
            rest.strip_suffix('/').unwrap_or(rest)
        }
        None => value,
    };
    if authority.contains(['/', '?', '#']) {
        return Err(fail(
            "an address has no path or query (the client adds /api/v0/... itself)",
        ));
    }
    if authority.contains('@') {
        return Err(fail("user names and passwords are not supported"));
    }
    let (host, port) = host_port(authority).map_err(|reason| fail(&reason))?;
    Ok(format!("http://{host}:{port}"))
}

impl AddrError {
    fn new(value: &str, reason: String) -> AddrError {
        let mut quoted: String = value.chars().take(QUOTED_MAX).collect();
        if quoted.len() < value.len() {
            quoted.push_str("...");
        }
        AddrError {
            value: printable(&quoted).into_owned(),
            origin: String::new(),
            reason,
        }
    }

    fn with_origin(mut self, origin: &str) -> AddrError {
        self.origin = format!(" (from {origin})");
        self
    }
}

/// `HOST:PORT` or `[IPV6]:PORT`: the host in URL form and the port.
fn host_port(authority: &str) -> Result<(String, u16), String> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address in brackets lacks its `]`")?;
        let v6: Ipv6Addr = v6
            .parse()
            .map_err(|_| format!("`{}` is not an IPv6 address", quote(v6)))?;
        let port = after
            .strip_prefix(':')
            .ok_or("the port is missing (HOST:PORT)")?;
        return Ok((format!("[{v6}]"), port_number(port)?));
    }
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or("the port is missing (HOST:PORT)")?;
    if host.contains(':') {
        return Err("an IPv6 address must be in brackets: http://[ADDR]:PORT".into());
    }
    Ok((ipv4_or_name(host)?, port_number(port)?))
}

/// `/ip4/A.B.C.D/tcp/PORT[/http]` and the ip6, dns, dns4 and dns6 forms, as `http://HOST:PORT`.
/// The shape (which protocols, where) is the API's rule; the values are read by the one
/// multiaddr grammar ([`crate::multiaddr::parse`]), then held to the stricter rules of a URL's
/// host (a DNS name of letters, digits and `-`) and port (not 0).
fn multiaddr(value: &str) -> Result<String, String> {
    let parts: Vec<&str> = value[1..].split('/').collect();
    let (proto, transport, tail) = match parts.as_slice() {
        [proto, _, transport, _] => (*proto, *transport, None),
        [proto, _, transport, _, tail] => (*proto, *transport, Some(*tail)),
        _ => return Err("a multiaddr here is /ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT[/http]".into()),
    };
    if !matches!(proto, "ip4" | "ip6" | "dns" | "dns4" | "dns6") {
        return Err(format!("unsupported multiaddr protocol `{}`", quote(proto)));
    }
    if transport != "tcp" {
        return Err(format!(
            "the transport must be tcp, not `{}`",
            quote(transport)
        ));
    }
    match tail {
        None | Some("http") => {}
        Some("https" | "tls") => {
            return Err("only http is supported (Kubo's RPC API is plain http)".into())
        }
        Some("") => return Err("a multiaddr does not end in `/`".into()),
        Some(other) => {
            return Err(format!(
                "unsupported multiaddr protocol `{}` after the port (only /http)",
                quote(other)
            ))
        }
    }
    let components = crate::multiaddr::parse(value).map_err(|e| match e {
        MultiaddrError::BadValue { name, value, why } => {
            format!("`{name}` value `{}` {why}", quote(&value))
        }
        other => quote(&other.to_string()),
    })?;
    let (host, port) = match components.as_slice() {
        [host, port, ..] => (&host.value, &port.value),
        _ => return Err("a multiaddr here is /ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT[/http]".into()),
    };
    let host = match host {
        Value::Ip4(v4) => v4.to_string(),
        Value::Ip6(v6) => format!("[{v6}]"),
        Value::Host(name) => dns_name(name)?,
        _ => return Err(format!("unsupported multiaddr protocol `{}`", quote(proto))),
    };
    match port {
        Value::Port(0) => Err("port 0 is not in 1..=65535".into()),
        Value::Port(port) => Ok(format!("http://{host}:{port}")),
        _ => Err(format!(
            "the transport must be tcp, not `{}`",
            quote(transport)
        )),
    }
}

fn port_number(port: &str) -> Result<u16, String> {
    if port.is_empty() {
        return Err("the port is missing (HOST:PORT)".into());
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{}` is not a port number", quote(port)));
    }
    match port.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("port {} is not in 1..=65535", quote(port))),
    }
}

/// A part of the value for a reason: printable and at most 64 characters.
fn quote(part: &str) -> String {
    let mut cut: String = part.chars().take(64).collect();
    if cut.len() < part.len() {
        cut.push_str("...");
    }
    printable(&cut).into_owned()
}

/// An IPv4 address, or else a DNS name; all-numeric names that are not IPv4 addresses (`1.2.3`,
/// which the resolver would read as 1.2.0.3) are refused.
fn ipv4_or_name(host: &str) -> Result<String, String> {
    if let Ok(v4) = host.parse::<Ipv4Addr>() {
        return Ok(v4.to_string());
    }
    if !host.is_empty() && host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!("`{}` is not an IPv4 address", quote(host)));
    }
    dns_name(host)
}

/// A DNS name: dot-separated labels of letters, digits and inner `-`, lowercased.
fn dns_name(name: &str) -> Result<String, String> {
    let bad = || format!("`{}` is not a host name", quote(name));
    if name.is_empty() {
        return Err("the host is missing".into());
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return Err(bad());
    }
    for label in name.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(bad());
        }
    }
    Ok(name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_accepted_form_becomes_http_host_port() {
        for (given, want) in [
            ("http://127.0.0.1:5001", "http://127.0.0.1:5001"),
            ("http://127.0.0.1:5001/", "http://127.0.0.1:5001"),
            ("HTTP://localhost:5001", "http://localhost:5001"),
            ("127.0.0.1:5001", "http://127.0.0.1:5001"),
            ("Node-1.example.org:80", "http://node-1.example.org:80"),
            ("[::1]:5001", "http://[::1]:5001"),
            ("http://[0:0::1]:5001/", "http://[::1]:5001"),
            ("/ip4/127.0.0.1/tcp/5001", "http://127.0.0.1:5001"),
            ("/ip4/10.0.0.2/tcp/5001/http", "http://10.0.0.2:5001"),
            ("/ip6/::1/tcp/5001", "http://[::1]:5001"),
            ("/dns/ipfs.local/tcp/5001", "http://ipfs.local:5001"),
            ("/dns4/localhost/tcp/65535/http", "http://localhost:65535"),
            ("/dns6/localhost/tcp/1", "http://localhost:1"),
        ] {
            assert_eq!(normalize(given).as_deref(), Ok(want), "{given}");
        }
    }

    #[test]
    fn anything_else_is_an_error_naming_the_value_and_the_forms() {
        for (given, why) in [
            ("", "empty"),
            ("https://127.0.0.1:5001", "only http"),
            ("/ip4/127.0.0.1/tcp/5001/https", "only http"),
            ("ftp://127.0.0.1:21", "only http"),
            ("http://127.0.0.1:5001/api/v0", "no path"),
            ("http://127.0.0.1:5001?x=1", "no path"),
            ("http://user@127.0.0.1:5001", "user names"),
            ("127.0.0.1", "port is missing"),
            ("http://127.0.0.1", "port is missing"),
            ("127.0.0.1:", "port is missing"),
            ("127.0.0.1:0", "not in 1..=65535"),
            ("127.0.0.1:65536", "not in 1..=65535"),
            ("127.0.0.1:50x1", "not a port number"),
            ("127.0.0.1:-1", "not a port number"),
            ("1.2.3:5001", "not an IPv4 address"),
            ("::1:5001", "in brackets"),
            ("[::1:5001", "lacks its `]`"),
            ("[::g]:5001", "not an IPv6"),
            ("[::1]5001", "port is missing"),
            ("-bad-.host:5001", "not a host name"),
            ("a..b:5001", "not a host name"),
            (":5001", "host is missing"),
            ("some garbage", "spaces"),
            ("127.0.0.1:5001\n", "control"),
            ("/ip4/127.0.0.1/tcp", "multiaddr here is"),
            ("/ip4/127.0.0.1/tcp/5001/", "does not end in"),
            ("/ip4/1.2.3/tcp/5001", "not an IPv4 address"),
            ("/ip4/127.0.0.1/udp/5001", "must be tcp"),
            ("/ip6/127.0.0.1/tcp/5001", "not an IPv6"),
            ("/unix/tmp/sock", "multiaddr here is"),
            ("/p2p/x/tcp/1", "unsupported multiaddr protocol `p2p`"),
            ("/dns/under_score/tcp/1", "not a host name"),
        ] {
            let err = normalize(given).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(why), "{given:?}: {text}");
            assert!(text.contains("accepted: http://HOST:PORT"), "{text}");
            assert!(
                text.contains(&format!("`{}`", printable(given))),
                "{given:?}: {text}"
            );
        }
    }

    #[test]
    fn a_long_or_escaping_value_is_quoted_short_and_printable() {
        let long = format!("\u{1b}[2J{}", "a".repeat(10_000));
        let err = normalize(&long).unwrap_err().to_string();
        assert!(!err.contains('\u{1b}') && err.contains("\\x1b[2J"), "{err}");
        assert!(err.len() < 600, "{} bytes", err.len());
    }

    #[test]
    fn multiaddr_values_are_read_by_the_one_grammar_and_quoted_short() {
        for (given, why) in [
            ("/ip4/127.0.0.1/tcp/0", "port 0 is not in 1..=65535"),
            (
                "/ip4/127.0.0.1/tcp/x1",
                "`tcp` value `x1` is not a port number",
            ),
            ("/ip4/127.0.0.1/tcp/65536", "is not a port number"),
            ("/ip4//tcp/1", "protocol `ip4` needs a value"),
            ("/dns4/a.b./tcp/1/http", ""),
        ] {
            match normalize(given) {
                Ok(url) if why.is_empty() => assert_eq!(url, "http://a.b:1"),
                Ok(url) => panic!("{given:?} gave {url}"),
                Err(e) => assert!(!why.is_empty() && e.reason.contains(why), "{given:?}: {e}"),
            }
        }
        for long in [
            format!("/ip4/{}/tcp/1", "1".repeat(10_000)),
            format!("/dns/{}/tcp/1", "a".repeat(10_000)),
        ] {
            let err = normalize(&long).unwrap_err().to_string();
            assert!(err.len() < 800, "{} bytes: {err}", err.len());
        }
    }
}
