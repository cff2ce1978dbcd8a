//! `wwpack push [IMAGE|CID ...]`: uploads to the IPFS node the blocks it lacks of images of
//! `wwpack.lock` (each with its layers) or of DAGs of the block store named by CID (a root
//! printed by `wwpack add`), and pins their roots there (an image's root and its layers'
//! roots), with a bar of the blocks and bytes to send (known once the node has said what it
//! lacks) on a terminal. Details: docs/push.md.

use std::path::PathBuf;

use anyhow::Context;
use ww_content::cid::Cid;
use ww_content::ipfs::Node;
use ww_content::progress::Meter;
use ww_content::store::Store;
use ww_content::text::printable;
use ww_content::transfer::{Counts, PushError, PushItem, Pushed};
use ww_image::manifest::{Lock, LOCK_FILE};

use crate::cli::progress::{self, Bar, Items};
use crate::cli::{errln, outln, Globals};

/// One thing to push, as the command line named it.
pub(crate) struct Target {
    /// The argument (an image's name, or a CID as given; an image's name when no argument
    /// was given).
    pub(crate) arg: String,
    /// The image's name, or `None` for a DAG named by CID.
    pub(crate) image: Option<String>,
    pub(crate) item: PushItem,
}

/// The project's lock, read once, when an argument (or the lack of one) needs it.
struct LockFile {
    path: PathBuf,
    lock: Lock,
}

impl LockFile {
    fn load(g: &Globals) -> anyhow::Result<LockFile> {
        let config = g.load_config()?;
        let path = config.root.join(LOCK_FILE);
        let lock = Lock::read(&path)?.with_context(|| {
            format!(
                "no {} to push images from: run `wwpack build`",
                printable(&path.display().to_string())
            )
        })?;
        Ok(LockFile { path, lock })
    }

    /// The image `name` of the lock, with its root and its layers' roots, if it has one.
    fn image(&self, name: &str) -> anyhow::Result<Option<Target>> {
        let Some(image) = self.lock.images.get(name) else {
            return Ok(None);
        };
        let cid = |text: &str| -> anyhow::Result<Cid> {
            text.parse().with_context(|| {
                format!(
                    "image `{}` of {}: `{}` is not a CID",
                    printable(name),
                    self.path_text(),
                    printable(text)
                )
            })
        };
        Ok(Some(Target {
            arg: name.to_string(),
            image: Some(name.to_string()),
            item: PushItem {
                name: format!("image `{}`", printable(name)),
                root: cid(&image.root)?,
                also: image
                    .layers
                    .iter()
                    .map(|l| cid(&l.cid))
                    .collect::<anyhow::Result<_>>()?,
            },
        }))
    }

    fn path_text(&self) -> String {
        printable(&self.path.display().to_string()).into_owned()
    }

    fn names(&self) -> String {
        if self.lock.images.is_empty() {
            return "it has none".into();
        }
        let names: Vec<String> = self
            .lock
            .images
            .keys()
            .map(|n| printable(n).into_owned())
            .collect();
        format!("its images: {}", names.join(", "))
    }
}

/// What `args` name, in order: a CID is that DAG of the store; anything else an image of the
/// lock. No argument: every image of the lock.
pub(crate) fn targets(g: &Globals, args: &[String]) -> anyhow::Result<Vec<Target>> {
    let mut lock: Option<LockFile> = None;
    if args.is_empty() {
        let lock = LockFile::load(g)?;
        let mut all = Vec::new();
        for name in lock.lock.images.keys() {
            all.extend(lock.image(name)?);
        }
        return Ok(all);
    }
    let mut targets = Vec::with_capacity(args.len());
    for arg in args {
        let not_cid = match arg.parse::<Cid>() {
            Ok(root) => {
                targets.push(Target {
                    arg: arg.clone(),
                    image: None,
                    item: PushItem {
                        name: root.to_string(),
                        root,
                        also: Vec::new(),
                    },
                });
                continue;
            }
            Err(e) => e,
        };
        let lock = match &mut lock {
            Some(lock) => lock,
            None => lock.insert(LockFile::load(g).with_context(|| {
                format!(
                    "`{}` is not a CID ({not_cid}) and cannot be looked up as an image",
                    printable(arg)
                )
            })?),
        };
        let target = lock.image(arg)?.with_context(|| {
            format!(
                "`{}` is neither a CID ({not_cid}) nor an image of {} ({})",
                printable(arg),
                lock.path_text(),
                lock.names()
            )
        })?;
        targets.push(target);
    }
    Ok(targets)
}

/// What to do about a block missing from the store, for `target`.
fn hint(target: &Target) -> String {
    match &target.image {
        Some(name) => format!(
            "the lock names blocks the store no longer holds: rebuild with `wwpack build {}`",
            printable(name)
        ),
        None => format!(
            "fetch the DAG with `wwpack pull {}` from a node that has it, or store its files \
             with `wwpack add PATH`",
            target.item.root
        ),
    }
}

/// Pushes `targets` from `store` to `node` (a bar on a terminal unless `quiet_bar`): what was
/// sent. Shared with `wwpack publish`.
pub(crate) fn push(
    g: &Globals,
    store: &Store,
    node: &Node,
    targets: &[Target],
    quiet_bar: bool,
) -> anyhow::Result<Pushed> {
    let items: Vec<PushItem> = targets.iter().map(|t| t.item.clone()).collect();
    let meter = Meter::new();
    let bar = Bar::start(
        progress::wanted(g.quiet, quiet_bar),
        "pushing",
        &meter,
        Items::Blocks,
    );
    let pushed = ww_content::transfer::push_metered(store, node, &items, &meter);
    bar.finish();
    pushed.map_err(|e| match &e {
        PushError::Missing { index, .. } => anyhow::anyhow!("{e}: {}", hint(&targets[*index])),
        PushError::Block(_) => anyhow::Error::from(e),
    })
}

/// Pushes what `args` name and prints each one's argument and root (or, with `json`, a JSON
/// report of what was sent and skipped, per target and in all).
pub fn run(g: &Globals, args: &[String], json: bool) -> anyhow::Result<()> {
    let targets = targets(g, args)?;
    let store = g.open_store()?;
    let node = g.connect()?;
    let pushed = push(g, &store, &node, &targets, json)?;
    if json {
        let images: Vec<_> = targets
            .iter()
            .zip(&pushed.items)
            .map(|(t, counts)| {
                serde_json::json!({
                    "name": t.image,
                    "root": t.item.root.to_string(),
                    "layers": t.item.also.iter().map(Cid::to_string).collect::<Vec<_>>(),
                    "counts": counts,
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::json!({"api": node.url(), "images": images, "counts": pushed.total})
        )?;
    } else {
        for target in &targets {
            outln!("{}\t{}", printable(&target.arg), target.item.root)?;
        }
        if !g.quiet {
            let Counts {
                blocks_sent,
                bytes_sent,
                blocks_skipped,
                bytes_skipped,
            } = pushed.total;
            let roots = pushed.pinned.len();
            errln!(
                "sent {blocks_sent} blocks ({bytes_sent} bytes), skipped {blocks_skipped} blocks \
                 ({bytes_skipped} bytes) already on {}; pinned {roots} root{}",
                node.url(),
                if roots == 1 { "" } else { "s" }
            );
        }
    }
    Ok(())
}
