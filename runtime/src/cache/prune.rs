//! Eviction: least recently used entries first, until the cache is at most a size, skipping
//! what running `ww`s hold (see the [cache module docs](super#pruning)). Every removal is made
//! beneath directory handles, never following a symlink: a root is renamed into `tmp/` and
//! removed there one name at a time (`unlinkat`), a planted link is removed itself, and nothing
//! outside the cache directory is touched.

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::lock::{self, Held, LockKind};
use super::usage::{self, open_sub, Entry, Kind, Usage};
use crate::error::BootError;

/// The default cap on the cache's size (`--cache-max-size`, `WW_CACHE_MAX_SIZE`): 1 GiB.
pub const DEFAULT_MAX_SIZE: u64 = 1 << 30;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// What a prune did.
#[derive(Debug, Default)]
pub struct Report {
    /// The entries removed, least recently used first.
    pub removed: Vec<Entry>,
    /// The entries kept because a running `ww` holds them.
    pub held: Vec<Entry>,
    /// The cache's size before and after.
    pub before: u64,
    pub after: u64,
    /// Entries that could not be removed, and why.
    pub failed: Vec<(Entry, String)>,
}

/// Prunes the cache `dir` down to `max` bytes (`ww cache prune`; `clear` is `max` 0), waiting
/// for writers and other prunes when `wait`, else returning `None` at once when one runs.
/// A cache that does not exist is empty; one that is not a directory is an error.
pub fn prune(dir: &Path, max: u64, wait: bool) -> Result<Option<Report>, BootError> {
    if usage::open_cache_dir(dir)?.is_none() {
        return Ok(Some(Report::default()));
    }
    let Some(_lock) = lock::lock(dir, LockKind::Exclusive, wait)? else {
        return Ok(None);
    };
    let held = lock::held(dir, true)?;
    let usage = usage::scan(dir)?;
    clean_tmp(dir);
    Ok(Some(evict(dir, usage, &held, max)))
}

/// The prune `ww run` makes once its own root and files are held and pid0 is compiled: down to
/// `max` bytes, if no other `ww` is loading or pruning (then it is left to a later run). Costs
/// a warning at worst, never the boot.
pub fn at_startup(dir: &Path, max: u64) {
    match prune(dir, max, false) {
        Ok(Some(report)) => {
            // One warning, however many failed (a cache that is someone else's fails them all).
            if let Some((entry, why)) = report.failed.first() {
                tracing::warn!(
                    "cannot evict {} entries of the cache {}, e.g. the {} {}: {why}",
                    report.failed.len(),
                    dir.display(),
                    entry.kind.name(),
                    entry.id_text()
                );
            }
            if !report.removed.is_empty() {
                tracing::debug!(
                    removed = report.removed.len(),
                    before = report.before,
                    after = report.after,
                    "pruned the cache {} to at most {max} bytes",
                    dir.display()
                );
            }
        }
        Ok(None) => tracing::debug!(
            "the cache {} is busy (another ww loads or prunes); not pruned now",
            dir.display()
        ),
        Err(e) => tracing::warn!("cannot prune the cache {}: {e}", dir.display()),
    }
}

/// Removes entries of `usage` not in `held`, least recently used first, until the total is at
/// most `max`. A `files/` entry that a root still links is kept until that root goes (before,
/// removing it frees nothing); when the root goes, the files it freed that are older than it
/// go next, so the order stays least recently used first.
fn evict(dir: &Path, usage: Usage, held: &Held, max: u64) -> Report {
    let mut report = Report {
        before: usage.total(),
        ..Report::default()
    };
    let mut total = report.before;
    let entries = usage.entries;
    let mut linked = vec![0usize; entries.len()];
    for entry in &entries {
        for &file in &entry.links {
            linked[file] += 1;
        }
    }
    let is_held = |e: &Entry| {
        let id = e.id_text();
        match e.kind {
            Kind::Root => held.roots.contains(&id),
            Kind::File => held.files.contains(&id),
            Kind::Compiled => false,
        }
    };
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&entries[a], &entries[b]);
        (a.last_used, a.kind, &a.id).cmp(&(b.last_used, b.kind, &b.id))
    });
    let mut rank = vec![0usize; entries.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    let mut gone = vec![false; entries.len()];
    // Entries to try next, before the cursor goes on: files a removed root freed.
    let mut freed: Vec<usize> = Vec::new();
    let mut cursor = 0;
    while total > max {
        let i = match freed.pop() {
            Some(i) => i,
            None if cursor < order.len() => {
                cursor += 1;
                order[cursor - 1]
            }
            None => break,
        };
        let entry = &entries[i];
        if gone[i] || is_held(entry) || (entry.kind == Kind::File && linked[i] > 0) {
            continue;
        }
        gone[i] = true;
        match remove(dir, entry) {
            Ok(()) => {
                total = total.saturating_sub(entry.size);
                let mut now_free = Vec::new();
                for &file in &entry.links {
                    linked[file] -= 1;
                    if linked[file] == 0 && rank[file] < cursor {
                        now_free.push(file);
                    }
                }
                // Oldest last, so that it is popped first.
                now_free.sort_by_key(|&f| std::cmp::Reverse(rank[f]));
                now_free.dedup();
                freed.extend(now_free);
                report.removed.push(entry.clone());
            }
            Err(why) => report.failed.push((entry.clone(), why)),
        }
    }
    report.held = entries
        .iter()
        .enumerate()
        .filter(|(i, e)| !gone[*i] && is_held(e))
        .map(|(_, e)| e.clone())
        .collect();
    report.after = total;
    report
}

