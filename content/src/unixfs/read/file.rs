//! Reading file DAGs: [`Reader::read_to`] and [`Reader::read_range`], which check every size a
//! node records against what it holds and nest at most [`MAX_FILE_DEPTH`] levels.

use std::io::Write;

use crate::cid::Cid;

use super::super::data::DataType;
use super::{kind_of, malformed, Decoded, ReadError, Reader, MAX_FILE_DEPTH};

impl Reader<'_> {
    /// Writes the whole file `cid` to `out`; returns the bytes written.
    pub fn read_to(&self, cid: &Cid, out: &mut dyn Write) -> Result<u64, ReadError> {
        self.read_range(cid, 0, u64::MAX, out)
    }

    /// Writes up to `len` bytes of file `cid` from `offset` to `out`; returns the bytes written.
    pub fn read_range(
        &self,
        cid: &Cid,
        offset: u64,
        len: u64,
        out: &mut dyn Write,
    ) -> Result<u64, ReadError> {
        let end = offset.saturating_add(len);
        let mut written = 0;
        self.read_node(cid, offset, end, 0, out, &mut written, None)?;
        Ok(written)
    }

    /// Writes bytes `[start, end)` of the file node `cid` (positions relative to it). When the
    /// parent recorded the node's size, `expect` checks it.
    #[allow(clippy::too_many_arguments)]
    fn read_node(
        &self,
        cid: &Cid,
        start: u64,
        end: u64,
        depth: usize,
        out: &mut dyn Write,
        written: &mut u64,
        expect: Option<u64>,
    ) -> Result<(), ReadError> {
        if depth > MAX_FILE_DEPTH {
            return Err(malformed(
                cid,
                format!("file DAG nests deeper than {MAX_FILE_DEPTH} levels"),
            ));
        }
        let (node, data) = match self.decode(cid)? {
            Decoded::Raw(bytes) => {
                check_size(cid, expect, bytes.len() as u64)?;
                write_slice(&bytes, start, end, out, written)?;
                return Ok(());
            }
            Decoded::Pb(node, data) => (node, data),
        };
        if !matches!(data.kind, DataType::File | DataType::Raw) {
            return Err(ReadError::WrongKind {
                cid: cid.clone(),
                expected: "file",
                found: kind_of(cid, &node, &data)?.word(),
            });
        }
        if data.blocksizes.len() != node.links.len() {
            return Err(malformed(
                cid,
                format!(
                    "{} links but {} blocksizes",
                    node.links.len(),
                    data.blocksizes.len()
                ),
            ));
        }
        let own = data.data.as_deref().unwrap_or_default();
        let total = content_size(cid, own.len(), &data.blocksizes)?;
        check_size(cid, expect, total)?;
        if let Some(filesize) = data.filesize {
            if filesize != total {
                return Err(malformed(
                    cid,
                    format!("filesize {filesize} but content of {total} bytes"),
                ));
            }
        }
        write_slice(own, start, end, out, written)?;
        let mut pos = own.len() as u64;
        for (link, &size) in node.links.iter().zip(&data.blocksizes) {
            // Cannot overflow: the sizes summed to `total` above.
            let child_end = pos.saturating_add(size);
            if child_end > start && pos < end {
                self.read_node(
                    &link.cid,
                    start.saturating_sub(pos),
                    end.saturating_sub(pos).min(size),
                    depth + 1,
                    out,
                    written,
                    Some(size),
                )?;
            }
            pos = child_end;
            if pos >= end {
                break;
            }
        }
        Ok(())
    }
}

/// The bytes a file node holds: its own data plus its children's, summed with checked
/// arithmetic (sizes come from the block).
pub(super) fn content_size(cid: &Cid, own: usize, blocksizes: &[u64]) -> Result<u64, ReadError> {
    blocksizes
        .iter()
        .try_fold(own as u64, |sum, &size| sum.checked_add(size))
        .ok_or_else(|| malformed(cid, "its block sizes add up past 2^64 bytes"))
}

fn check_size(cid: &Cid, expect: Option<u64>, actual: u64) -> Result<(), ReadError> {
    match expect {
        Some(e) if e != actual => Err(malformed(
            cid,
            format!("parent records {e} bytes but the node holds {actual}"),
        )),
        _ => Ok(()),
    }
}

fn write_slice(
    bytes: &[u8],
    start: u64,
    end: u64,
    out: &mut dyn Write,
    written: &mut u64,
) -> Result<(), ReadError> {
    let len = bytes.len() as u64;
    let (s, e) = (start.min(len), end.min(len));
    if s < e {
        out.write_all(&bytes[s as usize..e as usize])
            .map_err(ReadError::Output)?;
        *written += e - s;
    }
    Ok(())
}
