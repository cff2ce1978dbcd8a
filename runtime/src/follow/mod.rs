//! `ww run --follow SOURCE [overlay ...]`: boots the image a name, head file or `wwpack.lock`
//! points at, and upgrades to each new root while it runs.
//!
//! A [`watch`] thread reads the source every poll interval and loads and checks each new root
//! while the old one keeps running (a root that fails is logged and skipped). On a new root the
//! run, one *generation* after another:
//!
//! 1. advances the epoch (`seq` + 1, `head` = the new root's CID bytes): every Host and
//!    Executor capability of the old sessions now fails with `staleEpoch`, and so does their
//!    `pollStatus`;
//! 2. gives the old pid0 `--upgrade-grace` to notice and exit; then closes its stdin and, a
//!    moment later ([`STDIN_CLOSED_GRACE`]), stops it, its children and its services;
//! 3. boots the new pid0 and services with the same overlays on top, in a kernel of the same
//!    epochs and identity; the file and compiled caches serve what did not change;
//! 4. logs the transition: old and new root, epoch, time from the source's change to the new
//!    pid0 running.
//!
//! When pid0 exits by itself, the run ends with its status (`--on-exit exit`, the default), or
//! waits for the next root (`--on-exit wait`). SIGINT and SIGTERM end the run at any moment:
//! a load in progress stops and removes its temporary files, and ww exits 130 or 143.

mod generation;
pub mod source;
mod stdin;
mod watch;

use std::time::{Duration, Instant};

use stem::{Epoch, Epochs};
use tokio::sync::mpsc;

use crate::error::{BootError, Signal};
use crate::follow::generation::{Ended, Generation};
use crate::follow::source::Source;
use crate::follow::stdin::StdinHub;
use crate::follow::watch::{Update, Watch};
use crate::run::{compile_cache_of, node_identity, RunOptions, SHUTDOWN_GRACE};
use crate::signals::StopSignals;

pub use crate::follow::watch::NodeSpec;

/// How long an old pid0 has, once its stdin is closed, before it is stopped.
pub const STDIN_CLOSED_GRACE: Duration = Duration::from_millis(500);

/// What an old pid0 is given to exit, when `--upgrade-grace` is not given.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// What the run does when pid0 exits by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnExit {
    /// End the run with pid0's exit status.
    Exit,
    /// Stop its services and wait for the source's next root.
    Wait,
}

/// `--follow` and its flags.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    pub source: Source,
    /// How often the source is read ([`Source::default_interval`] when not given).
    pub poll_interval: Duration,
    /// `--upgrade-grace`.
    pub grace: Duration,
    pub on_exit: OnExit,
}

/// Follows `follow.source`, booting each root it points at with `opts.layers` (the overlays)
/// on top, and returns the exit status of the run (see the module's documentation).
pub fn follow(opts: &RunOptions, follow: &FollowOptions, node: NodeSpec) -> Result<u8, BootError> {
    let (tokio, mut signals) = StopSignals::with_runtime(&opts.cancel)?;
    let engine = crate::engine::engine()?;
    let compile_cache = compile_cache_of(opts);
    let identity = node_identity(opts.identity.as_deref())?;
    let (send, updates) = mpsc::channel(1);
    let watch = Watch {
        source: &follow.source,
        interval: follow.poll_interval,
        opts,
        node,
        engine: engine.clone(),
        compile_cache: compile_cache.clone(),
        cancel: opts.cancel.clone(),
    };
    let status = std::thread::scope(|scope| {
        let watcher = std::thread::Builder::new()
            .name("ww-follow".into())
            .spawn_scoped(scope, move || watch.run(send))
            .map_err(|e| BootError::Host(format!("cannot start the watcher thread: {e}")))?;
        let mut run = Run {
            tokio: &tokio,
            signals: &mut signals,
            updates,
            opts,
            follow,
            engine,
            compile_cache,
            identity,
        };
        let status = run.generations();
        // Stop the watcher (a load in progress stops and cleans up) and wait for it.
        drop(run);
        if opts.cancel.raised().is_none() {
            opts.cancel.raise(libc_sigterm());
        }
        let _ = watcher.join();
        status
    });
    tokio.shutdown_timeout(SHUTDOWN_GRACE);
    status
}

/// SIGTERM's number, used to stop the watcher (it only checks that the flag is raised).
fn libc_sigterm() -> usize {
    signal_hook::consts::SIGTERM as usize
}

/// The state of a following run between generations.
struct Run<'a> {
    tokio: &'a tokio::runtime::Runtime,
    signals: &'a mut StopSignals,
    updates: mpsc::Receiver<Result<Update, BootError>>,
    opts: &'a RunOptions,
    follow: &'a FollowOptions,
    engine: wasmtime::Engine,
    compile_cache: crate::compile_cache::CompileCache,
    identity: crate::rpc::NodeIdentity,
}

