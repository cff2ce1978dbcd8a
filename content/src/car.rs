//! CAR v1 (Content Addressable aRchive) export and import, interoperable with `ipfs dag export`
//! and `ipfs dag import`.
//!
//! A CAR v1 is a header and a run of sections:
//!
//! ```text
//! varint(len(header)) header  varint(len(cid) + len(data)) cid data  varint(...) cid data ...
//! ```
//!
//! The header is the DAG-CBOR map `{"roots": [CID, ...], "version": 1}`; a CID in DAG-CBOR is
//! tag 42 around a byte string holding a 0x00 byte and the binary CID. [`export`] writes the
//! header byte for byte as go-car (and so `ipfs dag export`) does: canonical DAG-CBOR, keys
//! sorted by length ("roots" before "version"), every integer in its shortest form. It then walks
//! each root depth-first, pre-order (a block, then its links in link order), writing each block
//! once, which is the order go-car writes a DAG in.
//!
//! [`import`] streams: it holds one section in memory at a time, plus the set of CIDs seen. Every
//! block is checked against its CID before it reaches the sink, and the CAR must be closed: every
//! root and every block linked from a block in the CAR must be in the CAR. CAR v1 has no end
//! marker, so that check is what makes a file cut at a section boundary an error.
//!
//! Limits, so a hostile file cannot make us allocate much: a header is at most
//! [`MAX_HEADER_LEN`] bytes, a block at most [`MAX_BLOCK_LEN`] bytes (the 2 MiB block limit of
//! Kubo and bitswap), a section's CID at most [`MAX_CID_LEN`] bytes, so a section at most
//! [`MAX_SECTION_LEN`] bytes. Varints must be minimal and at most 9 bytes long. Export refuses
//! what import would refuse, so whatever we export we can import.

use std::collections::HashSet;
use std::io::{self, BufReader, BufWriter, Read, Write};

use crate::block::{self, BlockError, BlockSink, BlockSource};
use crate::cid::{varint, Cid, IDENTITY};

/// The largest header (the DAG-CBOR map, without its length varint) we write or read: 1 MiB.
pub const MAX_HEADER_LEN: usize = 1 << 20;
/// The largest block we write or read: 2 MiB, the block size limit of Kubo and bitswap.
pub const MAX_BLOCK_LEN: usize = 2 << 20;
/// The longest binary CID we write or read in a section. A sha2-256 CIDv1 is 36 bytes; the rest
/// is room for long codec numbers and small identity CIDs.
pub const MAX_CID_LEN: usize = 256;
/// The largest section (CID and block, without the length varint) we write or read.
pub const MAX_SECTION_LEN: usize = MAX_BLOCK_LEN + MAX_CID_LEN;

/// Why a CAR could not be written or read. Messages name the CID where there is one and the byte
/// offset in the CAR where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum CarError {
    /// Reading a block from the store, or storing one, failed; the error names the CID.
    #[error(transparent)]
    Block(#[from] BlockError),
    /// The block of the section at `offset` does not match its CID, has a codec or hash function
    /// we do not read, or is a malformed dag-pb node. The error names the CID.
    #[error("CAR section at byte {offset}: {source}")]
    Section {
        offset: u64,
        #[source]
        source: BlockError,
    },
    /// The header breaks a rule of CAR v1 or DAG-CBOR.
    #[error("malformed CAR header at byte {offset}: {rule}")]
    Header { offset: u64, rule: String },
    /// A section, or a length prefix, breaks a rule of CAR v1.
    #[error("malformed CAR at byte {offset}: {rule}")]
    Format { offset: u64, rule: String },
    /// The input ends in the middle of something; `offset` is where it ends.
    #[error("CAR is truncated at byte {offset}: {what}")]
    Truncated { offset: u64, what: String },
    /// A root named in the header is not in the CAR.
    #[error("CAR is incomplete: root {cid} is not in it (truncated file?)")]
    MissingRoot { cid: Cid },
    /// A block in the CAR links to a block that is not in it.
    #[error(
        "CAR is incomplete: {missing} linked block(s) are not in it, the first {cid} \
         (linked from {parent}) (truncated file?)"
    )]
    MissingLink {
        cid: Cid,
        parent: Cid,
        missing: usize,
    },
    /// Reading or writing the CAR stream failed.
    #[error("cannot {action} the CAR at byte {offset}: {source}")]
    Io {
        action: &'static str,
        offset: u64,
        #[source]
        source: io::Error,
    },
    /// [`export`] was given no roots. go-car, and so older Kubo, cannot read a CAR without one.
    #[error("a CAR needs at least one root")]
    NoRoots,
    /// The header for this many roots would be over [`MAX_HEADER_LEN`].
    #[error("the CAR header for {roots} roots would be {len} bytes, over the {MAX_HEADER_LEN}-byte limit")]
    HeaderTooLarge { roots: usize, len: usize },
    /// A block, or its CID, is too large for a section we would read back.
    #[error("block {cid}: {what} is {len} bytes, over the {limit}-byte limit of a CAR section")]
    TooLarge {
        cid: Cid,
        what: &'static str,
        len: usize,
        limit: usize,
    },
}

/// What [`export`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    /// Blocks written, each once.
    pub blocks: usize,
    /// Bytes of block data written (without CIDs and length prefixes).
    pub bytes: u64,
    /// Bytes of CAR written in all.
    pub car_bytes: u64,
}

/// What [`import`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The roots of the header, in header order.
    pub roots: Vec<Cid>,
    /// Distinct blocks read and stored.
    pub blocks: usize,
    /// Sections that repeated a block already read: verified, not stored again, not counted in
    /// `blocks` or `bytes`.
    pub duplicates: usize,
    /// Bytes of block data of the distinct blocks.
    pub bytes: u64,
    /// Bytes of CAR read in all.
    pub car_bytes: u64,
}

