//! The node's address, resolved as Kubo's clients resolve it, checked before anything connects
//! and normalized to the one form the client uses, `http://HOST:PORT`.
//!
//! Resolution ([`resolve`]): `--api`, else `$IPFS_API`, else the address in the API file a
//! running daemon writes into its repository (`$IPFS_PATH/api`, or `~/.ipfs/api` when
//! `IPFS_PATH` is unset or empty), else [`DEFAULT_API`]. A variable that is empty counts as
//! unset; an API file that does not exist (no daemon runs there), or that this user cannot see
//! (a directory on its path it may not search), is skipped. The API file is
//! read as untrusted input: only a regular file of at most [`MAX_API_FILE`] bytes, UTF-8, one
//! address (surrounding white space, as a final newline, ignored); anything else is an
//! [`ApiError`] naming the file.
//!
//! Accepted: `http://HOST:PORT` (with or without a final `/`), `HOST:PORT` (meaning http), and
//! Kubo's multiaddr form `/ip4/A.B.C.D/tcp/PORT`, `/ip6/ADDR/tcp/PORT`,
//! `/dns/NAME/tcp/PORT` (also `/dns4`, `/dns6`), each optionally ending in `/http`. A HOST is an
//! IPv4 address, a bracketed IPv6 address or a DNS name. Everything else (https, a path, a
//! missing port, userinfo, garbage) is an [`AddrError`] naming the value, where it came from and
//! the accepted forms.

use std::ffi::OsString;
use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use crate::multiaddr::{MultiaddrError, Value};
use crate::text::printable;

/// The default API address, as Kubo's.
pub const DEFAULT_API: &str = "http://127.0.0.1:5001";

/// The forms an address may take, for messages.
pub const ACCEPTED_FORMS: &str = "accepted: http://HOST:PORT, HOST:PORT, /ip4/A.B.C.D/tcp/PORT, \
     /ip6/ADDR/tcp/PORT or /dns/NAME/tcp/PORT (also /dns4, /dns6; optionally ending in /http)";

/// The help of every `--api` flag (`wwpack`, `ww run`): the forms and the resolution order.
pub const API_HELP: &str = "IPFS node RPC API: http://HOST:PORT, HOST:PORT or a multiaddr \
     (/ip4/A.B.C.D/tcp/PORT, /ip6/ADDR/tcp/PORT, /dns/NAME/tcp/PORT, optionally ending in /http) \
     [default: $IPFS_API, else the address in $IPFS_PATH/api (~/.ipfs/api when IPFS_PATH is \
     unset), else http://127.0.0.1:5001]";

/// The largest API file read: Kubo's holds one multiaddr, well under 100 bytes.
pub const MAX_API_FILE: u64 = 4096;

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

/// Why no API address could be had: a bad address, or an API file that cannot be read as one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Addr(#[from] AddrError),
    /// The API file exists but is not a readable, small, UTF-8 file of one address.
    #[error(
        "IPFS API file {path} (from {origin}): {reason}; it should hold one address, as the \
         daemon writes it (e.g. /ip4/127.0.0.1/tcp/5001); set --api or $IPFS_API to override it"
    )]
    File {
        /// The file, made printable.
        path: String,
        /// `$IPFS_PATH` or `~/.ipfs`.
        origin: &'static str,
        reason: String,
    },
}

/// Where an address came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiSource {
    Flag,
    Env,
    /// The API file at this path (`$IPFS_PATH/api` or `~/.ipfs/api`).
    File(PathBuf),
    Default,
}

/// A resolved API address: the URL the client uses, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    /// `http://HOST:PORT`.
    pub url: String,
    pub source: ApiSource,
}

impl Api {
    /// The URL with where it came from, for messages about the node (`http://127.0.0.1:5001
    /// (the default: no --api, $IPFS_API or API file)`); the bare URL for `--api`.
    pub fn label(&self) -> String {
        match &self.source {
            ApiSource::Flag => self.url.clone(),
            ApiSource::Env => format!("{} (from $IPFS_API)", self.url),
            ApiSource::File(path) => format!(
                "{} (from the API file {})",
                self.url,
                printable(&path.display().to_string())
            ),
            ApiSource::Default => format!(
                "{} (the default: no --api, $IPFS_API or $IPFS_PATH/api)",
                self.url
            ),
        }
    }
}

/// `--api`, else `$IPFS_API`, else the API file, else [`DEFAULT_API`]: see the module docs.
pub fn resolve(flag: Option<&str>) -> Result<Api, ApiError> {
    resolve_from(flag, |k| std::env::var_os(k))
}

