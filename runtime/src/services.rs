//! `svc/<name>/` services: every nested image under `svc/` of the union (at any depth:
//! `svc/a/svc/b`) runs beside pid0 as a background process, started once pid0 has started and
//! stopped when pid0 ends or ww is signalled.
//!
//! A service boots as its image would boot alone: its own subtree of the union root
//! (`svc/<name>/`) read-only at `/`, `argv` = `["/bin/main.wasm"]` (its program's path in its
//! own root, as pid0's), its own image's environment (`svc/<name>/etc/environment`, see
//! [`crate::env`]; nothing from ww's command line), a closed stdin (reads see end of file), and its own
//! RPC connections served by the same [`Kernel`] (so the kernel's limits, compile cache, epochs
//! and identity). Its stdout and stderr go to ww's stderr one line at a time, prefixed with the
//! service's name: `[svc/<name>] <line>` (bytes that are not UTF-8 replaced by U+FFFD, a last
//! line without a newline written when the stream ends, a line longer than [`MAX_LINE`] bytes
//! split). How it ended is one more such line: `exited with status N`, `trapped: …`,
//! `aborted: …`, `stopped: <limit> exceeded`, `not started: …`, or, for a service still
//! running when ww ends, `stopped: pid0 ended` / `stopped: SIGINT`. Nothing a service does
//! changes pid0 or ww's exit status.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::rc::Rc;

use tokio::io::{AsyncReadExt, DuplexStream};
use ww_image::PID0;

use crate::cell::{self, CellSpec, Stdio, PIPE_CAPACITY};
use crate::error::BootError;
use crate::root::UnionRoot;
use crate::rpc::Kernel;

/// The longest line relayed whole; a longer one is written in pieces of this many bytes, so a
/// service that never writes a newline cannot make ww buffer without bound.
pub const MAX_LINE: usize = 64 * 1024;

/// A nested image found in the union, named by its path (`svc/a`, `svc/a/svc/b`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    plan: Plan,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    /// Its pid0 (a cached file), where that came from (for messages), and its root.
    Boot {
        main: PathBuf,
        origin: String,
        root: PathBuf,
        /// Its image's environment (`svc/<name>/etc/environment`).
        env: Vec<(String, String)>,
    },
    /// Why it cannot be started (an overlay ww was given is not validated as wwpack does).
    Broken(String),
}

/// Every nested image under `svc/` of `root`, sorted by name (so `svc/a` before `svc/a/svc/b`).
pub fn find(root: &UnionRoot) -> Vec<Service> {
    root.paths()
        .filter(|path| is_service(path))
        .map(|name| {
            let main = format!("{name}/{PID0}");
            let plan = match (root.kind_of(name), root.source_of(&main)) {
                (Some("directory"), Some((main, origin))) => {
                    match crate::env::of_image(root, &format!("{name}/")) {
                        Ok(env) => Plan::Boot {
                            main,
                            origin,
                            root: root.path().join(name),
                            env,
                        },
                        Err(why) => Plan::Broken(why),
                    }
                }
                (Some("directory"), None) => Plan::Broken(match root.kind_of(&main) {
                    Some(kind) => format!("{main} is a {kind} in the union, not a file"),
                    None => format!("{main} not found; a service boots its bin/main.wasm"),
                }),
                (kind, _) => Plan::Broken(format!(
                    "{name} is a {} in the union; each entry of svc/ must be a directory",
                    kind.unwrap_or("missing entry")
                )),
            };
            Service {
                name: name.to_string(),
                plan,
            }
        })
        .collect()
}

/// Whether `path` names a nested image: `svc/<name>`, `svc/<name>/svc/<name>`, ...
fn is_service(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    parts.len() >= 2
        && parts.len().is_multiple_of(2)
        && parts.iter().step_by(2).all(|p| *p == "svc")
}

/// The services started by [`start`] that have not ended yet.
pub struct Running(Rc<RefCell<BTreeSet<String>>>);

impl Running {
    /// Logs `stopped: <why>` for every service still running. Call it once their tasks are
    /// dropped (the `LocalSet` they run on is gone).
    pub fn stopped(self, why: &str) {
        for name in self.0.borrow().iter() {
            log(name, &format!("stopped: {why}"));
        }
    }
}

/// Starts every service as a local task of the current [`tokio::task::LocalSet`]; each runs
/// until it ends or the `LocalSet` is dropped.
pub fn start(kernel: &Kernel, services: Vec<Service>) -> Running {
    let running = Rc::new(RefCell::new(BTreeSet::new()));
    for service in services {
        running.borrow_mut().insert(service.name.clone());
        let kernel = kernel.clone();
        let running = running.clone();
        tokio::task::spawn_local(async move {
            let ended = boot(&kernel, &service).await;
            running.borrow_mut().remove(&service.name);
            log(
                &service.name,
                &match ended {
                    Ok(status) => format!("exited with status {status}"),
                    Err(why) => why,
                },
            );
        });
    }
    Running(running)
}

