//! The limits of a `ww run`: those of every process (pid0 and each child alike: linear memory,
//! table elements, instances, wall-clock time), each process with its own budget (a child
//! inherits the limits, not what its parent used of them), and those the processes share
//! ([`Budget`]): how many may be alive at once, and the linear memory of them all.
//!
//! Memory and tables are enforced by a wasmtime [`ResourceLimiter`] on the process's store
//! ([`Limiter`]): growing past the process's limit, or past what is left of the shared memory
//! budget, traps with [`LimitExceeded`], so the process ends with an error that names the limit
//! instead of a guest allocator's abort. What a process was granted goes back to the shared
//! budget when its store is dropped, however the process ended. The instance count is
//! wasmtime's own check at instantiation. The timeout is enforced at each epoch tick (see
//! `engine`) and, for a process waiting in a host call, by the async runtime (see `cell`). The
//! process count is taken when a process is asked for (`Executor.runBytes` takes it before
//! compiling anything) and given back when it ends ([`ProcessSlot`]).

mod budget;

use std::time::Duration;

use wasmtime::ResourceLimiter;

pub use crate::limits::budget::{Budget, ProcessSlot};
use crate::units::{Size, Span};

/// Linear memory of one process, all its memories together: 256 MiB.
pub const DEFAULT_MAX_MEMORY: u64 = 256 << 20;
/// Elements of one table: 100,000.
pub const DEFAULT_MAX_TABLE_ELEMENTS: usize = 100_000;
/// Core instances of one process (a component instantiates several): 100.
pub const DEFAULT_MAX_INSTANCES: usize = 100;
/// Processes alive at once in one `ww run`, counting pid0, children at any depth and `svc/`
/// services: 256. Far more than any image of this repository starts, and few enough that the
/// host memory they take beyond their linear memory (a store, tables, stdio pipes and RPC
/// buffers each: tens of KiB to a few MiB) stays within a few hundred MiB.
pub const DEFAULT_MAX_PROCESSES: usize = 256;
/// Linear memory of all processes of one `ww run` together: 2 GiB. Eight processes at the
/// per-process default, or the default process count at 8 MiB each (a Rust guest starts at
/// about 1 MiB); a hostile pid0 and its children together never hold more, which a CI runner
/// or a small VM can give. Raise it with `--max-total-memory` for images that need more.
pub const DEFAULT_MAX_TOTAL_MEMORY: u64 = 2 << 30;
/// The least linear memory a process can start with, one wasm page: `runBytes` is refused
/// when the shared budget has less left.
pub const MIN_PROCESS_MEMORY: u64 = 64 << 10;

/// Parses `--max-processes`: a whole number, at least 1 (pid0 is a process).
pub fn parse_max_processes(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1: pid0 is a process".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{text}` is not a whole number of processes")),
    }
}

/// The limits every process of a node runs under, and those they share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of linear memory, summed over the process's memories.
    pub max_memory: u64,
    /// Elements of each table.
    pub max_table_elements: usize,
    /// Core wasm instances.
    pub max_instances: usize,
    /// Wall-clock time from the process's start; `None`: no limit.
    pub timeout: Option<Duration>,
    /// Processes alive at once in the whole node (pid0, every child, every service).
    pub max_processes: usize,
    /// Bytes of linear memory of all processes of the node together.
    pub max_total_memory: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_memory: DEFAULT_MAX_MEMORY,
            max_table_elements: DEFAULT_MAX_TABLE_ELEMENTS,
            max_instances: DEFAULT_MAX_INSTANCES,
            timeout: None,
            max_processes: DEFAULT_MAX_PROCESSES,
            max_total_memory: DEFAULT_MAX_TOTAL_MEMORY,
        }
    }
}

/// A process went past one of its [`Limits`], or would have. Raised inside wasmtime as the
/// trap's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    #[error("memory limit of {} exceeded", Size(*.0))]
    Memory(u64),
    #[error("table limit of {0} elements exceeded")]
    TableElements(usize),
    #[error("instance limit of {0} exceeded")]
    Instances(usize),
    #[error("timeout of {} exceeded", Span(*.0))]
    Timeout(Duration),
    /// The linear memory of all processes together would pass `--max-total-memory`.
    #[error(
        "memory budget of {} shared by all processes of this ww run exceeded (--max-total-memory)",
        Size(*.0)
    )]
    TotalMemory(u64),
    /// One more process would pass `--max-processes`.
    #[error("process limit of {0} exceeded: that many are running already (--max-processes {0})")]
    Processes(usize),
}

impl LimitExceeded {
    /// Finds the limit behind a wasmtime error: ours, raised by [`Limiter`] or the epoch
    /// callback, or wasmtime's own instance count check (which has no error type of its own).
    pub fn of(error: &wasmtime::Error, limits: &Limits) -> Option<LimitExceeded> {
        if let Some(exceeded) = error.downcast_ref::<LimitExceeded>() {
            return Some(*exceeded);
        }
        format!("{error:#}")
            .contains("instance count too high")
            .then_some(LimitExceeded::Instances(limits.max_instances))
    }
}

/// The [`ResourceLimiter`] of one process's store. Dropping it (with the store) gives the
/// memory it granted back to the shared [`Budget`].
#[derive(Debug)]
pub struct Limiter {
    limits: Limits,
    budget: Budget,
    /// Bytes of linear memory granted so far, all of them charged to `budget`.
    memory: u64,
    /// The last growth granted, taken back if wasmtime then fails to grow.
    pending: u64,
}

