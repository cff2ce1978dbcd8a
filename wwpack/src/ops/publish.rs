//! `wwpack publish`: names the root of one image (or a DAG by CID) so that a runtime can find
//! its newest version: `--name KEY` pushes it (as `push`) and points the IPNS name of the
//! node's key `KEY` at it (`--create-key` makes the key first when the node lacks it);
//! `--head FILE` writes `/ipfs/CID` to a local head file instead, atomically, and needs no
//! node (for a ww that reads the same store). A name points at one root, so one target.

use std::path::Path;

use anyhow::Context;
use ww_content::ipfs::name::check_key_name;
use ww_content::text::printable;

use crate::cli::{outln, Globals};

/// Where `publish` points.
pub enum To<'a> {
    /// The IPNS name of the node's key, made first when `create` and the node lacks it.
    Name { key: &'a str, create: bool },
    /// A local head file.
    Head(&'a Path),
}

/// Publishes `target` (an image of the lock, or a CID) to `to`; prints the name (or head
/// file) and the root, or with `json` a JSON object of them.
pub fn run(g: &Globals, target: &str, to: To<'_>, json: bool) -> anyhow::Result<()> {
    match to {
        To::Head(file) => {
            let targets = super::push::targets(g, &[target.to_string()])?;
            let root = &targets[0].item.root;
            let store = g.open_store()?;
            anyhow::ensure!(
                store.has(root),
                "{root} is not in the block store {}: build or add it first (a head file is \
                 read by a ww with this store)",
                store.dir().display()
            );
            let value = format!("/ipfs/{root}");
            ww_content::atomic::write_file(file, format!("{value}\n").as_bytes())
                .with_context(|| format!("writing the head file {}", file.display()))?;
            if json {
                outln!(
                    "{}",
                    serde_json::json!({"head": file.display().to_string(), "value": value})
                )?;
            } else {
                outln!("{}\t{value}", printable(&file.display().to_string()))?;
            }
        }
        To::Name { key, create } => {
            check_key_name(key).map_err(|e| anyhow::anyhow!("--name {e}"))?;
            // The key first: a publish that cannot name the root pushes nothing.
            let targets = super::push::targets(g, &[target.to_string()])?;
            let store = g.open_store()?;
            let node = g.connect()?;
            let keys = node.keys()?;
            if !keys.iter().any(|k| k.name == key) {
                anyhow::ensure!(
                    create,
                    "the IPFS node at {} has no key `{}` (its keys: {}): give --create-key to \
                     make it",
                    node.url(),
                    printable(key),
                    keys.iter()
                        .map(|k| printable(&k.name).into_owned())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                node.key_gen(key)?;
            }
            let pushed = super::push::push(g, &store, &node, &targets, true)?;
            let root = &targets[0].item.root;
            let name = node.publish_name(root, key)?;
            let value = format!("/ipfs/{root}");
            if json {
                outln!(
                    "{}",
                    serde_json::json!({
                        "api": node.url(),
                        "key": key,
                        "name": format!("/ipns/{name}"),
                        "value": value,
                        "counts": pushed.total,
                    })
                )?;
            } else {
                outln!("/ipns/{}\t{value}", printable(&name))?;
            }
        }
    }
    Ok(())
}
