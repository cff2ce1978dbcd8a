//! The store's reads of packed blocks (`pack/` has the formats and files): which copies of a
//! block the sealed packs hold, which one a reader takes, and what a writer about to store a
//! block finds already there. A block can have several packed copies (two imports packed it at
//! once, or it was packed again after a crash damaged a copy): with one, it is read as it is
//! (verified by the caller, as a block file is); with more, the newest that verifies is taken,
//! so a damaged newer copy never hides a good older one.

use super::blocks::{read_block_file, BlockFile};
use super::pack::{self, Entry, Holding, PACKS};
use super::write::is_complete;
use super::{io_error, Store};
use crate::block::{self, BlockError};
use crate::cid::Cid;

impl Store {
    /// The copies of `cid` in sealed packs that are still there, newest first. When every pack
    /// this process knew to hold it is gone (gc in another process rewrote them), the packs are
    /// listed again.
    pub(super) fn packed(&self, cid: &Cid) -> Vec<Entry> {
        let Some(key) = pack::key(cid) else {
            return Vec::new();
        };
        let dir = self.dir.join(PACKS);
        let copies = self.packs.find(&dir, &key);
        if copies.is_empty() {
            return copies;
        }
        let there: Vec<Entry> = copies.iter().filter(|c| c.pack.exists()).cloned().collect();
        if !there.is_empty() {
            return there;
        }
        self.packs.refresh(&dir, true);
        self.packs
            .find_loaded(&key)
            .into_iter()
            .filter(|c| c.pack.exists())
            .collect()
    }

    /// The packed copy of `cid` a reader takes, with its bytes (not verified when it is the only
    /// copy): the only one, or the newest that verifies, or failing that the newest that can be
    /// read. `None` when no copy can be read (none, or all cut short or gone), after listing the
    /// packs again in case a newer one holds it.
    pub(super) fn packed_read(&self, cid: &Cid) -> Result<Option<(Entry, Vec<u8>)>, BlockError> {
        let copies = self.packed(cid);
        if copies.is_empty() {
            return Ok(None);
        }
        if let Some(found) = pick(cid, &copies)? {
            return Ok(Some(found));
        }
        // Every copy is cut short or gone: a pack sealed since may hold it again.
        self.packs.refresh(&self.dir.join(PACKS), true);
        let newer: Vec<Entry> = self
            .packed(cid)
            .into_iter()
            .filter(|c| !copies.iter().any(|old| old.pack.name == c.pack.name))
            .collect();
        pick(cid, &newer)
    }

    /// What the packs this process has loaded hold of `cid`, for a writer with `data` (which
    /// match `cid`). Packs sealed since by other processes are not looked for: a block packed
    /// twice costs only space, which gc gives back.
    pub(super) fn packed_holding(&self, cid: &Cid, data: &[u8]) -> Result<Holding, BlockError> {
        let Some(key) = pack::key(cid) else {
            return Ok(Holding::Absent);
        };
        let mut holding = Holding::Absent;
        for copy in self.packs.find_loaded(&key) {
            match copy
                .read()
                .map_err(|e| io_error("read pack", &copy.pack.path, e))?
            {
                Some(stored) if stored == data => return Ok(Holding::Same),
                Some(_) => holding = Holding::Damaged,
                None => {}
            }
        }
        Ok(holding)
    }

    /// What the store holds of `cid` for a batch about to pack it with `data`: its block file
    /// first (which readers take), then the packs loaded so far.
    pub(super) fn holding(&self, cid: &Cid, data: &[u8]) -> Result<Holding, BlockError> {
        let path = self.block_path(cid);
        match read_block_file(&path) {
            Ok(BlockFile::Whole(stored)) if stored == data => return Ok(Holding::Same),
            Ok(BlockFile::Whole(_)) => return Ok(Holding::Damaged),
            Ok(BlockFile::Incomplete | BlockFile::Absent) => {}
            Err(e) => return Err(io_error("read block", &path, e)),
        }
        self.packed_holding(cid, data)
    }

    /// Every block of the sealed packs that has no block file (a block file wins over packed
    /// copies), with its newest copy, in CID order.
    pub(super) fn packed_blocks(&self) -> Vec<(Cid, Entry)> {
        let mut out: Vec<(Cid, Entry)> = self
            .packs
            .all(&self.dir.join(PACKS))
            .into_iter()
            .filter_map(|entry| Some((Cid::from_bytes(&entry.record.key).ok()?, entry)))
            .filter(|(cid, _)| {
                !std::fs::metadata(self.block_path(cid))
                    .is_ok_and(|m| m.is_file() && is_complete(&m))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// The copy of `cid` among `copies` (newest first) a reader takes; see [`Store::packed_read`].
fn pick(cid: &Cid, copies: &[Entry]) -> Result<Option<(Entry, Vec<u8>)>, BlockError> {
    let mut readable = None;
    for copy in copies {
        let Some(data) = copy
            .read()
            .map_err(|e| io_error("read pack", &copy.pack.path, e))?
        else {
            continue;
        };
        if copies.len() == 1 || block::verify(cid, &data).is_ok() {
            return Ok(Some((copy.clone(), data)));
        }
        readable.get_or_insert((copy.clone(), data));
    }
    Ok(readable)
}
