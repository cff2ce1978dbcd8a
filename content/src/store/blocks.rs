//! Blocks in the store: [`BlockSink::put`] (verified, idempotent, repairing a damaged file),
//! [`BlockSource::get_unverified`] and the verified [`Store::get`], and listing, checking and
//! removing block files. Blocks of identity CIDs are never written: their bytes are their CID.

use std::fs;
use std::io::ErrorKind;

use rustix::fs::FlockOperation;

use super::pack;
use super::pack::Holding;
use super::paths::block_rel;
use super::write::{is_complete, Durability};
use super::{io_error, Store};
use crate::block::{self, BlockError, BlockSink, BlockSource};
use crate::cid::{Cid, IDENTITY};

impl Store {
    /// Whether the store holds the block `cid` (not verified), as a block file or in a pack.
    pub fn has(&self, cid: &Cid) -> bool {
        is_inline(cid)
            || fs::metadata(self.block_path(cid)).is_ok_and(|m| m.is_file() && is_complete(&m))
            || !self.packed(cid).is_empty()
    }

    /// The block `cid`, verified against the CID: [`BlockError::NotFound`] if absent,
    /// [`BlockError::Mismatch`] if its bytes do not match.
    pub fn get(&self, cid: &Cid) -> Result<Vec<u8>, BlockError> {
        block::get_verified(self, cid)
    }

    /// Where the block `cid` is stored, if it is: its block file, or its pack and the offset
    /// of its bytes there (the copy readers take, see [`Store::get`]). For messages and for
    /// tests that damage a block on purpose.
    pub fn locate(&self, cid: &Cid) -> Option<BlockLocation> {
        if is_inline(cid) {
            return None;
        }
        let path = self.block_path(cid);
        if let Ok(meta) = fs::metadata(&path) {
            if meta.is_file() && is_complete(&meta) {
                return Some(BlockLocation {
                    path,
                    offset: 0,
                    len: meta.len(),
                });
            }
        }
        let (entry, _) = self.packed_read(cid).ok()??;
        Some(BlockLocation {
            path: entry.pack.path.clone(),
            offset: entry.record.data_offset(),
            len: u64::from(entry.record.len),
        })
    }

    /// Removes the block `cid`, pinned or not: its block file, and every packed copy (each pack
    /// holding one is rewritten without it, under the store's exclusive lock, as gc does); `false`
    /// if it was not there.
    pub fn remove_block(&self, cid: &Cid) -> Result<bool, BlockError> {
        if is_inline(cid) {
            return Ok(false);
        }
        if !self.packed(cid).is_empty() && self.this_thread_holds_a_guard() {
            return Err(BlockError::Other(format!(
                "cannot remove the packed block {cid} from {}: this thread holds a write guard \
                 on the store, and rewriting a pack waits for every writer",
                self.dir.display()
            )));
        }
        let path = self.block_path(cid);
        let mut removed = match fs::remove_file(&path) {
            Ok(()) => true,
            Err(e) if e.kind() == ErrorKind::NotFound => false,
            Err(e) => return Err(io_error("remove block", &path, e)),
        };
        if !self.packed(cid).is_empty() {
            let _lock = self.lock(FlockOperation::LockExclusive)?;
            let target = cid.to_v1();
            let sweep = self.sweep_packs(&|c| c.to_v1() != target, false)?;
            removed |= !sweep.removed.is_empty();
        }
        Ok(removed)
    }

    /// Every block in the store, block files and packed, as CIDv1s in CID order, each once.
    /// Temp files and files that are not named as blocks are not listed.
    pub fn blocks(&self) -> Result<Vec<Cid>, BlockError> {
        let mut cids: Vec<Cid> = self
            .block_files()?
            .into_iter()
            .map(|(cid, _)| cid)
            .collect();
        cids.extend(self.packed_blocks().into_iter().map(|(cid, _)| cid));
        cids.sort();
        cids.dedup();
        Ok(cids)
    }

    /// The blocks whose bytes do not verify against their CID (corrupt, or with a hash or codec
    /// this implementation cannot check), in CID order. Files not whole yet (being written in
    /// place, or left so by an interrupted write) are not blocks, so not listed.
    pub fn verify_all(&self) -> Result<Vec<Cid>, BlockError> {
        let mut bad = Vec::new();
        for (cid, path) in self.block_files()? {
            let data = match read_block_file(&path) {
                Ok(BlockFile::Whole(data)) => data,
                // Not a block (yet): see [`BlockFile::Incomplete`].
                Ok(BlockFile::Incomplete | BlockFile::Absent) => continue,
                Err(e) => return Err(io_error("read block", &path, e)),
            };
            if let Err(e) = block::verify(&cid, &data) {
                tracing::warn!(path = %path.display(), "{e}");
                bad.push(cid);
            }
        }
        for (cid, _) in self.packed_blocks() {
            // The copy readers take (cut short or gone: not there).
            let Some((entry, data)) = self.packed_read(&cid)? else {
                continue;
            };
            if let Err(e) = block::verify(&cid, &data) {
                tracing::warn!(pack = %entry.pack.path.display(), "{e}");
                bad.push(cid);
            }
        }
        bad.sort();
        Ok(bad)
    }
}

