//! `wwpack build`, orchestrated: plans ([`crate::plan`]) and builds ([`crate::guests::cargo`])
//! the guests the selected images install, in dependency waves; assembles and validates each
//! image's layers and computes the per-file union manifest with CIDs ([`assemble`]); stores
//! every block in the embedded store; writes the image trees and `wwpack.lock`; and skips all
//! of it when nothing that goes into the images changed ([`stamp`]). Files unchanged since the
//! last build are not hashed again ([`statcache`]). With `--locked` the result is compared with
//! the committed lock by `wwpack diff`'s compare and printed by its text renderer, and nothing
//! is written unless they match.

pub mod assemble;
pub mod options;
pub mod stamp;
pub mod statcache;

pub use options::BuildOptions;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cli::progress::{Bar, Items};
use crate::config::{Config, Image};
use crate::diff;
use crate::error::{Error, Result};
use crate::guests::Workspace;
use crate::plan;
use assemble::{manifest_of, store_blocks};
use stamp::{inputs_fingerprint, outside_inputs, read_stamp, save_stamp, up_to_date};
use statcache::StatCache;
use ww_content::block::{BlockSink, NullSink};
use ww_content::progress::Meter;
use ww_content::store::Store;
use ww_content::unixfs::{FileNodes, Profile};
use ww_image::manifest::{GuestRecord, Lock, LOCK_FILE};

/// One image written by [`build`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltImage {
    pub name: String,
    pub dir: PathBuf,
    pub root: String,
    pub profile: String,
    pub files: usize,
    pub bytes: u64,
}

/// What [`build`] did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildReport {
    pub images: Vec<BuiltImage>,
    /// Nothing changed since the last build: no cargo run, no hashing.
    pub up_to_date: bool,
    /// `wwpack.lock` was rewritten.
    pub lock_written: bool,
    /// Files read and hashed by this build; unchanged files known from the stat cache are not.
    pub hashed_files: usize,
    /// Validation and shadowing warnings.
    pub warnings: Vec<String>,
}

