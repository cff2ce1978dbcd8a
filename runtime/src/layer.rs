//! What loading a layer gives ([`LoadedLayer`]), and the budget all layers of one run share
//! ([`ImageBudget`]). Both loaders use them: the ChainLoader ([`crate::loader`]) for content
//! layers and `host_layer` for host directories.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use crate::units::Size;
use ww_content::cid::Cid;
use ww_content::text::printable;
use ww_content::tree::{RelPath, Tree};
use ww_content::unixfs::Imported;

/// A layer ready for the union: its tree (files in the cache), where each file came from, and
/// the nodes of its files (so the union's CID needs no re-hashing).
pub struct LoadedLayer {
    /// The argument as given.
    pub label: String,
    pub tree: Tree,
    /// Where each file came from, for messages: a host path or `/ipfs/CID/path`.
    pub origins: BTreeMap<RelPath, String>,
    pub nodes: Vec<(PathBuf, Imported)>,
}

/// The bytes the layers of one run may put in the cache: each distinct file (by CID) counts
/// once, and the total is checked before the file is written.
#[derive(Debug)]
pub struct ImageBudget {
    max: u64,
    used: u64,
    counted: HashSet<Cid>,
}

impl ImageBudget {
    pub fn new(max: u64) -> ImageBudget {
        ImageBudget {
            max,
            used: 0,
            counted: HashSet::new(),
        }
    }

    /// The bytes all layers together may hold.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Counts the file `cid` of `size` bytes (once per CID); the error names `path` and the
    /// limit.
    pub(crate) fn charge(&mut self, cid: &Cid, size: u64, path: &str) -> Result<(), String> {
        if self.counted.contains(&cid.to_v1()) {
            return Ok(());
        }
        self.charge_size(size, path)?;
        self.counted.insert(cid.to_v1());
        Ok(())
    }

    /// Counts a file of `size` bytes whose CID is not known yet (a host file, counted before
    /// it is read).
    pub(crate) fn charge_size(&mut self, size: u64, path: &str) -> Result<(), String> {
        match self
            .used
            .checked_add(size)
            .filter(|&total| total <= self.max)
        {
            Some(total) => {
                self.used = total;
                Ok(())
            }
            None => Err(format!(
                "`{}` is {size} bytes, which makes the image larger than --max-image-size {} \
                 (files of all layers together, each counted once)",
                printable(path),
                Size(self.max)
            )),
        }
    }
}
