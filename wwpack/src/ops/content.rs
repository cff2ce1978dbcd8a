//! The content verbs of `wwpack` on the embedded block store: `cid`, `add`, `cat`, `ls`,
//! `export`, `import` (`gc` is with the store's other upkeep, in `store.rs`). Each is a function
//! that does the work and returns what it found (`cid`, `add`, ...), and one that runs the verb
//! and prints (`run_cid`, `run_add`, ...); the command line only parses arguments. With `--json`
//! each but `cat` (whose output is the file) prints the object, or for `ls` the lines, that
//! docs/json.md documents. `add`, `import` and `export` count their bytes on a
//! [`Meter`] that the verb draws as a bar on a terminal ([`crate::cli::progress`]).
//!
//! `cat`, `ls` and `export` read through the chain ([`ww_content::chain`], as `ww run` and
//! `diff` do): the store, then the IPFS node (`--api`, resolved as every verb resolves it),
//! connected only when a block is missing, every block verified, at most
//! [`MAX_UNTRUSTED_BLOCKS`] fetched. What the node gives is kept in the store, unpinned (as
//! Kubo's `ipfs cat` keeps it in its repository: the next read needs no node, and `gc` removes
//! it unless a pin reaches it; `pull` pins), unless the store cannot be written, which then
//! serves what it has. A block found nowhere is an error naming it, the store and the node,
//! with the way to get it (`wwpack pull`).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use ww_content::path::ContentPath;
use ww_content::progress::{Meter, MeteredRead};
use ww_content::text::printable;

use crate::cli::output::{Output, OutputError, Stdout};
use crate::cli::progress::{self, Bar, Items};
use crate::cli::{errln, outln, report_repairs, Globals};
use ww_content::block::{BlockError, BlockSource, NullSink};
use ww_content::car::{self, CarError, ExportReport, ImportReport};
use ww_content::chain::{pull_hint, ChainSource};
use ww_content::cid::Cid;
use ww_content::ipfs::LazyNode;
use ww_content::store::Store;
use ww_content::tree::{Entry as TreeEntry, Tree};
use ww_content::unixfs::read::{DirEntry, Kind, ReadError, Reader};
use ww_content::unixfs::{self, FileNodes, ImportError, Imported, Profile};
use ww_content::walk::MAX_UNTRUSTED_BLOCKS;

