//! The two sides of `wwpack diff`: what each argument names, read into [`Snapshot`]s.
//!
//! An argument is, in this order: an existing file (a `wwpack.lock`), an existing directory
//! holding `wwpack.toml` and `wwpack.lock` (that project's lock), another existing directory (an
//! image, hashed here), or a CID (`CID[/path]`, `/ipfs/CID[/path]`) read through the chain `ww
//! run` uses: the embedded block store, then the IPFS node. `FILE:IMAGE` and `--git REV:IMAGE`
//! pick one image of a lock. Without a second argument the other side is a fresh build of the
//! working tree, written to `target/wwpack/worktree/` so that `wwpack.lock` is left alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::Config;
use crate::error::{Error, Result};
use ww_content::block::{BlockSource, NullSink};
use ww_content::chain::{self, ChainSource};
use ww_content::path::ContentPath;
use ww_content::store::Store;
use ww_content::tree::{Entry, Tree};
use ww_content::unixfs::read::Reader;
use ww_content::unixfs::{self, FileNodes, Profile};
use ww_image::layer::LayerEntry;
use ww_image::manifest::{GuestRecord, ImageManifest, LayerRecord, Lock, LOCK_FILE};

/// A side as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SideSpec {
    /// A path or CID, optionally `:IMAGE` after a lock file.
    Arg(String),
    /// `--git REV[:IMAGE]`: the lock committed at `REV` (the whole value is tried as a
    /// revision first, so revisions with a `:` work).
    Git(String),
    /// A fresh build of the working tree.
    WorkTree,
}

/// One file (or symlink) of an image, as a side knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileView {
    pub cid: String,
    pub size: u64,
    /// The layer that provides it; `None` when the side does not know (a directory, a CID).
    pub layer: Option<String>,
    /// The layers whose file at this path it hides; `None` when unknown.
    pub shadows: Option<Vec<String>>,
    /// A symlink's target.
    pub target: Option<String>,
    /// Where its bytes are on this machine, when they are (an image directory).
    pub host: Option<PathBuf>,
}

/// One image of a side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageView {
    pub root: String,
    /// The UnixFS profile of its CIDs; `None` when unknown (a CID not in the project's lock).
    pub profile: Option<String>,
    /// `None` when the side does not know the layers.
    pub layers: Option<Vec<LayerRecord>>,
    pub files: BTreeMap<String, FileView>,
}

/// What one side holds.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// How the side is named in the output, e.g. `wwpack.lock`, `git main`, a CID.
    pub label: String,
    /// `lock`, `git`, `directory`, `cid` or `worktree`.
    pub kind: &'static str,
    pub images: BTreeMap<String, ImageView>,
    /// The side names one image (a directory, a CID, `LOCK:IMAGE`), whatever its name.
    pub single: bool,
    /// The guests of a lock; `None` for sides without them.
    pub guests: Option<BTreeMap<String, GuestRecord>>,
    /// For an image directory: where it is, to hash it again under another profile.
    pub dir: Option<PathBuf>,
}

/// What resolving a side may use: the project (for `--git`, the working tree and provenance),
/// the block store and the IPFS node.
pub struct Env<'a> {
    pub project: Option<&'a Config>,
    pub store: Option<&'a Store>,
    /// Whether blocks fetched from the node are kept in the store (it is writable).
    pub keep: bool,
    pub node: Option<&'a dyn BlockSource>,
    /// The node's API URL (and where it came from), for messages.
    pub node_label: Option<String>,
    /// Builds the working tree of the project into a lock of its own (`wwpack diff` with fewer
    /// than two sides); `None` where no build is possible. The command line gives it, so that
    /// comparing never depends on building (and the build can use the comparison).
    pub build_worktree: Option<BuildWorktree<'a>>,
}

/// A fresh build of a project's working tree: its lock, and the directory each image was
/// written to (where the bytes of its files are).
pub struct Worktree {
    pub lock: Lock,
    pub images: BTreeMap<String, PathBuf>,
}

/// Builds the working tree of a project, storing blocks in the store.
pub type BuildWorktree<'a> = &'a dyn Fn(&Config, &Store) -> Result<Worktree>;

