//! Blocks: bytes named by a CID. Sources give blocks, sinks take them; [`get_verified`] is the
//! one way blocks are read for use, and checks every byte against the CID first. Tests keep
//! blocks in `MemoryBlocks` (in this crate's tests, and elsewhere with the `testing` feature).

use std::path::PathBuf;

use crate::cid::{Cid, DAG_PB, RAW};
use crate::dagpb::PbNode;

/// Why a block could not be had or used. Every variant names the CID.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("block {0} not found")]
    NotFound(Cid),
    #[error("block {cid}: bytes do not match the CID's multihash (corrupt or forged block)")]
    Mismatch { cid: Cid },
    #[error("block {cid}: {source}")]
    UnsupportedHash {
        cid: Cid,
        #[source]
        source: crate::cid::UnsupportedHash,
    },
    #[error("block {cid}: unsupported codec 0x{codec:x} (supported: raw 0x55, dag-pb 0x70)")]
    UnknownCodec { cid: Cid, codec: u64 },
    #[error("block {cid}: malformed {what}: {reason}")]
    Malformed {
        cid: Cid,
        what: &'static str,
        reason: String,
    },
    #[error("cannot {action} {path}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A [`crate::walk`] met `cid` more than `limit` links below its root.
    #[error(
        "block {cid} is more than {limit} links below the root of the DAG; a DAG that deep is refused"
    )]
    TooDeep { cid: Cid, limit: usize },
    /// A [`crate::walk`] met `cid` after it had visited `limit` blocks.
    #[error("block {cid}: the DAG has more than {limit} blocks; a DAG that large is refused")]
    TooManyBlocks { cid: Cid, limit: u64 },
    /// The command was stopped (SIGINT, SIGTERM) while it worked: see [`crate::cancel`].
    #[error(transparent)]
    Cancelled(#[from] crate::cancel::Cancelled),
    #[error("{0}")]
    Other(String),
}

/// Something that holds blocks.
pub trait BlockSource {
    /// The stored bytes of `cid`, not yet verified; `Ok(None)` when absent.
    fn get_unverified(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError>;

    /// The bytes of `cid`, verified against it; [`BlockError::NotFound`] when absent. A source
    /// that verifies what it returns anyway (the chain) says so by overriding this, so that the
    /// bytes are not hashed twice.
    fn get_verified(&self, cid: &Cid) -> Result<Vec<u8>, BlockError> {
        let data = self
            .get_unverified(cid)?
            .ok_or_else(|| BlockError::NotFound(cid.clone()))?;
        verify(cid, &data)?;
        Ok(data)
    }

    /// The stored bytes of each of `cids` that the source has, not yet verified, given to `got`
    /// as they come (in any order); absent ones are skipped. A source that can fetch several at
    /// once (an IPFS node) overrides this; the default asks for one after the other. Stops at
    /// the first error, of the source or of `got`.
    fn get_many(&self, cids: &[Cid], got: &mut Got<'_>) -> Result<(), BlockError> {
        for cid in cids {
            if let Some(data) = self.get_unverified(cid)? {
                got(cid, data)?;
            }
        }
        Ok(())
    }
}

/// What [`BlockSource::get_many`] hands each block it got to: its CID and (unverified) bytes.
pub type Got<'a> = dyn FnMut(&Cid, Vec<u8>) -> Result<(), BlockError> + 'a;

/// Something that takes blocks. `put` must be idempotent.
pub trait BlockSink {
    /// Stores `data` as the block `cid`, which may come from anywhere (a CAR, a node): a sink
    /// that keeps blocks checks `data` against `cid` first.
    fn put(&self, cid: &Cid, data: &[u8]) -> Result<(), BlockError>;

