//! `wwpack diff`: what the command line gives the comparison. The sides (at most two, in the
//! order given), the project when there is one (needed by some sides, lending its lock's
//! provenance to others), the block store (read-write when possible, read-only else), the IPFS
//! node (connected only when a side needs it) and the working-tree build; then the report,
//! rendered, on stdout, and the exit status of diff(1).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use ww_content::store::Store;

use crate::cli::output::Stdout;
use crate::cli::Globals;
use crate::config::Config;
use crate::diff::render::Format;
use crate::diff::{ContentReader, Env, SideSpec};
use crate::error::Error;

/// How to show the report.
pub struct Show<'a> {
    pub format: Format,
    /// Whether text is coloured: the command line's `--color` decision for stdout.
    pub color: bool,
    /// Compare only this image of sides that have several.
    pub image: Option<&'a str>,
    pub text_limit: u64,
}

/// Compares the sides `specs` and prints the report (with `-q`, as diff(1)'s, only `A and B
/// differ`, or nothing when they are identical, without reading inside files): exit status 0
/// when identical, 1 when different (an error is 2, the caller's to give).
pub fn run(g: &Globals, specs: Vec<SideSpec>, show: &Show<'_>) -> anyhow::Result<ExitCode> {
    if specs.len() > 2 {
        anyhow::bail!(
            "diff takes at most two sides (A and B), not {}",
            specs.len()
        );
    }
    let config = project(g)?;
    // Reading content may fetch blocks from the node into the store; a read-only store still
    // serves what it has, and what the node gives is then used, not kept.
    let store = g.store_dir().ok().and_then(|dir| match Store::open(&dir) {
        Ok(store) => Some((store, true)),
        Err(_) => Store::open_read_only(&dir).ok().map(|store| (store, false)),
    });
    let keep = store.as_ref().is_some_and(|(_, keep)| *keep);
    let store = store.map(|(store, _)| store);
    let api = g.api()?;
    let node = ww_content::ipfs::LazyNode::new(&api.url, g.timeout());
    let quiet = g.quiet;
    let build_worktree =
        move |config: &Config, store: &Store| super::build::worktree(config, store, quiet);
    let env = Env {
        project: config.as_ref(),
        store: store.as_ref(),
        keep,
        node: Some(&node),
        node_label: Some(api.label()),
        build_worktree: Some(&build_worktree),
    };
    let reader = match g.quiet {
        // Whether the sides differ is in the paths; what changed inside files is not read.
        true => ContentReader {
            store: None,
            keep: false,
            node: None,
            node_label: None,
            text_limit: 0,
        },
        false => ContentReader {
            store: store.as_ref(),
            keep,
            node: Some(&node),
            node_label: Some(api.label()),
            text_limit: show.text_limit,
        },
    };
    let report = crate::diff::run(&env, &specs, show.image, &reader)?;
    let code = ExitCode::from(if report.identical { 0 } else { 1 });
    if g.quiet {
        if !report.identical {
            crate::cli::outln!("{} and {} differ", report.a.label, report.b.label)?;
        }
        return Ok(code);
    }
    let text = crate::diff::render::render(&report, show.format, show.color);
    Stdout
        .write_all(text.as_bytes())
        .and_then(|()| Stdout.flush())
        .context("writing to stdout")?;
    Ok(code)
}

/// The project, or none when no `wwpack.toml` is found (and none was named).
fn project(g: &Globals) -> anyhow::Result<Option<Config>> {
    match g.load_config() {
        Ok(config) => Ok(Some(config)),
        Err(e)
            if g.manifest_path.is_none()
                && matches!(
                    e.downcast_ref::<Error>(),
                    Some(Error::ConfigNotFound { .. })
                ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
