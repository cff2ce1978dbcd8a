//! Why a boot failed, in one line that names the file and the reason, and the exit status that
//! goes with it.

use std::path::PathBuf;

/// ww's own failures (bad layers, no pid0, an unbootable component) exit with this status, so
/// they are not confused with a guest's own exit status (as `env`, `docker run` and `chroot` do).
pub const EXIT_HOST_ERROR: u8 = 125;

/// The status when the guest traps or aborts: 128 + SIGABRT, as a native program that aborts.
pub const EXIT_TRAP: u8 = 134;

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

    #[error("{0}")]
    Host(String),
}

impl BootError {
    /// The exit status of `ww` for this error.
    pub fn exit_status(&self) -> u8 {
        match self {
            BootError::Trap { .. } | BootError::Aborted { .. } => EXIT_TRAP,
            _ => EXIT_HOST_ERROR,
        }
    }
}
