//! Write-behind: a [`Batch`] is a [`BlockSink`] for imports. Blocks of at most
//! [`MAX_PACKED`](super::MAX_PACKED) bytes are appended to a pack of the batch's own (`pack/`:
//! no file per block, so a tree of small files costs no inode per file), on the importer's
//! thread, since an append is a copy into a buffer. Larger blocks are block files, written by
//! threads of their own, so that an import hashes the next chunk while the last one's file is
//! created in place; they wait in a bounded queue ([`QUEUE`] blocks, at most 64 MiB of 1 MiB
//! chunks), and a full queue makes the importer wait. [`Batch::finish`] waits until every block
//! is written, seals the pack, and reports the first error; the caller pins after it (the pin
//! syncs, [`Store::pin`]). A put after a failed write fails at once, so an import stops soon
//! after the store does.

use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::blocks::is_inline;
use super::pack::Holding;
use super::pack::{self, PackWriter};
use super::{Store, WriteGuard};
use crate::block::{self, BlockError, BlockSink};
use crate::cid::Cid;

/// Blocks queued for the writers at most.
const QUEUE: usize = 64;
/// Writer threads: while one waits for the file system (a journal commit, an inode), another
/// creates the next block's file.
const WRITERS: usize = 2;

/// Puts written behind the importer's back; see the module docs.
#[must_use = "a batch's blocks are written only once Batch::finish returned Ok"]
pub struct Batch {
    store: Store,
    /// The small blocks' pack.
    packer: Mutex<PackWriter>,
    /// Keeps gc out while the pack is written (the writer threads hold their own).
    _guard: WriteGuard,
    queue: Option<SyncSender<(Cid, Vec<u8>)>>,
    writers: Vec<JoinHandle<Result<(), BlockError>>>,
    /// Set by a writer when a put failed (what failed, for the importer's next put).
    failed: Arc<Mutex<Option<String>>>,
}

impl Store {
    /// A write-behind sink on this store, with [`WRITERS`] writer threads. Each holds its own
    /// [`WriteGuard`](super::WriteGuard) until the batch is finished, so gc waits for them.
    pub fn batch(&self) -> Result<Batch, BlockError> {
        let guard = self.writer()?;
        // What other processes sealed before now is known to the batch's check for blocks
        // already stored; it does not list the packs again for every block.
        self.packs.refresh(&self.dir.join(pack::PACKS), true);
        let failed = Arc::new(Mutex::new(None));
        let (queue, blocks) = sync_channel::<(Cid, Vec<u8>)>(QUEUE);
        let blocks = Arc::new(Mutex::new(blocks));
        let mut writers = Vec::new();
        for _ in 0..WRITERS {
            let (store, blocks) = (self.clone(), Arc::clone(&blocks));
            let failed = Arc::clone(&failed);
            let (ready, started) = sync_channel(1);
            let writer = std::thread::Builder::new()
                .name("store-writer".into())
                .spawn(move || {
                    let _guard = match store.writer() {
                        Ok(guard) => {
                            let _ = ready.send(Ok(()));
                            guard
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                            return Ok(());
                        }
                    };
                    loop {
                        let next = blocks.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok((cid, data)) = next else {
                            return Ok(());
                        };
                        if let Err(e) = store.put_hashed(&cid, &data) {
                            *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                            return Err(e);
                        }
                    }
                })
                .map_err(|e| BlockError::Other(format!("cannot start the store's writer: {e}")))?;
            writers.push(writer);
            started
                .recv()
                .map_err(|_| BlockError::Other("the store's writer stopped at start".into()))??;
        }
        Ok(Batch {
            store: self.clone(),
            packer: Mutex::new(PackWriter::new(self.clone())),
            _guard: guard,
            queue: Some(queue),
            writers,
            failed,
        })
    }
}

