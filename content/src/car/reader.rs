//! The streaming CAR v1 reader: the length-prefixed header, then one section at a time, each
//! bounded by the limits of [`super`] and verified against its CID, with byte offsets for errors.

use std::io::{self, Read};

use super::header::decode_header;
use super::{CarError, MAX_BLOCK_LEN, MAX_CID_LEN, MAX_HEADER_LEN, MAX_SECTION_LEN};
use crate::block;
use crate::cid::{varint, Cid};

/// Reads the header of a CAR v1 and returns its roots. Reads exactly the header's bytes, so
/// `input` is left at the first section.
pub fn read_header(input: &mut dyn Read) -> Result<Vec<Cid>, CarError> {
    Ok(CarReader::new(input)?.roots)
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
/// that the CAR is closed (see [`super::import`]). It reads length prefixes a byte at a time: give it a
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

    /// The roots of the header, taking them.
    pub fn into_roots(self) -> Vec<Cid> {
        self.roots
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
