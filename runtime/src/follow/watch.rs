//! The watcher of `ww run --follow`: a thread that reads the source every poll interval and,
//! when it points at a root other than the running one, loads that image with the overlays on
//! top and applies every boot check ([`crate::run::prepare`]) while the old image keeps running.
//! What passes is handed to the run as an [`Update`]; what fails is logged with the reason and
//! skipped until the source changes again. The first root is read the same way, and its
//! failure ends the run.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use ww_content::cancel::Cancel;
use ww_content::ipfs::LazyNode;

use crate::compile_cache::CompileCache;
use crate::error::BootError;
use crate::follow::source::{Root, Source};
use crate::run::{prepare, Prepared, RunOptions};

/// A new root, loaded and checked.
pub struct Update {
    /// The root the source points at.
    pub root: Root,
    /// Its image with the overlays on top, ready to boot.
    pub prepared: Prepared,
    /// When the watcher saw the source point at it.
    pub seen: Instant,
    /// How long loading and checking it took.
    pub load: Duration,
}

/// The IPFS node the watcher resolves names and fetches blocks through.
pub struct NodeSpec {
    pub url: String,
    /// How messages name the node (its URL and where the address came from).
    pub label: String,
    pub timeout: Duration,
}

/// What the watcher needs; it runs until `cancel` is raised or the run stops listening.
pub struct Watch<'a> {
    pub source: &'a Source,
    pub interval: Duration,
    pub opts: &'a RunOptions,
    pub node: NodeSpec,
    pub engine: wasmtime::Engine,
    pub compile_cache: CompileCache,
    pub cancel: Cancel,
}

/// How often the watcher looks at `cancel` while it waits for the next poll.
const TICK: Duration = Duration::from_millis(50);

impl Watch<'_> {
    /// Watches until cancelled or until `updates` is closed. The first root read, or the
    /// failure to read or load it, is the first message.
    pub fn run(self, updates: mpsc::Sender<Result<Update, BootError>>) {
        let node =
            LazyNode::new(&self.node.url, self.node.timeout).with_cancel(self.cancel.clone());
        let mut running: Option<Root> = None;
        // The last root seen and the last error, so that each is logged once.
        let mut seen: Option<Root> = None;
        let mut failed_read: Option<String> = None;
        loop {
            if self.cancel.raised().is_some() {
                return;
            }
            match self.source.read(&node) {
                Err(reason) if running.is_none() => {
                    let _ = updates.blocking_send(Err(BootError::Layer {
                        dir: self.source.to_string().into(),
                        reason,
                    }));
                    return;
                }
                Err(reason) => {
                    if failed_read.as_ref() != Some(&reason) && self.cancel.raised().is_none() {
                        crate::logline::follow(
                            true,
                            &format!(
                                "cannot read {}: {reason}; {} keeps running",
                                self.source,
                                running
                                    .as_ref()
                                    .map(|r| r.path.as_str())
                                    .unwrap_or_default()
                            ),
                            serde_json::json!({"source": self.source.to_string(), "reason": reason}),
                        );
                    }
                    failed_read = Some(reason);
                }
                Ok(root) => {
                    failed_read = None;
                    let new = seen.as_ref() != Some(&root) && running.as_ref() != Some(&root);
                    seen = Some(root.clone());
                    if new {
                        match self.load(&node, root.clone(), running.is_none()) {
                            Ok(update) => {
                                if updates.blocking_send(Ok(update)).is_err() {
                                    return;
                                }
                                running = Some(root);
                            }
                            Err(err) if running.is_none() => {
                                let _ = updates.blocking_send(Err(err));
                                return;
                            }
                            Err(err) => {
                                if self.cancel.raised().is_some() {
                                    return;
                                }
                                crate::logline::follow(
                                    true,
                                    &format!(
                                        "{} now points at {}, which was skipped: {err}; {} keeps \
                                         running",
                                        self.source,
                                        root.path,
                                        running
                                            .as_ref()
                                            .map(|r| r.path.as_str())
                                            .unwrap_or_default()
                                    ),
                                    serde_json::json!({
                                        "source": self.source.to_string(),
                                        "skipped": root.path,
                                        "reason": err.to_string(),
                                        "running": running.as_ref().map(|r| r.path.clone()),
                                    }),
                                );
                            }
                        }
                    }
                }
            }
            let until = Instant::now() + self.interval;
            while Instant::now() < until {
                if self.cancel.raised().is_some() || updates.is_closed() {
                    return;
                }
                std::thread::sleep(TICK.min(until.saturating_duration_since(Instant::now())));
            }
        }
    }

    /// Loads `root` with the overlays on top and checks it as a boot does.
    fn load(&self, node: &LazyNode, root: Root, first: bool) -> Result<Update, BootError> {
        let seen = Instant::now();
        if !first {
            crate::logline::follow(
                false,
                &format!("{} now points at {}: loading it", self.source, root.path),
                serde_json::json!({"source": self.source.to_string(), "root": root.path}),
            );
        }
        let mut layers = vec![root.path.clone()];
        layers.extend(self.opts.layers.iter().cloned());
        let opts = RunOptions {
            layers,
            ..self.opts.clone()
        };
        let prepared = prepare(
            &opts,
            Some((node, self.node.label.clone())),
            &self.engine,
            &self.compile_cache,
        )?;
        Ok(Update {
            root,
            prepared,
            seen,
            load: seen.elapsed(),
        })
    }
}
