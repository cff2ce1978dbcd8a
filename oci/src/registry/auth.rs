//! Credentials and the registry's challenges: a user and password from the Docker config file
//! format (`auths.<registry>.auth`, base64 `user:password`; credential helpers and
//! `credsStore` are not run), and the `WWW-Authenticate` challenges of a 401 (`Basic`, or
//! `Bearer realm=...,service=...,scope=...` for a token from the realm).

use std::path::{Path, PathBuf};

/// The largest Docker config file read.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// A user name and password for a registry (the password is never printed).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credentials {{ username: {:?}, password: <hidden> }}",
            self.username
        )
    }
}

impl Credentials {
    pub fn new(username: &str, password: &str) -> Credentials {
        Credentials {
            username: username.to_string(),
            password: password.to_string(),
        }
    }

    /// The value of an `Authorization: Basic` header.
    pub fn basic_header(&self) -> String {
        format!(
            "Basic {}",
            base64_encode(format!("{}:{}", self.username, self.password).as_bytes())
        )
    }

    /// The Docker config file: `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
    pub fn docker_config_path() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
            return Some(PathBuf::from(dir).join("config.json"));
        }
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
    }

    /// The credentials for `registry` in the Docker config file, if it exists and has them.
    pub fn from_docker_config(registry: &str) -> Result<Option<Credentials>, String> {
        match Credentials::docker_config_path() {
            Some(path) if path.exists() => Credentials::from_docker_config_file(&path, registry),
            _ => Ok(None),
        }
    }

    /// The credentials for `registry` in the Docker config file `path`: the entry of
    /// `auths` named `registry`, or `http(s)://registry[/...]`, its `auth` decoded.
    pub fn from_docker_config_file(
        path: &Path,
        registry: &str,
    ) -> Result<Option<Credentials>, String> {
        use std::io::Read;
        let bad = |reason: String| format!("the Docker config {}: {reason}", path.display());
        let file = std::fs::File::open(path).map_err(|e| bad(format!("cannot open: {e}")))?;
        let mut bytes = Vec::new();
        file.take(MAX_CONFIG_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("cannot read: {e}")))?;
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(bad(format!(
                "longer than the {MAX_CONFIG_BYTES} bytes taken"
            )));
        }
        let config: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
        let Some(auths) = config.get("auths").and_then(|a| a.as_object()) else {
            return Ok(None);
        };
        let entry = auths.iter().find(|(key, _)| {
            let host = key
                .strip_prefix("https://")
                .or_else(|| key.strip_prefix("http://"))
                .unwrap_or(key);
            host.split('/').next() == Some(registry)
        });
        let Some(auth) = entry
            .and_then(|(_, e)| e.get("auth"))
            .and_then(|a| a.as_str())
        else {
            return Ok(None);
        };
        let decoded = base64_decode(auth)
            .ok_or_else(|| bad(format!("the `auth` of {registry} is not base64")))?;
        let text = String::from_utf8(decoded)
            .map_err(|_| bad(format!("the `auth` of {registry} is not UTF-8")))?;
        let (user, password) = text
            .split_once(':')
            .ok_or_else(|| bad(format!("the `auth` of {registry} is not `user:password`")))?;
        Ok(Some(Credentials::new(user, password)))
    }
}