impl Batch {
    /// Waits until every block put is written; the first error of the writer, if any.
    pub fn finish(mut self) -> Result<(), BlockError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), BlockError> {
        drop(self.queue.take());
        let mut first = Ok(());
        for writer in self.writers.drain(..) {
            let result = writer
                .join()
                .unwrap_or_else(|_| Err(BlockError::Other("the store's writer panicked".into())));
            if first.is_ok() {
                first = result;
            }
        }
        let sealed = self.packer.lock().unwrap_or_else(|p| p.into_inner()).seal();
        first.and(sealed)
    }

    /// Packs a small block, unless this batch packed it already or the store holds it with
    /// these bytes; a stored copy with other bytes is replaced by a block file (a repair).
    fn pack(&self, cid: &Cid, key: Box<[u8]>, data: &[u8]) -> Result<(), BlockError> {
        let mut packer = self.packer.lock().unwrap_or_else(|p| p.into_inner());
        if packer.has(&key) {
            return Ok(());
        }
        match self.store.holding(cid, data)? {
            Holding::Same => Ok(()),
            Holding::Damaged => {
                drop(packer);
                self.store.put_hashed(cid, data)
            }
            Holding::Absent => packer.append(key, data),
        }
    }

    fn fail(&self, e: BlockError) -> BlockError {
        *self.failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
        e
    }

    fn send(&self, cid: &Cid, data: &[u8]) -> Result<(), BlockError> {
        let failed = || {
            let why = self
                .failed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            BlockError::Other(format!(
                "the block store failed an earlier write: {}",
                why.unwrap_or_else(|| "its writer stopped".into())
            ))
        };
        if self
            .failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
        {
            return Err(failed());
        }
        if data.len() <= pack::MAX_PACKED && !is_inline(cid) {
            if let Some(key) = pack::key(cid) {
                return self.pack(cid, key, data).map_err(|e| self.fail(e));
            }
        }
        let queue = self.queue.as_ref().ok_or_else(failed)?;
        queue
            .send((cid.clone(), data.to_vec()))
            .map_err(|_| failed())
    }
}

impl BlockSink for Batch {
    /// Verifies the block here, then queues it.
    fn put(&self, cid: &Cid, data: &[u8]) -> Result<(), BlockError> {
        block::verify(cid, data)?;
        self.send(cid, data)
    }

    fn put_hashed(&self, cid: &Cid, data: &[u8]) -> Result<(), BlockError> {
        self.send(cid, data)
    }
}

impl Drop for Batch {
    /// A batch dropped without [`Batch::finish`] (an import that failed) still writes what it
    /// queued, complete and unpinned, for gc to remove or a later import to find.
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BlockSource;
    use crate::cid::{Multihash, RAW};

    fn raw(i: u32) -> (Cid, Vec<u8>) {
        let data = format!("block {i}").into_bytes();
        (Cid::new_v1(RAW, Multihash::sha2_256(&data)), data)
    }

    /// A block too large to be packed: written by the writer threads.
    fn large(i: u32) -> (Cid, Vec<u8>) {
        let mut data = format!("block {i}").into_bytes();
        data.resize(crate::store::MAX_PACKED + 1, b'.');
        (Cid::new_v1(RAW, Multihash::sha2_256(&data)), data)
    }

    #[test]
    fn every_block_of_a_batch_is_in_the_store_once_it_is_finished() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let batch = store.batch().unwrap();
        for i in 0..500 {
            let (cid, data) = raw(i);
            batch.put_hashed(&cid, &data).unwrap();
        }
        // Verified puts are checked on the caller's thread.
        let (cid, _) = raw(0);
        assert!(matches!(
            batch.put(&cid, b"other bytes"),
            Err(BlockError::Mismatch { .. })
        ));
        batch.finish().unwrap();
        for i in 0..500 {
            let (cid, data) = raw(i);
            assert_eq!(store.get_unverified(&cid).unwrap(), Some(data));
        }
        // The writer's guard is gone: gc runs.
        assert!(store.try_gc().unwrap().is_some());
    }

    #[test]
    fn a_failed_write_is_reported_by_finish_and_stops_later_puts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let batch = store.batch().unwrap();
        // With a file where `blocks/` should be, no block can be written.
        std::fs::remove_dir_all(dir.path().join("blocks")).unwrap();
        std::fs::write(dir.path().join("blocks"), b"").unwrap();
        let mut refused = None;
        for i in 0..1000 {
            let (cid, data) = large(i);
            if let Err(e) = batch.put_hashed(&cid, &data) {
                refused = Some(e);
                break;
            }
        }
        let refused = refused.expect("a put after the failed write is refused");
        assert!(
            refused.to_string().contains("failed an earlier write"),
            "{refused}"
        );
        let err = batch.finish().unwrap_err();
        assert!(err.to_string().contains("blocks"), "{err}");
    }

    #[test]
    fn a_failed_pack_write_fails_the_put_and_every_later_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let batch = store.batch().unwrap();
        // With a file where `packs/` should be, no pack can be started.
        std::fs::remove_dir_all(dir.path().join("packs")).unwrap();
        std::fs::write(dir.path().join("packs"), b"").unwrap();
        let (cid, data) = raw(1);
        let err = batch.put_hashed(&cid, &data).unwrap_err();
        assert!(err.to_string().contains("packs"), "{err}");
        let (cid, data) = raw(2);
        let later = batch.put_hashed(&cid, &data).unwrap_err();
        assert!(
            later.to_string().contains("failed an earlier write"),
            "{later}"
        );
        let (cid, data) = large(3);
        assert!(batch.put_hashed(&cid, &data).is_err());
        drop(batch);
    }
}
