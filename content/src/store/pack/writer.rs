//! Writing packs: a [`PackWriter`] appends the small blocks of one batch to a pack of its own
//! (created exclusively under a name unique to the call, so writers in several processes never
//! share one), buffered, nothing synced, and seals it by writing its index from `tmp/` into
//! place. A pack is sealed when it reaches [`PACK_TARGET`](super::PACK_TARGET) bytes and when
//! the batch finishes; the pin that follows syncs the file system (see the [format
//! docs](super)).

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{encode_index, encode_record, index_path, pack_path, Record, PACKS, PACK_MAGIC};
use super::{PACK_SUFFIX, PACK_TARGET};
use crate::block::BlockError;
use crate::store::{io_error, Store};

/// Bytes buffered before a write to the pack.
const BUFFER: usize = 1 << 20;

/// The pack being written.
struct Open {
    name: String,
    path: PathBuf,
    out: BufWriter<File>,
    /// Where the next record goes.
    end: u64,
    records: Vec<Record>,
    /// The record header and data being encoded (reused).
    scratch: Vec<u8>,
}

/// Appends blocks to packs of one store; see the module docs.
pub(in crate::store) struct PackWriter {
    store: Store,
    open: Option<Open>,
    /// Blocks this writer has packed, so that a block put twice is packed once.
    packed: HashSet<Box<[u8]>>,
}

impl PackWriter {
    pub fn new(store: Store) -> PackWriter {
        PackWriter {
            store,
            open: None,
            packed: HashSet::new(),
        }
    }

    /// Whether this writer has packed the block `key` already.
    pub fn has(&self, key: &[u8]) -> bool {
        self.packed.contains(key)
    }

    /// Appends the block `key` with `data` to the open pack (starting one if none is), and
    /// seals the pack once it is full.
    pub fn append(&mut self, key: Box<[u8]>, data: &[u8]) -> Result<(), BlockError> {
        if self.open.is_none() {
            self.open = Some(self.start()?);
        }
        let Some(open) = self.open.as_mut() else {
            unreachable!("a pack was just started");
        };
        open.scratch.clear();
        encode_record(&key, data, &mut open.scratch);
        open.out
            .write_all(&open.scratch)
            .map_err(|e| io_error("write", &open.path, e))?;
        open.records.push(Record {
            key: key.clone(),
            offset: open.end,
            len: data.len() as u32,
        });
        open.end += open.scratch.len() as u64;
        self.packed.insert(key);
        if open.end >= PACK_TARGET {
            self.seal()?;
        }
        Ok(())
    }

    /// Seals the open pack, if any: its data written out (not synced), then its index renamed
    /// into place, and the store's set of packs told. A pack with nothing in it is removed.
    pub fn seal(&mut self) -> Result<(), BlockError> {
        let Some(mut open) = self.open.take() else {
            return Ok(());
        };
        if open.records.is_empty() {
            drop(open.out);
            let _ = std::fs::remove_file(&open.path);
            return Ok(());
        }
        open.out
            .flush()
            .map_err(|e| io_error("write", &open.path, e))?;
        let packs = self.store.dir.join(PACKS);
        let index = index_path(&packs, &open.name);
        let bytes = encode_index(&mut open.records);
        let mut new = crate::atomic::NewFile::create(
            &self.store.dir.join(crate::store::paths::TMP),
            "index-",
            &index,
            0o444,
        )
        .map_err(|e| io_error("create a temporary file for", &index, e))?;
        new.write_all(&bytes)
            .map_err(|e| io_error("write", new.temp_path(), e))?;
        new.put_unsynced(|temp, dest| std::fs::rename(temp, dest))
            .map_err(|e| io_error("put in place", &index, e))?;
        #[cfg(test)]
        self.store
            .unsynced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend([open.path.clone(), index]);
        self.store.packs.add(&packs, &open.name);
        tracing::debug!(pack = %open.name, blocks = open.records.len(), bytes = open.end, "sealed a pack");
        Ok(())
    }

    /// Creates a new pack file with its magic.
    fn start(&self) -> Result<Open, BlockError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let name = format!(
            "{}-{:09}-{}-{n}",
            now.as_secs(),
            now.subsec_nanos(),
            std::process::id()
        );
        let packs = self.store.dir.join(PACKS);
        let path = pack_path(&packs, &name);
        let create = || {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o444)
                .open(&path)
        };
        let file = match create() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A store made by an older version has no packs directory yet.
                match std::fs::create_dir(&packs) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(io_error("create", &packs, e)),
                }
                create()
            }
            other => other,
        }
        .map_err(|e| io_error("create", &path, e))?;
        let mut out = BufWriter::with_capacity(BUFFER, file);
        out.write_all(PACK_MAGIC)
            .map_err(|e| io_error("write", &path, e))?;
        debug_assert!(path.to_string_lossy().ends_with(PACK_SUFFIX));
        Ok(Open {
            name,
            path,
            out,
            end: PACK_MAGIC.len() as u64,
            records: Vec::new(),
            scratch: Vec::new(),
        })
    }
}

impl Drop for PackWriter {
    /// A writer dropped unsealed (a batch that failed) still seals what it wrote: whole and
    /// unpinned, for gc to remove or a later import to find.
    fn drop(&mut self) {
        if let Err(e) = self.seal() {
            tracing::debug!("cannot seal a pack: {e}");
        }
    }
}
