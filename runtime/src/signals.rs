//! SIGINT and SIGTERM: once [`StopSignals::install`] has run, they no longer kill ww outright
//! (which could leave a half-written file behind) but are delivered to `run`, which stops pid0,
//! every child and every `svc/` service, and exits with 128 + the signal's number.

use tokio::signal::unix::{signal, SignalKind};

use crate::error::{BootError, Signal};

/// The signals that stop a run, caught from the moment they are installed.
pub struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Catches SIGINT and SIGTERM from now on. Must be called inside a tokio runtime with I/O
    /// enabled (e.g. under [`tokio::runtime::Runtime::enter`]); a signal that arrives before
    /// [`StopSignals::recv`] is polled is kept for it.
    pub fn install() -> Result<StopSignals, BootError> {
        let catch = |kind: SignalKind, name: Signal| {
            signal(kind).map_err(|e| BootError::Host(format!("cannot catch {name}: {e}")))
        };
        Ok(StopSignals {
            interrupt: catch(SignalKind::interrupt(), Signal::Interrupt)?,
            terminate: catch(SignalKind::terminate(), Signal::Terminate)?,
        })
    }

    /// The next stop signal.
    pub async fn recv(&mut self) -> Signal {
        tokio::select! {
            _ = self.interrupt.recv() => Signal::Interrupt,
            _ = self.terminate.recv() => Signal::Terminate,
        }
    }
}