/// Why a content verb failed.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Car(#[from] CarError),
    #[error(transparent)]
    Block(#[from] BlockError),
    #[error(transparent)]
    Tree(#[from] ww_content::Error),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    BadPath(#[from] ww_content::path::BadPath),
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The root CID of `path` under `profile`, as `ipfs add -r --hidden --only-hash` computes it;
/// nothing is written.
pub fn cid(path: &Path, profile: &Profile) -> Result<Imported, ContentError> {
    Ok(unixfs::import_path(path, profile, &NullSink)?)
}

/// Imports `path` into `store` and pins the root (labelled with the path).
///
/// The tree is checked first (entry types, names, and that every file can be opened), so that the
/// usual mistakes store nothing. Should reading fail later anyway, the blocks written so far are
/// complete, verified blocks that no pin holds: the next `gc` removes them.
pub fn add(store: &Store, path: &Path, profile: &Profile) -> Result<Imported, ContentError> {
    add_metered(store, path, profile, &Meter::new())
}

/// [`add`], counting on `meter` the bytes and files read and hashed, of the totals the check
/// found (the files' sizes when it opened them).
pub fn add_metered(
    store: &Store,
    path: &Path,
    profile: &Profile,
    meter: &Meter,
) -> Result<Imported, ContentError> {
    let (scanned, files, bytes) = preflight(path)?;
    meter.set_items_total(files);
    meter.set_bytes_total(bytes);
    let guard = store.writer()?;
    let mut nodes = FileNodes {
        meter: Some(meter.clone()),
        ..FileNodes::default()
    };
    // Blocks are written behind the import, by a thread of their own.
    let batch = store.batch()?;
    let node = match &scanned {
        // The tree the check read: not walked a second time.
        Some(tree) => unixfs::import_tree_with(tree, profile, &batch, &mut nodes)?,
        None if files == 1 => nodes.get_or_import(path, profile, &batch)?,
        None => unixfs::import_path(path, profile, &batch)?,
    };
    batch.finish()?;
    store.pin(&node.cid, Some(&path.display().to_string()))?;
    drop(guard);
    Ok(node)
}

/// Checks what `add` will import; for a directory, returns the tree it read. Also returns how
/// many regular files it holds and their bytes (as they were when checked).
fn preflight(path: &Path) -> Result<(Option<Tree>, u64, u64), ContentError> {
    let meta = std::fs::symlink_metadata(path).map_err(|source| ContentError::Io {
        action: "read",
        path: path.display().to_string(),
        source,
    })?;
    if !meta.is_dir() {
        if meta.is_file() {
            return Ok((None, 1, open_check(path)?));
        }
        return Ok((None, 0, 0));
    }
    let tree = Tree::scan(path)?;
    let (mut files, mut bytes) = (0, 0u64);
    for (_, entry) in tree.iter() {
        if let TreeEntry::File { source } = entry {
            files += 1;
            bytes = bytes.saturating_add(open_check(source)?);
        }
    }
    Ok((Some(tree), files, bytes))
}

/// Opens the file at `path` (so that one that cannot be read fails before anything is stored);
/// returns its size.
fn open_check(path: &Path) -> Result<u64, ContentError> {
    std::fs::File::open(path)
        .and_then(|file| file.metadata())
        .map(|meta| meta.len())
        .map_err(|source| ContentError::Io {
            action: "read",
            path: path.display().to_string(),
            source,
        })
}

/// Writes the file at `target` (bytes `offset..offset+length`) to `out`; returns bytes written.
pub fn cat(
    store: &dyn BlockSource,
    target: &ContentPath,
    offset: u64,
    length: Option<u64>,
    out: &mut dyn Write,
) -> Result<u64, ContentError> {
    // As many bytes as the file holds: the output is what the user asked for.
    let reader = Reader::new(store).with_max_bytes(u64::MAX);
    let cid = reader.resolve(&target.root, &target.path)?;
    Ok(reader.read_range(&cid, offset, length.unwrap_or(u64::MAX), out)?)
}

/// One line of `ls`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    pub name: String,
    pub cid: String,
    /// `file`, `directory` or `symlink`.
    pub kind: &'static str,
    /// File size in bytes; the cumulative DAG size for directories.
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// The entries of the directory at `target` (or the file itself, as `ls` does).
pub fn ls(store: &dyn BlockSource, target: &ContentPath) -> Result<Vec<Listed>, ContentError> {
    let reader = Reader::new(store);
    let cid = reader.resolve(&target.root, &target.path)?;
    let kind = reader.stat(&cid)?;
    let entries = if kind == Kind::Directory {
        reader.list(&cid)?
    } else {
        let name = target
            .path
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        vec![DirEntry {
            name,
            cid: cid.clone(),
            tsize: None,
        }]
    };
    entries
        .into_iter()
        .map(|e| {
            let kind = reader.stat(&e.cid)?;
            let (size, target) = match &kind {
                Kind::File { size } => (*size, None),
                Kind::Directory => (e.tsize.unwrap_or(0), None),
                Kind::Symlink { target } => (target.len() as u64, Some(target.clone())),
            };
            Ok(Listed {
                name: e.name,
                cid: e.cid.to_string(),
                kind: kind.word(),
                size,
                target,
            })
        })
        .collect()
}

/// Writes a CAR of the DAG under `root` to `file` by the rules of [`crate::cli::output`]: `-` is
/// stdout, a regular file (or a new one) is replaced atomically, a FIFO or device is written in
/// place, a symlink is followed.
pub fn export(
    store: &dyn BlockSource,
    root: &Cid,
    file: &Path,
) -> Result<ExportReport, ContentError> {
    export_metered(store, root, file, &Meter::new())
}

/// [`export`], counting on `meter` the blocks and bytes written, of the total the root claims.
pub fn export_metered(
    store: &dyn BlockSource,
    root: &Cid,
    file: &Path,
    meter: &Meter,
) -> Result<ExportReport, ContentError> {
    let mut out = Output::create(file)?;
    let report = car::export_metered(store, std::slice::from_ref(root), &mut out, meter)?;
    out.finish()?;
    Ok(report)
}

/// Imports a CAR into `store`, verifying every block, and pins its roots.
pub fn import(store: &Store, file: &Path) -> Result<ImportReport, ContentError> {
    import_metered(store, file, &Meter::new())
}

/// [`import`], counting on `meter` the bytes of CAR read, of the file's size.
pub fn import_metered(
    store: &Store,
    file: &Path,
    meter: &Meter,
) -> Result<ImportReport, ContentError> {
    let input = std::fs::File::open(file).map_err(|source| ContentError::Io {
        action: "read",
        path: file.display().to_string(),
        source,
    })?;
    // A pipe or device has no size worth showing.
    if let Ok(meta) = input.metadata() {
        if meta.is_file() {
            meter.set_bytes_total(meta.len());
        }
    }
    let guard = store.writer()?;
    let mut input = MeteredRead::new(input, meter.clone());
    let batch = store.batch()?;
    let report = car::import(&mut input, &batch)?;
    batch.finish()?;
    for root in &report.roots {
        store.pin(root, Some(&file.display().to_string()))?;
    }
    drop(guard);
    Ok(report)
}

/// `wwpack cid`: prints the CID of `path` (or, with `json`, a JSON object).
pub fn run_cid(path: &Path, profile: &Profile, json: bool) -> anyhow::Result<()> {
    print_node(path, profile, &cid(path, profile)?, json)
}

/// `wwpack add`: stores and pins `path`, prints its CID.
pub fn run_add(g: &Globals, path: &Path, profile: &Profile, json: bool) -> anyhow::Result<()> {
    let store = g.open_store()?;
    let meter = Meter::new();
    let bar = Bar::start(
        progress::wanted(g.quiet, json),
        "adding",
        &meter,
        Items::Files,
    );
    let node = add_metered(&store, path, profile, &meter)?;
    bar.finish();
    report_repairs(&store);
    print_node(path, profile, &node, json)
}

/// Runs `read` on the chain `cat`, `ls` and `export` read through (see the module docs), for
/// content under `root`.
fn through_chain<R>(
    g: &Globals,
    root: &Cid,
    read: impl FnOnce(&dyn BlockSource) -> anyhow::Result<R>,
) -> anyhow::Result<R> {
    let (store, keep) = g.chain_store()?;
    let api = g.api()?;
    let node = LazyNode::new(&api.url, g.timeout());
    let chain = ChainSource::new(&store, Some(&node))
        .keeping(keep)
        .with_max_fetched(MAX_UNTRUSTED_BLOCKS)
        .explaining(Some(api.label()), pull_hint(root));
    let result = read(&chain);
    report_repairs(&store);
    if chain.fetched.get() > 0 {
        let kept = if keep { "kept" } else { "not kept: read only" };
        tracing::info!(
            "{} blocks from the IPFS node at {} ({kept} in the block store {})",
            chain.fetched.get(),
            api.url,
            store.dir().display()
        );
    }
    result
}

/// `wwpack cat`: writes the bytes of `target` from `offset`, at most `length`, to stdout.
pub fn run_cat(
    g: &Globals,
    target: &ContentPath,
    offset: u64,
    length: Option<u64>,
) -> anyhow::Result<()> {
    through_chain(g, &target.root, |source| {
        let mut out = std::io::BufWriter::new(Stdout);
        cat(source, target, offset, length, &mut out)?;
        out.flush().context("writing to stdout")
    })
}

/// `wwpack ls`: one line (or JSON line) per entry of the directory `target`.
pub fn run_ls(g: &Globals, target: &ContentPath, json: bool) -> anyhow::Result<()> {
    let listed = through_chain(g, &target.root, |source| Ok(ls(source, target)?))?;
    for e in listed {
        if json {
            // Exact: JSON escapes control characters itself.
            outln!("{}", serde_json::to_string(&e)?)?;
        } else {
            let slash = if e.kind == "directory" { "/" } else { "" };
            let arrow = e
                .target
                .map(|t| format!(" -> {}", printable(&t)))
                .unwrap_or_default();
            outln!("{} {} {}{slash}{arrow}", e.cid, e.size, printable(&e.name))?;
        }
    }
    Ok(())
}

/// `wwpack export`: writes the DAG under `root` to the CAR `output`; with `json`, prints what
/// was written as one JSON object on stdout (so the CAR cannot go to stdout then).
pub fn run_export(g: &Globals, root: &Cid, output: &Path, json: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        !(json && output.as_os_str() == "-"),
        "--json prints its report on stdout, where `-o -` would write the CAR: give -o FILE.car"
    );
    let meter = Meter::new();
    let bar = Bar::start(
        progress::wanted(g.quiet, json),
        "exporting",
        &meter,
        Items::Blocks,
    );
    let r = through_chain(g, root, |source| {
        Ok(export_metered(source, root, output, &meter)?)
    });
    bar.finish();
    let r = r?;
    if json {
        return outln!(
            "{}",
            serde_json::json!({
                "root": root.to_string(),
                "car": output.display().to_string(),
                "blocks": r.blocks,
                "bytes": r.bytes,
                "car_bytes": r.car_bytes,
            })
        );
    }
    if !g.quiet {
        let to = if output.as_os_str() == "-" {
            "stdout".to_string()
        } else {
            printable(&output.display().to_string()).into_owned()
        };
        errln!("wrote {to}: {} blocks, {} bytes", r.blocks, r.car_bytes);
    }
    Ok(())
}

/// `wwpack import`: reads the CAR `car` into the store, prints its roots (or with `json` one
/// JSON object: the roots and the counts).
pub fn run_import(g: &Globals, car: &Path, json: bool) -> anyhow::Result<()> {
    let store = g.open_store()?;
    let meter = Meter::new();
    let bar = Bar::start(
        progress::wanted(g.quiet, json),
        "importing",
        &meter,
        Items::None,
    );
    let r = import_metered(&store, car, &meter)?;
    bar.finish();
    report_repairs(&store);
    if json {
        return outln!(
            "{}",
            serde_json::json!({
                "car": car.display().to_string(),
                "roots": r.roots.iter().map(Cid::to_string).collect::<Vec<_>>(),
                "blocks": r.blocks,
                "bytes": r.bytes,
                "duplicates": r.duplicates,
                "car_bytes": r.car_bytes,
            })
        );
    }
    for root in &r.roots {
        outln!("{root}")?;
    }
    if !g.quiet {
        errln!(
            "imported {} blocks ({} bytes), {} duplicate sections; pinned {} root(s)",
            r.blocks,
            r.bytes,
            r.duplicates,
            r.roots.len()
        );
    }
    Ok(())
}

fn print_node(path: &Path, profile: &Profile, node: &Imported, json: bool) -> anyhow::Result<()> {
    if json {
        let v = serde_json::json!({
            "cid": node.cid.to_string(),
            "profile": profile.name,
            "path": path.display().to_string(),
            "size": node.tsize,
        });
        outln!("{v}")
    } else {
        outln!("{}", node.cid)
    }
}
