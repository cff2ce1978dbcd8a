//! The client against fake nodes on 127.0.0.1 written here: a silent node (cancellation), and
//! nodes whose answers are at and past each bound.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::*;
use crate::cid::RAW;

/// A node that accepts connections and never says a word.
fn silent_node() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    url
}

/// A node whose answer to each request is `answer(path)` (status line, headers, body: whatever
/// it writes), one request per connection.
fn fake_node(answer: fn(&str, &mut TcpStream) -> std::io::Result<()>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = serve(stream, answer);
            });
        }
    });
    url
}

fn serve(
    mut stream: TcpStream,
    answer: fn(&str, &mut TcpStream) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut head = String::new();
    reader.read_line(&mut head)?;
    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    std::io::copy(&mut reader.by_ref().take(length), &mut std::io::sink())?;
    answer(&path, &mut stream)
}

fn ok(stream: &mut TcpStream, body: &[u8]) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)
}

/// Writes `len` bytes of `byte` in 64 KiB chunks, with no length header (the body ends when
/// the connection does), stopping when the client hangs up.
fn stream_body(stream: &mut TcpStream, byte: u8, len: u64) -> std::io::Result<()> {
    stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")?;
    let chunk = vec![byte; 64 << 10];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        stream.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    Ok(())
}

fn version(path: &str, stream: &mut TcpStream) -> Option<std::io::Result<()>> {
    path.starts_with("/api/v0/version")
        .then(|| ok(stream, br#"{"Version":"0.0.0-fake"}"#))
}

const CID: &str = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";

#[test]
fn a_raised_cancel_stops_a_wait_on_a_silent_node() {
    let url = silent_node();
    let cancel = Cancel::new();
    let raiser = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        raiser.raise(15);
    });
    // The timeout is far away: only the cancel can end these waits.
    let started = Instant::now();
    let err = Node::connect_with(&url, Duration::from_secs(600), cancel.clone())
        .err()
        .unwrap();
    assert!(matches!(err, BlockError::Cancelled(Cancelled(15))), "{err}");
    assert!(started.elapsed() < Duration::from_secs(60));

    // A lazy node asked for a block: same.
    let cancel = Cancel::new();
    let lazy = LazyNode::new(&url, Duration::from_secs(600)).with_cancel(cancel.clone());
    let raiser = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        raiser.raise(2);
    });
    let err = lazy.get_unverified(&CID.parse().unwrap()).unwrap_err();
    assert!(matches!(err, BlockError::Cancelled(Cancelled(2))), "{err}");
    assert_eq!(err.to_string(), "stopped by SIGINT");
}

#[test]
fn a_connected_node_takes_a_cancel_for_its_later_requests() {
    let url = fake_node(|path, stream| {
        if let Some(r) = version(path, stream) {
            return r;
        }
        std::thread::sleep(Duration::from_secs(600));
        Ok(())
    });
    let cancel = Cancel::new();
    let node = Node::connect(&url, Duration::from_secs(600))
        .unwrap()
        .with_cancel(cancel.clone());
    cancel.raise(15);
    let err = node.get_unverified(&CID.parse().unwrap()).unwrap_err();
    assert!(matches!(err, BlockError::Cancelled(_)), "{err}");
}

#[test]
fn a_block_answer_is_read_to_the_largest_block_and_no_further() {
    let url = fake_node(|path, stream| {
        if let Some(r) = version(path, stream) {
            return r;
        }
        // The block CID gets exactly the limit, any other an endless answer.
        if path.contains(CID) {
            stream_body(stream, b'x', MAX_BLOCK_LEN as u64)
        } else {
            stream_body(stream, b'x', u64::MAX)
        }
    });
    let node = Node::connect(&url, Duration::from_secs(30)).unwrap();
    let at_limit = node.get_unverified(&CID.parse().unwrap()).unwrap().unwrap();
    assert_eq!(at_limit.len(), MAX_BLOCK_LEN);
    let other = Cid::v1_sha2_256(RAW, b"other");
    let err = node.get_unverified(&other).unwrap_err().to_string();
    for part in [&other.to_string(), &url, "2097152", "connection dropped"] {
        assert!(err.contains(part), "{part}: {err}");
    }
}

