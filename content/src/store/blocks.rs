//! Blocks in the store: [`BlockSink::put`] (verified, idempotent, repairing a damaged file),
//! [`BlockSource::get_unverified`] and the verified [`Store::get`], and listing, checking and
//! removing block files. Blocks of identity CIDs are never written: their bytes are their CID.

use std::fs;
use std::io::ErrorKind;

use rustix::fs::FlockOperation;

use super::paths::block_rel;
use super::write::{is_complete, Durability};
use super::{io_error, Store};
use crate::block::{self, BlockError, BlockSink, BlockSource};
use crate::cid::{Cid, IDENTITY};

impl Store {
    /// Whether the store holds the block `cid` (not verified).
    pub fn has(&self, cid: &Cid) -> bool {
        is_inline(cid)
            || fs::metadata(self.block_path(cid)).is_ok_and(|m| m.is_file() && is_complete(&m))
    }

    /// The block `cid`, verified against the CID: [`BlockError::NotFound`] if absent,
    /// [`BlockError::Mismatch`] if its bytes do not match.
    pub fn get(&self, cid: &Cid) -> Result<Vec<u8>, BlockError> {
        block::get_verified(self, cid)
    }

    /// Removes the block `cid`, pinned or not; `false` if it was not there.
    pub fn remove_block(&self, cid: &Cid) -> Result<bool, BlockError> {
        if is_inline(cid) {
            return Ok(false);
        }
        let path = self.block_path(cid);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error("remove block", &path, e)),
        }
    }

    /// Every block in the store, as CIDv1s in CID order. Temp files and files that are not
    /// named as blocks are not listed.
    pub fn blocks(&self) -> Result<Vec<Cid>, BlockError> {
        Ok(self
            .block_files()?
            .into_iter()
            .map(|(cid, _)| cid)
            .collect())
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
            Ok(BlockFile::Whole(data)) => Ok(Some(data)),
            Ok(BlockFile::Incomplete | BlockFile::Absent) => Ok(None),
            Err(e) => Err(io_error("read block", &path, e)),
        }
    }
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
        // Checked in this thread's turn, so a block another thread is writing is found whole.
        let turn = self.turn(&block_rel(cid));
        let path = turn.path();
        if turn.create(data)? {
            #[cfg(test)]
            self.unsynced
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(path.to_path_buf());
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
            self.repaired
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(cid.to_v1());
        }
        Ok(())
    }
}

/// Whether `cid`'s block is its own multihash digest, never stored.
fn is_inline(cid: &Cid) -> bool {
    cid.hash().code() == IDENTITY
}
