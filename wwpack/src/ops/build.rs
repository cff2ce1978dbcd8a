//! `wwpack build`: builds the images of the project ([`crate::build`]) and prints one line per
//! image, or the JSON report; and the build of the working tree that `wwpack diff` compares.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ww_content::store::Store;
use ww_image::manifest::{Lock, LOCK_FILE};

use crate::build::{self, BuildOptions};
use crate::cli::{outln, report_repairs, Globals};
use crate::config::Config;
use crate::diff::side::Worktree;
use crate::error::{Error, Result};

/// Builds `opts.images` (all when empty) and prints what was built.
pub fn run(g: &Globals, opts: BuildOptions, json: bool) -> anyhow::Result<()> {
    let config = g.load_config()?;
    let store = g.open_store()?;
    let opts = BuildOptions {
        quiet: g.quiet,
        progress: crate::cli::progress::wanted(g.quiet, json),
        ..opts
    };
    let report = build::build(&config, &opts, &store)?;
    report_repairs(&store);
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else if !g.quiet {
        for image in &report.images {
            outln!(
                "{}\t{}\t{} files, {} bytes{}",
                image.name,
                image.root,
                image.files,
                image.bytes,
                if report.up_to_date {
                    "\t(up to date)"
                } else {
                    ""
                }
            )?;
        }
    }
    Ok(())
}

/// A fresh build of the working tree of `config` for `wwpack diff`: into
/// `target/wwpack/worktree/` and a lock of its own there, so that `wwpack.lock` is left alone.
/// Its warnings are logged by the build itself.
pub fn worktree(config: &Config, store: &Store, quiet: bool) -> Result<Worktree> {
    let out = config.root.join("target").join("wwpack").join("worktree");
    let lock_path = out.join(LOCK_FILE);
    let opts = BuildOptions {
        out_dir: Some(out.clone()),
        quiet,
        lock_file: Some(lock_path.clone()),
        ..BuildOptions::default()
    };
    let report = build::build(config, &opts, store)?;
    let lock = Lock::read(&lock_path)?.ok_or_else(|| Error::Diff {
        side: "the working tree".into(),
        message: format!("the build wrote no {}", lock_path.display()),
    })?;
    let images: BTreeMap<String, PathBuf> = report
        .images
        .into_iter()
        .map(|built| (built.name, built.dir))
        .collect();
    Ok(Worktree { lock, images })
}
