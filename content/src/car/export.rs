//! Writing a CAR: the header, then each block under the roots once, in the order of the one
//! DAG walk ([`crate::walk`]), which is go-car's.

use std::io::{BufWriter, Write};

use super::header::header_body;
use super::{is_identity, CarError, MAX_BLOCK_LEN, MAX_CID_LEN, MAX_HEADER_LEN};
use crate::block::{self, BlockError, BlockSource};
use crate::cid::{varint, Cid};
use crate::progress::{dag_size_hint, Meter};
use crate::walk::{Budget, Same, Visit, Walk};

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

/// Writes a CAR v1 of the DAGs under `roots` to `out`.
///
/// The header lists all `roots` in the order given. Each root is then walked depth-first,
/// pre-order ([`crate::walk`]): a block, then the blocks it links to in link order. A block is
/// written the first time it is met, never again (also across roots); a CIDv0 and a CIDv1 of
/// the same bytes are two CIDs, written twice, as go-car does. The walk has no budget: the DAG
/// is the caller's (the local store, in practice). Every block is read with
/// [`block::get_verified`], so a corrupt or missing block in `source` fails the export with an
/// error naming its CID; blocks with an identity multihash are written from their CID and need
/// not be in `source`. On an error, what was written to `out` is an incomplete CAR: write to a
/// temporary file and rename it only on success.
pub fn export(
    source: &dyn BlockSource,
    roots: &[Cid],
    out: &mut dyn Write,
) -> Result<ExportReport, CarError> {
    export_with(source, roots, out, None)
}

/// [`export`], counting on `meter` the blocks (items) and bytes of block data written, of the
/// total the roots' blocks claim for their DAGs ([`dag_size_hint`]: only for display).
pub fn export_metered(
    source: &dyn BlockSource,
    roots: &[Cid],
    out: &mut dyn Write,
    meter: &Meter,
) -> Result<ExportReport, CarError> {
    export_with(source, roots, out, Some(meter))
}

fn export_with(
    source: &dyn BlockSource,
    roots: &[Cid],
    out: &mut dyn Write,
    meter: Option<&Meter>,
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
    // go-car writes a CIDv0 and the CIDv1 of the same block as two sections: so do we.
    let source = Inline(source);
    if let Some(meter) = meter {
        // An unreadable root fails the walk below, with its error.
        let total = roots.iter().try_fold(0u64, |sum, root| {
            let data = source.get_unverified(root).ok()??;
            Some(sum.saturating_add(dag_size_hint(root, &data)?))
        });
        if let Some(total) = total {
            meter.set_bytes_total(total);
        }
    }
    let mut walk = Walk::new(&source).budget(Budget::UNLIMITED).same(Same::Cid);
    walk.run(roots, |block: &Visit| {
        let cid_bytes = block.cid.to_bytes();
        check_size(&block.cid, "the CID", cid_bytes.len(), MAX_CID_LEN)?;
        check_size(&block.cid, "the block", block.data.len(), MAX_BLOCK_LEN)?;
        prefix.clear();
        varint::write((cid_bytes.len() + block.data.len()) as u64, &mut prefix);
        out.write(&prefix)?;
        out.write(&cid_bytes)?;
        out.write(&block.data)?;
        report.blocks += 1;
        report.bytes += block.data.len() as u64;
        if let Some(meter) = meter {
            meter.add_items(1);
            meter.add_bytes(block.data.len() as u64);
        }
        Ok::<_, CarError>(())
    })?;
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

/// `source`, with the blocks of identity CIDs read from the CIDs themselves.
struct Inline<'a>(&'a dyn BlockSource);

impl BlockSource for Inline<'_> {
    fn get_unverified(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        if is_identity(cid) {
            return Ok(Some(cid.hash().digest().to_vec()));
        }
        self.0.get_unverified(cid)
    }

    /// Verified as [`block::verify`] does (an identity block of an unknown codec is refused);
    /// other blocks as `source` verifies them.
    fn get_verified(&self, cid: &Cid) -> Result<Vec<u8>, BlockError> {
        if is_identity(cid) {
            let data = cid.hash().digest().to_vec();
            block::verify(cid, &data)?;
            return Ok(data);
        }
        self.0.get_verified(cid)
    }
}
