//! Pins: `pins/<cidv1>` records a root gc keeps, with an optional label (the file's UTF-8
//! content). A pin says nothing about the DAG below it, which may be incomplete or absent.

use std::fs;
use std::io::ErrorKind;

use rustix::fs::FlockOperation;

use super::paths::{parse_key, pin_rel, PINS};
use super::write::Durability;
use super::{io_error, Store};
use crate::block::BlockError;
use crate::cid::Cid;

impl Store {
    /// Pins `root`, with an optional label (re-pinning replaces the label). The DAG below
    /// `root` need not be complete, nor even `root` itself be present.
    ///
    /// The pin is the store's commit point: first the store's file system is synced
    /// ([`Store::sync`]), so that every block written before (by any process) is on disk, then
    /// the pin is written and synced. Once `pin` returns, a crash loses neither the pin nor any
    /// block that was in the store when it was called.
    pub fn pin(&self, root: &Cid, name: Option<&str>) -> Result<(), BlockError> {
        let _lock = if self.this_thread_holds_a_guard() {
            None
        } else {
            Some(self.lock(FlockOperation::LockShared)?)
        };
        self.sync()?;
        self.turn(&pin_rel(root))
            .write(name.unwrap_or("").as_bytes(), Durability::Now)
    }

    /// Unpins `root`; `false` if it was not pinned.
    pub fn unpin(&self, root: &Cid) -> Result<bool, BlockError> {
        let path = self.dir.join(pin_rel(root));
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error("remove pin", &path, e)),
        }
    }

    /// The pinned roots, as CIDv1s in CID order.
    pub fn pins(&self) -> Result<Vec<Cid>, BlockError> {
        Ok(self.pins_named()?.into_iter().map(|(cid, _)| cid).collect())
    }

    /// The pinned roots with their labels, in CID order.
    pub fn pins_named(&self) -> Result<Vec<(Cid, Option<String>)>, BlockError> {
        let dir = self.dir.join(PINS);
        let mut pins = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| io_error("list", &dir, e))? {
            let entry = entry.map_err(|e| io_error("list", &dir, e))?;
            let Some(cid) = entry.file_name().to_str().and_then(parse_key) else {
                tracing::debug!(path = %entry.path().display(), "not a pin; ignored");
                continue;
            };
            let path = entry.path();
            let label = match fs::read(&path) {
                Ok(label) => label,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error("read pin", &path, e)),
            };
            let label = (!label.is_empty()).then(|| String::from_utf8_lossy(&label).into_owned());
            pins.push((cid, label));
        }
        pins.sort();
        Ok(pins)
    }
}