impl Env<'_> {
    /// Reads `spec` into a snapshot.
    pub fn resolve(&self, spec: &SideSpec) -> Result<Snapshot> {
        match spec {
            SideSpec::Arg(arg) => self.resolve_arg(arg),
            SideSpec::Git(value) => self.git(value),
            SideSpec::WorkTree => self.worktree(),
        }
    }

    fn project(&self, side: &str) -> Result<&Config> {
        self.project.ok_or_else(|| Error::Diff {
            side: side.to_string(),
            message: "needs a project: no wwpack.toml here or in a parent directory (use \
                      --manifest-path)"
                .into(),
        })
    }

    /// The committed lock: `wwpack.lock` at git's `HEAD` when the project is in a repository
    /// whose `HEAD` has one, else the file on disk.
    pub fn committed_lock(&self) -> Result<Snapshot> {
        let config = self.project(LOCK_FILE)?;
        if let Ok(Some(text)) = git_show(&config.root, "HEAD") {
            let lock = Lock::parse(&text, Path::new(&format!("HEAD:{LOCK_FILE}")))?;
            return from_lock(lock, "git HEAD".into(), "git", None);
        }
        let path = config.root.join(LOCK_FILE);
        lock_file(&path, LOCK_FILE, None)
    }

    fn resolve_arg(&self, arg: &str) -> Result<Snapshot> {
        let path = Path::new(arg);
        if path.is_file() {
            return lock_file(path, arg, None);
        }
        if path.is_dir() {
            if path.join(crate::config::FILE_NAME).is_file() {
                if !path.join(LOCK_FILE).is_file() {
                    return Err(Error::Diff {
                        side: arg.to_string(),
                        message: format!(
                            "is a project without a {LOCK_FILE}: run `wwpack build` there first"
                        ),
                    });
                }
                return lock_file(&path.join(LOCK_FILE), arg, None);
            }
            return self.directory(path, arg, None);
        }
        if let Some((file, image)) = arg.rsplit_once(':') {
            if Path::new(file).is_file() && !image.is_empty() {
                return lock_file(Path::new(file), arg, Some(image));
            }
        }
        match arg.parse::<ContentPath>() {
            Ok(target) => self.content(&target, arg),
            Err(_) => Err(Error::Diff {
                side: arg.to_string(),
                message: "is not a file, a directory or a CID".into(),
            }),
        }
    }

    /// An image directory, hashed as `wwpack build` hashes images: under `profile`, or else
    /// under the profile of the project's lock image whose root it matches, or else the default.
    pub fn directory(&self, dir: &Path, arg: &str, profile: Option<&str>) -> Result<Snapshot> {
        let tree = Tree::scan(dir)?;
        let known: Vec<(String, String)> = self
            .project_lock()
            .map(|l| {
                l.images
                    .into_values()
                    .map(|m| (m.profile, m.root))
                    .collect()
            })
            .unwrap_or_default();
        let candidates: Vec<String> = match profile {
            Some(p) => vec![p.to_string()],
            None => {
                let mut names: Vec<String> = known.iter().map(|(p, _)| p.clone()).collect();
                names.retain(|n| n != Profile::default().name);
                names.sort();
                names.dedup();
                names.insert(0, Profile::default().name.to_string());
                names
            }
        };
        let mut first = None;
        for name in &candidates {
            let profile: Profile = name.parse().map_err(|e: String| Error::Diff {
                side: arg.to_string(),
                message: e,
            })?;
            let image = hash_tree(&tree, &profile, arg)?;
            if known.iter().any(|(_, root)| *root == image.root) || candidates.len() == 1 {
                first = Some(image);
                break;
            }
            first.get_or_insert(image);
        }
        let image = first.expect("at least one profile");
        let name = std::fs::canonicalize(dir)
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| arg.to_string());
        let mut snapshot = self.single(arg, "directory", name, image);
        snapshot.dir = Some(dir.to_path_buf());
        Ok(snapshot)
    }

    fn project_lock(&self) -> Option<Lock> {
        self.project
            .and_then(|c| Lock::read(&c.root.join(LOCK_FILE)).ok().flatten())
    }

    /// A tree named by a CID: from the block store, else the IPFS node.
    fn content(&self, target: &ContentPath, arg: &str) -> Result<Snapshot> {
        let bad = |message: String| Error::Diff {
            side: arg.to_string(),
            message,
        };
        let store = self
            .store
            .ok_or_else(|| bad("no block store to read it from".into()))?;
        let hint = see_hint(&target.root);
        let chain = ChainSource::new(store, self.node)
            .keeping(self.keep)
            .explaining(self.node_label.clone(), hint.clone());
        let label = self.node_label.as_deref();
        match chain.get_unverified(&target.root) {
            Ok(Some(_)) => {}
            Ok(None) => {
                let missing = chain::missing(&target.root, store, label, None);
                return Err(bad(format!("{missing}; {hint}")));
            }
            Err(e) => {
                let missing = chain::missing(&target.root, store, label, Some(&e));
                return Err(bad(format!("{missing}; {hint}")));
            }
        }
        // Opened as ww's loader opens a layer: through the reader's walk, with its budgets.
        let reader = Reader::new(&chain);
        let layer = ww_image::layer::open(&reader, &target.root, &target.path)
            .map_err(|e| bad(e.to_string()))?;
        let mut files = BTreeMap::new();
        for (path, entry) in layer.entries {
            let (cid, size, target) = match entry {
                LayerEntry::Dir { .. } => continue,
                LayerEntry::File { cid, size, .. } => (cid, size, None),
                LayerEntry::Symlink { cid, target } => (cid, target.len() as u64, Some(target)),
            };
            files.insert(
                path.to_string(),
                FileView {
                    cid: cid.to_string(),
                    size,
                    layer: None,
                    shadows: None,
                    target,
                    host: None,
                },
            );
        }
        let image = ImageView {
            root: layer.root.to_string(),
            profile: None,
            layers: None,
            files,
        };
        Ok(self.single(arg, "cid", arg.to_string(), image))
    }

    /// A one-image side. When the project's lock has an image with the same root, the image
    /// takes that name and its provenance (layers, and which layer gives each file).
    fn single(&self, arg: &str, kind: &'static str, name: String, image: ImageView) -> Snapshot {
        let known = self
            .project_lock()
            .and_then(|lock| lock.images.into_iter().find(|(_, m)| m.root == image.root));
        let (name, image) = match known {
            Some((known_name, manifest)) => {
                let mut view = view_of(&manifest);
                for (path, file) in &mut view.files {
                    file.host = image.files.get(path).and_then(|f| f.host.clone());
                }
                (known_name, view)
            }
            None => (name, image),
        };
        Snapshot {
            label: arg.to_string(),
            kind,
            images: BTreeMap::from([(name, image)]),
            single: true,
            guests: None,
            dir: None,
        }
    }

    /// `--git VALUE`: the lock committed at revision `VALUE`, or at `REV` of `REV:IMAGE`.
    fn git(&self, value: &str) -> Result<Snapshot> {
        let side = format!("--git {value}");
        let bad = |message: String| Error::Diff {
            side: side.clone(),
            message,
        };
        if value.is_empty() || value.starts_with('-') {
            return Err(bad("is not a revision".into()));
        }
        let config = self.project(&side)?;
        let (rev, image) = match value.rsplit_once(':') {
            Some((rev, image))
                if !rev.is_empty() && !image.is_empty() && !is_revision(&config.root, value) =>
            {
                (rev, Some(image))
            }
            _ => (value, None),
        };
        let text = git_show(&config.root, rev)
            .map_err(bad)?
            .ok_or_else(|| bad(format!("revision {rev} has no {LOCK_FILE} in this project")))?;
        let lock = Lock::parse(&text, Path::new(&format!("{rev}:{LOCK_FILE}")))?;
        from_lock(lock, format!("git {value}"), "git", image)
    }

    /// A fresh build of the working tree ([`Env::build_worktree`]), with the bytes of its files
    /// on disk.
    fn worktree(&self) -> Result<Snapshot> {
        let config = self.project("the working tree")?;
        let store = self.store.ok_or_else(|| Error::Diff {
            side: "the working tree".into(),
            message: "building it needs a block store".into(),
        })?;
        let build = self.build_worktree.ok_or_else(|| Error::Diff {
            side: "the working tree".into(),
            message: "cannot be built here".into(),
        })?;
        let built = build(config, store)?;
        let mut snapshot = from_lock(built.lock, "working tree".into(), "worktree", None)?;
        for (name, dir) in &built.images {
            if let Some(image) = snapshot.images.get_mut(name) {
                for (path, file) in &mut image.files {
                    if file.target.is_none() {
                        file.host = Some(dir.join(path));
                    }
                }
            }
        }
        Ok(snapshot)
    }
}

