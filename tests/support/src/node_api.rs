//! Calls to a real node's RPC API (`POST http://127.0.0.1:PORT/api/v0/...`) from the tests'
//! harness, over a plain `TcpStream`, each bounded in time: connecting, sending and every read
//! have a deadline, and so does the node (`timeout=` is added to every call). One request per
//! connection (`Connection: close`); a chunked answer is decoded.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The most an answer may hold: the harness asks for ids, addresses and peers, never content.
const MAX_ANSWER: usize = 16 << 20;

/// What a node answered: the HTTP status and the body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON, or an error naming what came instead.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(400)])
            )
        })
    }
}

/// `POST <url>/api/v0/<command>` (`command` may hold `?arg=...`), answered within `timeout`:
/// the node is told the same timeout, and the whole exchange must end within it plus 5 s.
pub fn post(url: &str, command: &str, timeout: Duration) -> Result<Answer, String> {
    send(url, command, None, timeout)
}

/// [`post`] with `file` as the one file of a `multipart/form-data` body (what `block/put` and
/// `add` take).
pub fn post_file(
    url: &str,
    command: &str,
    file: &[u8],
    timeout: Duration,
) -> Result<Answer, String> {
    send(url, command, Some(file), timeout)
}

const BOUNDARY: &str = "ww-test-support-boundary-7d41c2";

fn send(
    url: &str,
    command: &str,
    file: Option<&[u8]>,
    timeout: Duration,
) -> Result<Answer, String> {
    let addr: SocketAddr = url
        .strip_prefix("http://")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("not an http://IP:PORT URL: {url}"))?;
    let sep = if command.contains('?') { '&' } else { '?' };
    let path = format!(
        "/api/v0/{command}{sep}timeout={}s",
        timeout.as_secs().max(1)
    );
    let deadline = Instant::now() + timeout + Duration::from_secs(5);
    let what = |e: std::io::Error| format!("POST {url}{path}: {e}");
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("POST {url}{path}: no answer in time"))
    };
    let mut stream = TcpStream::connect_timeout(&addr, left()?).map_err(what)?;
    stream.set_write_timeout(Some(left()?)).map_err(what)?;
    let mut body = Vec::new();
    let mut content_type = String::new();
    if let Some(file) = file {
        content_type = format!("Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n");
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"file\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    }
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{content_type}Content-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .and_then(|()| stream.write_all(&body))
    .map_err(what)?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        stream.set_read_timeout(Some(left()?)).map_err(what)?;
        let n = stream.read(&mut buf).map_err(what)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if raw.len() > MAX_ANSWER {
            return Err(format!("POST {url}{path}: answer over {MAX_ANSWER} bytes"));
        }
    }
    parse(&raw).map_err(|e| format!("POST {url}{path}: {e}"))
}

/// `post`, which must answer 200 with JSON.
pub fn post_json(url: &str, command: &str, timeout: Duration) -> Result<serde_json::Value, String> {
    let answer = post(url, command, timeout)?;
    if answer.status != 200 {
        return Err(format!(
            "{url} answered {} to {command}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        ));
    }
    answer.json().map_err(|e| format!("{url} {command}: {e}"))
}

/// An HTTP/1.1 response read to its end: status line, headers, body (chunked or not).
fn parse(raw: &[u8]) -> Result<Answer, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the answer ends inside its headers")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let body = &raw[end + 4..];
    let chunked = head
        .lines()
        .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok(Answer { status, body })
}

/// The body of a chunked transfer encoding.
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk size line does not end")?;
        let size = String::from_utf8_lossy(&rest[..line]);
        let size = size.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size, 16).map_err(|_| format!("bad chunk size {size:?}"))?;
        rest = &rest[line + 2..];
        if size == 0 {
            return Ok(body);
        }
        if rest.len() < size + 2 {
            return Err("the answer ends inside a chunk".into());
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_chunked_answers_are_read() {
        let a = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, &b"{}"[..]));
        let a = parse(
            b"HTTP/1.1 500 Internal\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((a.status, a.body.as_slice()), (500, &b"abcde"[..]));
        assert!(parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nab").is_err());
        assert!(parse(b"HTTP/1.1 200").is_err());
    }
}
