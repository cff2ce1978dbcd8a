//! Epochs: the periods during which the capabilities a host hands out stay valid.

use std::cell::RefCell;
use std::rc::Rc;

use crate::stem_capnp;

/// The word that starts the message of every call refused because its epoch has passed, so
/// that callers (and tests) can recognise it.
pub const STALE_EPOCH: &str = "staleEpoch";

/// One epoch (`stem.capnp`'s `Epoch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epoch {
    /// Increases by one at every new epoch.
    pub seq: u64,
    /// Opaque bytes naming the state the epoch was adopted at.
    pub head: Vec<u8>,
    /// The block height at which the epoch was adopted (0 when there is no chain).
    pub adopted_block: u64,
}

impl Epoch {
    /// The first epoch of a host that has no chain to follow.
    pub fn genesis() -> Epoch {
        Epoch {
            seq: 1,
            head: Vec::new(),
            adopted_block: 0,
        }
    }

    /// Writes the epoch into its Cap'n Proto form.
    pub fn write(&self, mut to: stem_capnp::epoch::Builder<'_>) {
        to.set_seq(self.seq);
        to.set_head(&self.head);
        to.set_adopted_block(self.adopted_block);
    }

    /// Reads an epoch from its Cap'n Proto form.
    pub fn read(from: stem_capnp::epoch::Reader<'_>) -> capnp::Result<Epoch> {
        Ok(Epoch {
            seq: from.get_seq(),
            head: from.get_head()?.to_vec(),
            adopted_block: from.get_adopted_block(),
        })
    }
}

/// The current epoch of a host, shared by everything that issues or guards capabilities.
/// Cloning shares it. Cap'n Proto objects live on one thread, and so does this.
#[derive(Debug, Clone)]
pub struct Epochs {
    current: Rc<RefCell<Epoch>>,
}

impl Epochs {
    pub fn new(first: Epoch) -> Epochs {
        Epochs {
            current: Rc::new(RefCell::new(first)),
        }
    }

    pub fn current(&self) -> Epoch {
        self.current.borrow().clone()
    }

    /// Moves to `next`, which makes every guard issued before stale. The sequence number must
    /// increase.
    pub fn advance(&self, next: Epoch) -> Result<(), String> {
        let mut current = self.current.borrow_mut();
        if next.seq <= current.seq {
            return Err(format!(
                "epoch {} cannot follow epoch {}: the sequence number must increase",
                next.seq, current.seq
            ));
        }
        *current = next;
        Ok(())
    }

    /// A guard issued in the current epoch.
    pub fn guard(&self) -> EpochGuard {
        EpochGuard {
            issued: self.current(),
            epochs: self.clone(),
        }
    }
}

/// Ties a capability to the epoch it was issued in: [`EpochGuard::check`] fails once the host
/// has moved on.
#[derive(Debug, Clone)]
pub struct EpochGuard {
    issued: Epoch,
    epochs: Epochs,
}

impl EpochGuard {
    /// The epoch the guarded capability was issued in.
    pub fn issued(&self) -> &Epoch {
        &self.issued
    }

    /// The epochs this guard follows (to issue new guards in the current epoch).
    pub fn epochs(&self) -> &Epochs {
        &self.epochs
    }

    /// `Ok` while the epoch the guard was issued in is the current one; otherwise a
    /// `staleEpoch` error for the call.
    pub fn check(&self) -> Result<(), capnp::Error> {
        let current = self.epochs.current.borrow().seq;
        if current == self.issued.seq {
            Ok(())
        } else {
            Err(capnp::Error::failed(format!(
                "{STALE_EPOCH}: this capability was issued in epoch {}, and the host is in epoch {current}; graft again",
                self.issued.seq
            )))
        }
    }
}
