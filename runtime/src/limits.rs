//! The limits of every process (pid0 and each child alike): linear memory, table elements,
//! instances, and wall-clock time. Each process has its own budget; a child inherits the
//! limits, not what its parent used of them.
//!
//! Memory and tables are enforced by a wasmtime [`ResourceLimiter`] on the process's store
//! ([`Limiter`]): growing past the limit traps with [`LimitExceeded`], so the process ends with
//! an error that names the limit instead of a guest allocator's abort. The instance count is
//! wasmtime's own check at instantiation. The timeout is enforced at each epoch tick (see
//! `engine`) and, for a process waiting in a host call, by the async runtime (see `cell`).

use std::time::Duration;

use wasmtime::ResourceLimiter;

use crate::units::{Size, Span};

/// Linear memory of one process, all its memories together: 256 MiB.
pub const DEFAULT_MAX_MEMORY: u64 = 256 << 20;
/// Elements of one table: 100,000.
pub const DEFAULT_MAX_TABLE_ELEMENTS: usize = 100_000;
/// Core instances of one process (a component instantiates several): 100.
pub const DEFAULT_MAX_INSTANCES: usize = 100;

/// The limits every process of a node runs under.
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
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_memory: DEFAULT_MAX_MEMORY,
            max_table_elements: DEFAULT_MAX_TABLE_ELEMENTS,
            max_instances: DEFAULT_MAX_INSTANCES,
            timeout: None,
        }
    }
}

/// A process went past one of its [`Limits`]. Raised inside wasmtime as the trap's error.
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

/// The [`ResourceLimiter`] of one process's store.
#[derive(Debug)]
pub struct Limiter {
    limits: Limits,
    /// Bytes of linear memory granted so far.
    memory: u64,
    /// The last growth granted, taken back if wasmtime then fails to grow.
    pending: u64,
}

impl Limiter {
    pub fn new(limits: Limits) -> Limiter {
        Limiter {
            limits,
            memory: 0,
            pending: 0,
        }
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
        self.memory = total;
        self.pending = grown;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        tracing::debug!("a memory did not grow: {error:#}");
        self.memory = self.memory.saturating_sub(self.pending);
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

    fn limiter(max_memory: u64) -> Limiter {
        Limiter::new(Limits {
            max_memory,
            ..Limits::default()
        })
    }

    #[test]
    fn memory_is_summed_over_memories_and_failed_growth_is_given_back() {
        let mut l = limiter(4 << 16);
        assert!(l.memory_growing(0, 2 << 16, None).unwrap_or(false));
        assert!(l.memory_growing(0, 2 << 16, None).unwrap_or(false));
        let err = l.memory_growing(2 << 16, 3 << 16, None).unwrap_err();
        assert_eq!(
            err.downcast_ref::<LimitExceeded>(),
            Some(&LimitExceeded::Memory(4 << 16))
        );
        let mut l = limiter(4 << 16);
        assert!(l.memory_growing(0, 4 << 16, None).unwrap_or(false));
        l.memory_grow_failed(wasmtime::Error::msg("no"))
            .unwrap_or(());
        assert!(l.memory_growing(0, 4 << 16, None).unwrap_or(false));
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
        let wasmtime_own =
            wasmtime::Error::msg("resource limit exceeded: instance count too high at 3");
        assert_eq!(
            LimitExceeded::of(&wasmtime_own, &Limits::default()),
            Some(LimitExceeded::Instances(DEFAULT_MAX_INSTANCES))
        );
    }
}
