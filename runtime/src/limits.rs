//! The limits of a `ww run`: those of every process (pid0 and each child alike: linear memory,
//! table elements, instances, wall-clock time), each process with its own budget (a child
//! inherits the limits, not what its parent used of them), and those the processes share
//! ([`Budget`]): how many may be alive at once, and the linear memory of them all.
//!
//! Memory and tables are enforced by a wasmtime `ResourceLimiter` on the process's store
//! ([`Limiter`]): growing past the process's limit, or past what is left of the shared memory
//! budget, traps with [`LimitExceeded`], so the process ends with an error that names the limit
//! instead of a guest allocator's abort. What a process was granted goes back to the shared
//! budget when its store is dropped, however the process ended. The instance count is
//! wasmtime's own check at instantiation. The timeout is enforced at each epoch tick (see
//! `engine`) and, for a process waiting in a host call, by the async runtime (see `cell`). The
//! process count is taken when a process is asked for (`Executor.runBytes` takes it before
//! compiling anything) and given back when it ends ([`ProcessSlot`]).

mod budget;
mod limiter;
mod spec;

pub use crate::limits::budget::{Budget, ProcessSlot};
pub use crate::limits::limiter::Limiter;
pub use crate::limits::spec::{
    parse_max_processes, LimitExceeded, Limits, DEFAULT_MAX_INSTANCES, DEFAULT_MAX_MEMORY,
    DEFAULT_MAX_PROCESSES, DEFAULT_MAX_TABLE_ELEMENTS, DEFAULT_MAX_TOTAL_MEMORY,
    MIN_PROCESS_MEMORY,
};