/// [`resolve`], its URL only.
pub fn api_url(flag: Option<&str>) -> Result<String, ApiError> {
    resolve(flag).map(|api| api.url)
}

/// [`resolve`], reading variables through `var` (for tests).
pub fn resolve_from(
    flag: Option<&str>,
    var: impl Fn(&str) -> Option<OsString>,
) -> Result<Api, ApiError> {
    let found = |url: String, source: ApiSource| Ok(Api { url, source });
    if let Some(value) = flag {
        return found(
            normalize(value).map_err(|e| e.with_origin("--api"))?,
            ApiSource::Flag,
        );
    }
    if let Some(value) = var("IPFS_API").filter(|v| !v.is_empty()) {
        let url = match value.to_str() {
            Some(value) => normalize(value).map_err(|e| e.with_origin("$IPFS_API"))?,
            None => {
                return Err(
                    AddrError::new(&value.to_string_lossy(), "not valid UTF-8".to_string())
                        .with_origin("$IPFS_API")
                        .into(),
                )
            }
        };
        return found(url, ApiSource::Env);
    }
    if let Some((path, origin)) = api_file(&var) {
        if let Some(url) = read_api_file(&path, origin)? {
            return found(url, ApiSource::File(path));
        }
    }
    found(DEFAULT_API.to_string(), ApiSource::Default)
}

/// The API file: `$IPFS_PATH/api` (a leading `~/` meaning `$HOME/`, as Kubo reads it), else
/// `$HOME/.ipfs/api`; with what named it. `None` without IPFS_PATH and HOME.
fn api_file(var: &impl Fn(&str) -> Option<OsString>) -> Option<(PathBuf, &'static str)> {
    let set = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(repo) = set("IPFS_PATH") {
        let repo = match (repo.strip_prefix("~"), set("HOME")) {
            (Ok(rest), Some(home)) => home.join(rest),
            _ => repo,
        };
        return Some((repo.join("api"), "$IPFS_PATH"));
    }
    set("HOME").map(|home| (home.join(".ipfs").join("api"), "~/.ipfs"))
}