/// One challenge of a `WWW-Authenticate` header: its scheme (lowercased) and parameters
/// (names lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The challenges of a `WWW-Authenticate` header (RFC 7235: `scheme param=value, ...`, values
/// tokens or quoted strings, several challenges separated by commas).
pub fn parse_challenges(header: &str) -> Result<Vec<Challenge>, String> {
    let mut out: Vec<Challenge> = Vec::new();
    let s = header.as_bytes();
    let mut i = 0;
    let skip = |i: &mut usize, s: &[u8]| {
        while *i < s.len() && (s[*i] == b' ' || s[*i] == b'\t' || s[*i] == b',') {
            *i += 1;
        }
    };
    let is_token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&b);
    loop {
        skip(&mut i, s);
        if i >= s.len() {
            break;
        }
        let start = i;
        while i < s.len() && is_token(s[i]) {
            i += 1;
        }
        if i == start {
            return Err(format!(
                "unexpected `{}` in the challenge",
                char::from(s[i])
            ));
        }
        let token = &header[start..i];
        let mut j = i;
        while j < s.len() && s[j] == b' ' {
            j += 1;
        }
        if j < s.len() && s[j] == b'=' && !out.is_empty() && !token.contains('/') {
            // A parameter of the current challenge.
            i = j + 1;
            while i < s.len() && s[i] == b' ' {
                i += 1;
            }
            let value = if i < s.len() && s[i] == b'"' {
                i += 1;
                let mut v = String::new();
                loop {
                    match s.get(i) {
                        None => return Err("a quoted value is not closed".into()),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') if i + 1 < s.len() => {
                            v.push(char::from(s[i + 1]));
                            i += 2;
                        }
                        Some(_) => {
                            let ch = header[i..].chars().next().unwrap_or('?');
                            v.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                v
            } else {
                let vs = i;
                while i < s.len() && !b" \t,\"".contains(&s[i]) {
                    i += 1;
                }
                header[vs..i].to_string()
            };
            if let Some(last) = out.last_mut() {
                last.params.push((token.to_ascii_lowercase(), value));
            }
        } else {
            out.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: Vec::new(),
            });
        }
    }
    if out.is_empty() {
        return Err("no challenge".into());
    }
    Ok(out)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64, padded.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (k, &b)| n | u32::from(b) << (16 - 8 * k));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(B64[(n >> (18 - 6 * k) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64, padded or not; `None` if it is not.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for b in text.bytes() {
        let v = B64.iter().position(|&c| c == b)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (bits < 6).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse() {
        let c = parse_challenges(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull,push""#,
        )
        .unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].param("realm"), Some("https://auth.example.com/token"));
        assert_eq!(c[0].param("service"), Some("registry.example.com"));
        assert_eq!(c[0].param("scope"), Some("repository:team/app:pull,push"));
        let c = parse_challenges(r#"Basic realm="Registry \"Realm\"""#).unwrap();
        assert_eq!(c[0].scheme, "basic");
        assert_eq!(c[0].param("realm"), Some("Registry \"Realm\""));
        let c =
            parse_challenges(r#"Basic realm="a", Bearer realm="https://x/t", error=invalid_token"#)
                .unwrap();
        assert_eq!(
            c.iter().map(|c| c.scheme.as_str()).collect::<Vec<_>>(),
            ["basic", "bearer"]
        );
        assert_eq!(c[1].param("error"), Some("invalid_token"));
        assert!(parse_challenges("").is_err());
        assert!(parse_challenges(r#"Bearer realm="open"#).is_err());
    }

    #[test]
    fn base64_round_trips_and_refuses() {
        for text in ["", "a", "ab", "abc", "user:pass", "ünïcödé:p@ss"] {
            let e = base64_encode(text.as_bytes());
            assert_eq!(base64_decode(&e).unwrap(), text.as_bytes(), "{e}");
        }
        assert_eq!(base64_encode(b"user:pass"), "dXNlcjpwYXNz");
        assert!(base64_decode("dXN*").is_none());
        assert!(base64_decode("d").is_none());
    }

    #[test]
    fn docker_config_auths_are_found_by_registry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths":{"https://ghcr.example.com/v1/":{"auth":"dXNlcjpwYXNz"},
                "127.0.0.1:5000":{"auth":"YTpiOmM="},"bad.example.com":{"auth":"***"}},
                "credsStore":"desktop"}"#,
        )
        .unwrap();
        let c = Credentials::from_docker_config_file(&path, "ghcr.example.com")
            .unwrap()
            .unwrap();
        assert_eq!(c, Credentials::new("user", "pass"));
        assert!(!format!("{c:?}").contains("pass\""));
        let c = Credentials::from_docker_config_file(&path, "127.0.0.1:5000")
            .unwrap()
            .unwrap();
        assert_eq!(c, Credentials::new("a", "b:c"));
        assert!(
            Credentials::from_docker_config_file(&path, "other.example.com")
                .unwrap()
                .is_none()
        );
        let err = Credentials::from_docker_config_file(&path, "bad.example.com").unwrap_err();
        assert!(err.contains("not base64"), "{err}");
    }
}