/// Writes a CAR v1 of the DAGs under `roots` to `out`.
///
/// The header lists all `roots` in the order given. Each root is then walked depth-first,
/// pre-order: a block, then the blocks it links to in link order. A block is written the first
/// time it is met, never again (also across roots). Every block is read with
/// [`block::get_verified`], so a corrupt or missing block in `source` fails the export with an
/// error naming its CID; blocks with an identity multihash are written from their CID and need
/// not be in `source`. On an error, what was written to `out` is an incomplete CAR: write to a
/// temporary file and rename it only on success.
pub fn export(
    source: &dyn BlockSource,
    roots: &[Cid],
    out: &mut dyn Write,
) -> Result<ExportReport, CarError> {
    if roots.is_empty() {
        return Err(CarError::NoRoots);
    }
    let body = header_body(roots);
    if body.len() > MAX_HEADER_LEN {
        return Err(CarError::HeaderTooLarge {
            roots: roots.len(),
            len: body.len(),
        });
    }
    let mut out = Output {
        inner: BufWriter::new(out),
        offset: 0,
    };
    let mut prefix = Vec::with_capacity(9);
    varint::write(body.len() as u64, &mut prefix);
    out.write(&prefix)?;
    out.write(&body)?;

    let mut report = ExportReport {
        blocks: 0,
        bytes: 0,
        car_bytes: 0,
    };
    let mut seen: HashSet<Cid> = HashSet::new();
    // Explicit stack, so a deep DAG cannot overflow the call stack. Marking a block seen when it
    // is popped (not when pushed) gives exactly the order of a recursive pre-order walk.
    let mut stack: Vec<Cid> = Vec::new();
    for root in roots {
        stack.push(root.clone());
        while let Some(cid) = stack.pop() {
            if seen.contains(&cid) {
                continue;
            }
            let data = load(source, &cid)?;
            let cid_bytes = cid.to_bytes();
            check_size(&cid, "the CID", cid_bytes.len(), MAX_CID_LEN)?;
            check_size(&cid, "the block", data.len(), MAX_BLOCK_LEN)?;
            let links = block::links(&cid, &data)?;

            prefix.clear();
            varint::write((cid_bytes.len() + data.len()) as u64, &mut prefix);
            out.write(&prefix)?;
            out.write(&cid_bytes)?;
            out.write(&data)?;
            report.blocks += 1;
            report.bytes += data.len() as u64;

            seen.insert(cid);
            stack.extend(links.into_iter().rev().filter(|l| !seen.contains(l)));
        }
    }
    report.car_bytes = out.finish()?;
    tracing::debug!(
        roots = roots.len(),
        blocks = report.blocks,
        bytes = report.bytes,
        car_bytes = report.car_bytes,
        "exported CAR"
    );
    Ok(report)
}

/// Reads a CAR v1 from `input` into `sink`.
///
/// The input is streamed: one section is in memory at a time, plus the CIDs seen so far. Every
/// block is verified against its CID (hash and codec, with [`block::verify`]) before it is put
/// into the sink; the first bad section stops the import with an error naming the CID and the
/// section's byte offset, and nothing after it is stored. Blocks stored before an error are
/// valid (each was verified) and stay in the sink.
///
/// A block repeated in the input is verified again but stored once; see
/// [`ImportReport::duplicates`]. After the last section, the CAR must be closed: every root, and
/// every block linked from a block in the CAR, must have been in it (blocks with an identity
/// multihash excepted, their CID holds their bytes). Otherwise the import fails with
/// [`CarError::MissingRoot`] or [`CarError::MissingLink`]; this is how a file cut at a section
/// boundary is caught. A header with no roots is accepted, as the CAR spec's authors advise.
pub fn import(input: &mut dyn Read, sink: &dyn BlockSink) -> Result<ImportReport, CarError> {
    let mut reader = CarReader::new(BufReader::new(input))?;
    let mut present: HashSet<Cid> = HashSet::new();
    // Links to blocks not yet read when their parent was: (link, parent).
    let mut forward: Vec<(Cid, Cid)> = Vec::new();
    let (mut blocks, mut duplicates, mut bytes) = (0usize, 0usize, 0u64);
    while let Some(block) = reader.next_block()? {
        if present.contains(&block.cid) {
            duplicates += 1;
            continue;
        }
        let links = block::links(&block.cid, &block.data).map_err(|source| CarError::Section {
            offset: block.offset,
            source,
        })?;
        sink.put(&block.cid, &block.data)?;
        blocks += 1;
        bytes += block.data.len() as u64;
        for link in links {
            if !present.contains(&link) && !is_identity(&link) {
                forward.push((link, block.cid.clone()));
            }
        }
        present.insert(block.cid);
    }

    for root in reader.roots() {
        if !present.contains(root) && !is_identity(root) {
            return Err(CarError::MissingRoot { cid: root.clone() });
        }
    }
    let mut missing = forward.iter().filter(|(link, _)| !present.contains(link));
    if let Some((cid, parent)) = missing.next() {
        let mut distinct: HashSet<&Cid> = HashSet::from([cid]);
        distinct.extend(missing.map(|(link, _)| link));
        return Err(CarError::MissingLink {
            cid: cid.clone(),
            parent: parent.clone(),
            missing: distinct.len(),
        });
    }

    let report = ImportReport {
        roots: reader.roots,
        blocks,
        duplicates,
        bytes,
        car_bytes: reader.input.offset,
    };
    tracing::debug!(
        roots = report.roots.len(),
        blocks,
        duplicates,
        bytes,
        car_bytes = report.car_bytes,
        "imported CAR"
    );
    Ok(report)
}

/// Reads the header of a CAR v1 and returns its roots. Reads exactly the header's bytes, so
/// `input` is left at the first section.
pub fn read_header(input: &mut dyn Read) -> Result<Vec<Cid>, CarError> {
    Ok(CarReader::new(input)?.roots)
}

/// The CAR v1 header for `roots`, with its length prefix, as go-car writes it.
pub fn encode_header(roots: &[Cid]) -> Vec<u8> {
    let body = header_body(roots);
    let mut out = Vec::with_capacity(body.len() + 9);
    varint::write(body.len() as u64, &mut out);
    out.extend_from_slice(&body);
    out
}

/// A block read from a CAR by [`CarReader`], already verified against its CID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarBlock {
    pub cid: Cid,
    pub data: Vec<u8>,
    /// Byte offset of the section (its length prefix) in the CAR.
    pub offset: u64,
}

/// A streaming CAR v1 reader: the header, then one verified block at a time. It does not check
/// that the CAR is closed (see [`import`]). It reads length prefixes a byte at a time: give it a
/// buffered reader.
pub struct CarReader<R> {
    input: Input<R>,
    roots: Vec<Cid>,
}

impl<R: Read> CarReader<R> {
    /// Reads and checks the header. Reads nothing past it.
    pub fn new(input: R) -> Result<CarReader<R>, CarError> {
        let mut input = Input {
            inner: input,
            offset: 0,
        };
        let Some(len) = input.varint("the header length")? else {
            return Err(CarError::Truncated {
                offset: 0,
                what: "the input is empty, no CAR header".into(),
            });
        };
        if len == 0 {
            return Err(CarError::Header {
                offset: 0,
                rule: "the header length is 0".into(),
            });
        }
        if len > MAX_HEADER_LEN as u64 {
            return Err(CarError::Header {
                offset: 0,
                rule: format!("the header length {len} is over the {MAX_HEADER_LEN}-byte limit"),
            });
        }
        let start = input.offset;
        let mut body = Vec::new();
        let got = input.read_up_to(len as usize, &mut body)?;
        if got < len as usize {
            return Err(CarError::Truncated {
                offset: input.offset,
                what: format!("the header at byte {start} is {len} bytes, only {got} follow"),
            });
        }
        let roots = decode_header(&body, start)?;
        Ok(CarReader { input, roots })
    }

