//! `wwpack build`: plans and builds the guests the selected images install (in dependency
//! waves), assembles and validates each image's layers, computes the per-file union manifest
//! with CIDs, stores every block in the embedded store, writes the image trees and
//! `wwpack.lock`, and skips all of it when nothing that goes into the images changed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{Config, Image};
use crate::error::{Error, Result};
use crate::fingerprint::{self, Fingerprint};
use crate::guests::Workspace;
use crate::image;
use crate::plan;
use crate::statcache::StatCache;
use ww_content::block::{BlockSink, NullSink};
use ww_content::store::Store;
use ww_content::tree::{Entry, Tree};
use ww_content::unixfs::{self, FileNodes, Profile};
use ww_image::fhs;
use ww_image::manifest::{FileRecord, GuestRecord, ImageManifest, LayerRecord, Lock, LOCK_FILE};

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Images to build; all images of `wwpack.toml` when empty.
    pub images: Vec<String>,
    /// Output directory; `<project>/target/wwpack` when `None`.
    pub out_dir: Option<PathBuf>,
    /// Silence cargo's progress output.
    pub quiet: bool,
    /// Fail, and write nothing, when the result differs from the committed `wwpack.lock`.
    pub locked: bool,
    /// Make a later layer shadowing a pid0 (`bin/main.wasm`, `svc/*/bin/main.wasm`) an error.
    pub deny_shadowing: bool,
    /// The lock to read and write; `<project>/wwpack.lock` when `None`. `wwpack diff` builds
    /// the working tree into its own output directory and lock, leaving the project's alone.
    pub lock_file: Option<PathBuf>,
}

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

/// The record of the last build, kept next to the images.
#[derive(Serialize, Deserialize)]
struct Stamp {
    fingerprint: String,
    /// Inputs outside the guests workspace, as the last full build found them: the directories
    /// of path dependencies (`cargo metadata`) and the files the guests' dep-info lists (e.g. WIT
    /// read by `wit-bindgen`). Finding them takes cargo, which a no-op build avoids.
    #[serde(default)]
    inputs: Vec<PathBuf>,
    lock: String,
    report: BuildReport,
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
    // With --locked nothing is written until the result is known to match the lock.
    let sink: &dyn BlockSink = if opts.locked { &NullSink } else { store };
    let mut built = Vec::new();
    let mut trees = Vec::new();
    let mut layer_trees = Vec::new();
    let progress = Progress::new(opts.quiet);
    for image in &images {
        progress.step(format!("hashing image {}", image.name));
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
    progress.step("hashing guests".to_string());
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
        let diff = lock.diff(&committed);
        if !diff.is_empty() {
            return Err(Error::Locked {
                lock: lock_path,
                diff,
            });
        }
        // It matches: now store the blocks (a second pass, so a mismatch stored nothing).
        progress.step("storing blocks".to_string());
        store_blocks(&images, &layer_trees, &trees, &artifacts, store)?;
    }

