//! The HTTP side of the registry client: HTTPS by default, plain HTTP only when asked (and to
//! a registry that is not a loopback address only when asked for that too), the registry's
//! `WWW-Authenticate` challenges answered (`Basic` with the credentials; `Bearer` with a token
//! from the realm), redirects followed by hand (only to `http(s)`, never down from HTTPS to
//! HTTP unless plain HTTP was allowed, the registry's `Authorization` only to its own origin),
//! and every answer read within a bound.

use std::io::Read;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use super::auth::{parse_challenges, Credentials};
use super::reference::{check_registry, Reference};
use super::{Problem, RegistryError};

/// The most bytes of an error answer read (and quoted).
pub const MAX_ERROR_BODY: usize = 4 << 10;
/// The most bytes of a token answer read.
pub const MAX_TOKEN_BYTES: usize = 64 << 10;
/// The most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;

/// How to reach a registry.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Speak plain HTTP instead of HTTPS (`--plain-http`): taken for a registry on a loopback
    /// address (`localhost`, `127.0.0.0/8`, `[::1]`); for any other, only with
    /// `plain_http_remote` too.
    pub plain_http: bool,
    /// Allow plain HTTP to a registry that is not on a loopback address (`--insecure`), where
    /// anyone on the path reads and changes what is sent (the digests still protect a pull).
    pub plain_http_remote: bool,
    /// The longest wait for each connect, read and write: a stall, not the whole transfer.
    pub timeout: Duration,
    /// Credentials for `Basic` challenges and for the token realm of `Bearer` ones.
    pub credentials: Option<Credentials>,
}

impl Default for ClientOptions {
    /// HTTPS, 30 s, no credentials.
    fn default() -> ClientOptions {
        ClientOptions {
            plain_http: false,
            plain_http_remote: false,
            timeout: Duration::from_secs(30),
            credentials: None,
        }
    }
}

/// A client of one registry (blocking).
pub struct Client {
    registry: String,
    base: String,
    plain_http: bool,
    /// Plain HTTP to hosts that are not on a loopback address too (`--insecure`).
    plain_http_remote: bool,
    agent: ureq::Agent,
    credentials: Option<Credentials>,
    /// The `Authorization` sent to the registry's origin, once a challenge asked for one.
    authorization: Mutex<Option<String>>,
}

/// The body of a request: replayable, so that a request can be sent again after a challenge.
pub(crate) enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// A file of this many bytes, streamed with its `Content-Length`.
    File(&'a Path, u64),
}

/// One request to the registry.
pub(crate) struct Req<'a> {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body<'a>,
    /// Follow redirects (`GET` and `HEAD` of blobs and manifests).
    pub follow: bool,
}

impl<'a> Req<'a> {
    pub fn new(method: &'static str, url: String) -> Req<'a> {
        Req {
            method,
            url,
            headers: Vec::new(),
            body: Body::Empty,
            follow: false,
        }
    }
}

impl Client {
    /// A client of `registry` (`host[:port]`).
    pub fn new(registry: &str, opts: ClientOptions) -> Result<Client, RegistryError> {
        let refuse = |reason: String| RegistryError {
            registry: ww_content::text::printable(registry).into_owned(),
            repository: None,
            action: "connect".into(),
            problem: Box::new(Problem::Refused(reason)),
        };
        check_registry(registry).map_err(refuse)?;
        if opts.plain_http && !opts.plain_http_remote && !is_loopback(registry) {
            return Err(refuse(
                "plain HTTP is taken only for a registry on a loopback address (localhost, \
                 127.0.0.0/8, [::1]); for another, where anyone on the way can read and change \
                 what is sent, ask for it explicitly (--insecure)"
                    .into(),
            ));
        }
        let scheme = if opts.plain_http { "http" } else { "https" };
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(opts.timeout)
            .timeout_read(opts.timeout)
            .timeout_write(opts.timeout)
            .redirects(0)
            .user_agent(concat!("ww-oci/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            registry: registry.to_string(),
            base: format!("{scheme}://{registry}"),
            plain_http: opts.plain_http,
            plain_http_remote: opts.plain_http_remote,
            agent,
            credentials: opts.credentials,
            authorization: Mutex::new(None),
        })
    }

    /// The registry, `host[:port]`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// `http(s)://host[:port]`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `/v2/<repository>/<rest>` on the registry.
    pub(crate) fn api(&self, repository: &str, rest: &str) -> String {
        format!("{}/v2/{repository}/{rest}", self.base)
    }

