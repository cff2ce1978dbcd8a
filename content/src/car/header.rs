//! The CAR v1 header in DAG-CBOR: the map `{"roots": [CID, ...], "version": 1}`, written byte
//! for byte as go-car writes it ([`encode_header`]: canonical DAG-CBOR, keys sorted by length,
//! "roots" before "version", every head in its shortest form, a CID as tag 42 around a byte
//! string of a 0x00 byte and the binary CID) and read strictly ([`decode_header`]): only a map
//! of exactly those two keys (in either order, each once), a version of 1, definite lengths,
//! shortest-form heads throughout, a 0x00 prefix and a whole CID in every root's bytes, nothing
//! after the map. Every refusal names the rule and the byte of the CAR where it is broken.
//!
//! Why our own codec and not `serde_ipld_dagcbor` (0.6.4, with `ipld-core`'s `Cid`): we ran
//! each malformed header our tests refuse, and a few more, through it with a
//! `#[serde(deny_unknown_fields)] struct { roots: Vec<Cid>, version: u64 }`. It refuses most of
//! them, but it accepts integers and heads not in their shortest form (a version `18 01`, a map
//! head `b8 02`, an array head `98 01`, a text head `78 05`, a tag head `d9 00 2a`), which
//! DAG-CBOR forbids and our tests require refused, and a CID byte string with a byte after the
//! CID; its errors name neither the byte (it reports no offset for most) nor our rule ("missing
//! field `roots`" for a header whose version is 2, `Mismatch { expect_major: 4, byte: 160 }`).
//! Speed is no reason either way (measured on the shared 2-core machine, best of 3, under load):
//! a one-root header takes ours about 0.4 µs from the length prefix on, theirs 0.2 to 0.3 µs for
//! the map alone; a 1000-root header 150 µs against 115 to 165 µs; and a CAR has one header.
//! Adopting it would have meant a new dependency (with `cbor4ii`) and weaker checks, so the
//! header keeps this small codec (about 200 lines, only what the header needs).

use std::fmt::Display;

use super::CarError;
use crate::cid::{varint, Cid};

/// The CAR v1 header for `roots`, with its length prefix, as go-car writes it.
pub fn encode_header(roots: &[Cid]) -> Vec<u8> {
    let body = header_body(roots);
    let mut out = Vec::with_capacity(body.len() + 9);
    varint::write(body.len() as u64, &mut out);
    out.extend_from_slice(&body);
    out
}

// The DAG-CBOR of the header: just enough CBOR to write and strictly read
// `{"roots": [CID...], "version": 1}`.

const MAJOR_UINT: u8 = 0;
pub(super) const MAJOR_BYTES: u8 = 2;
const MAJOR_TEXT: u8 = 3;
const MAJOR_ARRAY: u8 = 4;
const MAJOR_MAP: u8 = 5;
const MAJOR_TAG: u8 = 6;
/// The CBOR tag of a CID in DAG-CBOR.
const TAG_CID: u64 = 42;

/// Appends a CBOR item head in its shortest form.
pub(super) fn cbor_head(major: u8, value: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    if value < 24 {
        out.push(m | value as u8);
    } else if let Ok(v) = u8::try_from(value) {
        out.extend_from_slice(&[m | 24, v]);
    } else if let Ok(v) = u16::try_from(value) {
        out.push(m | 25);
        out.extend_from_slice(&v.to_be_bytes());
    } else if let Ok(v) = u32::try_from(value) {
        out.push(m | 26);
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&value.to_be_bytes());
    }
}

fn cbor_text(text: &str, out: &mut Vec<u8>) {
    cbor_head(MAJOR_TEXT, text.len() as u64, out);
    out.extend_from_slice(text.as_bytes());
}

/// The header map, without its length prefix.
pub(super) fn header_body(roots: &[Cid]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + roots.len() * 41);
    cbor_head(MAJOR_MAP, 2, &mut out);
    cbor_text("roots", &mut out);
    cbor_head(MAJOR_ARRAY, roots.len() as u64, &mut out);
    for root in roots {
        let cid = root.to_bytes();
        cbor_head(MAJOR_TAG, TAG_CID, &mut out);
        cbor_head(MAJOR_BYTES, cid.len() as u64 + 1, &mut out);
        out.push(0x00); // the identity multibase prefix DAG-CBOR puts before a binary CID
        out.extend_from_slice(&cid);
    }
    cbor_text("version", &mut out);
    cbor_head(MAJOR_UINT, 1, &mut out);
    out
}

