//! The HTTP half of the node client: one `POST /api/v0/<command>?<args>` per RPC call over
//! hyper 0.14, each carrying the node-side `timeout` option. The node is untrusted: every wait
//! is cut by a client-side deadline (the timeout plus [`GRACE`]) and checks the [`Cancel`] at
//! least every [`cancel::POLL`]; every answer is read only up to a limit (never buffering more
//! than the limit plus one chunk), and a node that goes past it is dropped; text the node sends
//! reaches messages only through [`quote`]. Requests can run one at a time ([`Client::answer`],
//! [`Client::lines`]) or several at once ([`Client::bounded`] of [`Client::answer_async`]
//! futures, each under its own deadline), all on the client's one thread.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use hyper::body::{Bytes, HttpBody};
use hyper::client::HttpConnector;
use hyper::{Body, Request, Response};
use sha2::Digest;

use super::lines::LineSplitter;
use super::NodeError;
use crate::cancel::{self, Cancel, Cancelled};
use crate::text::printable;

/// How long after the node-side timeout the client gives up on an answer.
pub const GRACE: Duration = Duration::from_secs(2);

/// The most any answer but a block's may hold (version, block/put, pin/add).
pub const ANSWER_LIMIT: usize = 1 << 20;

/// The most of an error answer that is read (the rest is not needed to say what went wrong).
const ERROR_READ_LIMIT: usize = 64 << 10;

/// The most characters of the node's text quoted in one message.
pub const QUOTE_LIMIT: usize = 300;

/// One RPC call: the command (`block/get`), its arguments, and what it does, for messages
/// (`fetching block bafk...`).
pub struct Call<'a> {
    pub command: &'static str,
    pub args: &'a [(&'a str, &'a str)],
    pub what: &'a str,
}

/// A bound on an answer's length and its name for messages (`the largest valid block`).
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub bytes: usize,
    pub name: &'static str,
}

/// The default bound of [`ANSWER_LIMIT`].
pub const ANSWER: Limit = Limit {
    bytes: ANSWER_LIMIT,
    name: "the limit for an answer",
};

/// Talks HTTP to one node, on its own single-threaded runtime.
pub struct Client {
    url: String,
    http: hyper::Client<HttpConnector>,
    runtime: tokio::runtime::Runtime,
    timeout: Duration,
    cancel: Cancel,
}