    pub(crate) fn err(&self, repository: &str, action: &str, problem: Problem) -> RegistryError {
        RegistryError {
            registry: self.registry.clone(),
            repository: Some(repository.to_string()),
            action: action.to_string(),
            problem: Box::new(problem),
        }
    }

    /// Refuses a reference to another registry.
    pub(crate) fn check_reference(&self, reference: &Reference) -> Result<(), RegistryError> {
        if reference.registry != self.registry {
            return Err(self.err(
                &reference.repository,
                "check the reference",
                Problem::Refused(format!(
                    "{reference} names the registry {}, not this client's",
                    reference.registry
                )),
            ));
        }
        Ok(())
    }

    /// Sends `req`, answering one authentication challenge and following redirects when asked;
    /// the last answer, whatever its status.
    pub(crate) fn send(
        &self,
        repository: &str,
        action: &str,
        req: &Req<'_>,
    ) -> Result<ureq::Response, RegistryError> {
        let mut url = req.url.clone();
        let mut challenged = false;
        let mut redirects = 0;
        loop {
            let to_registry = same_origin(&url, &self.base);
            let mut r = self.agent.request(req.method, &url);
            for (name, value) in &req.headers {
                r = r.set(name, value);
            }
            if to_registry {
                let auth = self.authorization.lock().map(|a| a.clone()).unwrap_or(None);
                if let Some(auth) = auth {
                    r = r.set("Authorization", &auth);
                }
            }
            let result = match &req.body {
                Body::Empty => r.call(),
                Body::Bytes(bytes) => r.send_bytes(bytes),
                Body::File(path, len) => {
                    let file = std::fs::File::open(path).map_err(|e| {
                        self.err(
                            repository,
                            action,
                            Problem::Refused(format!("cannot open {}: {e}", path.display())),
                        )
                    })?;
                    r.set("Content-Length", &len.to_string())
                        .send(file.take(*len))
                }
            };
            let resp = match result {
                Ok(resp) | Err(ureq::Error::Status(_, resp)) => resp,
                Err(ureq::Error::Transport(t)) => {
                    return Err(self.err(repository, action, Problem::Transport(t.to_string())))
                }
            };
            if resp.status() == 401 && to_registry && !challenged {
                if let Some(challenge) = resp.header("WWW-Authenticate").map(str::to_string) {
                    challenged = true;
                    self.authenticate(repository, action, &challenge)?;
                    continue;
                }
            }
            if req.follow && matches!(resp.status(), 301 | 302 | 303 | 307 | 308) {
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(self.err(
                        repository,
                        action,
                        Problem::Refused(format!("more than {MAX_REDIRECTS} redirects")),
                    ));
                }
                let location = resp.header("Location").unwrap_or_default().to_string();
                url = self
                    .redirect_target(&url, &location)
                    .map_err(|e| self.err(repository, action, Problem::Refused(e)))?;
                continue;
            }
            return Ok(resp);
        }
    }

    /// Where a `Location` sent in answer to a request to `from` leads: an `http(s)` URL,
    /// never from HTTPS down to HTTP unless plain HTTP was allowed.
    pub(crate) fn redirect_target(&self, from: &str, location: &str) -> Result<String, String> {
        let to = resolve_url(from, location)?;
        if scheme(&to) == Some("http".into()) {
            if !self.plain_http {
                return Err(format!(
                    "the registry sends to the plain HTTP URL `{}`, and plain HTTP was not allowed",
                    ww_content::text::printable(&to)
                ));
            }
            // --plain-http is for loopback: a plain HTTP hop elsewhere (where the registry's
            // credentials or token would travel in clear) needs --insecure.
            let host = origin(&to)
                .and_then(|o| o.split_once("://").map(|(_, h)| h.to_string()))
                .unwrap_or_default();
            if !self.plain_http_remote && !is_loopback(&host) {
                return Err(format!(
                    "the registry sends to the plain HTTP URL `{}`, off the loopback address                      that --plain-http allows (--insecure allows any)",
                    ww_content::text::printable(&to)
                ));
            }
        }
        Ok(to)
    }

    /// `resp` if its status is one of `ok`, else the error quoting its status and body.
    pub(crate) fn expect(
        &self,
        repository: &str,
        action: &str,
        resp: ureq::Response,
        ok: &[u16],
    ) -> Result<ureq::Response, RegistryError> {
        if ok.contains(&resp.status()) {
            return Ok(resp);
        }
        let status = resp.status();
        let body = error_body(resp);
        Err(self.err(repository, action, Problem::Status { status, body }))
    }