impl Limiter {
    /// A limiter for one process under `limits`, drawing its memory from `budget`.
    pub fn new(limits: Limits, budget: Budget) -> Limiter {
        Limiter {
            limits,
            budget,
            memory: 0,
            pending: 0,
        }
    }

    /// The limits this process runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }
}

impl Drop for Limiter {
    fn drop(&mut self) {
        self.budget.release_memory(self.memory);
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grown = u64::try_from(desired.saturating_sub(current)).unwrap_or(u64::MAX);
        let total = self.memory.saturating_add(grown);
        if total > self.limits.max_memory {
            return Err(LimitExceeded::Memory(self.limits.max_memory).into());
        }
        self.budget.charge_memory(grown)?;
        self.memory = total;
        self.pending = grown;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        tracing::debug!("a memory did not grow: {error:#}");
        self.memory = self.memory.saturating_sub(self.pending);
        self.budget.release_memory(self.pending);
        self.pending = 0;
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limits.max_table_elements {
            return Err(LimitExceeded::TableElements(self.limits.max_table_elements).into());
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.limits.max_instances
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_memory: u64, max_total_memory: u64) -> Limits {
        Limits {
            max_memory,
            max_total_memory,
            ..Limits::default()
        }
    }

    fn limiter(max_memory: u64) -> Limiter {
        let limits = limits(max_memory, DEFAULT_MAX_TOTAL_MEMORY);
        Limiter::new(limits, Budget::new(&limits))
    }

    fn exceeded(error: wasmtime::Error) -> Option<LimitExceeded> {
        error.downcast_ref::<LimitExceeded>().copied()
    }

    #[test]
    fn memory_is_summed_over_memories_and_failed_growth_is_given_back() {
        let mut l = limiter(4 << 16);
        assert!(l.memory_growing(0, 2 << 16, None).unwrap_or(false));
        assert!(l.memory_growing(0, 2 << 16, None).unwrap_or(false));
        let err = l.memory_growing(2 << 16, 3 << 16, None).unwrap_err();
        assert_eq!(exceeded(err), Some(LimitExceeded::Memory(4 << 16)));
        let mut l = limiter(4 << 16);
        assert!(l.memory_growing(0, 4 << 16, None).unwrap_or(false));
        l.memory_grow_failed(wasmtime::Error::msg("no"))
            .unwrap_or(());
        assert!(l.memory_growing(0, 4 << 16, None).unwrap_or(false));
    }

    #[test]
    fn processes_draw_from_one_memory_budget_and_give_it_back_when_dropped() {
        let shared = limits(8 << 16, 10 << 16);
        let budget = Budget::new(&shared);
        let mut a = Limiter::new(shared, budget.clone());
        let mut b = Limiter::new(shared, budget.clone());
        assert!(a.memory_growing(0, 6 << 16, None).unwrap_or(false));
        assert_eq!(budget.memory_in_use(), 6 << 16);
        // Within b's own limit, past what is left of the budget.
        let err = b.memory_growing(0, 5 << 16, None).unwrap_err();
        assert_eq!(exceeded(err), Some(LimitExceeded::TotalMemory(10 << 16)));
        assert!(b.memory_growing(0, 4 << 16, None).unwrap_or(false));
        assert!(budget.memory_room().is_err(), "nothing left");
        // Failed growth and an ended process give their memory back.
        b.memory_grow_failed(wasmtime::Error::msg("no"))
            .unwrap_or(());
        assert_eq!(budget.memory_in_use(), 6 << 16);
        drop(a);
        assert_eq!(budget.memory_in_use(), 0);
        assert!(budget.memory_room().is_ok());
        drop(b);
        assert_eq!(budget.memory_in_use(), 0);
    }

    #[test]
    fn max_processes_is_a_positive_count() {
        assert_eq!(parse_max_processes("8"), Ok(8));
        assert!(parse_max_processes("0").is_err_and(|e| e.contains("at least 1")));
        assert!(parse_max_processes("-1").is_err());
        assert!(parse_max_processes("many").is_err_and(|e| e.contains("`many`")));
    }

    #[test]
    fn limits_name_themselves() {
        assert_eq!(
            LimitExceeded::Memory(DEFAULT_MAX_MEMORY).to_string(),
            "memory limit of 256 MiB exceeded"
        );
        assert_eq!(
            LimitExceeded::Timeout(Duration::from_secs(2)).to_string(),
            "timeout of 2s exceeded"
        );
        assert_eq!(
            LimitExceeded::TotalMemory(DEFAULT_MAX_TOTAL_MEMORY).to_string(),
            "memory budget of 2 GiB shared by all processes of this ww run exceeded \
             (--max-total-memory)"
        );
        assert_eq!(
            LimitExceeded::Processes(8).to_string(),
            "process limit of 8 exceeded: that many are running already (--max-processes 8)"
        );
        let wasmtime_own =
            wasmtime::Error::msg("resource limit exceeded: instance count too high at 3");
        assert_eq!(
            LimitExceeded::of(&wasmtime_own, &Limits::default()),
            Some(LimitExceeded::Instances(DEFAULT_MAX_INSTANCES))
        );
    }
}