impl Client {
    /// A client for the node at `url` (already normalized to `http://HOST:PORT`).
    pub fn new(url: String, timeout: Duration, cancel: Cancel) -> Result<Client, NodeError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| NodeError::Transport {
                url: url.clone(),
                what: "starting the client".into(),
                reason: format!("cannot start an async runtime: {e}"),
            })?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = hyper::Client::builder().build(connector);
        Ok(Client {
            url,
            http,
            runtime,
            timeout,
            cancel,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn cancel(&self) -> &Cancel {
        &self.cancel
    }

    pub fn set_cancel(&mut self, cancel: Cancel) {
        self.cancel = cancel;
    }

    /// Runs `call` (sending `file`, if any, as the one part of a multipart/form-data body) and
    /// returns its whole answer, which must be at most `limit`.
    pub fn answer(
        &self,
        call: &Call<'_>,
        file: Option<Bytes>,
        limit: Limit,
    ) -> Result<Vec<u8>, NodeError> {
        self.run(self.answer_async(call, file, limit))
    }

    /// [`Client::answer`] as a future under the call's own deadline (the timeout plus
    /// [`GRACE`], from its first poll), for [`Client::bounded`] or [`Client::run`].
    pub async fn answer_async(
        &self,
        call: &Call<'_>,
        file: Option<Bytes>,
        limit: Limit,
    ) -> Result<Vec<u8>, NodeError> {
        self.within(call, async {
            let mut response = self.send(call, file).await?;
            if let Some(length) = response.body().size_hint().exact() {
                if length > limit.bytes as u64 {
                    return Err(self.too_large(call, limit));
                }
            }
            let mut out = Vec::new();
            while let Some(chunk) = response.body_mut().data().await {
                let chunk = chunk.map_err(|e| self.transport(call, &e))?;
                if chunk.len() > limit.bytes - out.len() {
                    return Err(self.too_large(call, limit));
                }
                out.extend_from_slice(&chunk);
            }
            Ok(out)
        })
        .await
    }

    /// Runs `call` and hands each line of its answer to `each` as it arrives, so that memory
    /// does not grow with the answer; a line longer than `max_line` is an error. `each` returns
    /// `Ok(false)` to stop reading (the connection is then dropped).
    pub fn lines(
        &self,
        call: &Call<'_>,
        max_line: usize,
        mut each: impl FnMut(&[u8]) -> Result<bool, NodeError>,
    ) -> Result<(), NodeError> {
        self.run(self.within(call, async {
            let mut response = self.send(call, None).await?;
            let mut lines = LineSplitter::new(max_line);
            let too_long = |_| NodeError::LineTooLong {
                url: self.url.clone(),
                what: call.what.to_string(),
                limit: max_line,
            };
            while let Some(chunk) = response.body_mut().data().await {
                let chunk = chunk.map_err(|e| self.transport(call, &e))?;
                if !lines.feed(&chunk, &mut each).map_err(|e| e.or(too_long))? {
                    return Ok(());
                }
            }
            lines.finish(&mut each).map_err(|e| e.or(too_long))?;
            Ok(())
        }))
    }

    /// Runs up to `width` (at least one) requests at once: `next` gives the next one (a future
    /// made of [`Client::answer_async`] calls, each under its own deadline), `None` once there
    /// are no more, and is asked again only when fewer than `width` are in flight, so at most
    /// `width` requests (and what they carry) are held at a time; `done` takes each result as
    /// it comes, in the order the requests finish. Stops at the first error (of `next`, a
    /// request or `done`) and when the [`Cancel`] is raised (checked before each request, after
    /// each one finishes and at least every [`cancel::POLL`]), dropping the requests in flight
    /// and their connections.
    pub fn bounded<F, T, E>(
        &self,
        width: usize,
        mut next: impl FnMut() -> Result<Option<F>, E>,
        mut done: impl FnMut(T) -> Result<(), E>,
    ) -> Result<(), E>
    where
        F: Future<Output = Result<T, E>>,
        E: From<Cancelled>,
    {
        let width = width.max(1);
        self.runtime.block_on(async {
            let mut flying: Vec<Pin<Box<F>>> = Vec::with_capacity(width);
            let mut more = true;
            loop {
                self.cancel.check()?;
                while more && flying.len() < width {
                    self.cancel.check()?;
                    match next()? {
                        Some(request) => flying.push(Box::pin(request)),
                        None => more = false,
                    }
                }
                if flying.is_empty() {
                    return Ok(());
                }
                // The first request to finish; every one pending is polled, so each has its
                // waker registered before this waits.
                let first = std::future::poll_fn(|cx| {
                    for i in 0..flying.len() {
                        if let Poll::Ready(result) = flying[i].as_mut().poll(cx) {
                            drop(flying.swap_remove(i));
                            return Poll::Ready(result);
                        }
                    }
                    Poll::Pending
                });
                // Then the cancel is checked again, whether one finished or a POLL passed.
                if let Ok(result) = tokio::time::timeout(cancel::POLL, first).await {
                    done(result?)?;
                }
            }
        })
    }

    /// Sends the request; a status other than 2xx is an error quoting the node's message.
    async fn send(
        &self,
        call: &Call<'_>,
        file: Option<Bytes>,
    ) -> Result<Response<Body>, NodeError> {
        let uri = self.uri(call);
        let request = match file {
            None => Request::post(uri).body(Body::empty()),
            Some(data) => {
                // Sent chunked, with no Content-Length: js-ipfs refuses a declared length over
                // 1 MiB (HTTP 413), and a block may be 2 MiB. The data is sent as it is, between
                // the form's head and tail, never copied.
                let form = Form::new(&data);
                let content_type = form.content_type();
                let (mut sender, body) = Body::channel();
                tokio::spawn(async move {
                    for part in [form.head(), data, form.tail()] {
                        if sender.send_data(part).await.is_err() {
                            return;
                        }
                    }
                });
                Request::post(uri)
                    .header(hyper::header::CONTENT_TYPE, content_type)
                    .body(body)
            }
        }
        .map_err(|e| self.transport(call, &e))?;
        let mut response = self
            .http
            .request(request)
            .await
            .map_err(|e| self.transport(call, &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        // Only the start of an error answer is read: enough to quote it.
        let mut text = Vec::new();
        while let Some(chunk) = response.body_mut().data().await {
            let Ok(chunk) = chunk else { break };
            let room = ERROR_READ_LIMIT - text.len();
            text.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if text.len() == ERROR_READ_LIMIT {
                break;
            }
        }
        Err(NodeError::Refused {
            url: self.url.clone(),
            what: call.what.to_string(),
            status: status.as_u16(),
            message: node_message(&text),
        })
    }

    /// `http://HOST:PORT/api/v0/<command>?<args>&timeout=<secs>s`.
    fn uri(&self, call: &Call<'_>) -> String {
        let mut uri = format!("{}/api/v0/{}?", self.url, call.command);
        for (key, value) in call.args {
            uri.push_str(&encode(key));
            uri.push('=');
            uri.push_str(&encode(value));
            uri.push('&');
        }
        uri.push_str(&format!("timeout={}s", self.timeout.as_secs().max(1)));
        uri
    }

    /// `work` (one call) under its deadline: the timeout plus [`GRACE`], from its first poll.
    async fn within<T>(
        &self,
        call: &Call<'_>,
        work: impl Future<Output = Result<T, NodeError>>,
    ) -> Result<T, NodeError> {
        let allowed = self.timeout + GRACE;
        match tokio::time::timeout(allowed, work).await {
            Ok(result) => result,
            Err(_) => Err(NodeError::NoAnswer {
                url: self.url.clone(),
                what: call.what.to_string(),
                secs: allowed.as_secs(),
            }),
        }
    }

    /// Runs `work` on the runtime until it ends or the [`Cancel`] is raised (checked first and
    /// at least every [`cancel::POLL`]). Stopping drops `work`, and with it its connections.
    pub fn run<T, E: From<Cancelled>>(
        &self,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        self.cancel.check()?;
        self.runtime.block_on(async {
            let mut work = std::pin::pin!(work);
            loop {
                if let Ok(result) = tokio::time::timeout(cancel::POLL, work.as_mut()).await {
                    return result;
                }
                self.cancel.check()?;
            }
        })
    }

    fn transport(&self, call: &Call<'_>, e: &dyn std::fmt::Display) -> NodeError {
        NodeError::Transport {
            url: self.url.clone(),
            what: call.what.to_string(),
            reason: quote(&e.to_string()),
        }
    }

    fn too_large(&self, call: &Call<'_>, limit: Limit) -> NodeError {
        NodeError::TooLarge {
            url: self.url.clone(),
            what: call.what.to_string(),
            limit: limit.bytes,
            limit_name: limit.name,
        }
    }
}

/// The node's explanation in an error answer: the `Message` of Kubo's JSON error, else the text
/// itself, quoted.
fn node_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct KuboError {
        #[serde(rename = "Message")]
        message: String,
    }
    match serde_json::from_slice::<KuboError>(body) {
        Ok(e) => quote(&e.message),
        Err(_) => quote(&String::from_utf8_lossy(body)),
    }
}

/// Text from the node, fit for a message: control characters escaped, at most [`QUOTE_LIMIT`]
/// characters.
pub fn quote(text: &str) -> String {
    let text = text.trim();
    let mut cut: String = text.chars().take(QUOTE_LIMIT).collect();
    if cut.len() < text.len() {
        cut.push_str("...");
    }
    printable(&cut).into_owned()
}

/// A query-string component: unreserved characters as they are, the rest as `%XX`.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A multipart/form-data body with a file as its one part, as Kubo's `block/put` wants it
/// (`curl -F file=@block`): a head, the file's bytes, a tail. The boundary is derived from the
/// data's hash, so the data cannot contain it.
struct Form {
    boundary: String,
}

impl Form {
    fn new(data: &[u8]) -> Form {
        let digest = sha2::Sha256::digest(data);
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Form {
            boundary: format!("wwpack-{hex}"),
        }
    }

    fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    fn head(&self) -> Bytes {
        format!(
            "--{}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"block\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n",
            self.boundary
        )
        .into()
    }

    fn tail(&self) -> Bytes {
        format!("\r\n--{}--\r\n", self.boundary).into()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn the_form_has_one_file_part_and_a_boundary_not_in_the_data() {
        let data = b"--wwpack-\r\n\x00\xff block bytes";
        let form = Form::new(data);
        let content_type = form.content_type();
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let body = [&form.head()[..], data, &form.tail()[..]].concat();
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\""
        )));
        assert!(text.ends_with(&format!("\r\n--{boundary}--\r\n")));
        let start = body.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert_eq!(&body[start..start + data.len()], data);
        assert_eq!(body.len(), start + data.len() + boundary.len() + 8);
        assert!(!data
            .windows(boundary.len())
            .any(|w| w == boundary.as_bytes()));
    }

    /// A client whose node is never contacted: [`Client::bounded`] runs whatever futures it is
    /// given.
    fn client() -> Client {
        Client::new(
            "http://127.0.0.1:9".into(),
            Duration::from_secs(5),
            Cancel::new(),
        )
        .unwrap()
    }

    /// Runs `bounded(3, ...)` over requests 0..20 that each take a moment, request `fail`
    /// failing and the cancel raised once `cancel_after` are done; returns the result, the
    /// requests started, those done, the most in flight at once, and how many times `next` or
    /// `done` was called after the failure or the cancel.
    fn run_bounded(
        fail: Option<usize>,
        cancel_after: Option<usize>,
    ) -> (Result<(), NodeError>, usize, Vec<usize>, usize, usize) {
        let client = client();
        let (started, flying, most) = (Cell::new(0), Cell::new(0), Cell::new(0));
        let (failed, late) = (Cell::new(false), Cell::new(0));
        let stopped = || failed.get() || client.cancel().raised().is_some();
        let mut done = Vec::new();
        let result = client.bounded(
            3,
            || {
                if stopped() {
                    late.set(late.get() + 1);
                }
                let i = started.get();
                if i == 20 {
                    return Ok(None);
                }
                started.set(i + 1);
                flying.set(flying.get() + 1);
                most.set(most.get().max(flying.get()));
                let (flying, failed) = (&flying, &failed);
                Ok(Some(async move {
                    tokio::time::sleep(Duration::from_millis(1 + (i % 4) as u64)).await;
                    flying.set(flying.get() - 1);
                    if Some(i) == fail {
                        failed.set(true);
                        return Err(NodeError::Malformed {
                            url: "u".into(),
                            what: format!("request {i}"),
                            reason: "failed".into(),
                        });
                    }
                    Ok(i)
                }))
            },
            |i| {
                if stopped() {
                    late.set(late.get() + 1);
                }
                done.push(i);
                if Some(done.len()) == cancel_after {
                    client.cancel().raise(15);
                }
                Ok(())
            },
        );
        (result, started.get(), done, most.get(), late.get())
    }

    #[test]
    fn bounded_runs_every_request_with_at_most_width_in_flight() {
        let (result, started, mut done, most, _) = run_bounded(None, None);
        result.unwrap();
        assert_eq!(started, 20);
        done.sort();
        assert_eq!(done, (0..20).collect::<Vec<_>>());
        assert_eq!(most, 3);
    }

    #[test]
    fn bounded_stops_at_the_first_error_or_cancel() {
        // Nothing is started or taken once a request failed; the others in flight are dropped.
        let (result, started, done, _, late) = run_bounded(Some(7), None);
        let err = result.unwrap_err().to_string();
        assert!(err.contains("request 7"), "{err}");
        assert_eq!(late, 0);
        assert!(started < 20 && !done.contains(&7), "{started} {done:?}");
        assert!(
            started <= done.len() + 3,
            "{started} started, {done:?} done"
        );

        let (result, started, done, _, late) = run_bounded(None, Some(5));
        assert!(
            matches!(result, Err(NodeError::Cancelled(Cancelled(15)))),
            "{result:?}"
        );
        assert_eq!((late, done.len()), (0, 5));
        assert!(started <= 5 + 3, "{started} started");
    }

    #[test]
    fn node_text_is_quoted_short_and_printable() {
        assert_eq!(
            node_message(br#"{"Message":"block not found\u001b[2J","Code":0}"#),
            "block not found\\x1b[2J"
        );
        let long = quote(&"\u{7}".repeat(10_000));
        assert!(
            long.len() < QUOTE_LIMIT * 4 + 4 && !long.contains('\u{7}'),
            "{long}"
        );
        assert_eq!(encode("bafk+ /x"), "bafk%2B%20%2Fx");
    }
}