    /// Stores `data` as the block `cid` that this process has just computed from `data` (the
    /// importer does): a sink may skip hashing `data` again. The default is [`BlockSink::put`].
    fn put_hashed(&self, cid: &Cid, data: &[u8]) -> Result<(), BlockError> {
        self.put(cid, data)
    }
}

/// Checks `data` against `cid`: its multihash must match and its codec must be one we read.
pub fn verify(cid: &Cid, data: &[u8]) -> Result<(), BlockError> {
    if !matches!(cid.codec(), RAW | DAG_PB) {
        return Err(BlockError::UnknownCodec {
            cid: cid.clone(),
            codec: cid.codec(),
        });
    }
    match cid.verify(data) {
        Ok(true) => Ok(()),
        Ok(false) => Err(BlockError::Mismatch { cid: cid.clone() }),
        Err(source) => Err(BlockError::UnsupportedHash {
            cid: cid.clone(),
            source,
        }),
    }
}

/// The block `cid` from `source`, verified against the CID before it is returned.
pub fn get_verified(source: &dyn BlockSource, cid: &Cid) -> Result<Vec<u8>, BlockError> {
    source.get_verified(cid)
}

/// The CIDs a block links to, in link order: none for raw blocks, the links of a dag-pb node.
pub fn links(cid: &Cid, data: &[u8]) -> Result<Vec<Cid>, BlockError> {
    match cid.codec() {
        RAW => Ok(Vec::new()),
        DAG_PB => {
            let node = decode_pb(cid, data)?;
            Ok(node.links.into_iter().map(|l| l.cid).collect())
        }
        codec => Err(BlockError::UnknownCodec {
            cid: cid.clone(),
            codec,
        }),
    }
}

/// Decodes a dag-pb block, naming the CID if it is malformed.
pub fn decode_pb(cid: &Cid, data: &[u8]) -> Result<PbNode, BlockError> {
    PbNode::decode(data).map_err(|reason| BlockError::Malformed {
        cid: cid.clone(),
        what: "dag-pb node",
        reason,
    })
}

#[cfg(any(test, feature = "testing"))]
pub use memory::MemoryBlocks;

#[cfg(any(test, feature = "testing"))]
mod memory {
    use std::collections::BTreeMap;
    use std::sync::{Mutex, MutexGuard};

    use super::{BlockError, BlockSink, BlockSource};
    use crate::cid::Cid;

    /// Blocks in memory, for tests: this crate's, and (with the `testing` feature) other crates'.
    #[derive(Debug, Default)]
    pub struct MemoryBlocks {
        blocks: Mutex<BTreeMap<Cid, Vec<u8>>>,
    }

    impl MemoryBlocks {
        pub fn new() -> MemoryBlocks {
            MemoryBlocks::default()
        }

        pub fn len(&self) -> usize {
            self.lock().len()
        }

        pub fn is_empty(&self) -> bool {
            self.lock().is_empty()
        }

        /// Every block, in CID order.
        pub fn blocks(&self) -> Vec<(Cid, Vec<u8>)> {
            self.lock()
                .iter()
                .map(|(c, d)| (c.clone(), d.clone()))
                .collect()
        }

        /// Replaces the bytes stored for `cid` without any check: for tests that corrupt blocks.
        pub fn overwrite(&self, cid: &Cid, data: Vec<u8>) {
            self.lock().insert(cid.clone(), data);
        }

        fn lock(&self) -> MutexGuard<'_, BTreeMap<Cid, Vec<u8>>> {
            // A panic while holding the lock cannot leave the map half-updated.
            self.blocks.lock().unwrap_or_else(|p| p.into_inner())
        }
    }

    impl BlockSource for MemoryBlocks {
        fn get_unverified(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
            Ok(self.lock().get(cid).cloned())
        }
    }

    impl BlockSink for MemoryBlocks {
        fn put(&self, cid: &Cid, data: &[u8]) -> Result<(), BlockError> {
            self.lock()
                .entry(cid.clone())
                .or_insert_with(|| data.to_vec());
            Ok(())
        }
    }
}

/// A sink that keeps nothing: computing CIDs only (`wwpack cid`).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl BlockSink for NullSink {
    fn put(&self, _cid: &Cid, _data: &[u8]) -> Result<(), BlockError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_reads_catch_corruption_and_unknown_codecs() {
        let blocks = MemoryBlocks::new();
        let cid = Cid::v1_sha2_256(RAW, b"data");
        blocks.put(&cid, b"data").unwrap();
        assert_eq!(get_verified(&blocks, &cid).unwrap(), b"data");
        blocks.overwrite(&cid, b"dat4".to_vec());
        let err = get_verified(&blocks, &cid).unwrap_err().to_string();
        assert!(
            err.contains(&cid.to_string()) && err.contains("do not match"),
            "{err}"
        );
        let cbor = Cid::v1_sha2_256(0x71, b"x");
        blocks.put(&cbor, b"x").unwrap();
        let err = get_verified(&blocks, &cbor).unwrap_err().to_string();
        assert!(err.contains("codec 0x71"), "{err}");
        let missing = Cid::v1_sha2_256(RAW, b"nope");
        assert!(matches!(
            get_verified(&blocks, &missing),
            Err(BlockError::NotFound(_))
        ));
    }
}