    /// The roots of the header.
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// Bytes of CAR read so far.
    pub fn offset(&self) -> u64 {
        self.input.offset
    }

    /// The next block, verified against its CID; `None` at the end of the CAR.
    pub fn next_block(&mut self) -> Result<Option<CarBlock>, CarError> {
        let offset = self.input.offset;
        let Some(len) = self.input.varint("a section length")? else {
            return Ok(None);
        };
        if len == 0 {
            return Err(CarError::Format {
                offset,
                rule: "section length is 0 (a section holds at least a CID)".into(),
            });
        }
        if len > MAX_SECTION_LEN as u64 {
            return Err(CarError::Format {
                offset,
                rule: format!("section length {len} is over the {MAX_SECTION_LEN}-byte limit"),
            });
        }
        let len = len as usize;
        let mut section = Vec::new();
        let got = self.input.read_up_to(len, &mut section)?;
        if got < len {
            let block = match Cid::read_bytes(&section) {
                Ok((cid, _)) => format!(" (block {cid})"),
                Err(_) => String::new(),
            };
            return Err(CarError::Truncated {
                offset: self.input.offset,
                what: format!(
                    "the section at byte {offset}{block} is {len} bytes, only {got} follow"
                ),
            });
        }
        let (cid, used) = Cid::read_bytes(&section).map_err(|e| CarError::Format {
            offset,
            rule: format!("the section's CID: {e}"),
        })?;
        if used > MAX_CID_LEN {
            return Err(CarError::Format {
                offset,
                rule: format!("the CID {cid} is {used} bytes, over the {MAX_CID_LEN}-byte limit"),
            });
        }
        if len - used > MAX_BLOCK_LEN {
            return Err(CarError::Format {
                offset,
                rule: format!(
                    "block {cid} is {} bytes, over the {MAX_BLOCK_LEN}-byte limit",
                    len - used
                ),
            });
        }
        block::verify(&cid, &section[used..])
            .map_err(|source| CarError::Section { offset, source })?;
        section.drain(..used);
        Ok(Some(CarBlock {
            cid,
            data: section,
            offset,
        }))
    }
}

fn is_identity(cid: &Cid) -> bool {
    cid.hash().code() == IDENTITY
}

/// The verified bytes of `cid`: from its CID for an identity multihash, else from `source`.
fn load(source: &dyn BlockSource, cid: &Cid) -> Result<Vec<u8>, BlockError> {
    if is_identity(cid) {
        let data = cid.hash().digest().to_vec();
        block::verify(cid, &data)?;
        return Ok(data);
    }
    block::get_verified(source, cid)
}

fn check_size(cid: &Cid, what: &'static str, len: usize, limit: usize) -> Result<(), CarError> {
    if len > limit {
        return Err(CarError::TooLarge {
            cid: cid.clone(),
            what,
            len,
            limit,
        });
    }
    Ok(())
}

/// The output stream and the bytes written to it.
struct Output<W: Write> {
    inner: BufWriter<W>,
    offset: u64,
}

impl<W: Write> Output<W> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), CarError> {
        self.inner.write_all(bytes).map_err(|source| CarError::Io {
            action: "write",
            offset: self.offset,
            source,
        })?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Flushes; returns the bytes written.
    fn finish(mut self) -> Result<u64, CarError> {
        self.inner.flush().map_err(|source| CarError::Io {
            action: "flush",
            offset: self.offset,
            source,
        })?;
        Ok(self.offset)
    }
}

/// The input stream and the bytes read from it.
struct Input<R> {
    inner: R,
    offset: u64,
}

impl<R: Read> Input<R> {
    fn io_error(&self, source: io::Error) -> CarError {
        CarError::Io {
            action: "read",
            offset: self.offset,
            source,
        }
    }

    /// One byte; `None` at the end of the input.
    fn byte(&mut self) -> Result<Option<u8>, CarError> {
        let mut b = [0u8; 1];
        loop {
            match self.inner.read(&mut b) {
                Ok(0) => return Ok(None),
                Ok(_) => {
                    self.offset += 1;
                    return Ok(Some(b[0]));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(e)),
            }
        }
    }

    /// A minimal varint of at most 9 bytes; `None` if the input ends before its first byte.
    fn varint(&mut self, what: &str) -> Result<Option<u64>, CarError> {
        let start = self.offset;
        let mut buf = [0u8; 9];
        let mut len = 0;
        loop {
            let Some(b) = self.byte()? else {
                if len == 0 {
                    return Ok(None);
                }
                return Err(CarError::Truncated {
                    offset: self.offset,
                    what: format!("{what} at byte {start} ends early"),
                });
            };
            buf[len] = b;
            len += 1;
            if b & 0x80 == 0 {
                return match varint::read(&buf[..len]) {
                    Some((value, _)) => Ok(Some(value)),
                    None => Err(CarError::Format {
                        offset: start,
                        rule: format!("{what} is not a minimally encoded varint"),
                    }),
                };
            }
            if len == buf.len() {
                return Err(CarError::Format {
                    offset: start,
                    rule: format!("{what} is a varint longer than {len} bytes"),
                });
            }
        }
    }

    /// Appends up to `len` bytes to `buf`, fewer only at the end of the input; returns how many.
    fn read_up_to(&mut self, len: usize, buf: &mut Vec<u8>) -> Result<usize, CarError> {
        // `take` + `read_to_end` grows the buffer as bytes arrive, so a length prefix alone
        // cannot make us allocate.
        match (&mut self.inner).take(len as u64).read_to_end(buf) {
            Ok(got) => {
                self.offset += got as u64;
                Ok(got)
            }
            Err(e) => Err(self.io_error(e)),
        }
    }
}

// The DAG-CBOR of the header: just enough CBOR to write and strictly read
// `{"roots": [CID...], "version": 1}`.

const MAJOR_UINT: u8 = 0;
const MAJOR_BYTES: u8 = 2;
const MAJOR_TEXT: u8 = 3;
const MAJOR_ARRAY: u8 = 4;
const MAJOR_MAP: u8 = 5;
const MAJOR_TAG: u8 = 6;
/// The CBOR tag of a CID in DAG-CBOR.
const TAG_CID: u64 = 42;