impl BlockSource for Store {
    fn get_unverified(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        if is_inline(cid) {
            return Ok(Some(cid.hash().digest().to_vec()));
        }
        let path = self.block_path(cid);
        match read_block_file(&path) {
            Ok(BlockFile::Whole(data)) => return Ok(Some(data)),
            Ok(BlockFile::Incomplete | BlockFile::Absent) => {}
            Err(e) => return Err(io_error("read block", &path, e)),
        }
        Ok(self.packed_read(cid)?.map(|(_, data)| data))
    }
}

/// Where a block's bytes are: a block file (offset 0), or a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockLocation {
    /// The block file, or the pack file.
    pub path: std::path::PathBuf,
    /// Where the block's bytes start in it.
    pub offset: u64,
    /// How many there are.
    pub len: u64,
}

/// What a block file holds, as a reader takes it.
pub(super) enum BlockFile {
    /// Its bytes (not verified).
    Whole(Vec<u8>),
    /// Being written in place, or left so by an interrupted write ([`is_complete`]): not there.
    Incomplete,
    /// No such file.
    Absent,
}

/// Reads the block file at `path`; one being written in place is [`BlockFile::Incomplete`].
pub(super) fn read_block_file(path: &std::path::Path) -> std::io::Result<BlockFile> {
    use std::io::Read;
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(BlockFile::Absent),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !is_complete(&meta) {
        return Ok(BlockFile::Incomplete);
    }
    let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut data)?;
    Ok(BlockFile::Whole(data))
}

impl BlockSink for Store {
    /// Stores the block unless it is already there; refuses bytes that do not match `cid`.
    fn put(&self, cid: &Cid, data: &[u8]) -> Result<(), BlockError> {
        block::verify(cid, data)?;
        self.put_hashed(cid, data)
    }

    /// Stores the block unless it is already there, trusting that `cid` was computed from
    /// `data` in this process (by the importer): hashing every block twice cost a large file's
    /// import into the store a third of its throughput.
    fn put_hashed(&self, cid: &Cid, data: &[u8]) -> Result<(), BlockError> {
        if is_inline(cid) {
            return Ok(());
        }
        // Under a guard (an import), the guard's shared lock already keeps gc out.
        let _lock = if self.this_thread_holds_a_guard() {
            None
        } else {
            Some(self.lock(FlockOperation::LockShared)?)
        };
        // A packed copy with these bytes will do, unless a block file (which readers take
        // first) is there too; packed copies that are all damaged are repaired by a block file.
        let packed = if data.len() <= pack::MAX_PACKED {
            self.packed_holding(cid, data)?
        } else {
            Holding::Absent
        };
        let packed_whole = packed == Holding::Same;
        // Checked in this thread's turn, so a block another thread is writing is found whole.
        let turn = self.turn(&block_rel(cid));
        let path = turn.path();
        if packed_whole && fs::symlink_metadata(path).is_err() {
            return Ok(());
        }
        if turn.create(data)? {
            #[cfg(test)]
            self.unsynced
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(path.to_path_buf());
            if packed == Holding::Damaged {
                tracing::debug!(path = %path.display(), "packed block {cid} does not match its CID; stored the verified bytes as a block file");
                self.note_repaired(cid);
            }
            return Ok(());
        }
        let mut repair = false;
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_file() && !is_complete(&meta) => {
                tracing::debug!(path = %path.display(), "block {cid} in the store is incomplete (an interrupted write); replacing it");
                repair = true;
            }
            Ok(meta) if meta.is_file() && meta.len() == data.len() as u64 => match fs::read(path) {
                Ok(stored) if stored == data => return Ok(()),
                Ok(_) => {
                    tracing::debug!(path = %path.display(), "block {cid} in the store does not match its CID; replacing it with verified bytes");
                    repair = true;
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("read block", path, e)),
            },
            Ok(meta) if meta.is_file() => {
                tracing::debug!(path = %path.display(), "block {cid} in the store has the wrong length; replacing it with verified bytes");
                repair = true;
            }
            Ok(_) => {
                return Err(BlockError::Other(format!(
                    "block {cid}: {} is in the store but is not a regular file",
                    path.display()
                )))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("inspect", path, e)),
        }
        turn.write(data, Durability::Batched)?;
        #[cfg(test)]
        self.unsynced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(path.to_path_buf());
        if repair {
            self.note_repaired(cid);
        }
        Ok(())
    }
}

impl Store {
    /// Records that `cid`'s stored copy was damaged and has been replaced by verified bytes.
    pub(super) fn note_repaired(&self, cid: &Cid) {
        self.repaired
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(cid.to_v1());
    }
}

/// Whether `cid`'s block is its own multihash digest, never stored.
pub(super) fn is_inline(cid: &Cid) -> bool {
    cid.hash().code() == IDENTITY
}
