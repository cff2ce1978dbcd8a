//! [`Error`]: what can go wrong in the SDK, each case naming what it was doing.

use std::fmt;
use std::io;

use crate::executor::ExecutorError;

/// An SDK failure.
#[derive(Debug)]
pub enum Error {
    /// An RPC call failed (or its result could not be read); `call` names it, e.g. `runBytes`.
    Rpc { call: String, source: capnp::Error },
    /// Local I/O failed; the message names the stream (e.g. `writing stdout: ...`).
    Io(io::Error),
    /// The executor could not run a task (e.g. the RPC system outside `block_on`).
    Executor(ExecutorError),
}

impl Error {
    /// An RPC failure of `call`.
    pub fn rpc(call: impl Into<String>, source: capnp::Error) -> Error {
        Error::Rpc {
            call: call.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Rpc { call, source } => {
                let message = rpc_message(source);
                // The host names its own calls: `runBytes: runBytes: ...` would say it twice.
                if message
                    .strip_prefix(call.as_str())
                    .is_some_and(|rest| rest.starts_with(": "))
                {
                    write!(f, "{message}")
                } else {
                    write!(f, "{call}: {message}")
                }
            }
            Error::Io(e) => write!(f, "{e}"),
            Error::Executor(e) => write!(f, "{e}"),
        }
    }
}

/// `source` without what capnp adds: the `remote exception: ` prefix of an error the peer
/// returned, and the kind when it is the generic `Failed` (other kinds, e.g. `Unimplemented` or
/// `Disconnected`, stay: they say something the message may not).
pub(crate) fn rpc_message(source: &capnp::Error) -> String {
    let extra = source.extra.as_str();
    let message = extra.strip_prefix("remote exception: ").unwrap_or(extra);
    match (source.kind, message.is_empty()) {
        (_, true) => source.kind.to_string(),
        (capnp::ErrorKind::Failed, false) => message.to_string(),
        (kind, false) => format!("{kind}: {message}"),
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Rpc { source, .. } => Some(source),
            Error::Io(e) => Some(e),
            Error::Executor(e) => Some(e),
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<ExecutorError> for Error {
    fn from(e: ExecutorError) -> Error {
        Error::Executor(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(kind: capnp::ErrorKind, reason: &str) -> capnp::Error {
        capnp::Error {
            kind,
            extra: format!("remote exception: {reason}"),
        }
    }

    #[test]
    fn a_remote_failure_reads_as_the_host_wrote_it() {
        let e = Error::rpc(
            "runBytes",
            remote(capnp::ErrorKind::Failed, "runBytes: not WebAssembly"),
        );
        assert_eq!(e.to_string(), "runBytes: not WebAssembly");
        let e = Error::rpc("runBytes", remote(capnp::ErrorKind::Failed, "no such file"));
        assert_eq!(e.to_string(), "runBytes: no such file");
        // Only a whole call name followed by `: ` counts as the host's prefix.
        let e = Error::rpc("run", remote(capnp::ErrorKind::Failed, "runBytes: x"));
        assert_eq!(e.to_string(), "run: runBytes: x");
    }

    #[test]
    fn a_kind_other_than_failed_is_kept() {
        let e = Error::rpc(
            "connect",
            remote(
                capnp::ErrorKind::Unimplemented,
                "not supported in this release",
            ),
        );
        assert_eq!(
            e.to_string(),
            "connect: Unimplemented: not supported in this release"
        );
        let e = Error::rpc("echo", capnp::Error::disconnected("peer gone".into()));
        assert_eq!(e.to_string(), "echo: Disconnected: peer gone");
        let e = Error::rpc("echo", capnp::Error::failed("local".into()));
        assert_eq!(e.to_string(), "echo: local");
    }
}