/// Appends a CBOR item head in its shortest form.
fn cbor_head(major: u8, value: u64, out: &mut Vec<u8>) {
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
fn header_body(roots: &[Cid]) -> Vec<u8> {
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
fn decode_header(bytes: &[u8], base: u64) -> Result<Vec<Cid>, CarError> {
    let mut cbor = Cbor {
        bytes,
        pos: 0,
        base,
    };
    let entries = cbor.head(MAJOR_MAP, "the header map")?;
    let (mut roots, mut version) = (None, None);
    for _ in 0..entries {
        let at = cbor.pos;
        let len = cbor.head(MAJOR_TEXT, "a header key")?;
        let key = cbor.take(len, "a header key")?;
        match key {
            b"roots" if roots.is_some() => return Err(cbor.error(at, "\"roots\" appears twice")),
            b"version" if version.is_some() => {
                return Err(cbor.error(at, "\"version\" appears twice"))
            }
            b"roots" => roots = Some(decode_roots(&mut cbor)?),
            b"version" => version = Some(cbor.head(MAJOR_UINT, "the version")?),
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
    let count = cbor.head(MAJOR_ARRAY, "the roots array")?;
    // No capacity from `count`: it is not trusted yet.
    let mut roots = Vec::new();
    for i in 0..count {
        let at = cbor.pos;
        let what = format!("root {i} (a CID: tag 42)");
        let tag = cbor.head(MAJOR_TAG, &what)?;
        if tag != TAG_CID {
            return Err(cbor.error(at, format!("root {i} has tag {tag}, not 42 (CID)")));
        }
        let what = format!("the bytes of root {i}");
        let len = cbor.head(MAJOR_BYTES, &what)?;
        let bytes = cbor.take(len, &what)?;
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
    fn take(&mut self, len: u64, what: &str) -> Result<&'a [u8], CarError> {
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
    fn head(&mut self, major: u8, what: &str) -> Result<u64, CarError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::MemoryBlocks;
    use crate::cid::{Multihash, DAG_PB, RAW};
    use crate::dagpb::{PbLink, PbNode};

    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    fn pb_node(links: &[&Cid], data: &[u8]) -> Vec<u8> {
        PbNode {
            links: links
                .iter()
                .map(|cid| PbLink {
                    cid: (*cid).clone(),
                    name: Some(String::new()),
                    tsize: Some(1),
                })
                .collect(),
            data: Some(data.to_vec()),
        }
        .encode()
    }

    fn put_raw(store: &MemoryBlocks, data: &[u8]) -> Cid {
        let cid = Cid::v1_sha2_256(RAW, data);
        store.put(&cid, data).unwrap();
        cid
    }

    fn put_pb_v1(store: &MemoryBlocks, links: &[&Cid], data: &[u8]) -> Cid {
        let bytes = pb_node(links, data);
        let cid = Cid::v1_sha2_256(DAG_PB, &bytes);
        store.put(&cid, &bytes).unwrap();
        cid
    }

    fn put_pb_v0(store: &MemoryBlocks, links: &[&Cid], data: &[u8]) -> Cid {
        let bytes = pb_node(links, data);
        let cid = Cid::new_v0(Multihash::sha2_256(&bytes)).unwrap();
        store.put(&cid, &bytes).unwrap();
        cid
    }

    /// A DAG with raw leaves, CIDv1 and CIDv0 dag-pb nodes, and a leaf linked three times.
    struct Dag {
        store: MemoryBlocks,
        roots: Vec<Cid>,
        /// Every block, in the order export must write them for `roots`.
        order: Vec<Cid>,
    }

    fn dag() -> Dag {
        let store = MemoryBlocks::new();
        let a = put_raw(&store, b"alpha");
        let b = put_raw(&store, b"beta");
        let c = put_raw(&store, b"gamma");
        let shared = put_raw(&store, b"shared leaf");
        let left = put_pb_v1(&store, &[&a, &shared], b"left");
        let right = put_pb_v0(&store, &[&shared, &b], b"right");
        let root = put_pb_v1(&store, &[&left, &right, &shared], b"root");
        // A second root, CIDv0, sharing `right` with the first.
        let other = put_pb_v0(&store, &[&right, &c], b"other");
        // A block not reachable from the roots: must not be exported.
        put_raw(&store, b"unreachable");
        Dag {
            store,
            roots: vec![root.clone(), other.clone()],
            order: vec![root, left, a, shared, right, b, other, c],
        }
    }

    fn export_bytes(source: &dyn BlockSource, roots: &[Cid]) -> Vec<u8> {
        let mut out = Vec::new();
        let report = export(source, roots, &mut out).unwrap();
        assert_eq!(report.car_bytes, out.len() as u64);
        out
    }

    fn read_all(car: &[u8]) -> (Vec<Cid>, Vec<CarBlock>) {
        let mut reader = CarReader::new(car).unwrap();
        let mut blocks = Vec::new();
        while let Some(block) = reader.next_block().unwrap() {
            blocks.push(block);
        }
        assert_eq!(reader.offset(), car.len() as u64);
        (reader.roots().to_vec(), blocks)
    }

    /// Imports `car` into a fresh store; every block stored, even on error, must be one of
    /// `original`'s blocks, byte for byte.
    fn import_checked(car: &[u8], original: &MemoryBlocks) -> Result<ImportReport, CarError> {
        let sink = MemoryBlocks::new();
        let result = import(&mut &car[..], &sink);
        for (cid, data) in sink.blocks() {
            block::verify(&cid, &data).unwrap();
            assert_eq!(
                original.get_unverified(&cid).unwrap().as_deref(),
                Some(&data[..]),
                "{cid} was stored with other bytes"
            );
        }
        result
    }

    #[test]
    fn export_writes_depth_first_pre_order_without_duplicates_and_round_trips() {
        let dag = dag();
        let car = export_bytes(&dag.store, &dag.roots);
        let (roots, blocks) = read_all(&car);
        assert_eq!(roots, dag.roots);
        let order: Vec<Cid> = blocks.iter().map(|b| b.cid.clone()).collect();
        assert_eq!(order, dag.order);
        for block in &blocks {
            let stored = dag.store.get_unverified(&block.cid).unwrap().unwrap();
            assert_eq!(block.data, stored);
        }

        let sink = MemoryBlocks::new();
        let report = import(&mut car.as_slice(), &sink).unwrap();
        assert_eq!(report.roots, dag.roots);
        assert_eq!(report.blocks, dag.order.len());
        assert_eq!(report.duplicates, 0);
        assert_eq!(report.car_bytes, car.len() as u64);
        assert_eq!(sink.len(), dag.order.len());
        for cid in &dag.order {
            assert_eq!(
                sink.get_unverified(cid).unwrap(),
                dag.store.get_unverified(cid).unwrap()
            );
        }

        // Export again from the imported store: identical bytes.
        let again = export_bytes(&sink, &report.roots);
        assert_eq!(again, car);
        let mut out = Vec::new();
        let exported = export(&sink, &report.roots, &mut out).unwrap();
        assert_eq!(exported.blocks, report.blocks);
        assert_eq!(exported.bytes, report.bytes);
    }

    #[test]
    fn deep_dags_do_not_overflow_the_stack() {
        let store = MemoryBlocks::new();
        let mut cid = put_raw(&store, b"bottom");
        for i in 0..100_000u32 {
            cid = put_pb_v1(&store, &[&cid], &i.to_le_bytes());
        }
        let car = export_bytes(&store, &[cid]);
        let sink = MemoryBlocks::new();
        let report = import(&mut car.as_slice(), &sink).unwrap();
        assert_eq!(report.blocks, 100_001);
    }

    #[test]
    fn header_for_one_cidv1_root_is_the_go_car_bytes() {
        let root: Cid = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
            .parse()
            .unwrap();
        // 0x3a = 58 bytes: map(2) "roots" array(1) tag(42) bytes(37) 00 <CIDv1: 01 55 12 20
        // sha2-256("hello world")> "version" 1.
        let expected = hex("3a a2 65 726f6f7473 81 d8 2a 58 25 00 01 55 12 20
             b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9
             67 76657273696f6e 01");
        assert_eq!(encode_header(std::slice::from_ref(&root)), expected);
        assert_eq!(read_header(&mut expected.as_slice()).unwrap(), vec![root]);

        // A CIDv0 root is 34 bytes: bytes(35) = 58 23.
        let v0: Cid = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
            .parse()
            .unwrap();
        let header = encode_header(std::slice::from_ref(&v0));
        assert_eq!(
            &header[..16],
            &hex("38 a2 65 726f6f7473 81 d8 2a 58 23 00 12 20")[..]
        );
        assert_eq!(read_header(&mut header.as_slice()).unwrap(), vec![v0]);
    }

    #[test]
    fn header_reader_is_strict_and_names_the_rule() {
        let root = Cid::v1_sha2_256(RAW, b"x");
        let mut cid = vec![0x00];
        cid.extend(root.to_bytes());
        let tagged = |cid: &[u8]| {
            let mut out = hex("d8 2a");
            cbor_head(MAJOR_BYTES, cid.len() as u64, &mut out);
            out.extend_from_slice(cid);
            out
        };
        let with_len = |body: Vec<u8>| {
            let mut out = Vec::new();
            varint::write(body.len() as u64, &mut out);
            out.extend(body);
            out
        };
        let roots_entry = [hex("65 726f6f7473 81"), tagged(&cid)].concat();
        let version_entry = hex("67 76657273696f6e 01");

        // Keys in the other order are accepted.
        let reversed = with_len([hex("a2"), version_entry.clone(), roots_entry.clone()].concat());
        assert_eq!(
            read_header(&mut reversed.as_slice()).unwrap(),
            vec![root.clone()]
        );
        // No roots is accepted.
        let empty = with_len(hex("a2 65 726f6f7473 80 67 76657273696f6e 01"));
        assert_eq!(read_header(&mut empty.as_slice()).unwrap(), vec![]);

        let bad: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "empty"),
            (hex("00"), "length is 0"),
            (hex("80 00"), "not a minimally encoded varint"),
            (hex("80 80 80 80 80 80 80 80 80 01"), "longer than 9 bytes"),
            (hex("ff ff ff 7f"), "over the 1048576-byte limit"),
            (hex("05 a2 65"), "only 2 follow"),
            (
                with_len(hex("a1 67 76657273696f6e 02")),
                "CAR version 2 is not supported",
            ),
            (
                with_len([hex("a1"), roots_entry.clone()].concat()),
                "no \"version\"",
            ),
            (
                with_len([hex("a1"), version_entry.clone()].concat()),
                "no \"roots\"",
            ),
            (
                with_len(hex("a2 65 726f6f7473 80 67 76657273696f6e 18 01")),
                "shortest form",
            ),
            (
                with_len(hex("a2 65 726f6f7473 80 67 76657273696f6e 20")),
                "found a negative integer",
            ),
            (
                with_len(hex("bf 65 726f6f7473 80 67 76657273696f6e 01 ff")),
                "indefinite length",
            ),
            (
                with_len(hex("a3 65 726f6f7473 80 67 76657273696f6e 01 63 666f6f 01")),
                "unknown key \"foo\"",
            ),
            (
                with_len([hex("a3"), version_entry.clone(), version_entry.clone()].concat()),
                "\"version\" appears twice",
            ),
            (
                with_len(
                    [
                        hex("a2"),
                        roots_entry.clone(),
                        version_entry.clone(),
                        hex("00"),
                    ]
                    .concat(),
                ),
                "1 bytes follow the header map",
            ),
            (
                with_len(
                    [
                        hex("a2 65 726f6f7473 81 d8 2b 41 00"),
                        version_entry.clone(),
                    ]
                    .concat(),
                ),
                "tag 43, not 42",
            ),
            (
                with_len(
                    [
                        hex("a2 65 726f6f7473 81"),
                        tagged(&root.to_bytes()),
                        version_entry.clone(),
                    ]
                    .concat(),
                ),
                "not the 0x00 prefix",
            ),
            (
                with_len(
                    [
                        hex("a2 65 726f6f7473 81"),
                        tagged(&cid[..10]),
                        version_entry.clone(),
                    ]
                    .concat(),
                ),
                "root 0: malformed CID",
            ),
            (
                with_len([hex("a2 65 726f6f7473 a0"), version_entry.clone()].concat()),
                "expected the roots array, found a map",
            ),
            (
                with_len([hex("a2 65 726f6f7473 81 f6"), version_entry.clone()].concat()),
                "found null",
            ),
        ];
        for (car, rule) in bad {
            let err = read_header(&mut car.as_slice()).unwrap_err().to_string();
            assert!(err.contains(rule), "{car:02x?}: {err}");
            assert!(err.contains("at byte"), "{err}");
        }
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let dag = dag();
        let car = export_bytes(&dag.store, &dag.roots);
        for pos in 0..car.len() {
            for bit in 0..8 {
                let mut flipped = car.clone();
                flipped[pos] ^= 1 << bit;
                assert!(
                    import_checked(&flipped, &dag.store).is_err(),
                    "a flip of bit {bit} at byte {pos} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn a_flipped_block_byte_is_a_mismatch_naming_the_cid_and_offset() {
        let dag = dag();
        let car = export_bytes(&dag.store, &dag.roots);
        let (_, blocks) = read_all(&car);
        for (i, block) in blocks.iter().enumerate() {
            let data_start = car.len()
                - block.data.len()
                - blocks[i + 1..].iter().map(section_len).sum::<usize>();
            for pos in data_start..data_start + block.data.len() {
                let mut flipped = car.clone();
                flipped[pos] ^= 0x01;
                let sink = MemoryBlocks::new();
                let err = import(&mut flipped.as_slice(), &sink).unwrap_err();
                let message = err.to_string();
                match err {
                    CarError::Section {
                        offset,
                        source: BlockError::Mismatch { cid },
                    } => {
                        assert_eq!(offset, block.offset);
                        assert_eq!(cid, block.cid);
                    }
                    other => panic!("{other}"),
                }
                assert!(message.contains(&block.cid.to_string()), "{message}");
                assert!(
                    message.contains(&format!("byte {}", block.offset)),
                    "{message}"
                );
                // Nothing from the bad section on was stored.
                let stored: Vec<Cid> = blocks[..i].iter().map(|b| b.cid.clone()).collect();
                let mut got: Vec<Cid> = sink.blocks().into_iter().map(|(c, _)| c).collect();
                got.sort();
                let mut want = stored.clone();
                want.sort();
                assert_eq!(got, want);
            }
        }
    }

    fn section_len(block: &CarBlock) -> usize {
        let len = block.cid.to_bytes().len() + block.data.len();
        let mut prefix = Vec::new();
        varint::write(len as u64, &mut prefix);
        prefix.len() + len
    }

    #[test]
    fn a_flip_in_a_digest_makes_another_cid_whose_hash_check_fails() {
        let dag = dag();
        let car = export_bytes(&dag.store, &dag.roots);
        let (_, blocks) = read_all(&car);
        for block in &blocks {
            // The last digest byte of the section's CID: 1 length byte here, then the CID.
            let cid_len = block.cid.to_bytes().len();
            let pos = block.offset as usize + 1 + cid_len - 1;
            let mut flipped = car.clone();
            flipped[pos] ^= 0x80;
            match import_checked(&flipped, &dag.store) {
                Err(CarError::Section {
                    offset,
                    source: BlockError::Mismatch { cid },
                }) => {
                    assert_eq!(offset, block.offset);
                    assert_ne!(cid, block.cid);
                    assert_eq!(cid.codec(), block.cid.codec());
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn truncation_at_every_length_is_an_error() {
        let dag = dag();
        let car = export_bytes(&dag.store, &dag.roots);
        let (_, blocks) = read_all(&car);
        for len in 0..car.len() {
            let err = import_checked(&car[..len], &dag.store).unwrap_err();
            let message = err.to_string();
            match &err {
                CarError::Truncated { offset, .. } => assert_eq!(*offset, len as u64),
                CarError::MissingRoot { .. } | CarError::MissingLink { .. } => {
                    // Cut at a section boundary: only the closure check can tell.
                    let at_boundary = len == encode_header(&dag.roots).len()
                        || blocks.iter().any(|b| b.offset == len as u64);
                    assert!(at_boundary, "{len}: {message}");
                }
                other => panic!("{len}: {other}"),
            }
        }
        import_checked(&car, &dag.store).unwrap();
    }

    #[test]
    fn corrupt_or_missing_source_blocks_fail_the_export_naming_the_cid() {
        let dag = dag();
        let victim = dag.order[4].clone();
        dag.store.overwrite(&victim, b"not the block".to_vec());
        let err = export(&dag.store, &dag.roots, &mut Vec::new()).unwrap_err();
        assert!(
            matches!(&err, CarError::Block(BlockError::Mismatch { cid }) if *cid == victim),
            "{err}"
        );
        assert!(err.to_string().contains(&victim.to_string()), "{err}");

        let missing = Cid::v1_sha2_256(RAW, b"nowhere");
        let err = export(&dag.store, std::slice::from_ref(&missing), &mut Vec::new()).unwrap_err();
        assert!(matches!(&err, CarError::Block(BlockError::NotFound(c)) if *c == missing));
        assert!(err.to_string().contains(&missing.to_string()));

        assert!(matches!(
            export(&dag.store, &[], &mut Vec::new()),
            Err(CarError::NoRoots)
        ));
    }

    fn car_of(roots: &[Cid], sections: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let mut car = encode_header(roots);
        for (cid, data) in sections {
            varint::write((cid.len() + data.len()) as u64, &mut car);
            car.extend_from_slice(cid);
            car.extend_from_slice(data);
        }
        car
    }

    #[test]
    fn unknown_codecs_and_hash_functions_are_errors_naming_the_cid() {
        let cbor = Cid::v1_sha2_256(0x71, b"\xa0");
        let car = car_of(
            std::slice::from_ref(&cbor),
            &[(cbor.to_bytes(), b"\xa0".to_vec())],
        );
        let err = import(&mut car.as_slice(), &MemoryBlocks::new()).unwrap_err();
        assert!(
            matches!(
                &err,
                CarError::Section {
                    source: BlockError::UnknownCodec { codec: 0x71, .. },
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains(&cbor.to_string()), "{err}");

        let sha512 = Cid::new_v1(RAW, Multihash::new(0x13, vec![7; 64]));
        let car = car_of(
            std::slice::from_ref(&sha512),
            &[(sha512.to_bytes(), b"data".to_vec())],
        );
        let err = import(&mut car.as_slice(), &MemoryBlocks::new()).unwrap_err();
        assert!(
            matches!(
                &err,
                CarError::Section {
                    source: BlockError::UnsupportedHash { .. },
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains(&sha512.to_string()), "{err}");
    }

    #[test]
    fn sections_are_checked_for_length_and_cid() {
        let leaf = Cid::v1_sha2_256(RAW, b"leaf");
        let header = encode_header(std::slice::from_ref(&leaf));
        let at = header.len();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (hex("00"), "section length is 0"),
            (hex("81 00"), "not a minimally encoded varint"),
            (hex("ff ff ff 7f"), "over the 2097408-byte limit"),
            (hex("80"), "ends early"),
            (hex("05 02 55 12 20 00"), "the section's CID"),
        ];
        for (tail, rule) in cases {
            let car = [header.clone(), tail].concat();
            let err = import(&mut car.as_slice(), &MemoryBlocks::new()).unwrap_err();
            let message = err.to_string();
            assert!(message.contains(rule), "{message}");
            assert!(message.contains(&format!("byte {at}")), "{message}");
        }
        // A truncated section names the block when its CID is there.
        let car = car_of(
            std::slice::from_ref(&leaf),
            &[(leaf.to_bytes(), b"leaf".to_vec())],
        );
        let err = import(&mut &car[..car.len() - 1], &MemoryBlocks::new()).unwrap_err();
        assert!(err.to_string().contains(&leaf.to_string()), "{err}");
    }

    #[test]
    fn duplicates_are_verified_and_stored_once_and_incomplete_cars_fail() {
        let store = MemoryBlocks::new();
        let leaf = put_raw(&store, b"leaf");
        let node = put_pb_v1(&store, &[&leaf], b"node");
        let node_bytes = store.get_unverified(&node).unwrap().unwrap();
        let sections = [
            (node.to_bytes(), node_bytes.clone()),
            (leaf.to_bytes(), b"leaf".to_vec()),
            (leaf.to_bytes(), b"leaf".to_vec()),
        ];
        let car = car_of(std::slice::from_ref(&node), &sections);
        let sink = MemoryBlocks::new();
        let report = import(&mut car.as_slice(), &sink).unwrap();
        assert_eq!(
            (report.blocks, report.duplicates, report.bytes),
            (2, 1, node_bytes.len() as u64 + 4)
        );
        assert_eq!(sink.len(), 2);

        // A corrupt duplicate is still an error.
        let mut bad = sections.to_vec();
        bad[2].1 = b"lea!".to_vec();
        let err = import(
            &mut car_of(std::slice::from_ref(&node), &bad).as_slice(),
            &MemoryBlocks::new(),
        );
        assert!(matches!(
            err,
            Err(CarError::Section {
                source: BlockError::Mismatch { .. },
                ..
            })
        ));

        // A missing child, a missing root.
        let car = car_of(std::slice::from_ref(&node), &sections[..1]);
        let err = import(&mut car.as_slice(), &MemoryBlocks::new()).unwrap_err();
        assert!(
            matches!(&err, CarError::MissingLink { cid, parent, missing: 1 } if *cid == leaf && *parent == node),
            "{err}"
        );
        assert!(err.to_string().contains(&leaf.to_string()));
        let car = car_of(std::slice::from_ref(&node), &sections[1..2]);
        let err = import(&mut car.as_slice(), &MemoryBlocks::new()).unwrap_err();
        assert!(
            matches!(&err, CarError::MissingRoot { cid } if *cid == node),
            "{err}"
        );
    }

    #[test]
    fn identity_blocks_are_written_from_their_cid() {
        let store = MemoryBlocks::new();
        let inline = Cid::new_v1(RAW, Multihash::new(IDENTITY, b"tiny".to_vec()));
        let node = put_pb_v1(&store, &[&inline], b"node");
        let car = export_bytes(&store, std::slice::from_ref(&node));
        let (_, blocks) = read_all(&car);
        assert_eq!(blocks[1].cid, inline);
        assert_eq!(blocks[1].data, b"tiny");
        let sink = MemoryBlocks::new();
        assert_eq!(import(&mut car.as_slice(), &sink).unwrap().blocks, 2);
    }

    #[test]
    fn read_header_leaves_the_input_at_the_first_section() {
        let dag = dag();
        let car = export_bytes(&dag.store, &dag.roots);
        let mut input = car.as_slice();
        assert_eq!(read_header(&mut input).unwrap(), dag.roots);
        assert_eq!(input.len(), car.len() - encode_header(&dag.roots).len());
    }

    // Interop fixtures, copied as hex from ipld/js-car `test/common.js` (commit
    // 00f4d8b5e381be74979bbb7c6de2ebec3c032fd3), where they are CARs written by go-car.
    //
    // `goCarBytes`: the CAR v1 of the spec's carv1-basic fixture
    // (https://ipld.io/specs/transport/car/fixture/carv1-basic/): two dag-cbor roots, then
    // dag-cbor, dag-pb (CIDv0) and raw blocks, in go-car's depth-first order.
    const GO_CAR_V1_BASIC_HEX: &str = concat!(
        "63a265726f6f747382d82a58250001711220f88bc853804cf294fe417e4fa83028689fcdb1b1592c5102e147",
        "4dbc200fab8bd82a5825000171122069ea0740f9807a28f4d932c62e7c1c83be055e55072c90266ab3e79df6",
        "3a365b6776657273696f6e015b01711220f88bc853804cf294fe417e4fa83028689fcdb1b1592c5102e1474d",
        "bc200fab8ba2646c696e6bd82a582300122002acecc5de2438ea4126a3010ecb1f8a599c8eff22fff1a1dcff",
        "e999b27fd3de646e616d6564626c69708301122002acecc5de2438ea4126a3010ecb1f8a599c8eff22fff1a1",
        "dcffe999b27fd3de122e0a2401551220b6fbd675f98e2abd22d4ed29fdc83150fedc48597e92dd1a7a24381d",
        "44a274511204626561721804122f0a22122079a982de3c9907953d4d323cee1d0fb1ed8f45f8ef02870c0cb9",
        "e09246bd530a12067365636f6e641895012801551220b6fbd675f98e2abd22d4ed29fdc83150fedc48597e92",
        "dd1a7a24381d44a27451636363638001122079a982de3c9907953d4d323cee1d0fb1ed8f45f8ef02870c0cb9",
        "e09246bd530a122d0a240155122081cc5b17018674b401b42f35ba07bb79e211239c23bffe658da1577e3e64",
        "68771203646f671804122d0a221220e7dc486e97e6ebe5cdabab3e392bdad128b6e09acc94bb4e2aa2af7b98",
        "6d24d0120566697273741833280155122081cc5b17018674b401b42f35ba07bb79e211239c23bffe658da157",
        "7e3e64687762626262511220e7dc486e97e6ebe5cdabab3e392bdad128b6e09acc94bb4e2aa2af7b986d24d0",
        "122d0a240155122061be55a8e2f6b4e172338bddf184d6dbee29c98853e0a0485ecee7f27b9af0b412036361",
        "741804280155122061be55a8e2f6b4e172338bddf184d6dbee29c98853e0a0485ecee7f27b9af0b461616161",
        "360171122069ea0740f9807a28f4d932c62e7c1c83be055e55072c90266ab3e79df63a365ba2646c696e6bf6",
        "646e616d65656c696d626f",
    );
    // `goCarV2Bytes`: a CAR v2 whose CAR v1 payload (data offset 51, size 448, from its header)
    // holds a DAG of only dag-pb (CIDv0) and raw blocks under one CIDv0 root.
    const GO_CAR_V2_BASIC_HEX: &str = concat!(
        "0aa16776657273696f6e02000000000000000000000000000000003300000000000000c001000000000000f3",
        "0100000000000038a265726f6f747381d82a5823001220fb16f5083412ef1371d031ed4aa239903d84efdadf",
        "1ba3cd678e6475b1a232f86776657273696f6e01511220fb16f5083412ef1371d031ed4aa239903d84efdadf",
        "1ba3cd678e6475b1a232f8122d0a221220d9c0d5376d26f1931f7ad52d7acc00fc1090d2edb0808bf61eeb0a",
        "152826f6261204f09f8da418a40185011220d9c0d5376d26f1931f7ad52d7acc00fc1090d2edb0808bf61eeb",
        "0a152826f62612310a221220d745b7757f5b4593eeab7820306c7bc64eb496a7410a0d07df7a34ffec4b97f1",
        "120962617272656c657965183a122e0a2401551220a2e1c40da1ae335d4dffe729eb4d5ca23b74b9e51fc535",
        "f4a804a261080c294d1204f09f90a11807581220d745b7757f5b4593eeab7820306c7bc64eb496a7410a0d07",
        "df7a34ffec4b97f112340a2401551220b474a99a2705e23cf905a484ec6d14ef58b56bbe62e9292783466ec3",
        "63b5072d120a666973686d6f6e67657218042801551220b474a99a2705e23cf905a484ec6d14ef58b56bbe62",
        "e9292783466ec363b5072d666973682b01551220a2e1c40da1ae335d4dffe729eb4d5ca23b74b9e51fc535f4",
        "a804a261080c294d6c6f62737465720100000028000000c800000000000000a2e1c40da1ae335d4dffe729eb",
        "4d5ca23b74b9e51fc535f4a804a261080c294d9401000000000000b474a99a2705e23cf905a484ec6d14ef58",
        "b56bbe62e9292783466ec363b5072d6b01000000000000d745b7757f5b4593eeab7820306c7bc64eb496a741",
        "0a0d07df7a34ffec4b97f11201000000000000d9c0d5376d26f1931f7ad52d7acc00fc1090d2edb0808bf61e",
        "eb0a152826f6268b00000000000000fb16f5083412ef1371d031ed4aa239903d84efdadf1ba3cd678e6475b1",
        "a232f83900000000000000",
    );

    /// The CAR v1 payload of the CAR v2 fixture, located by its header.
    fn go_car_v2_payload() -> Vec<u8> {
        let v2 = hex(GO_CAR_V2_BASIC_HEX);
        // 11-byte pragma, then characteristics (16 bytes), data offset and data size (u64 LE).
        assert_eq!(&v2[..11], &hex("0a a1 67 76657273696f6e 02")[..]);
        let le = |b: &[u8]| b.iter().rev().fold(0u64, |v, &x| (v << 8) | u64::from(x)) as usize;
        let (offset, size) = (le(&v2[27..35]), le(&v2[35..43]));
        assert_eq!((offset, size), (51, 448));
        v2[offset..offset + size].to_vec()
    }

    #[test]
    fn interop_go_car_dag_pb_payload_imports_and_reexports_byte_for_byte() {
        let car = go_car_v2_payload();
        let root: Cid = "QmfEoLyB5NndqeKieExd1rtJzTduQUPEV8TwAYcUiy3H5Z"
            .parse()
            .unwrap();
        // The header is exactly what we write for that root.
        assert_eq!(&car[..57], &encode_header(std::slice::from_ref(&root))[..]);

        // Sections at the offsets js-car's index gives (minus the 51-byte CAR v2 prelude).
        let (roots, blocks) = read_all(&car);
        assert_eq!(roots, vec![root.clone()]);
        let index: Vec<(String, u64)> = blocks
            .iter()
            .map(|b| (b.cid.to_string(), b.offset + 51))
            .collect();
        let expected = [
            ("QmfEoLyB5NndqeKieExd1rtJzTduQUPEV8TwAYcUiy3H5Z", 108),
            ("QmczfirA7VEH7YVvKPTPoU69XM3qY4DC39nnTsWd4K3SkM", 190),
            ("Qmcpz2FHJD7VAhg1fxFXdYJKePtkx1BsHuCrAgWVnaHMTE", 325),
            (
                "bafkreifuosuzujyf4i6psbneqtwg2fhplc2wxptc5euspa2gn3bwhnihfu",
                414,
            ),
            (
                "bafkreifc4hca3inognou377hfhvu2xfchn2ltzi7yu27jkaeujqqqdbjju",
                455,
            ),
        ];
        let expected: Vec<(String, u64)> =
            expected.iter().map(|(c, o)| (c.to_string(), *o)).collect();
        assert_eq!(index, expected);
        assert_eq!(blocks[3].data, b"fish");
        assert_eq!(blocks[4].data, b"lobster");

        let store = MemoryBlocks::new();
        let report = import(&mut car.as_slice(), &store).unwrap();
        assert_eq!((report.blocks, report.duplicates), (5, 0));
        assert_eq!(report.roots, vec![root.clone()]);
        // Our export of the same DAG is go-car's CAR, byte for byte.
        assert_eq!(export_bytes(&store, &[root]), car);
    }

    #[test]
    fn interop_carv1_basic_header_parses_and_dag_cbor_is_reported() {
        let car = hex(GO_CAR_V1_BASIC_HEX);
        let roots: Vec<Cid> = [
            "bafyreihyrpefhacm6kkp4ql6j6udakdit7g3dmkzfriqfykhjw6cad5lrm",
            "bafyreidj5idub6mapiupjwjsyyxhyhedxycv4vihfsicm2vt46o7morwlm",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert_eq!(read_header(&mut car.as_slice()).unwrap(), roots);
        // Two-root header: byte for byte what we write (the first section is at byte 100).
        assert_eq!(&car[..100], &encode_header(&roots)[..]);

        let sink = MemoryBlocks::new();
        let err = import(&mut car.as_slice(), &sink).unwrap_err();
        match &err {
            CarError::Section {
                offset: 100,
                source: BlockError::UnknownCodec { cid, codec: 0x71 },
            } => assert_eq!(*cid, roots[0]),
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains(&roots[0].to_string()), "{err}");
        assert!(sink.is_empty());
    }
}
