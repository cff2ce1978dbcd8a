//! `wwpack publish`: names the roots of images (or DAGs by CID) so that a runtime can find
//! their newest versions: `--name KEY` pushes them (as `push`, all in one) and points the IPNS
//! name of the node's key `KEY` at each root (`--create-key` makes a key first when the node
//! lacks it), then reads the node's record of each name for its sequence number; `--head FILE`
//! writes `/ipfs/CID` to a local head file instead, atomically, and needs no node (for a ww
//! that reads the same store). A name points at one root: the images and the names (or head
//! files) are paired in the order given, one for one.

use std::path::PathBuf;

use anyhow::Context;
use ww_content::ipfs::name::check_key_name;
use ww_content::text::printable;

use crate::cli::{outln, Globals};

/// Where `publish` points the images, one for each, in order.
pub enum To<'a> {
    /// The IPNS names of the node's keys, each made first when `create` and the node lacks it.
    Names { keys: &'a [String], create: bool },
    /// Local head files.
    Heads(&'a [PathBuf]),
}

/// Publishes each of `images` (images of the lock, or CIDs) to its name or head file in `to`;
/// prints one line per image (name or head file, root, and for a name its sequence number),
/// or with `json` one JSON object for them all.
pub fn run(g: &Globals, images: &[String], to: To<'_>, json: bool) -> anyhow::Result<()> {
    let (count, what) = match &to {
        To::Names { keys, .. } => (keys.len(), "--name"),
        To::Heads(files) => (files.len(), "--head"),
    };
    anyhow::ensure!(
        count == images.len(),
        "{} image{} and {count} {what}: give one {what} per image, in the same order",
        images.len(),
        if images.len() == 1 { "" } else { "s" }
    );
    let twice = |all: Vec<String>| {
        let mut seen = std::collections::BTreeSet::new();
        all.into_iter().find(|one| !seen.insert(one.clone()))
    };
    let again = match &to {
        To::Names { keys, .. } => twice(keys.to_vec()),
        To::Heads(files) => twice(files.iter().map(|f| f.display().to_string()).collect()),
    };
    if let Some(again) = again {
        anyhow::bail!(
            "{what} `{}` is given twice: a name or head file points at one root",
            printable(&again)
        );
    }
    match to {
        To::Heads(files) => heads(g, images, files, json),
        To::Names { keys, create } => names(g, images, keys, create, json),
    }
}

fn heads(g: &Globals, images: &[String], files: &[PathBuf], json: bool) -> anyhow::Result<()> {
    let targets = super::push::targets(g, images)?;
    let store = g.open_store()?;
    for target in &targets {
        let root = &target.item.root;
        anyhow::ensure!(
            store.has(root),
            "{root} is not in the block store {}: build or add it first (a head file is read by \
             a ww with this store)",
            store.dir().display()
        );
    }
    let mut written = Vec::new();
    for (target, file) in targets.iter().zip(files) {
        let value = format!("/ipfs/{}", target.item.root);
        ww_content::atomic::write_file(file, format!("{value}\n").as_bytes())
            .with_context(|| format!("writing the head file {}", file.display()))?;
        if !json {
            outln!("{}\t{value}", printable(&file.display().to_string()))?;
        }
        written.push(serde_json::json!({
            "target": target.arg,
            "head": file.display().to_string(),
            "value": value,
        }));
    }
    if json {
        outln!("{}", serde_json::json!({ "published": written }))?;
    }
    Ok(())
}

fn names(
    g: &Globals,
    images: &[String],
    keys: &[String],
    create: bool,
    json: bool,
) -> anyhow::Result<()> {
    for key in keys {
        check_key_name(key).map_err(|e| anyhow::anyhow!("--name {e}"))?;
    }
    // The keys first: a publish that cannot name every root pushes nothing.
    let targets = super::push::targets(g, images)?;
    let store = g.open_store()?;
    let node = g.connect()?;
    let have = node.keys()?;
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| !have.iter().any(|h| &h.name == *k))
        .collect();
    if let Some(key) = missing.first() {
        anyhow::ensure!(
            create,
            "the IPFS node at {} has no key `{}` (its keys: {}): give --create-key to make it",
            node.url(),
            printable(key),
            have.iter()
                .map(|k| printable(&k.name).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for key in missing {
        node.key_gen(key)?;
    }
    let pushed = super::push::push(g, &store, &node, &targets, true)?;
    let mut published = Vec::new();
    for (target, key) in targets.iter().zip(keys) {
        let root = &target.item.root;
        let name = node.publish_name(root, key)?;
        let value = format!("/ipfs/{root}");
        // The record the node now keeps: its sequence number, and a check that it says what
        // was published. A node that cannot show its records still published the name.
        let sequence = match node.name_record(&name) {
            Ok(record) => {
                anyhow::ensure!(
                    record.value == value,
                    "the IPFS node at {}: its record of /ipns/{} points at `{}`, not the {value} \
                     just published",
                    node.url(),
                    printable(&name),
                    printable(&record.value)
                );
                Some(record.sequence)
            }
            Err(e) => {
                tracing::warn!("/ipns/{}: no sequence number: {e}", printable(&name));
                None
            }
        };
        if !json {
            let sequence = sequence.map_or("-".to_string(), |s| s.to_string());
            outln!("/ipns/{}\t{value}\t{sequence}", printable(&name))?;
        }
        published.push(serde_json::json!({
            "target": target.arg,
            "key": key,
            "name": format!("/ipns/{name}"),
            "value": value,
            "sequence": sequence,
        }));
    }
    if json {
        outln!(
            "{}",
            serde_json::json!({
                "api": node.url(),
                "published": published,
                "counts": pushed.total,
            })
        )?;
    }
    Ok(())
}
