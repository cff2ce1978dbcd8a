//! The store's targets, measured in the same run as their references: a large file into a
//! [`Store`] (import and pin, the pin being the point where everything it reaches is made
//! durable) against a plain write of the same bytes plus one `fdatasync`, to the same file
//! system; a tree of small files into a store against the same import into a sink that keeps
//! nothing, in files per second. Each measurement starts with the file system synced (not
//! timed), so that no run pays for the dirty pages of the one before.

use std::fs::{self, File};
use std::hint::black_box;
use std::io::Write;
use std::path::Path;

use ww_content::block::NullSink;
use ww_content::store::Store;
use ww_content::unixfs::{import_file, import_path, UNIXFS_V1_2025};

use super::{fill, ratio_best, ratio_paired, row, time, Series, MIB};

/// Large file into the store over plain write + fdatasync.
const TARGET_BIG: f64 = 0.80;
/// Tree into the store over the tree into a sink, in files/s.
const TARGET_TREE: f64 = 0.50;

/// The store's series and their references.
#[derive(Default)]
pub struct Results {
    plain_write: Series,
    store_big: Series,
    sink_tree: Series,
    store_tree: Series,
    /// Of `store_tree`, the pin (the sync of the file system, then the pin file).
    pin_tree: Series,
}

/// One run of every measurement, interleaved so that a measurement and its reference see the
/// same machine.
pub fn run_once(results: &mut Results, big: &Path, tree: &Path, scratch: &Path, buf: &mut [u8]) {
    rustix::fs::sync();
    results
        .plain_write
        .push(time(|| plain_write(big, scratch, buf)));
    let _ = fs::remove_file(scratch.join("plain.bin"));
    rustix::fs::sync();
    results.store_big.push(time_in_store(scratch, |store| {
        let _guard = store.writer().expect("take the store's write guard");
        let batch = store.batch().expect("start a batch");
        let mut file = File::open(big).expect("open the large file");
        let node = import_file(&mut file, "large file", &UNIXFS_V1_2025, &batch)
            .expect("import the large file into the store");
        batch.finish().expect("write the large file's blocks");
        store.pin(&node.cid, None).expect("pin the large file");
    }));
    rustix::fs::sync();
    results.sink_tree.push(time(|| {
        black_box(import_path(tree, &UNIXFS_V1_2025, &NullSink).expect("import the tree"));
    }));
    // As `wwpack add` does: a write guard from the first put to the pin, blocks written behind.
    let mut pin = std::time::Duration::ZERO;
    results.store_tree.push(time_in_store(scratch, |store| {
        let _guard = store.writer().expect("take the store's write guard");
        let batch = store.batch().expect("start a batch");
        let node =
            import_path(tree, &UNIXFS_V1_2025, &batch).expect("import the tree into the store");
        batch.finish().expect("write the tree's blocks");
        pin = time(|| store.pin(&node.cid, None).expect("pin the tree"));
    }));
    results.pin_tree.push(pin);
}

/// Removes the stores the runs left (see [`time_in_store`]).
pub fn clean(scratch: &Path) {
    for entry in fs::read_dir(scratch)
        .expect("list the scratch dir")
        .flatten()
    {
        if entry.file_name().to_string_lossy().starts_with("store-") {
            fs::remove_dir_all(entry.path()).expect("remove a scratch store");
        }
    }
}

/// The reference for the large file: its bytes copied to a new file on the scratch file
/// system in chunks of the import's size, then one `fdatasync`.
fn plain_write(big: &Path, scratch: &Path, buf: &mut [u8]) {
    let mut from = File::open(big).expect("open the large file");
    let mut to = File::create(scratch.join("plain.bin")).expect("create the plain copy");
    loop {
        let n = fill(&mut from, buf);
        to.write_all(&buf[..n]).expect("write the plain copy");
        if n < buf.len() {
            break;
        }
    }
    to.sync_data().expect("fdatasync the plain copy");
}

/// Times `f` in a fresh store under `scratch`. The store is kept until [`clean`]: on this
/// ext4 (no journal), creating files right after thousands were deleted nearby is several
/// times slower (the inode allocator skips recently deleted inodes one by one), so removing
/// each run's store before the next would measure that, not the store.
fn time_in_store(scratch: &Path, f: impl FnOnce(&Store)) -> std::time::Duration {
    let n = fs::read_dir(scratch).map_or(0, |d| d.count());
    let dir = scratch.join(format!("store-{n}"));
    let store = Store::open(&dir).expect("open a scratch store");
    let took = time(|| f(&store));
    drop(store);
    took
}

/// Prints the store's rows and its two targets.
pub fn print(results: &Results, big_bytes: u64, tree_bytes: u64, files: usize) {
    println!();
    println!(
        "block store ({} MiB file, {files} small files), each import ends with its pin (the durable commit)",
        big_bytes / MIB as u64
    );
    super::header();
    row(
        "[ref] plain write + fdatasync, same file system",
        big_bytes,
        &results.plain_write,
        None,
    );
    row(
        "import_file unixfs-v1-2025 into Store + pin",
        big_bytes,
        &results.store_big,
        Some(&results.plain_write),
    );
    row(
        "[ref] import_path unixfs-v1-2025, NullSink",
        tree_bytes,
        &results.sink_tree,
        None,
    );
    row(
        "import_path unixfs-v1-2025 into Store + pin",
        tree_bytes,
        &results.store_tree,
        Some(&results.sink_tree),
    );
    println!(
        "    of which the pin (sync + pin file), best {:.3} s, median {:.3} s",
        results.pin_tree.best().as_secs_f64(),
        results.pin_tree.median().as_secs_f64()
    );
    let files_s = |s: &Series| files as f64 / s.best().as_secs_f64();
    println!(
        "  files/s (best): into a sink {:.0}, into the store {:.0}",
        files_s(&results.sink_tree),
        files_s(&results.store_tree)
    );
    println!();
    println!("store targets:");
    for (what, m, reference, target) in [
        (
            "large file into the store vs write + fdatasync",
            &results.store_big,
            &results.plain_write,
            TARGET_BIG,
        ),
        (
            "small files into the store vs into a sink (files/s)",
            &results.store_tree,
            &results.sink_tree,
            TARGET_TREE,
        ),
    ] {
        let best = ratio_best(m, reference);
        let paired = ratio_paired(m, reference).unwrap_or(best);
        let verdict = if best >= target { "PASS" } else { "FAIL" };
        println!(
            "  {what:<52} {:>5.1}% (best) {:>5.1}% (paired)  target {:.0}%  {verdict}",
            100.0 * best,
            100.0 * paired,
            100.0 * target
        );
    }
}
