//! [`Budget`]: what all processes of one node draw from, counted centrally: a slot for each
//! process alive ([`ProcessSlot`], `--max-processes`) and the linear memory of them all
//! (`--max-total-memory`, charged by each process's `Limiter`). Both are atomics, so a slot can
//! travel with a compile on a blocking thread and a limiter can live in a store.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::limits::spec::{LimitExceeded, Limits, MIN_PROCESS_MEMORY};

/// The shared limits of one node and what its processes use of them. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Budget(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    max_processes: usize,
    max_memory: u64,
    processes: AtomicUsize,
    memory: AtomicU64,
}

/// One live process's place in the count of its node, taken by [`Budget::process_slot`] and
/// given back when dropped: when the process ends, however it ends, or when a start that was
/// refused or failed is abandoned.
#[derive(Debug)]
#[must_use = "the slot is given back when dropped"]
pub struct ProcessSlot(Budget);

impl Budget {
    /// A budget of `limits.max_processes` processes and `limits.max_total_memory` bytes, none
    /// of them used.
    pub fn new(limits: &Limits) -> Budget {
        Budget(Arc::new(Shared {
            max_processes: limits.max_processes,
            max_memory: limits.max_total_memory,
            processes: AtomicUsize::new(0),
            memory: AtomicU64::new(0),
        }))
    }

    /// A slot for one more process, unless [`Budget::max_processes`] are alive.
    pub fn process_slot(&self) -> Result<ProcessSlot, LimitExceeded> {
        let max = self.0.max_processes;
        self.0
            .processes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map(|_| ProcessSlot(self.clone()))
            .map_err(|_| LimitExceeded::Processes(max))
    }

    /// How many processes hold a slot now.
    pub fn processes(&self) -> usize {
        self.0.processes.load(Ordering::Acquire)
    }

    /// The most processes alive at once.
    pub fn max_processes(&self) -> usize {
        self.0.max_processes
    }

    /// Bytes of linear memory the processes hold now.
    pub fn memory_in_use(&self) -> u64 {
        self.0.memory.load(Ordering::Acquire)
    }

    /// Bytes of linear memory all processes may hold together.
    pub fn max_memory(&self) -> u64 {
        self.0.max_memory
    }

    /// Bytes of the shared memory budget not held by any process.
    pub fn memory_left(&self) -> u64 {
        self.0.max_memory.saturating_sub(self.memory_in_use())
    }

    /// Whether one more process could start: at least [`MIN_PROCESS_MEMORY`] is left.
    pub fn memory_room(&self) -> Result<(), LimitExceeded> {
        if self.memory_left() < MIN_PROCESS_MEMORY {
            return Err(LimitExceeded::TotalMemory(self.0.max_memory));
        }
        Ok(())
    }

    /// Takes `bytes` from the shared memory budget, or nothing if they are not all left.
    pub(crate) fn charge_memory(&self, bytes: u64) -> Result<(), LimitExceeded> {
        let max = self.0.max_memory;
        self.0
            .memory
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= max)
            })
            .map(|_| ())
            .map_err(|_| LimitExceeded::TotalMemory(max))
    }

    /// Gives `bytes` back to the shared memory budget.
    pub(crate) fn release_memory(&self, bytes: u64) {
        let _ = self
            .0
            .memory
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                Some(used.saturating_sub(bytes))
            });
    }
}

impl Drop for ProcessSlot {
    fn drop(&mut self) {
        let Budget(shared) = &self.0;
        let _ = shared
            .processes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(1))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(max_processes: usize, max_total_memory: u64) -> Budget {
        Budget::new(&Limits {
            max_processes,
            max_total_memory,
            ..Limits::default()
        })
    }

    #[test]
    fn slots_are_bounded_and_given_back_when_dropped() {
        let b = budget(2, 1 << 20);
        let first = b.process_slot();
        let second = b.process_slot();
        assert!(first.is_ok() && second.is_ok());
        assert_eq!(b.processes(), 2);
        assert_eq!(
            b.process_slot().err(),
            Some(LimitExceeded::Processes(2)),
            "a third is refused"
        );
        assert_eq!(b.processes(), 2, "a refusal takes nothing");
        drop(first);
        assert_eq!(b.processes(), 1);
        let third = b.process_slot();
        assert!(third.is_ok());
        drop((second, third));
        assert_eq!(b.processes(), 0);
    }

    #[test]
    fn memory_is_charged_only_when_it_fits_and_room_means_one_page() {
        let b = budget(1, 3 * MIN_PROCESS_MEMORY);
        assert!(b.charge_memory(2 * MIN_PROCESS_MEMORY).is_ok());
        assert_eq!(
            b.charge_memory(2 * MIN_PROCESS_MEMORY),
            Err(LimitExceeded::TotalMemory(3 * MIN_PROCESS_MEMORY))
        );
        assert_eq!(b.memory_in_use(), 2 * MIN_PROCESS_MEMORY, "nothing taken");
        assert!(b.memory_room().is_ok());
        assert!(b.charge_memory(MIN_PROCESS_MEMORY - 1).is_ok());
        assert!(b.memory_room().is_err(), "one byte short of a page");
        assert!(b.charge_memory(u64::MAX).is_err(), "no overflow");
        b.release_memory(u64::MAX);
        assert_eq!(b.memory_in_use(), 0);
        assert_eq!(b.memory_left(), 3 * MIN_PROCESS_MEMORY);
    }
}
