//! What a store holds: [`Store::stat`] counts its blocks, their bytes and its pins
//! ([`StoreStat`]). Reads only; takes no lock, so the counts are a moment's, as `ls` would see.

use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;

use super::{io_error, Store};
use crate::block::BlockError;

/// The size of a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStat {
    /// The store's directory, as it was opened.
    pub dir: PathBuf,
    /// Blocks (as [`Store::blocks`] lists them: block files and packed blocks, each once).
    pub blocks: u64,
    /// Their bytes (of block files, their size on disk; of packed blocks, their data).
    pub bytes: u64,
    /// Pinned roots.
    pub pins: u64,
}

impl Store {
    /// Counts the store's blocks, their bytes and its pins.
    pub fn stat(&self) -> Result<StoreStat, BlockError> {
        let mut stat = StoreStat {
            dir: self.dir.clone(),
            blocks: 0,
            bytes: 0,
            pins: self.pins()?.len() as u64,
        };
        for (_, path) in self.block_files()? {
            match fs::symlink_metadata(&path) {
                Ok(meta) => {
                    stat.blocks += 1;
                    stat.bytes += meta.len();
                }
                // Removed by a gc since it was listed.
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("inspect", &path, e)),
            }
        }
        for (_, entry) in self.packed_blocks() {
            stat.blocks += 1;
            stat.bytes += u64::from(entry.record.len);
        }
        Ok(stat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BlockSink;
    use crate::cid::{Cid, RAW};

    #[test]
    fn stat_counts_blocks_bytes_and_pins() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let empty = store.stat().unwrap();
        assert_eq!((empty.blocks, empty.bytes, empty.pins), (0, 0, 0));
        assert_eq!(empty.dir, dir.path().join("store"));
        let one = Cid::v1_sha2_256(RAW, b"one");
        let three = Cid::v1_sha2_256(RAW, b"three");
        store.put(&one, b"one").unwrap();
        store.put(&three, b"three").unwrap();
        store.pin(&three, Some("label")).unwrap();
        // Not a block: ignored, as `blocks` ignores it.
        fs::write(store.dir().join("blocks").join("stray"), b"stray").unwrap();
        let stat = store.stat().unwrap();
        assert_eq!((stat.blocks, stat.bytes, stat.pins), (2, 8, 1));
    }
}
