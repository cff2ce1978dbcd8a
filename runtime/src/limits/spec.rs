//! The limits themselves: what each process of a `ww run` may use and what its processes may
//! use together ([`Limits`], with their defaults), and the error of one passed
//! ([`LimitExceeded`]).

use std::time::Duration;

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
    /// Finds the limit behind a wasmtime error: ours, raised by the `Limiter` or the epoch
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

#[cfg(test)]
mod tests {
    use super::*;

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
