//! A fake IPFS node that answers wrongly (a CID that is not the block's, bytes that are not the
//! CID's): what a real node cannot be made to do.

/// How a [`LyingNode`] lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lie {
    /// `block/put` answers with the CID of other bytes.
    WrongCid,
    /// `block/get` answers with bytes that are not the block's.
    CorruptBytes,
}

/// A fake IPFS RPC endpoint on 127.0.0.1 that lies, for the one thing a real node cannot be
/// made to do: answer wrongly. It speaks just enough of the API (version, refs/local,
/// block/put, block/get, pin/add) over HTTP/1.1, one request per connection.
pub struct LyingNode {
    pub url: String,
}

impl LyingNode {
    pub fn start(lie: Lie) -> LyingNode {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = answer(stream, lie);
            }
        });
        LyingNode { url }
    }
}

fn answer(mut stream: std::net::TcpStream, lie: Lie) -> std::io::Result<()> {
    use std::io::{Read, Write};
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    // Headers, then the body (Content-Length or chunked), so the client sees its upload read.
    let header_end = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
    if head.contains("transfer-encoding: chunked") {
        while !buf.ends_with(b"0\r\n\r\n") {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(len) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        while buf.len() < header_end + len {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }
    let body: Vec<u8> = if path.starts_with("/api/v0/version") {
        br#"{"Version":"0.0.0-lying","Commit":"","Repo":"0"}"#.to_vec()
    } else if path.starts_with("/api/v0/refs/local") {
        Vec::new()
    } else if path.starts_with("/api/v0/block/put") && lie == Lie::WrongCid {
        // The CID of the 11 bytes "hello world", whatever was sent.
        br#"{"Key":"bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e","Size":11}"#
            .to_vec()
    } else if path.starts_with("/api/v0/block/get") && lie == Lie::CorruptBytes {
        b"these are not the bytes you are looking for".to_vec()
    } else if path.starts_with("/api/v0/pin/add") {
        br#"{"Pins":[]}"#.to_vec()
    } else {
        let msg = br#"{"Message":"not served by the lying node","Code":0,"Type":"error"}"#;
        let head = format!(
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            msg.len()
        );
        stream.write_all(head.as_bytes())?;
        return stream.write_all(msg);
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)
}
