//! Why a boot failed, in one line that names the file and the reason, and the exit status that
//! goes with it.

use std::path::PathBuf;

/// ww's own failures (bad layers, no pid0, an unbootable component) exit with this status, so
/// they are not confused with a guest's own exit status (as `env`, `docker run` and `chroot` do).
pub const EXIT_HOST_ERROR: u8 = 125;

/// A bad flag, or a bad value of a variable that stands in for one (`WW_CACHE_MAX_SIZE=1GB`):
/// a usage error, as clap's own.
pub const EXIT_USAGE: u8 = 2;

/// The status when the guest traps or aborts: 128 + SIGABRT, as a native program that aborts.
pub const EXIT_TRAP: u8 = 134;

/// The status when pid0 goes past its memory, table or instance limit: 128 + SIGKILL, as a
/// native program killed for using too much memory.
pub const EXIT_LIMIT: u8 = 137;

/// The status when pid0 runs past its `--timeout`, as GNU `timeout` exits.
pub const EXIT_TIMEOUT: u8 = 124;

/// The status when ww is stopped by SIGINT (128 + 2).
pub const EXIT_SIGINT: u8 = 130;

/// The status when ww is stopped by SIGTERM (128 + 15).
pub const EXIT_SIGTERM: u8 = 143;

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error("layer {dir}: {reason}")]
    Layer { dir: PathBuf, reason: String },

    #[error("{0}")]
    Union(String),

    #[error("bin/main.wasm: not found in the union of {}; an image boots the component at bin/main.wasm", .layers.join(", "))]
    NoPid0 { layers: Vec<String> },

    /// pid0 exists but cannot be booted; `file` is the host file and `reason` says why.
    #[error("{file}: {reason}")]
    Unbootable { file: String, reason: String },

    /// pid0 trapped while running.
    #[error("{file}: trapped: {trap}")]
    Trap { file: String, trap: String },

    /// pid0 stopped with an error that is not a trap (a host call failed fatally).
    #[error("{file}: aborted: {reason}")]
    Aborted { file: String, reason: String },

    /// A process went past one of its limits and was stopped.
    #[error("{file}: {exceeded}")]
    Limit {
        file: String,
        exceeded: crate::limits::LimitExceeded,
    },

    /// ww received SIGINT or SIGTERM and stopped pid0 and every child.
    #[error("stopped by {signal}: ended {file} and its children")]
    Stopped { signal: Signal, file: String },

    /// ww received SIGINT or SIGTERM before pid0 started: what it was doing (resolving layers,
    /// fetching blocks, writing the cache) stopped, its temporary files were removed.
    #[error("stopped by {signal} while loading the image; nothing was started")]
    StoppedLoading { signal: Signal },

    /// ww received SIGINT or SIGTERM while `ww run --follow` waited for a new root, pid0 having
    /// exited (`--on-exit wait`).
    #[error("stopped by {signal} while waiting for a new root to follow")]
    StoppedWaiting { signal: Signal },

    #[error("{0}")]
    Host(String),
}

/// The signals that stop ww cleanly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    /// The signal of this number (SIGINT is 2; anything else stops as SIGTERM does).
    pub fn from_number(signal: usize) -> Signal {
        match signal {
            2 => Signal::Interrupt,
            _ => Signal::Terminate,
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        })
    }
}

impl BootError {
    /// The exit status of `ww` for this error.
    pub fn exit_status(&self) -> u8 {
        match self {
            BootError::Trap { .. } | BootError::Aborted { .. } => EXIT_TRAP,
            BootError::Limit {
                exceeded: crate::limits::LimitExceeded::Timeout(_),
                ..
            } => EXIT_TIMEOUT,
            BootError::Limit { .. } => EXIT_LIMIT,
            BootError::Stopped {
                signal: Signal::Interrupt,
                ..
            }
            | BootError::StoppedLoading {
                signal: Signal::Interrupt,
            }
            | BootError::StoppedWaiting {
                signal: Signal::Interrupt,
            } => EXIT_SIGINT,
            BootError::Stopped {
                signal: Signal::Terminate,
                ..
            }
            | BootError::StoppedLoading {
                signal: Signal::Terminate,
            }
            | BootError::StoppedWaiting {
                signal: Signal::Terminate,
            } => EXIT_SIGTERM,
            _ => EXIT_HOST_ERROR,
        }
    }
}
