//! [`Limiter`]: the wasmtime [`ResourceLimiter`] of one process's store, which holds the
//! process to its [`Limits`] and charges its linear memory to the shared [`Budget`].

use wasmtime::ResourceLimiter;

use crate::limits::budget::Budget;
use crate::limits::spec::{LimitExceeded, Limits};

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
    use crate::limits::spec::DEFAULT_MAX_TOTAL_MEMORY;

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
}