impl Run<'_> {
    /// Boots the first root, then each next one, until pid0 ends the run or a signal does.
    fn generations(&mut self) -> Result<u8, BootError> {
        let mut update = match self.next_update(false)? {
            Some(update) => update,
            None => return Err(BootError::Host("the watcher stopped".to_string())),
        };
        let epochs = Epochs::new(Epoch {
            head: update.root.cid.to_bytes(),
            ..Epoch::genesis()
        });
        let mut stdin = StdinHub::start();
        let mut previous: Option<Previous> = None;
        loop {
            let started = Instant::now();
            let generation = Generation::new(
                update,
                &epochs,
                &self.engine,
                &self.compile_cache,
                &self.identity,
                self.opts,
            );
            if let Some(previous) = previous.take() {
                previous.log(&self.follow.source, &generation, &epochs, started);
            } else {
                crate::logline::follow(
                    false,
                    &format!(
                        "following {}: booted {} (epoch {})",
                        self.follow.source,
                        generation.root().path,
                        epochs.current().seq
                    ),
                    serde_json::json!({
                        "source": self.follow.source.to_string(),
                        "root": generation.root().path,
                        "epoch": epochs.current().seq,
                    }),
                );
            }
            let old_root = generation.root().clone();
            let ended = generation.run(
                self.tokio,
                self.signals,
                &mut self.updates,
                &mut stdin,
                self.follow,
            );
            let next = match ended {
                Ended::Signal { signal, file } => return Err(BootError::Stopped { signal, file }),
                Ended::Exited(status) if self.follow.on_exit == OnExit::Exit => return status,
                Ended::Exited(status) => {
                    let said = match &status {
                        Ok(code) => format!("exited with status {code}"),
                        Err(e) => format!("failed: {e}"),
                    };
                    crate::logline::follow(
                        false,
                        &format!(
                            "pid0 of {} {said}; waiting for {} to point elsewhere",
                            old_root.path, self.follow.source
                        ),
                        serde_json::json!({"root": old_root.path, "pid0": said}),
                    );
                    match self.next_update(true)? {
                        Some(update) => {
                            advance(&epochs, &update);
                            Switch {
                                update,
                                old_pid0: said,
                            }
                        }
                        None => return status,
                    }
                }
                Ended::Upgrade(switch) => *switch,
            };
            update = next.update;
            previous = Some(Previous {
                from: old_root.path,
                old_pid0: next.old_pid0,
                seen: update.seen,
                load: update.load,
            });
        }
    }

    /// The watcher's next update, waiting for it (or a signal) without running anything.
    fn next_update(&mut self, waiting: bool) -> Result<Option<Update>, BootError> {
        let signals = &mut *self.signals;
        let updates = &mut self.updates;
        let got = self.tokio.block_on(async {
            tokio::select! {
                signal = signals.recv() => Err(signal),
                update = updates.recv() => Ok(update),
            }
        });
        let stopped = |signal| match waiting {
            false => BootError::StoppedLoading { signal },
            true => BootError::StoppedWaiting { signal },
        };
        match got {
            Err(signal) => Err(stopped(signal)),
            Ok(None) => Ok(None),
            Ok(Some(Err(err))) => match self.opts.cancel.raised() {
                Some(signal) => Err(stopped(Signal::from_number(signal))),
                None => Err(err),
            },
            Ok(Some(Ok(update))) => Ok(Some(update)),
        }
    }
}

/// Moves `epochs` to the epoch of `update`'s root.
pub(crate) fn advance(epochs: &Epochs, update: &Update) {
    let current = epochs.current();
    let next = Epoch {
        seq: current.seq + 1,
        head: update.root.cid.to_bytes(),
        adopted_block: 0,
    };
    // The sequence number increases by construction.
    let _ = epochs.advance(next);
}

/// A new root that ends a generation, and what became of its pid0.
pub(crate) struct Switch {
    pub update: Update,
    /// `exited (status N) 0.02 s after the epoch advanced`, `stopped, not having exited ...`
    pub old_pid0: String,
}

/// What the transition log says of the generation that ended.
struct Previous {
    from: String,
    old_pid0: String,
    seen: Instant,
    load: Duration,
}

impl Previous {
    fn log(self, source: &Source, next: &Generation, epochs: &Epochs, booting: Instant) {
        let switch = booting.duration_since(self.seen);
        let to = &next.root().path;
        let epoch = epochs.current().seq;
        crate::logline::follow(
            false,
            &format!(
                "upgraded {} -> {to} (epoch {epoch}) as {source} moved: loaded in {:.2} s, old \
                 pid0 {}, new pid0 started {:.2} s after the change was seen",
                self.from,
                self.load.as_secs_f64(),
                self.old_pid0,
                switch.as_secs_f64()
            ),
            serde_json::json!({
                "source": source.to_string(),
                "from": self.from,
                "to": to,
                "epoch": epoch,
                "load_ms": self.load.as_millis() as u64,
                "switch_ms": switch.as_millis() as u64,
                "old_pid0": self.old_pid0,
            }),
        );
    }
}