/// Removes one entry, never following a symlink and never leaving the cache.
fn remove(dir: &Path, entry: &Entry) -> Result<(), String> {
    let cache = usage::open_cache_dir(dir)
        .map_err(|e| e.to_string())?
        .ok_or("the cache is gone")?;
    let sub = match entry.kind {
        Kind::File => "files",
        Kind::Root => "roots",
        Kind::Compiled => "compiled",
    };
    let at = dir.join(sub);
    let parent = open_sub(&cache, OsStr::new(sub), &at)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{} is gone", at.display()))?;
    // A compiled entry is `<engine>/<wasm>`: one level more, opened as the others.
    let (parent, name, at) = match entry.id.iter().position(|&b| b == b'/') {
        Some(slash) if entry.kind == Kind::Compiled => {
            let (engine, name) = (&entry.id[..slash], &entry.id[slash + 1..]);
            let at = at.join(OsStr::from_bytes(engine));
            let engine_dir = open_sub(&parent, OsStr::from_bytes(engine), &at)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("{} is gone", at.display()))?;
            (engine_dir, name.to_vec(), at)
        }
        _ => (parent, entry.id.clone(), at),
    };
    let shown = at.join(OsStr::from_bytes(&name));
    let fail = |e: std::io::Error| format!("{}: {e}", shown.display());
    let Some(stat) = usage::stat_at(&parent, &name).map_err(fail)? else {
        return Ok(());
    };
    if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
        return unlink(&parent, &name, AtFlags::empty()).map_err(fail);
    }
    // A directory is moved into tmp/ first (so a crash leaves no half root in roots/), then
    // removed there.
    let tmp_path = dir.join("tmp");
    match rustix::fs::mkdirat(&cache, "tmp", Mode::from_raw_mode(0o755)) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => {
            return Err(format!(
                "cannot create {}: {}",
                tmp_path.display(),
                std::io::Error::from(e)
            ))
        }
    }
    let tmp = open_sub(&cache, OsStr::new("tmp"), &tmp_path)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{} is gone", tmp_path.display()))?;
    let aside = format!(
        "evict-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    rustix::fs::renameat(&parent, OsStr::from_bytes(&name), &tmp, aside.as_str())
        .map_err(|e| fail(e.into()))?;
    remove_tree(&tmp, aside.as_bytes())
        .map_err(|e| format!("{}: {e}", tmp_path.join(&aside).display()))
}

fn unlink(dir: impl AsFd, name: &[u8], flags: AtFlags) -> std::io::Result<()> {
    match rustix::fs::unlinkat(dir, OsStr::from_bytes(name), flags) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Removes `name` beneath `parent` and, if it is a directory, everything below it: one open
/// directory per level, `unlinkat` of each name, never following a symlink (a link is removed,
/// not what it points to).
pub(super) fn remove_tree(parent: &OwnedFd, name: &[u8]) -> std::io::Result<()> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let open = |at: &OwnedFd, name: &[u8]| -> std::io::Result<Option<OwnedFd>> {
        match rustix::fs::openat(at, OsStr::from_bytes(name), flags, Mode::empty()) {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::NOENT) => Ok(None),
            // Not a directory (or a symlink): removed as a name.
            Err(Errno::NOTDIR) | Err(Errno::LOOP) => Ok(None),
            Err(e) => Err(e.into()),
        }
    };
    let Some(top) = open(parent, name)? else {
        return unlink(parent, name, AtFlags::empty());
    };
    let pending = usage::names(&top)?;
    // (directory, its name in the one below it on the stack, names left to remove in it)
    let mut stack: Vec<(OwnedFd, Vec<u8>, Vec<Vec<u8>>)> = vec![(top, name.to_vec(), pending)];
    while let Some((dir, _, pending)) = stack.last_mut() {
        let Some(child) = pending.pop() else {
            let (_, name, _) = stack.pop().expect("non-empty");
            let up = stack.last().map_or(parent, |(fd, _, _)| fd);
            unlink(up, &name, AtFlags::REMOVEDIR)?;
            continue;
        };
        let stat = usage::stat_at(&*dir, &child)?;
        match stat {
            Some(s) if FileType::from_raw_mode(s.st_mode) == FileType::Directory => {
                if let Some(fd) = open(dir, &child)? {
                    // A read-only directory (not one ww makes) is made writable to empty it.
                    let _ = rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o700));
                    let pending = usage::names(&fd)?;
                    stack.push((fd, child, pending));
                }
            }
            Some(_) => unlink(&*dir, &child, AtFlags::empty())?,
            None => {}
        }
    }
    Ok(())
}

/// Removes what `tmp/` holds: only writers (under the shared lock) put anything there, and the
/// caller holds the exclusive lock, so it is left by `ww`s that died. Best effort.
fn clean_tmp(dir: &Path) {
    let Ok(Some(cache)) = usage::open_cache_dir(dir) else {
        return;
    };
    let Ok(Some(tmp)) = open_sub(&cache, OsStr::new("tmp"), &dir.join("tmp")) else {
        return;
    };
    for name in usage::names(&tmp).unwrap_or_default() {
        if let Err(e) = remove_tree(&tmp, &name) {
            tracing::warn!(
                "cannot remove {} from the cache's tmp/: {e}",
                String::from_utf8_lossy(&name)
            );
        }
    }
}
