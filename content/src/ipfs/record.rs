//! The IPNS record a node keeps for a name: what the name points at and its sequence number,
//! which increases with every publish (readers keep the record with the highest).
//!
//! The record is asked for with `routing/get` (Kubo 0.16 and later) or, where the node has no
//! such command (js-ipfs, older Kubo), `dht/get`: both answer JSON events whose `Extra` is the
//! record, base64. The record is an `IpnsEntry` protobuf: `value` (field 1) and `sequence`
//! (field 5) are the ones read here. The node is not trusted: the record is bounded
//! ([`MAX_RECORD_BYTES`], the IPNS limit) and its value must be the one just published.

use crate::block::BlockError;
use crate::ipfs::client::{self, Call};
use crate::ipfs::{Node, NodeError};
use crate::pb::{Reader, Value};

/// The largest IPNS record (the IPNS specification's limit).
pub const MAX_RECORD_BYTES: usize = 10 << 10;

/// What an IPNS record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The path the name points at, e.g. `/ipfs/CID`.
    pub value: String,
    /// The record's sequence number.
    pub sequence: u64,
}

impl Record {
    /// Reads `IpnsEntry` bytes.
    pub fn decode(bytes: &[u8]) -> Result<Record, String> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(format!(
                "the record has {} bytes, more than the {MAX_RECORD_BYTES} an IPNS record may have",
                bytes.len()
            ));
        }
        let mut reader = Reader::new(bytes);
        let (mut value, mut sequence) = (None, None);
        while let Some((field, v)) = reader
            .next_field()
            .map_err(|e| format!("not an IPNS record: {e}"))?
        {
            match (field, v) {
                (1, Value::Bytes(b)) => {
                    value = Some(
                        String::from_utf8(b.to_vec())
                            .map_err(|_| "the record's value is not UTF-8".to_string())?,
                    )
                }
                (5, Value::Varint(n)) => sequence = Some(n),
                _ => {}
            }
        }
        Ok(Record {
            value: value.ok_or("the record has no value")?,
            sequence: sequence.ok_or("the record has no sequence number")?,
        })
    }
}

impl Node {
    /// The record the node keeps for `/ipns/ID` (ID: the name as `name/publish` answered it).
    pub fn name_record(&self, id: &str) -> Result<Record, BlockError> {
        let arg = format!("/ipns/{id}");
        let what = format!("reading the record of {arg}");
        let ask = |command| {
            let call = Call {
                command,
                args: &[("arg", &arg)],
                what: &what,
            };
            self.client.answer(&call, None, client::ANSWER)
        };
        let body = match ask("routing/get") {
            Err(NodeError::Refused { .. }) => ask("dht/get")?,
            other => other?,
        };
        let bad = |reason: String| {
            BlockError::Other(format!("IPFS node at {}: {what}: {reason}", self.url()))
        };
        #[derive(serde::Deserialize)]
        struct Event {
            #[serde(rename = "Type", default)]
            kind: i64,
            #[serde(rename = "Extra", default)]
            extra: String,
        }
        // One JSON event per line; the record is in the first of type 5 ("value").
        for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let event: Event = serde_json::from_slice(line)
                .map_err(|e| bad(format!("the answer is not JSON events: {e}")))?;
            if event.kind == 5 && !event.extra.is_empty() {
                let bytes = base64_decode(&event.extra).map_err(bad)?;
                return Record::decode(&bytes).map_err(bad);
            }
        }
        Err(bad("the answer has no record".to_string()))
    }
}

/// Standard base64 (`+`, `/`, `=` padding) to bytes, at most [`MAX_RECORD_BYTES`] of them.
fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim_end_matches('=');
    if text.len() / 4 * 3 > MAX_RECORD_BYTES {
        return Err(format!(
            "the record is longer than the {MAX_RECORD_BYTES} bytes an IPNS record may have"
        ));
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err("the record is not base64".to_string()),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 {
        return Err("the record is not base64: a dangling character".to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_and_refuses_what_is_not() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("Zg==").unwrap(), b"f");
        assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
        assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
        assert_eq!(base64_decode("+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
        assert!(base64_decode("Zm9v!").is_err());
        assert!(base64_decode("Z").is_err());
        let long = "A".repeat(MAX_RECORD_BYTES / 3 * 4 + 8);
        assert!(base64_decode(&long).unwrap_err().contains("longer"));
    }

    #[test]
    fn records_give_their_value_and_sequence() {
        let mut entry = Vec::new();
        crate::pb::put_bytes(1, b"/ipfs/bafy", &mut entry);
        crate::pb::put_bytes(2, b"sig", &mut entry);
        crate::pb::put_varint(5, 7, &mut entry);
        assert_eq!(
            Record::decode(&entry).unwrap(),
            Record {
                value: "/ipfs/bafy".into(),
                sequence: 7
            }
        );
        let mut no_seq = Vec::new();
        crate::pb::put_bytes(1, b"/ipfs/bafy", &mut no_seq);
        assert!(Record::decode(&no_seq).unwrap_err().contains("sequence"));
        assert!(Record::decode(&vec![0u8; MAX_RECORD_BYTES + 1])
            .unwrap_err()
            .contains("more than"));
    }
}
