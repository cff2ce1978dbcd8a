//! `wwpack push`: uploads the blocks of images of `wwpack.lock` (and of their layers) that the
//! IPFS node lacks, and pins the roots there, with a bar of the blocks and bytes to send (known
//! once the node has said what it lacks) on a terminal.

use std::path::Path;

use anyhow::Context;
use ww_content::progress::Meter;
use ww_content::text::printable;
use ww_content::transfer::PushItem;
use ww_image::manifest::{Lock, LOCK_FILE};

use crate::cli::progress::{self, Bar, Items};
use crate::cli::{errln, outln, Globals};
use crate::config::Config;

/// What to push: the images `names` of the project's lock (all of them when empty), each with
/// its root and its layers' roots.
pub fn items(config: &Config, names: &[String]) -> anyhow::Result<Vec<PushItem>> {
    let lock_path = config.root.join(LOCK_FILE);
    let lock = Lock::read(&lock_path)?.with_context(|| {
        format!(
            "no {} to push from: run `wwpack build`",
            lock_path.display()
        )
    })?;
    select(&lock, &lock_path, names)
}

/// The images `names` of `lock` (read from `lock_path`), or all of them.
fn select(lock: &Lock, lock_path: &Path, names: &[String]) -> anyhow::Result<Vec<PushItem>> {
    let names: Vec<String> = if names.is_empty() {
        lock.images.keys().cloned().collect()
    } else {
        names.to_vec()
    };
    let mut items = Vec::new();
    for name in &names {
        let image = lock
            .images
            .get(name)
            .with_context(|| format!("no image `{name}` in {}", lock_path.display()))?;
        items.push(PushItem {
            name: name.clone(),
            root: image.root.parse()?,
            also: image
                .layers
                .iter()
                .map(|l| l.cid.parse())
                .collect::<Result<_, _>>()?,
        });
    }
    Ok(items)
}

/// Pushes `images` and prints each image's root (or, with `json`, a JSON report).
pub fn run(g: &Globals, images: &[String], json: bool) -> anyhow::Result<()> {
    let config = g.load_config()?;
    let store = g.open_store()?;
    let items = items(&config, images)?;
    let node = g.connect()?;
    let meter = Meter::new();
    let bar = Bar::start(
        progress::wanted(g.quiet, json),
        "pushing",
        &meter,
        Items::Blocks,
    );
    let counts = ww_content::transfer::push_metered(&store, &node, &items, &meter)?;
    bar.finish();
    if json {
        let images: Vec<_> = items
            .iter()
            .map(|i| serde_json::json!({"name": i.name, "root": i.root.to_string()}))
            .collect();
        outln!(
            "{}",
            serde_json::json!({"api": node.url(), "images": images, "counts": counts})
        )?;
    } else {
        for item in &items {
            outln!("{}\t{}", printable(&item.name), item.root)?;
        }
        if !g.quiet {
            errln!(
                "sent {} blocks ({} bytes), skipped {} blocks ({} bytes) already on {}",
                counts.blocks_sent,
                counts.bytes_sent,
                counts.blocks_skipped,
                counts.bytes_skipped,
                node.url()
            );
        }
    }
    Ok(())
}