/// Compiles, links and runs one service, relaying its output; its exit status, or the rest of
/// the line that says why it has none.
async fn boot(kernel: &Kernel, service: &Service) -> Result<u8, String> {
    let (main, origin, root, env) = match &service.plan {
        Plan::Boot {
            main,
            origin,
            root,
            env,
        } => (main.clone(), origin.clone(), root.clone(), env.clone()),
        Plan::Broken(why) => return Err(format!("not started: {why}")),
    };
    let engine = kernel.engine().clone();
    let cache = kernel.compile_cache().clone();
    let file = origin.clone();
    let compiled = tokio::task::spawn_blocking(move || {
        let bytes = crate::cache::read_cached(&main).map_err(|e| BootError::Unbootable {
            file: file.clone(),
            reason: format!("cannot read: {e}"),
        })?;
        cache.component(&engine, &file, &bytes)
    })
    .await
    .map_err(|e| format!("not started: the compiler stopped: {e}"))?;
    let command = compiled
        .and_then(|component| cell::link(kernel.engine(), &origin, &component))
        .map_err(|e| format!("not started: {e}"))?;

    // The host's end of stdin is dropped at once: the service reads end of file.
    let (_, stdin) = tokio::io::duplex(PIPE_CAPACITY);
    let (stdout_host, stdout) = tokio::io::duplex(PIPE_CAPACITY);
    let (stderr_host, stderr) = tokio::io::duplex(PIPE_CAPACITY);
    let spec = CellSpec {
        name: origin,
        args: vec![format!("/{PID0}")],
        env,
        root: Some(root),
        stdio: Stdio::Pipes {
            stdin,
            stdout,
            stderr,
        },
    };
    tracing::debug!(target: "ww::services", "started {}", service.name);
    let (ended, (), ()) = tokio::join!(
        kernel.run_process(&command, spec),
        relay(&service.name, stdout_host),
        relay(&service.name, stderr_host),
    );
    ended.map_err(|e| match e {
        BootError::Trap { trap, .. } => format!("trapped: {trap}"),
        BootError::Aborted { reason, .. } => format!("aborted: {reason}"),
        // Refused before it ran: the run has as many processes as it may.
        BootError::Limit {
            exceeded: exceeded @ crate::limits::LimitExceeded::Processes(_),
            ..
        } => format!("not started: {exceeded}"),
        BootError::Limit { exceeded, .. } => format!("stopped: {exceeded}"),
        other => other.to_string(),
    })
}

/// Copies `from` to ww's stderr line by line, each line prefixed with `[name] `, until it ends.
async fn relay(name: &str, mut from: DuplexStream) {
    let mut pending = Vec::new();
    let mut chunk = vec![0u8; 8192];
    loop {
        let n = match from.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&chunk[..n]);
        for line in take_lines(&mut pending) {
            log(name, &String::from_utf8_lossy(&line));
        }
    }
    if !pending.is_empty() {
        log(name, &String::from_utf8_lossy(&pending));
    }
}

/// Removes and returns the complete lines (without their `\n`) at the start of `pending`, and
/// pieces of [`MAX_LINE`] bytes of a longer line; what remains is an incomplete short line.
fn take_lines(pending: &mut Vec<u8>) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut start = 0;
    loop {
        let rest = &pending[start..];
        match rest.iter().take(MAX_LINE + 1).position(|b| *b == b'\n') {
            Some(i) if i <= MAX_LINE => {
                lines.push(rest[..i].to_vec());
                start += i + 1;
            }
            _ if rest.len() >= MAX_LINE => {
                lines.push(rest[..MAX_LINE].to_vec());
                start += MAX_LINE;
            }
            _ => break,
        }
    }
    pending.drain(..start);
    lines
}

/// One line of a service's log on ww's stderr.
fn log(name: &str, line: &str) {
    crate::logline::service(name, line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_the_nested_images_at_any_depth() {
        for yes in ["svc/a", "svc/a/svc/b", "svc/x.y/svc/z/svc/w"] {
            assert!(is_service(yes), "{yes}");
        }
        for no in [
            "svc",
            "bin/main.wasm",
            "svc/a/bin",
            "svc/a/etc/svc",
            "x/a",
            "svc/a/svc",
        ] {
            assert!(!is_service(no), "{no}");
        }
    }

    #[test]
    fn lines_are_split_kept_whole_or_cut_at_the_cap() {
        let mut pending = b"one\ntwo\r\n\nthr".to_vec();
        assert_eq!(
            take_lines(&mut pending),
            vec![b"one".to_vec(), b"two\r".to_vec(), Vec::new()]
        );
        assert_eq!(pending, b"thr");

        let mut pending = vec![b'x'; MAX_LINE * 2 + 3];
        pending.push(b'\n');
        let lines = take_lines(&mut pending);
        assert_eq!(
            lines.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![MAX_LINE, MAX_LINE, 3]
        );
        assert!(pending.is_empty());

        let mut exact = vec![b'y'; MAX_LINE];
        exact.push(b'\n');
        assert_eq!(take_lines(&mut exact), vec![vec![b'y'; MAX_LINE]]);
        assert!(exact.is_empty(), "a line of exactly the cap is one line");
    }
}