    progress.step("writing images".to_string());
    for (image, union) in built.iter().zip(&trees) {
        image::write(union, &image.dir)?;
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

/// Stores the blocks of every layer, image and guest (after a `--locked` check passed).
fn store_blocks(
    images: &[&Image],
    layer_trees: &[Vec<Tree>],
    unions: &[ww_image::union::Union],
    artifacts: &BTreeMap<String, PathBuf>,
    store: &Store,
) -> Result<()> {
    let mut nodes: BTreeMap<&str, FileNodes> = BTreeMap::new();
    for ((image, layers), union) in images.iter().zip(layer_trees).zip(unions) {
        let profile = &image.profile;
        let nodes = nodes.entry(profile.name).or_default();
        let err = |e: unixfs::ImportError| Error::image(image.name.clone(), e.to_string());
        for tree in layers {
            unixfs::import_tree_with(tree, profile, store, nodes).map_err(err)?;
        }
        unixfs::import_tree_with(&union.to_tree()?, profile, store, nodes).map_err(err)?;
    }
    let nodes = nodes.entry(Profile::default().name).or_default();
    for (name, artifact) in artifacts {
        nodes
            .get_or_import(artifact, &Profile::default(), store)
            .map_err(|e| Error::Guest {
                guest: name.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(())
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

/// A spinner on stderr for the steps after cargo (which draws its own progress): shown only on a
/// terminal and without `-q`.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(quiet: bool) -> Progress {
        use std::io::IsTerminal;
        if quiet || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        Progress(Some(bar))
    }

    fn step(&self, message: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(message);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Layers, validation, union, CIDs and the manifest of one image. Blocks go to `store`.
fn manifest_of(
    config: &Config,
    image: &Image,
    artifacts: &BTreeMap<String, PathBuf>,
    store: &dyn BlockSink,
    nodes: &mut FileNodes,
    opts: &BuildOptions,
    warnings: &mut Vec<String>,
) -> Result<(ImageManifest, ww_image::union::Union, Vec<Tree>)> {
    let profile = &image.profile;
    let import_err = |e: unixfs::ImportError| Error::image(image.name.clone(), e.to_string());
    let mut trees = Vec::new();
    let mut layers = Vec::new();
    for layer in config.layers_of(image) {
        let tree = image::layer_tree(layer, artifacts)?;
        fhs::validate_layer(&layer.name, &tree)?;
        let node = unixfs::import_tree_with(&tree, profile, store, nodes).map_err(import_err)?;
        layers.push(LayerRecord {
            cid: node.cid.to_string(),
            name: layer.name.clone(),
        });
        trees.push((layer.name.clone(), tree));
    }
    let union = ww_image::union::Union::of(trees.iter().map(|(n, t)| (n.as_str(), t)))
        .map_err(|e| Error::image(image.name.clone(), e.to_string()))?;
    for w in fhs::validate_image(&image.name, &union)? {
        warnings.push(format!("image `{}`: {w}", image.name));
    }
    let root =
        unixfs::import_tree_with(&union.to_tree()?, profile, store, nodes).map_err(import_err)?;

    let mut files = BTreeMap::new();
    for (path, item) in union.iter() {
        let shadows: Vec<String> = item
            .shadows
            .iter()
            .map(|&i| union.layers()[i].clone())
            .collect();
        let layer = union.layers()[item.layer].clone();
        if !shadows.is_empty() && fhs::is_pid0_path(path.as_str()) {
            let message = format!(
                "`{path}` from layer `{layer}` shadows the pid0 of layer(s) {}",
                shadows.join(", ")
            );
            if opts.deny_shadowing {
                return Err(Error::image(
                    image.name.clone(),
                    format!("{message} (--deny-shadowing)"),
                ));
            }
            warnings.push(format!("image `{}`: {message}", image.name));
        }
        let record = match &item.entry {
            Entry::Dir => continue,
            Entry::File { source } => {
                let node = nodes
                    .get_or_import(source, profile, store)
                    .map_err(import_err)?;
                FileRecord {
                    cid: node.cid.to_string(),
                    layer,
                    shadows,
                    size: node.filesize,
                    target: None,
                }
            }
            Entry::Symlink { target } => {
                let node = unixfs::symlink(target, profile, store).map_err(import_err)?;
                FileRecord {
                    cid: node.cid.to_string(),
                    layer,
                    shadows,
                    size: target.len() as u64,
                    target: Some(target.clone()),
                }
            }
        };
        files.insert(path.to_string(), record);
    }
    Ok((
        ImageManifest {
            files,
            layers,
            profile: profile.name.to_string(),
            root: root.cid.to_string(),
        },
        union,
        trees.into_iter().map(|(_, t)| t).collect(),
    ))
}

fn inputs_fingerprint(
    config: &Config,
    images: &[&Image],
    opts: &BuildOptions,
    out: &Path,
    outside: &[PathBuf],
) -> String {
    let mut fp = Fingerprint::new();
    fp.add("wwpack", env!("CARGO_PKG_VERSION").as_bytes());
    if let Ok(exe) = std::env::current_exe() {
        fp.add_stat(&exe);
    }
    fp.add_stat(&config.root.join(crate::config::FILE_NAME));
    fp.add(
        "toolchain",
        &fingerprint::toolchain(&config.guests_workspace),
    );
    fp.add(
        "SOURCE_DATE_EPOCH",
        std::env::var("SOURCE_DATE_EPOCH")
            .unwrap_or_default()
            .as_bytes(),
    );
    let names: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
    fp.add("images", names.join(",").as_bytes());
    fp.add(
        "options",
        format!("{} {} {}", opts.locked, opts.deny_shadowing, out.display()).as_bytes(),
    );
    fp.add_tree(&config.guests_workspace, &["target"]);
    for input in outside {
        fp.add_tree(input, &["target"]);
    }
    for layer in config.layers.values() {
        if let Some(path) = &layer.path {
            fp.add_tree(path, &[]);
        }
    }
    fp.finish()
}

/// The last report, if the inputs, the lock, the images and their pins are as that build left
/// them.
fn up_to_date(
    stamp: Stamp,
    fingerprint: &str,
    lock_path: &Path,
    store: &Store,
) -> Option<BuildReport> {
    if stamp.fingerprint != fingerprint || stamp.lock != lock_digest(lock_path) {
        return None;
    }
    for image in &stamp.report.images {
        let root = image.root.parse().ok()?;
        if !image.dir.join(ww_image::PID0).is_file() || !store.has(&root) {
            return None;
        }
    }
    let mut report = stamp.report;
    report.up_to_date = true;
    report.lock_written = false;
    report.hashed_files = 0;
    Some(report)
}

/// The inputs of the guests outside their workspace: path dependencies' directories, and the
/// files listed in the dep-info (`<artifact>.d`) of each artifact that lie outside the workspace
/// (followed through its symlinks when it is walked), those directories, the target directory
/// and the cargo home (whose registry sources never change).
fn outside_inputs<'a>(
    workspace: &Workspace,
    target_dir: &Path,
    artifacts: impl Iterator<Item = &'a PathBuf>,
) -> Vec<PathBuf> {
    let mut inputs: BTreeSet<PathBuf> = workspace.path_deps.values().cloned().collect();
    let dirs: Vec<PathBuf> = inputs.iter().cloned().collect();
    let home = crate::guests::cargo_home();
    let workspace_dir = std::path::absolute(&workspace.dir).unwrap_or(workspace.dir.clone());
    for artifact in artifacts {
        for file in fingerprint::dep_info(&artifact.with_extension("d")) {
            // Files in the target directory are outputs of other inputs (generated code,
            // embedded artifacts).
            let covered = file.starts_with(&workspace_dir)
                || file.starts_with(target_dir)
                || dirs.iter().any(|d| file.starts_with(d))
                || home.as_ref().is_some_and(|h| file.starts_with(h));
            if !covered {
                inputs.insert(file);
            }
        }
    }
    inputs.into_iter().collect()
}

fn read_stamp(stamp_path: &Path) -> Option<Stamp> {
    serde_json::from_slice(&std::fs::read(stamp_path).ok()?).ok()
}

fn lock_digest(lock_path: &Path) -> String {
    let mut fp = Fingerprint::new();
    fp.add("lock", &std::fs::read(lock_path).unwrap_or_default());
    fp.finish()
}

/// Best effort: without a stamp the next build is simply a full one.
fn save_stamp(
    stamp_path: &Path,
    fingerprint: String,
    inputs: Vec<PathBuf>,
    lock_path: &Path,
    report: &BuildReport,
) {
    let stamp = Stamp {
        fingerprint,
        inputs,
        lock: lock_digest(lock_path),
        report: report.clone(),
    };
    if let Ok(text) = serde_json::to_vec_pretty(&stamp) {
        if let Some(dir) = stamp_path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = ww_content::atomic::write_file(stamp_path, &text) {
            tracing::warn!("cannot record the build stamp: {e}");
        }
    }
}
