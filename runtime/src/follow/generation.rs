//! One generation of `ww run --follow`: one root's pid0 and services, from their boot until pid0
//! ends, a signal arrives, or a new root replaces them (the epoch advances, the old pid0 gets its
//! grace, then its stdin is closed, then it is stopped).

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use stem::Epochs;
use tokio::sync::mpsc;
use ww_image::PID0;

use crate::cell::{CellSpec, Stdio};
use crate::compile_cache::CompileCache;
use crate::error::{BootError, Signal};
use crate::follow::source::Root;
use crate::follow::stdin::StdinHub;
use crate::follow::watch::Update;
use crate::follow::{advance, FollowOptions, Switch, STDIN_CLOSED_GRACE};
use crate::rpc::{Kernel, NodeIdentity};
use crate::run::{Prepared, RunOptions};
use crate::services;
use crate::signals::StopSignals;

/// How a generation ended.
pub(crate) enum Ended {
    /// SIGINT or SIGTERM: the run ends.
    Signal { signal: Signal, file: String },
    /// pid0 ended by itself, with this outcome.
    Exited(Result<u8, BootError>),
    /// A new root replaced it; the epoch has advanced.
    Upgrade(Box<Switch>),
}

/// A root ready to boot, in a kernel of its own that shares the run's epochs.
pub(crate) struct Generation<'a> {
    root: Root,
    prepared: Prepared,
    kernel: Kernel,
    epochs: &'a Epochs,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// The cache and the size it is pruned to once pid0 has started.
    cache: std::path::PathBuf,
    cache_max_size: u64,
}

impl<'a> Generation<'a> {
    pub(crate) fn new(
        update: Update,
        epochs: &'a Epochs,
        engine: &wasmtime::Engine,
        compile_cache: &CompileCache,
        identity: &NodeIdentity,
        opts: &RunOptions,
    ) -> Generation<'a> {
        let kernel = Kernel::new(
            engine.clone(),
            epochs.clone(),
            identity.clone(),
            update.prepared.boot_peers.clone(),
        )
        .with_compile_cache(compile_cache.clone())
        .with_limits(opts.limits);
        let mut args = vec![format!("/{PID0}")];
        args.extend(opts.args.iter().cloned());
        let env = crate::env::layered(&update.prepared.image_env, &opts.env);
        Generation {
            root: update.root,
            prepared: update.prepared,
            kernel,
            epochs,
            args,
            env,
            cache: opts.cache.clone(),
            cache_max_size: opts.cache_max_size,
        }
    }

    /// The root this generation boots.
    pub(crate) fn root(&self) -> &Root {
        &self.root
    }

    /// Runs pid0 and the services until the generation ends; everything it started is stopped
    /// when this returns.
    pub(crate) fn run(
        self,
        tokio: &tokio::runtime::Runtime,
        signals: &mut StopSignals,
        updates: &mut mpsc::Receiver<Result<Update, BootError>>,
        stdin: &mut StdinHub,
        follow: &FollowOptions,
    ) -> Ended {
        let Prepared {
            root,
            lease,
            command,
            name,
            ..
        } = self.prepared;
        let (pid0_stdin, feed_end) = StdinHub::pipe();
        let spec = CellSpec {
            name: name.clone(),
            args: self.args,
            env: self.env,
            root: Some(root.path()),
            stdio: Stdio::PipedStdin(pid0_stdin),
        };
        let services = services::find(&root);
        let kernel = self.kernel;
        let epochs = self.epochs;
        let root_path = self.root.path;
        let prune = (self.cache.clone(), self.cache_max_size);
        let local = tokio::task::LocalSet::new();
        let (ended, running) = local.block_on(tokio, async {
            let pid0 = kernel.run_process(&command, spec);
            tokio::pin!(pid0);
            let running = services::start(&kernel, services);
            // The cache is pruned once the new pid0 is on its way, not while nothing runs.
            let (cache, max) = (prune.0.clone(), prune.1);
            drop(tokio::task::spawn_blocking(move || {
                crate::cache::prune::at_startup(&cache, max)
            }));
            let mut feed = Some(Box::pin(stdin.forward(feed_end)));
            let mut watching = true;
            let update = loop {
                tokio::select! {
                    biased;
                    signal = signals.recv() => {
                        return (Ended::Signal { signal, file: name }, running);
                    }
                    status = &mut pid0 => return (Ended::Exited(status), running),
                    update = updates.recv(), if watching => match update {
                        Some(Ok(update)) => break update,
                        // The watcher sends errors only before the first root, and stops only
                        // when the run ends: nothing more will come.
                        Some(Err(_)) | None => watching = false,
                    },
                    _ = drive(&mut feed) => {}
                }
            };
            advance(epochs, &update);
            let advanced = Instant::now();
            let seq = epochs.current().seq;
            crate::logline::follow(
                false,
                &format!(
                    "epoch {seq} began: {} is ready; pid0 of {} has {:.2} s to exit",
                    update.root.path,
                    root_path,
                    follow.grace.as_secs_f64()
                ),
                serde_json::json!({"epoch": seq, "root": update.root.path, "running": root_path}),
            );
            let after = |what: &str| format!("{what} {:.2} s after the epoch advanced", advanced.elapsed().as_secs_f64());
            let exited = |status: &Result<u8, BootError>| match status {
                Ok(code) => format!("exited (status {code})"),
                Err(e) => format!("failed ({e})"),
            };
            // One deadline for the whole grace, however often the loop goes round.
            let grace = tokio::time::sleep(follow.grace);
            tokio::pin!(grace);
            let old_pid0 = loop {
                tokio::select! {
                    biased;
                    signal = signals.recv() => {
                        return (Ended::Signal { signal, file: name }, running);
                    }
                    status = &mut pid0 => break after(&exited(&status)),
                    _ = &mut grace => {
                        // Closing its stdin is the last request; then it is stopped.
                        drop(feed.take());
                        break tokio::select! {
                            biased;
                            signal = signals.recv() => {
                                return (Ended::Signal { signal, file: name }, running);
                            }
                            status = &mut pid0 => after(&format!("{} once its stdin was closed,", exited(&status))),
                            _ = tokio::time::sleep(STDIN_CLOSED_GRACE) => after("stopped, not having exited within the grace,"),
                        };
                    }
                    _ = drive(&mut feed) => {}
                }
            };
            (
                Ended::Upgrade(Box::new(Switch { update, old_pid0 })),
                running,
            )
        });
        // pid0, its children and the services of this generation end here.
        drop(local);
        running.stopped(&match &ended {
            Ended::Signal { signal, .. } => signal.to_string(),
            Ended::Exited(_) => "pid0 ended".to_string(),
            Ended::Upgrade(switch) => format!("upgraded to {}", switch.update.root.path),
        });
        drop(lease);
        ended
    }
}

/// Runs the stdin feed to its end (then drops it, which closes pid0's stdin); pending forever
/// once there is none.
async fn drive<F: Future<Output = ()>>(feed: &mut Option<Pin<Box<F>>>) {
    match feed {
        Some(running) => {
            running.await;
            *feed = None;
        }
        None => std::future::pending().await,
    }
}