/// Builds the images of `config` selected by `opts`, storing blocks in `store`.
pub fn build(config: &Config, opts: &BuildOptions, store: &Store) -> Result<BuildReport> {
    let images: Vec<&Image> = if opts.images.is_empty() {
        config.images.values().collect()
    } else {
        opts.images
            .iter()
            .map(|n| config.image(n))
            .collect::<Result<_>>()?
    };
    let out = opts
        .out_dir
        .clone()
        .unwrap_or_else(|| config.root.join("target").join("wwpack"));
    let lock_path = opts
        .lock_file
        .clone()
        .unwrap_or_else(|| config.root.join(LOCK_FILE));
    let stamp_path = out.join("stamp.json");

    let stamp = read_stamp(&stamp_path);
    let known_inputs = stamp.as_ref().map(|s| s.inputs.clone()).unwrap_or_default();
    let mut fingerprint = inputs_fingerprint(config, &images, opts, &out, &known_inputs);
    if let Some(report) = stamp.and_then(|s| up_to_date(s, &fingerprint, &lock_path, store)) {
        return Ok(report);
    }

    let mut roots = BTreeMap::new();
    for image in &images {
        for layer in config.layers_of(image) {
            for guest in layer.install.values() {
                roots
                    .entry(guest.clone())
                    .or_insert_with(|| layer.name.clone());
            }
        }
    }
    // Images made only of static layers need no cargo (nor a guests workspace) at all.
    let (workspace, artifacts, inputs) = if roots.is_empty() {
        (None, BTreeMap::new(), Vec::new())
    } else {
        let workspace = Workspace::load(&config.guests_workspace)?;
        for (guest, layer) in &roots {
            workspace.check(guest, &format!("layer `{layer}`"))?;
        }
        let roots: BTreeSet<String> = roots.into_keys().collect();
        let plan = plan::plan(&workspace, &roots)?;
        let target_dir = config.root.join("target").join("guests");
        let artifacts = workspace.build_plan(&plan, &target_dir, opts.quiet)?;
        let inputs = outside_inputs(&workspace, &target_dir, artifacts.values());
        (Some(workspace), artifacts, inputs)
    };
    if inputs != known_inputs {
        // New inputs are known only now; an edit to one of them during this very build is the
        // one change the next no-op check could miss.
        fingerprint = inputs_fingerprint(config, &images, opts, &out, &inputs);
    }

    let old_lock = Lock::read(&lock_path)?;
    let mut lock = old_lock.clone().unwrap_or_default();
    let mut warnings = Vec::new();
    for (name, dir) in workspace.iter().flat_map(|w| &w.path_deps) {
        warnings.push(format!(
            "the guests depend on `{name}` at {}, outside the guests workspace: cargo names such \
             a package by its absolute path, so the wasm changes with the checkout location; \
             link it into the workspace directory and exclude it there (as guests/stem is)",
            dir.display()
        ));
    }
    let cache_path = out.join("stat-cache.json");
    let mut stat_cache = StatCache::load(&cache_path);
    // File nodes per profile (guest wasm CIDs use the default profile), primed from the cache.
    let default_profile = Profile::default();
    let mut file_nodes: BTreeMap<&'static str, FileNodes> = BTreeMap::new();
    for profile in images.iter().map(|i| &i.profile).chain([&default_profile]) {
        file_nodes.entry(profile.name).or_insert_with(|| {
            let mut nodes = FileNodes::default();
            stat_cache.prefill(profile, &mut nodes, store);
            nodes
        });
    }
    let guard = store.writer()?;
    // Blocks are written behind the hashing, by a thread of their own; with --locked nothing
    // is written until the result is known to match the lock.
    let batch = store.batch()?;
    let sink: &dyn BlockSink = if opts.locked { &NullSink } else { &batch };
    let mut built = Vec::new();
    let mut trees = Vec::new();
    let mut layer_trees = Vec::new();
    // Files read and hashed (not those known from the stat cache), of no total known up front.
    let meter = Meter::new();
    for nodes in file_nodes.values_mut() {
        nodes.meter = Some(meter.clone());
    }
    let progress = Bar::start(opts.progress, "hashing", &meter, Items::Files);
    for image in &images {
        progress.set_label(&format!("hashing image {}", image.name));
        let nodes = file_nodes.entry(image.profile.name).or_default();
        let (manifest, union, layers) =
            manifest_of(config, image, &artifacts, sink, nodes, opts, &mut warnings)?;
        layer_trees.push(layers);
        let (files, bytes) = manifest
            .files
            .values()
            .filter(|f| f.target.is_none())
            .fold((0, 0), |(n, b), f| (n + 1, b + f.size));
        built.push(BuiltImage {
            name: image.name.clone(),
            dir: out.join("images").join(&image.name),
            root: manifest.root.clone(),
            profile: manifest.profile.clone(),
            files,
            bytes,
        });
        lock.images.insert(image.name.clone(), manifest);
        trees.push(union);
    }
    lock.images
        .retain(|name, _| config.images.contains_key(name));
    progress.set_label("hashing guests");
    let nodes = file_nodes.entry(default_profile.name).or_default();
    for (name, artifact) in &artifacts {
        let node = nodes
            .get_or_import(artifact, &default_profile, sink)
            .map_err(|e| Error::Guest {
                guest: name.clone(),
                message: e.to_string(),
            })?;
        let Some(guest) = workspace.as_ref().and_then(|w| w.guests.get(name)) else {
            continue;
        };
        lock.guests.insert(
            name.clone(),
            GuestRecord {
                package: guest.package.clone(),
                version: guest.version.clone(),
                wasm: node.cid.to_string(),
            },
        );
    }
    // Every guest an image needs: installed ones and all they embed, at any depth.
    lock.guests.retain(|name, _| {
        artifacts.contains_key(name) || still_installed(config, workspace.as_ref(), name)
    });

    for w in &warnings {
        tracing::warn!("{w}");
    }
    if opts.locked {
        let committed = old_lock.ok_or_else(|| Error::Locked {
            lock: lock_path.clone(),
            diff: vec!["there is no wwpack.lock to check against".into()],
        })?;
        let diff = mismatch(&committed, &lock, &lock_path);
        if !diff.is_empty() {
            return Err(Error::Locked {
                lock: lock_path,
                diff,
            });
        }
        // It matches: now store the blocks (a second pass, so a mismatch stored nothing).
        progress.set_label("storing blocks");
        store_blocks(&images, &layer_trees, &trees, &artifacts, &batch)?;
    }
    batch.finish()?;

    progress.set_label("writing images");
    for (image, union) in built.iter().zip(&trees) {
        assemble::write(union, &image.dir)?;
        store.pin(
            &image
                .root
                .parse()
                .map_err(|e| Error::image(image.name.clone(), format!("bad root CID: {e}")))?,
            Some(&format!("image {}", image.name)),
        )?;
    }
    drop(guard);
    progress.finish();
    let lock_written = if opts.locked {
        false
    } else {
        lock.write(&lock_path)?
    };
    let mut hashed = 0;
    for (profile, nodes) in &file_nodes {
        hashed += nodes.hashed;
        stat_cache.record(profile, nodes);
    }
    stat_cache.save(&cache_path);
    let report = BuildReport {
        images: built,
        up_to_date: false,
        lock_written,
        hashed_files: hashed,
        warnings,
    };
    save_stamp(&stamp_path, fingerprint, inputs, &lock_path, &report);
    Ok(report)
}