/// A lock file, all its images or (`image`) one of them.
fn lock_file(path: &Path, label: &str, image: Option<&str>) -> Result<Snapshot> {
    let lock = Lock::read(path)?.ok_or_else(|| Error::Diff {
        side: label.to_string(),
        message: format!("{} does not exist", path.display()),
    })?;
    from_lock(lock, label.to_string(), "lock", image)
}

fn from_lock(
    lock: Lock,
    label: String,
    kind: &'static str,
    image: Option<&str>,
) -> Result<Snapshot> {
    let mut images: BTreeMap<String, ImageView> = lock
        .images
        .iter()
        .map(|(name, m)| (name.clone(), view_of(m)))
        .collect();
    if let Some(name) = image {
        let Some(view) = images.remove(name) else {
            return Err(Error::Diff {
                side: label,
                message: format!(
                    "has no image `{name}` (images: {})",
                    lock.images.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            });
        };
        images = BTreeMap::from([(name.to_string(), view)]);
    }
    Ok(Snapshot {
        label,
        kind,
        images,
        single: image.is_some(),
        guests: image.is_none().then_some(lock.guests),
        dir: None,
    })
}

fn view_of(m: &ImageManifest) -> ImageView {
    ImageView {
        root: m.root.clone(),
        profile: Some(m.profile.clone()),
        layers: Some(m.layers.clone()),
        files: m
            .files
            .iter()
            .map(|(path, f)| {
                (
                    path.clone(),
                    FileView {
                        cid: f.cid.clone(),
                        size: f.size,
                        layer: Some(f.layer.clone()),
                        shadows: Some(f.shadows.clone()),
                        target: f.target.clone(),
                        host: None,
                    },
                )
            })
            .collect(),
    }
}

/// The commit git knows as `rev` in the repository of `dir`, if any.
fn commit_of(dir: &Path, rev: &str) -> Option<String> {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let object = git(&["rev-parse", "--verify", "--quiet", "--end-of-options", rev])?;
    git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{object}^{{commit}}"),
    ])
}

