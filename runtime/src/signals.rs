//! SIGINT and SIGTERM: once [`StopSignals::install`] has run, they no longer kill ww outright
//! (which could leave a half-written file behind) but are delivered to `run`, which stops pid0,
//! every child and every `svc/` service, and exits with 128 + the signal's number.
//!
//! Before pid0 runs, ww's work is synchronous (resolving layers, fetching blocks, writing the
//! cache): there the signal raises a [`Cancel`] ([`StopSignals::install`] registers it too),
//! which that work checks between blocks, entries and writes, so it stops within a fraction of
//! a second and removes its temporary files.

use signal_hook::consts::{SIGINT, SIGTERM};
use tokio::signal::unix::{signal, SignalKind};
use ww_content::cancel::Cancel;

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
    pub fn install(cancel: &Cancel) -> Result<StopSignals, BootError> {
        for (number, name) in [(SIGINT, Signal::Interrupt), (SIGTERM, Signal::Terminate)] {
            signal_hook::flag::register_usize(number, cancel.cell(), number as usize)
                .map_err(|e| BootError::Host(format!("cannot catch {name}: {e}")))?;
        }
        let catch = |kind: SignalKind, name: Signal| {
            signal(kind).map_err(|e| BootError::Host(format!("cannot catch {name}: {e}")))
        };
        Ok(StopSignals {
            interrupt: catch(SignalKind::interrupt(), Signal::Interrupt)?,
            terminate: catch(SignalKind::terminate(), Signal::Terminate)?,
        })
    }

    /// A single-threaded tokio runtime (time and I/O enabled, as the cells and RPC need) and
    /// the stop signals caught from now on, raising `cancel`: the start of every run.
    pub fn with_runtime(
        cancel: &Cancel,
    ) -> Result<(tokio::runtime::Runtime, StopSignals), BootError> {
        let tokio = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| BootError::Host(format!("cannot start the async runtime: {e}")))?;
        let signals = {
            let _runtime = tokio.enter();
            StopSignals::install(cancel)?
        };
        Ok((tokio, signals))
    }

    /// The next stop signal.
    pub async fn recv(&mut self) -> Signal {
        tokio::select! {
            _ = self.interrupt.recv() => Signal::Interrupt,
            _ = self.terminate.recv() => Signal::Terminate,
        }
    }
}