    /// Answers a challenge: sets the `Authorization` the registry asks for.
    fn authenticate(
        &self,
        repository: &str,
        action: &str,
        header: &str,
    ) -> Result<(), RegistryError> {
        let refuse = |reason: String| self.err(repository, action, Problem::Refused(reason));
        let challenges = parse_challenges(header).map_err(|e| {
            refuse(format!(
                "the registry's challenge `{}` cannot be read: {e}",
                ww_content::text::printable(header)
            ))
        })?;
        let authorization = if let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") {
            let realm = bearer
                .param("realm")
                .ok_or_else(|| refuse("the registry's Bearer challenge names no realm".into()))?;
            let mut url = self
                .redirect_target(&self.base, realm)
                .map_err(|e| refuse(format!("the token realm: {e}")))?;
            let mut sep = if url.contains('?') { '&' } else { '?' };
            for name in ["service", "scope"] {
                if let Some(value) = bearer.param(name) {
                    url.push_str(&format!("{sep}{name}={}", percent_encode(value)));
                    sep = '&';
                }
            }
            format!("Bearer {}", self.fetch_token(repository, action, &url)?)
        } else if challenges.iter().any(|c| c.scheme == "basic") {
            match &self.credentials {
                Some(c) => c.basic_header(),
                None => {
                    return Err(refuse(
                        "the registry asks for a user and password (Basic) and none were \
                         given (add them to the Docker config file's `auths`)"
                            .into(),
                    ))
                }
            }
        } else {
            return Err(refuse(format!(
                "the registry asks for an authentication this client does not speak: `{}` \
                 (only Basic and Bearer)",
                ww_content::text::printable(header)
            )));
        };
        if let Ok(mut slot) = self.authorization.lock() {
            *slot = Some(authorization);
        }
        Ok(())
    }

    /// A token from the realm `url`, asked with the credentials if any.
    fn fetch_token(
        &self,
        repository: &str,
        action: &str,
        url: &str,
    ) -> Result<String, RegistryError> {
        let what = format!(
            "{action}: get a token from {}",
            ww_content::text::printable(url)
        );
        let mut r = self.agent.get(url);
        if let Some(c) = &self.credentials {
            r = r.set("Authorization", &c.basic_header());
        }
        let resp = match r.call() {
            Ok(resp) | Err(ureq::Error::Status(_, resp)) => resp,
            Err(ureq::Error::Transport(t)) => {
                return Err(self.err(repository, &what, Problem::Transport(t.to_string())))
            }
        };
        let resp = self.expect(repository, &what, resp, &[200])?;
        let bytes = read_bounded(resp, MAX_TOKEN_BYTES)
            .map_err(|e| self.err(repository, &what, Problem::Refused(e)))?;
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let token: Token = serde_json::from_slice(&bytes).map_err(|e| {
            self.err(
                repository,
                &what,
                Problem::Refused(format!("the answer is not a token: {e}")),
            )
        })?;
        let token = token.token.or(token.access_token).unwrap_or_default();
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(self.err(
                repository,
                &what,
                Problem::Refused("the answer holds no token of visible ASCII".into()),
            ));
        }
        Ok(token)
    }
}

/// Whether the registry's host is a loopback address: `localhost`, `127.0.0.0/8` or `[::1]`
/// (by its text: no name is resolved).
pub fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(v6) => {
            return v6
                .split_once(']')
                .and_then(|(a, _)| a.parse::<std::net::Ipv6Addr>().ok())
                .is_some_and(|a| a.is_loopback())
        }
        None => registry.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

/// Up to `limit` bytes of an answer; longer is refused.
pub(crate) fn read_bounded(resp: ureq::Response, limit: usize) -> Result<Vec<u8>, String> {
    if let Some(len) = content_length(&resp) {
        if len > limit as u64 {
            return Err(format!(
                "the answer has {len} bytes, more than the {limit} taken"
            ));
        }
    }
    let mut bytes = Vec::new();
    resp.into_reader()
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading the answer: {e}"))?;
    if bytes.len() > limit {
        return Err(format!("the answer is longer than the {limit} bytes taken"));
    }
    Ok(bytes)
}

/// The `Content-Length` of an answer, if it has a valid one.
pub(crate) fn content_length(resp: &ureq::Response) -> Option<u64> {
    resp.header("Content-Length")?.trim().parse().ok()
}

/// The start of an error answer's body, printable.
fn error_body(resp: ureq::Response) -> String {
    let mut bytes = Vec::new();
    let _ = resp
        .into_reader()
        .take(MAX_ERROR_BODY as u64)
        .read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    ww_content::text::printable(text.trim()).into_owned()
}

