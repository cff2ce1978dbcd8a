//! Reading a CAR into a sink: every block verified (by the [`reader`](super::reader)), each
//! stored once, and the CAR checked to be closed (every root and every link in it).

use std::collections::HashSet;
use std::io::{BufReader, Read};

use super::reader::CarReader;
use super::{is_identity, CarError};
use crate::block::{self, BlockSink};
use crate::cid::Cid;

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
        car_bytes: reader.offset(),
        roots: reader.into_roots(),
        blocks,
        duplicates,
        bytes,
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