/// Whether git knows `rev` as a commit in the repository of `dir`.
fn is_revision(dir: &Path, rev: &str) -> bool {
    commit_of(dir, rev).is_some()
}

/// The text of the project's `wwpack.lock` at revision `rev`: `Ok(None)` when the revision has
/// no such file, `Err` when git cannot run or does not know the revision.
fn git_show(dir: &Path, rev: &str) -> std::result::Result<Option<String>, String> {
    let Some(commit) = commit_of(dir, rev) else {
        let inside = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["rev-parse", "--git-dir"])
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if !inside.status.success() {
            return Err(format!("{} is not in a git repository", dir.display()));
        }
        return Err(format!("git knows no commit `{rev}` here"));
    };
    let spec = format!("{commit}:./{LOCK_FILE}");
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["show", "--no-textconv", &spec])
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !output.status.success() {
        return Ok(None);
    }
    String::from_utf8(output.stdout)
        .map(Some)
        .map_err(|_| format!("{rev}:{LOCK_FILE} is not UTF-8"))
}

/// The files of `tree` hashed under `profile`, as an image without provenance.
fn hash_tree(tree: &Tree, profile: &Profile, arg: &str) -> Result<ImageView> {
    let mut nodes = FileNodes::default();
    let err = |e: unixfs::ImportError| Error::Diff {
        side: arg.to_string(),
        message: e.to_string(),
    };
    let root = unixfs::import_tree_with(tree, profile, &NullSink, &mut nodes).map_err(err)?;
    let mut files = BTreeMap::new();
    for (path, entry) in tree.iter() {
        let view = match entry {
            Entry::Dir => continue,
            Entry::File { source } => {
                let node = &nodes.by_source[source];
                FileView {
                    cid: node.cid.to_string(),
                    size: node.filesize,
                    layer: None,
                    shadows: None,
                    target: None,
                    host: Some(source.clone()),
                }
            }
            Entry::Symlink { target } => FileView {
                cid: unixfs::symlink(target, profile, &NullSink)
                    .map_err(err)?
                    .cid
                    .to_string(),
                size: target.len() as u64,
                layer: None,
                shadows: None,
                target: Some(target.clone()),
                host: None,
            },
        };
        files.insert(path.to_string(), view);
    }
    Ok(ImageView {
        root: root.cid.to_string(),
        profile: Some(profile.name.to_string()),
        layers: None,
        files,
    })
}

/// What to do to see the content of `cid` that is to be had nowhere.
pub fn see_hint(cid: &ww_content::cid::Cid) -> String {
    format!("build that version, or `wwpack pull {cid}`, to see it")
}