/// The scheme of `url`, lowercased, if it starts with one.
fn scheme(url: &str) -> Option<String> {
    let (scheme, _) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    ok.then(|| scheme.to_ascii_lowercase())
}

/// `scheme://authority` of an absolute URL, lowercased.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(format!("{scheme}://{}", &rest[..end]).to_ascii_lowercase())
}

fn same_origin(a: &str, b: &str) -> bool {
    origin(a).is_some() && origin(a) == origin(b)
}

/// `location` resolved against `base` (an absolute `http(s)` URL): absolute, scheme-relative,
/// absolute-path or relative; only `http` and `https` are taken.
pub fn resolve_url(base: &str, location: &str) -> Result<String, String> {
    let shown = ww_content::text::printable(location);
    if location.is_empty() {
        return Err("the registry's answer has no Location".into());
    }
    if location.chars().any(|c| c.is_control() || c == ' ') {
        return Err(format!(
            "the Location `{shown}` has spaces or control characters"
        ));
    }
    let resolved = if let Some(s) = scheme(location).filter(|_| {
        // `a:b/c` is a scheme only if the colon comes before any `/`, `?` or `#`.
        location.find(':') < location.find(['/', '?', '#']).or(Some(usize::MAX))
    }) {
        if s != "http" && s != "https" {
            return Err(format!("the Location `{shown}` is not an http(s) URL"));
        }
        location.to_string()
    } else if location.starts_with("//") {
        format!("{}:{location}", scheme(base).unwrap_or_default())
    } else {
        let origin = origin(base).ok_or_else(|| format!("`{base}` is not an absolute URL"))?;
        if location.starts_with('/') {
            format!("{origin}{location}")
        } else {
            let path = &base[origin.len()..];
            let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
            let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
            let dir = if dir.is_empty() { "/" } else { dir };
            format!("{origin}{dir}{location}")
        }
    };
    match origin(&resolved) {
        Some(o) if !o.ends_with("://") => Ok(resolved),
        _ => Err(format!("the Location `{shown}` names no host")),
    }
}

/// `value` percent-encoded for a query (all but the unreserved characters).
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_and_only_http_s_is_taken() {
        let base = "http://127.0.0.1:5000/v2/team/app/blobs/uploads/";
        assert_eq!(
            resolve_url(base, "/v2/team/app/blobs/uploads/u1?_state=x").unwrap(),
            "http://127.0.0.1:5000/v2/team/app/blobs/uploads/u1?_state=x"
        );
        assert_eq!(
            resolve_url(base, "u2").unwrap(),
            "http://127.0.0.1:5000/v2/team/app/blobs/uploads/u2"
        );
        assert_eq!(
            resolve_url(base, "https://storage.example.com/b?sig=1").unwrap(),
            "https://storage.example.com/b?sig=1"
        );
        assert_eq!(
            resolve_url(base, "//storage.example.com/b").unwrap(),
            "http://storage.example.com/b"
        );
        for bad in [
            "file:///etc/passwd",
            "FTP://x/y",
            "gopher://x",
            "",
            "/a b",
            "http:///x",
        ] {
            assert!(resolve_url(base, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plain_http_is_for_loopback_unless_asked_for_more() {
        for host in ["127.0.0.1:5000", "localhost:1", "127.1.2.3", "[::1]:5000"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "10.0.0.1:5000",
            "example.com",
            "[::2]:1",
            "localhost.example.com",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
        let plain = ClientOptions {
            plain_http: true,
            ..ClientOptions::default()
        };
        let err = Client::new("registry.example.com:5000", plain.clone())
            .err()
            .unwrap();
        assert!(err.to_string().contains("--insecure"), "{err}");
        let c = Client::new(
            "registry.example.com:5000",
            ClientOptions {
                plain_http_remote: true,
                ..plain.clone()
            },
        )
        .unwrap();
        assert_eq!(c.base_url(), "http://registry.example.com:5000");
        let c = Client::new("registry.example.com", ClientOptions::default()).unwrap();
        assert_eq!(c.base_url(), "https://registry.example.com");
        // A redirect from HTTPS down to HTTP is refused when plain HTTP was not asked for.
        let err = c
            .redirect_target(
                "https://registry.example.com/v2/a/blobs/x",
                "http://s.example.com/x",
            )
            .unwrap_err();
        assert!(err.contains("plain HTTP was not allowed"), "{err}");
        assert!(Client::new("bad host", ClientOptions::default()).is_err());
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            percent_encode("repository:team/app:pull,push"),
            "repository%3Ateam%2Fapp%3Apull%2Cpush"
        );
    }
}