/// The address in the API file at `path`, normalized; `None` when there is no such file.
fn read_api_file(path: &Path, origin: &'static str) -> Result<Option<String>, ApiError> {
    let fail = |reason: String| ApiError::File {
        path: printable(&path.display().to_string()).into_owned(),
        origin,
        reason,
    };
    // Not opened before it is known to be a regular file: opening a FIFO would block. A file
    // this user cannot even see (a directory on the way it may not search: another user's
    // HOME, under sudo) is none; one it sees but cannot read is an error.
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::NotADirectory
                    | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            tracing::debug!("no IPFS API file {}: {e}", path.display());
            return Ok(None);
        }
        Err(e) => return Err(fail(format!("cannot read it: {e}"))),
    };
    if !meta.is_file() {
        return Err(fail("it is not a regular file".into()));
    }
    let too_large = || fail(format!("it is larger than {MAX_API_FILE} bytes"));
    if meta.len() > MAX_API_FILE {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_API_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| fail(format!("cannot read it: {e}")))?;
    if bytes.len() as u64 > MAX_API_FILE {
        return Err(too_large());
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| fail("it is not UTF-8 text".into()))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(fail("it is empty".into()));
    }
    if text.lines().count() > 1 {
        return Err(fail("it holds more than one line".into()));
    }
    let from = format!("the API file {}", path.display());
    Ok(Some(normalize(text).map_err(|e| e.with_origin(&from))?))
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
        self.origin = format!(" (from {})", printable(origin));
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

    /// Variables from a list, as [`resolve_from`] reads them.
    fn vars(list: &[(&str, &Path)]) -> impl Fn(&str) -> Option<OsString> {
        let list: Vec<(String, OsString)> = list
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_os_str().to_owned()))
            .collect();
        move |k| list.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_flag_then_ipfs_api_then_the_api_file_then_the_default() {
        let home = tempfile::tempdir().unwrap();
        let repo = home.path().join("repo");
        std::fs::create_dir_all(home.path().join(".ipfs")).unwrap();
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::write(home.path().join(".ipfs/api"), "/ip4/127.0.0.1/tcp/5003\n").unwrap();
        std::fs::write(repo.join("api"), "/ip4/127.0.0.1/tcp/5002/http").unwrap();
        let env_api = Path::new("127.0.0.1:5001");
        let all = [
            ("IPFS_API", env_api),
            ("IPFS_PATH", repo.as_path()),
            ("HOME", home.path()),
        ];
        let got = |flag: Option<&str>, list: &[(&str, &Path)]| {
            let api = resolve_from(flag, vars(list)).unwrap();
            (api.url, api.source)
        };
        assert_eq!(
            got(Some("/dns/localhost/tcp/5000"), &all),
            ("http://localhost:5000".into(), ApiSource::Flag)
        );
        assert_eq!(
            got(None, &all),
            ("http://127.0.0.1:5001".into(), ApiSource::Env)
        );
        assert_eq!(
            got(None, &all[1..]),
            (
                "http://127.0.0.1:5002".into(),
                ApiSource::File(repo.join("api"))
            )
        );
        // An empty variable is unset: ~/.ipfs/api, read with its newline.
        let empty = Path::new("");
        assert_eq!(
            got(
                None,
                &[
                    ("IPFS_API", empty),
                    ("IPFS_PATH", empty),
                    ("HOME", home.path())
                ]
            ),
            (
                "http://127.0.0.1:5003".into(),
                ApiSource::File(home.path().join(".ipfs/api"))
            )
        );
        // `~/` in IPFS_PATH is HOME.
        assert_eq!(
            got(
                None,
                &[("IPFS_PATH", Path::new("~/repo")), ("HOME", home.path())]
            )
            .0,
            "http://127.0.0.1:5002"
        );
        // A repo with no daemon (no api file), or none at all: the default.
        let idle = home.path().join("idle");
        std::fs::create_dir(&idle).unwrap();
        for list in [
            &[("IPFS_PATH", idle.as_path()), ("HOME", home.path())][..],
            &[("IPFS_PATH", repo.join("api/x").as_path())][..],
            &[][..],
        ] {
            assert_eq!(
                got(None, list),
                (DEFAULT_API.to_string(), ApiSource::Default),
                "{list:?}"
            );
        }
    }

    #[test]
    fn a_bad_api_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        let api = repo.join("api");
        let check = |contents: &[u8], why: &str| {
            std::fs::write(&api, contents).unwrap();
            let err = resolve_from(None, vars(&[("IPFS_PATH", repo)])).unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains(why) && text.contains(&api.display().to_string()),
                "{contents:?}: {text}"
            );
            assert!(text.len() < 800, "{} bytes: {text}", text.len());
        };
        check(b"", "it is empty");
        check(b"\n\n", "it is empty");
        check(
            b"/ip4/127.0.0.1/tcp/1\n/ip4/127.0.0.1/tcp/2\n",
            "more than one line",
        );
        check(b"/unix/run/ipfs.sock", "multiaddr here is");
        check(b"/ip4/127.0.0.1/tcp/5001/https", "only http");
        check(b"\xff\xfe", "not UTF-8");
        check(
            &vec![b'/'; MAX_API_FILE as usize + 1],
            "larger than 4096 bytes",
        );
        // At the bound exactly, read (and refused as an address, not for its size).
        let mut padded = b"/ip4/127.0.0.1/tcp/5001".to_vec();
        padded.resize(MAX_API_FILE as usize, b' ');
        std::fs::write(&api, &padded).unwrap();
        let api_url = resolve_from(None, vars(&[("IPFS_PATH", repo)])).unwrap();
        assert_eq!(api_url.url, "http://127.0.0.1:5001");

        // A directory, and a FIFO (never opened, so nothing blocks).
        std::fs::remove_file(&api).unwrap();
        std::fs::create_dir(&api).unwrap();
        let err = resolve_from(None, vars(&[("IPFS_PATH", repo)])).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        std::fs::remove_dir(&api).unwrap();
        let made = std::process::Command::new("mkfifo").arg(&api).status();
        assert!(made.unwrap().success(), "mkfifo {}", api.display());
        let err = resolve_from(None, vars(&[("IPFS_PATH", repo)])).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");

        // A bad $IPFS_API is not hidden by a good file, nor read when --api is given.
        std::fs::remove_file(&api).unwrap();
        std::fs::write(&api, "/ip4/127.0.0.1/tcp/5002").unwrap();
        let bad = Path::new("nonsense");
        let err = resolve_from(None, vars(&[("IPFS_API", bad), ("IPFS_PATH", repo)])).unwrap_err();
        assert!(err.to_string().contains("(from $IPFS_API)"), "{err}");
        let flag = resolve_from(Some("::1"), vars(&[("IPFS_API", bad)])).unwrap_err();
        assert!(flag.to_string().contains("(from --api)"), "{flag}");
    }
}
