//! Stopping long work from outside. A [`Cancel`] is raised by a signal handler (`ww` registers
//! SIGINT and SIGTERM on one) or by a test; the loops that read blocks, wait on an IPFS node or
//! write files call [`Cancel::check`] between steps, so a stop takes effect within one step
//! (well under a second: no step waits longer than [`POLL`] without checking).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The longest a wait (e.g. for a node's answer) goes without checking its [`Cancel`].
pub const POLL: Duration = Duration::from_millis(100);

/// A flag shared by everything that works for one command: `0` while it runs, else the number
/// of the signal that stopped it. Cheap to clone; clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicUsize>);

/// The work was stopped by `signal` (its number, e.g. 15 for SIGTERM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stopped by {}", signal_name(*.0))]
pub struct Cancelled(pub usize);

impl Cancel {
    /// A flag that is not raised (and is never raised unless someone calls [`Cancel::raise`]).
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// The shared cell itself, for registering a signal handler that stores the signal number
    /// (e.g. `signal_hook::flag::register_usize(SIGTERM, cancel.cell(), 15)`).
    pub fn cell(&self) -> Arc<AtomicUsize> {
        self.0.clone()
    }

    /// Raises the flag with `signal` (the first raise wins).
    pub fn raise(&self, signal: usize) {
        let _ = self
            .0
            .compare_exchange(0, signal.max(1), Ordering::SeqCst, Ordering::SeqCst);
    }

    /// The signal that raised the flag, if it is raised.
    pub fn raised(&self) -> Option<usize> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            signal => Some(signal),
        }
    }

    /// `Err` once the flag is raised.
    pub fn check(&self) -> Result<(), Cancelled> {
        self.raised()
            .map_or(Ok(()), |signal| Err(Cancelled(signal)))
    }
}

/// `SIGINT`, `SIGTERM`, ... for the signals that stop commands; `signal N` otherwise.
pub fn signal_name(signal: usize) -> String {
    match signal {
        1 => "SIGHUP".into(),
        2 => "SIGINT".into(),
        3 => "SIGQUIT".into(),
        15 => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_flag_is_seen_by_every_clone_and_the_first_signal_wins() {
        let cancel = Cancel::new();
        let other = cancel.clone();
        assert_eq!(cancel.check(), Ok(()));
        other.raise(15);
        other.raise(2);
        assert_eq!(cancel.raised(), Some(15));
        let err = cancel.check().unwrap_err();
        assert_eq!(err, Cancelled(15));
        assert_eq!(err.to_string(), "stopped by SIGTERM");
    }
}