#[test]
fn a_declared_length_over_the_limit_is_refused_before_reading() {
    let url = fake_node(|path, stream| {
        if let Some(r) = version(path, stream) {
            return r;
        }
        // Claims 3 GiB and sends nothing.
        stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3221225472\r\n\r\n")?;
        std::thread::sleep(Duration::from_secs(600));
        Ok(())
    });
    let node = Node::connect(&url, Duration::from_secs(600)).unwrap();
    let err = node.get_unverified(&CID.parse().unwrap()).unwrap_err();
    assert!(
        err.to_string().contains("larger than 2097152 bytes"),
        "{err}"
    );
}

#[test]
fn refs_local_keeps_only_the_wanted_and_bounds_each_line() {
    let url = fake_node(|path, stream| {
        if let Some(r) = version(path, stream) {
            return r;
        }
        stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")?;
        let raw = Cid::v1_sha2_256(RAW, b"wanted");
        let v0 = Cid::new_v0(crate::cid::Multihash::sha2_256(b"pb")).unwrap();
        // CIDv1, then a CIDv0, then a bare base58 multihash, then endless noise.
        let listing = format!(
            "{{\"Ref\":\"{raw}\",\"Err\":\"\"}}\n{{\"Ref\":\"{v0}\"}}\n\n{{\"Ref\":\"{}\"}}\n",
            bs58::encode(crate::cid::Multihash::sha2_256(b"bare").to_bytes()).into_string()
        );
        stream.write_all(listing.as_bytes())?;
        loop {
            stream.write_all(
                format!("{{\"Ref\":\"{CID}\",\"Err\":\"\"}}\n")
                    .repeat(1000)
                    .as_bytes(),
            )?;
        }
    });
    let node = Node::connect(&url, Duration::from_secs(30)).unwrap();
    let hash = |data: &[u8]| crate::cid::Multihash::sha2_256(data).to_bytes();
    let wanted: HashSet<Vec<u8>> = [hash(b"wanted"), hash(b"pb"), hash(b"bare")].into();
    // All three are found and the endless rest is never read.
    assert_eq!(node.local_blocks_among(&wanted).unwrap(), wanted);
    assert!(node.local_blocks_among(&HashSet::new()).unwrap().is_empty());
}

#[test]
fn an_over_long_refs_line_is_an_error() {
    let url = fake_node(|path, stream| {
        if let Some(r) = version(path, stream) {
            return r;
        }
        stream_body(stream, b'x', u64::MAX)
    });
    let node = Node::connect(&url, Duration::from_secs(30)).unwrap();
    let wanted: HashSet<Vec<u8>> = [vec![1, 2, 3]].into();
    let err = node.local_blocks_among(&wanted).unwrap_err().to_string();
    assert!(
        err.contains(&url) && err.contains("line longer than 4096 bytes"),
        "{err}"
    );
}

#[test]
fn answers_and_error_texts_are_bounded_and_quoted() {
    let url = fake_node(|path, stream| {
        if path.starts_with("/api/v0/version") {
            return stream_body(stream, b'{', u64::MAX);
        }
        Ok(())
    });
    let err = Node::connect(&url, Duration::from_secs(30))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains(&url) && err.contains("version") && err.contains("larger than 1048576"),
        "{err}"
    );

    let url = fake_node(|path, stream| {
        if let Some(r) = version(path, stream) {
            return r;
        }
        stream.write_all(b"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\n")?;
        stream.write_all(b"{\"Message\":\"\x1b[2Jowned")?;
        loop {
            stream.write_all(&[b'!'; 4096])?;
        }
    });
    let node = Node::connect(&url, Duration::from_secs(30)).unwrap();
    let err = node
        .get_unverified(&CID.parse().unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("HTTP 500") && err.contains(CID), "{err}");
    assert!(
        !err.contains('\u{1b}') && err.contains("\\x1b[2Jowned"),
        "{err}"
    );
    assert!(err.len() < 1000, "{} bytes: {err}", err.len());
}

#[test]
fn a_bad_address_is_an_error_not_a_panic() {
    let err = Node::connect("127.0.0.1", Duration::from_secs(1))
        .err()
        .unwrap();
    assert!(err.to_string().contains("port is missing"), "{err}");
    let lazy = LazyNode::new("https://127.0.0.1:5001", Duration::from_secs(1));
    let err = lazy.get_unverified(&CID.parse().unwrap()).unwrap_err();
    assert!(err.to_string().contains("only http"), "{err}");
}