/// Decodes the header map `bytes`, which starts at byte `base` of the CAR.
pub(super) fn decode_header(bytes: &[u8], base: u64) -> Result<Vec<Cid>, CarError> {
    let mut cbor = Cbor {
        bytes,
        pos: 0,
        base,
    };
    let entries = cbor.head(MAJOR_MAP, &"the header map")?;
    let (mut roots, mut version) = (None, None);
    for _ in 0..entries {
        let at = cbor.pos;
        let len = cbor.head(MAJOR_TEXT, &"a header key")?;
        let key = cbor.take(len, &"a header key")?;
        match key {
            b"roots" if roots.is_some() => return Err(cbor.error(at, "\"roots\" appears twice")),
            b"version" if version.is_some() => {
                return Err(cbor.error(at, "\"version\" appears twice"))
            }
            b"roots" => roots = Some(decode_roots(&mut cbor)?),
            b"version" => version = Some(cbor.head(MAJOR_UINT, &"the version")?),
            other => {
                return Err(cbor.error(
                    at,
                    format!(
                        "unknown key {:?} (a CAR v1 header has \"roots\" and \"version\")",
                        String::from_utf8_lossy(other)
                    ),
                ))
            }
        }
    }
    match version {
        None => return Err(cbor.error(0, "the header has no \"version\"")),
        Some(1) => {}
        Some(v) => {
            return Err(cbor.error(0, format!("CAR version {v} is not supported (only CAR v1)")))
        }
    }
    let Some(roots) = roots else {
        return Err(cbor.error(0, "the header has no \"roots\""));
    };
    if cbor.pos != bytes.len() {
        return Err(cbor.error(
            cbor.pos,
            format!("{} bytes follow the header map", bytes.len() - cbor.pos),
        ));
    }
    Ok(roots)
}

fn decode_roots(cbor: &mut Cbor<'_>) -> Result<Vec<Cid>, CarError> {
    let count = cbor.head(MAJOR_ARRAY, &"the roots array")?;
    // No capacity from `count`: it is not trusted yet.
    let mut roots = Vec::new();
    for i in 0..count {
        let at = cbor.pos;
        let tag = cbor.head(MAJOR_TAG, &format_args!("root {i} (a CID: tag 42)"))?;
        if tag != TAG_CID {
            return Err(cbor.error(at, format!("root {i} has tag {tag}, not 42 (CID)")));
        }
        let len = cbor.head(MAJOR_BYTES, &RootBytes(i))?;
        let bytes = cbor.take(len, &RootBytes(i))?;
        let cid = match bytes.split_first() {
            Some((0x00, cid)) => {
                Cid::from_bytes(cid).map_err(|e| cbor.error(at, format!("root {i}: {e}")))?
            }
            Some((prefix, _)) => {
                return Err(cbor.error(
                    at,
                    format!("root {i} starts with 0x{prefix:02x}, not the 0x00 prefix of a CID"),
                ))
            }
            None => return Err(cbor.error(at, format!("root {i} is an empty byte string"))),
        };
        roots.push(cid);
    }
    Ok(roots)
}

/// "the bytes of root N", for errors: formatted only when there is one.
struct RootBytes(u64);

impl Display for RootBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the bytes of root {}", self.0)
    }
}

/// A strict reader of the few DAG-CBOR items of a CAR header.
struct Cbor<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Offset of `bytes` in the CAR, for errors.
    base: u64,
}

impl<'a> Cbor<'a> {
    fn error(&self, at: usize, rule: impl Into<String>) -> CarError {
        CarError::Header {
            offset: self.base + at as u64,
            rule: rule.into(),
        }
    }

    /// The next `len` bytes.
    fn take(&mut self, len: u64, what: &dyn Display) -> Result<&'a [u8], CarError> {
        let start = self.pos;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| start.checked_add(len))
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.error(start, format!("{what} runs past the end of the header")))?;
        self.pos = end;
        Ok(&self.bytes[start..end])
    }

    /// The head of an item that must be of type `major`: its argument (a value, length or tag).
    fn head(&mut self, major: u8, what: &dyn Display) -> Result<u64, CarError> {
        let at = self.pos;
        let Some(&first) = self.bytes.get(at) else {
            return Err(self.error(at, format!("the header ends where {what} should be")));
        };
        self.pos += 1;
        let (found, info) = (first >> 5, first & 0x1f);
        if found != major {
            return Err(self.error(
                at,
                format!("expected {what}, found {}", cbor_type(found, info)),
            ));
        }
        let (value, min) = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => (be(self.take(1, what)?), 24),
            25 => (be(self.take(2, what)?), 1 << 8),
            26 => (be(self.take(4, what)?), 1 << 16),
            27 => (be(self.take(8, what)?), 1 << 32),
            31 => {
                return Err(self.error(
                    at,
                    format!("{what} has indefinite length, which DAG-CBOR forbids"),
                ))
            }
            _ => {
                return Err(self.error(
                    at,
                    format!("{what} has reserved additional information {info}"),
                ))
            }
        };
        if value < min {
            return Err(self.error(
                at,
                format!("{what} is not in its shortest form, which DAG-CBOR requires"),
            ));
        }
        Ok(value)
    }
}

/// A big-endian unsigned integer of at most 8 bytes.
fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |v, &b| (v << 8) | u64::from(b))
}

fn cbor_type(major: u8, info: u8) -> &'static str {
    match (major, info) {
        (0, _) => "an unsigned integer",
        (1, _) => "a negative integer",
        (2, _) => "a byte string",
        (3, _) => "a text string",
        (4, _) => "an array",
        (5, _) => "a map",
        (6, _) => "a tag",
        (_, 20 | 21) => "a boolean",
        (_, 22) => "null",
        (_, 23) => "undefined",
        (_, 25..=27) => "a float",
        _ => "a simple value",
    }
}