/// Whether `name` is installed by a declared layer or embedded (at any depth) by such a guest:
/// a guest of an image that was not rebuilt this time keeps its lock entry.
fn still_installed(config: &Config, workspace: Option<&Workspace>, name: &str) -> bool {
    let mut todo: Vec<&str> = config
        .layers
        .values()
        .flat_map(|l| l.install.values().map(String::as_str))
        .collect();
    let Some(workspace) = workspace else {
        // This build read no guests (its images install none), so what the others embed is
        // unknown: keep their records while any layer installs a guest.
        return !todo.is_empty();
    };
    let mut seen = BTreeSet::new();
    while let Some(g) = todo.pop() {
        if g == name {
            return true;
        }
        if seen.insert(g) {
            if let Some(guest) = workspace.guests.get(g) {
                todo.extend(guest.embeds.iter().map(String::as_str));
            }
        }
    }
    false
}

/// How the build differs from the committed lock, as `wwpack diff LOCK` would print it (text,
/// no colour, without its header line, the error naming the lock already); empty when the two
/// are equal.
fn mismatch(committed: &Lock, built: &Lock, lock_path: &Path) -> Vec<String> {
    if committed == built {
        return Vec::new();
    }
    let report = diff::compare::locks(
        (committed, &lock_path.display().to_string()),
        (built, "this build"),
    );
    if report.identical {
        // The same files under the same root, recorded under another profile: a comparison
        // of contents does not see it, the lock does.
        let lines: Vec<String> = report
            .images
            .iter()
            .filter(|i| i.profile[0] != i.profile[1])
            .map(|i| {
                let show = |p: &Option<String>| p.clone().unwrap_or_else(|| "(none)".into());
                format!(
                    "image {}: profile {} → {}",
                    i.name,
                    show(&i.profile[0]),
                    show(&i.profile[1])
                )
            })
            .collect();
        return if lines.is_empty() {
            vec!["the recorded images or guests differ".to_string()]
        } else {
            lines
        };
    }
    diff::render::render(&report, diff::render::Format::Text, false)
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ww_image::manifest::{FileRecord, ImageManifest, LayerRecord};

    fn lock(root: &str, files: &[(&str, &str, u64)]) -> Lock {
        let mut lock = Lock::new();
        let files = files
            .iter()
            .map(|(path, cid, size)| {
                let record = FileRecord {
                    cid: cid.to_string(),
                    layer: "base".into(),
                    shadows: vec![],
                    size: *size,
                    target: None,
                };
                (path.to_string(), record)
            })
            .collect();
        let layers = vec![LayerRecord {
            cid: "bafybase".into(),
            name: "base".into(),
        }];
        lock.images.insert(
            "default".into(),
            ImageManifest {
                files,
                layers,
                profile: "unixfs-v1-2025".into(),
                root: root.into(),
            },
        );
        lock
    }

    #[test]
    fn a_mismatch_is_printed_as_wwpack_diff_prints_it() {
        let path = Path::new("/p/wwpack.lock");
        let committed = lock("bafyroot", &[("etc/motd", "bafkmotd", 3)]);
        assert!(mismatch(&committed, &committed.clone(), path).is_empty());
        let built = lock(
            "bafyroot2",
            &[("etc/motd", "bafkmotd2", 4), ("etc/new", "bafknew", 5)],
        );
        let lines = mismatch(&committed, &built, path);
        assert_eq!(lines[0], "image default: modified", "{lines:#?}");
        assert_eq!(lines[1], "  root bafyroot → bafyroot2");
        assert!(
            lines[2].starts_with("  ~ etc/motd  bafkmotd 3 B → bafkmotd2 4 B (+1 B)"),
            "{lines:#?}"
        );
        assert!(lines[3].starts_with("  + etc/new"), "{lines:#?}");
        assert!(
            lines[4].starts_with("1 added, 1 modified in 1 image"),
            "{lines:#?}"
        );
        assert_eq!(lines.len(), 5, "{lines:#?}");
    }

    #[test]
    fn a_profile_alone_is_a_mismatch_too() {
        let path = Path::new("wwpack.lock");
        let committed = lock("bafyroot", &[]);
        let mut built = committed.clone();
        built.images.get_mut("default").unwrap().profile = "kubo-cidv1".into();
        assert_eq!(
            mismatch(&committed, &built, path),
            ["image default: profile unixfs-v1-2025 → kubo-cidv1"]
        );
    }
}
