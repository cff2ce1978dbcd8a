//! Import throughput, next to plain sha2-256 over the same bytes in the same run.
//!
//! `cargo bench -p ww-content --bench import` imports a large file (1 GiB by default) under every
//! profile and a tree of small files (10,000 by default) under `unixfs-v1-2025` into a sink that
//! keeps nothing, and prints each throughput as a ratio of sha2-256 over the same bytes, read the
//! same way, measured in the same run: these machines are shared and noisy, so only the ratios
//! mean anything. Then both into a real [`Store`](ww_content::store::Store), each ending with
//! its pin (`import/store.rs`). The targets: the `unixfs-v1-2025` large file import at 80% or
//! more of sha2-256 throughput; the large file into the store at 80% or more of a plain write +
//! `fdatasync` of the same bytes; the tree into the store at 50% or more of the tree into a
//! sink, in files/s. The benchmark reports; it never fails.
//!
//! Environment:
//! - `WWPACK_BENCH_FILE_MIB`: size of the large file in MiB (default 1024).
//! - `WWPACK_BENCH_FILES`: number of small files in the tree (default 10000).
//! - `WWPACK_BENCH_RUNS`: runs of each measurement, best kept (default 3).
//! - `WWPACK_BENCH_STORE_RUNS`: runs of the store measurements (default: `WWPACK_BENCH_RUNS`).
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a small smoke run instead.

use std::fs::{self, File};
use std::hint::black_box;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use ww_content::block::NullSink;
use ww_content::unixfs::{
    import_file, import_path, Profile, KUBO_CIDV1, UNIXFS_V0_2015, UNIXFS_V1_2025,
};

#[path = "import/store.rs"]
mod store;

const MIB: usize = 1 << 20;
/// The reference reads in chunks of `unixfs-v1-2025`'s chunk size.
const CHUNK: usize = UNIXFS_V1_2025.chunk_size;
/// Files per directory in the tree.
const FILES_PER_DIR: usize = 100;
/// Largest small file, in bytes.
const MAX_SMALL: u64 = 8 * 1024;
/// The target: `unixfs-v1-2025` large-file import throughput over sha2-256 throughput.
const TARGET: f64 = 0.80;

struct Config {
    file_mib: usize,
    files: usize,
    runs: usize,
    store_runs: usize,
    smoke: bool,
}

impl Config {
    fn from_env() -> Config {
        // `cargo bench` passes `--bench`; `cargo test --all-targets` does not: then only check
        // that the benchmark runs, on small inputs, unless sizes are given.
        let smoke = !std::env::args().any(|a| a == "--bench");
        let (file_mib, files, runs) = if smoke {
            (8, 200, 1)
        } else {
            (1024, 10_000, 3)
        };
        let runs = env_usize("WWPACK_BENCH_RUNS", runs).max(1);
        Config {
            file_mib: env_usize("WWPACK_BENCH_FILE_MIB", file_mib),
            files: env_usize("WWPACK_BENCH_FILES", files),
            runs,
            store_runs: env_usize("WWPACK_BENCH_STORE_RUNS", runs),
            smoke,
        }
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            eprintln!("{name}={v:?} is not a number; using {default}");
            default
        }),
        Err(_) => default,
    }
}

/// xorshift64: fast deterministic pseudo-random bytes, so that no two leaves are alike.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn fill(&mut self, buf: &mut [u8]) {
        let mut words = buf.chunks_exact_mut(8);
        for w in &mut words {
            w.copy_from_slice(&self.next().to_le_bytes());
        }
        let rest = words.into_remainder();
        let last = self.next().to_le_bytes();
        rest.copy_from_slice(&last[..rest.len()]);
    }
}

/// Reads until `buf` is full or the reader ends, as the importer does.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    filled
}

fn write_big_file(path: &Path, mib: usize) {
    let mut file = File::create(path).expect("create the large file");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut buf = vec![0u8; MIB];
    for _ in 0..mib {
        rng.fill(&mut buf);
        file.write_all(&buf).expect("write the large file");
    }
    file.sync_all().expect("sync the large file");
}

/// Writes `files` files of 0..=8 KiB into directories of [`FILES_PER_DIR`]; returns their bytes.
fn write_tree(root: &Path, files: usize) -> u64 {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut buf = vec![0u8; MAX_SMALL as usize];
    let mut total = 0;
    for i in 0..files {
        let dir = root.join(format!("d{:04}", i / FILES_PER_DIR));
        if i % FILES_PER_DIR == 0 {
            fs::create_dir_all(&dir).expect("create a tree directory");
        }
        let len = (rng.next() % (MAX_SMALL + 1)) as usize;
        rng.fill(&mut buf[..len]);
        fs::write(dir.join(format!("f{:04}", i % FILES_PER_DIR)), &buf[..len])
            .expect("write a tree file");
        total += len as u64;
    }
    total
}

/// Every regular file under `dir`, recursively.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read a tree directory") {
        let entry = entry.expect("read a tree directory");
        let ft = entry.file_type().expect("stat a tree entry");
        if ft.is_dir() {
            walk(&entry.path(), out);
        } else if ft.is_file() {
            out.push(entry.path());
        }
    }
}

/// Reads the whole file in chunks, doing nothing else: to bring it into the page cache, and to
/// measure the cost of reading alone.
fn read_only(path: &Path, buf: &mut [u8]) -> u64 {
    let mut file = File::open(path).expect("open the large file");
    let mut total = 0;
    loop {
        let n = fill(&mut file, buf);
        black_box(&buf[..n]);
        total += n as u64;
        if n < buf.len() {
            return total;
        }
    }
}

/// The irreducible work of the importer: one sha2-256 per chunk.
fn sha_per_chunk(path: &Path, buf: &mut [u8]) {
    let mut file = File::open(path).expect("open the large file");
    loop {
        let n = fill(&mut file, buf);
        black_box(Sha256::digest(&buf[..n]));
        if n < buf.len() {
            return;
        }
    }
}

/// One sha2-256 over the whole stream.
fn sha_stream(path: &Path, buf: &mut [u8]) {
    let mut file = File::open(path).expect("open the large file");
    let mut hasher = Sha256::new();
    loop {
        let n = fill(&mut file, buf);
        hasher.update(&buf[..n]);
        if n < buf.len() {
            black_box(hasher.finalize());
            return;
        }
    }
}

/// Walks the tree, reads every file and hashes each file's bytes.
fn sha_tree(root: &Path, buf: &mut [u8]) {
    let mut files = Vec::new();
    walk(root, &mut files);
    for path in files {
        let mut file = File::open(&path).expect("open a tree file");
        let n = fill(&mut file, buf);
        black_box(Sha256::digest(&buf[..n]));
    }
}

/// Like [`sha_tree`], but with a fresh zeroed chunk-sized buffer per file, as `import_file`
/// allocates one per call: to see what that allocation costs on small files.
fn sha_tree_alloc(root: &Path) {
    let mut files = Vec::new();
    walk(root, &mut files);
    for path in files {
        let mut buf = vec![0u8; CHUNK];
        let mut file = File::open(&path).expect("open a tree file");
        let n = fill(&mut file, &mut buf);
        black_box(Sha256::digest(&buf[..n]));
    }
}

/// `import_file` of every file of the tree, without `Tree::scan` or directory nodes.
fn import_tree_files(root: &Path) {
    let mut files = Vec::new();
    walk(root, &mut files);
    for path in files {
        let mut file = File::open(&path).expect("open a tree file");
        let node = import_file(&mut file, "tree file", &UNIXFS_V1_2025, &NullSink)
            .expect("import a tree file");
        black_box(node);
    }
}

fn import_big(path: &Path, profile: &Profile, sink: &dyn ww_content::block::BlockSink) {
    let mut file = File::open(path).expect("open the large file");
    let node = import_file(&mut file, "large file", profile, sink).expect("import the large file");
    black_box(node);
}

fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// The runs of one measurement.
#[derive(Default)]
struct Series {
    runs: Vec<Duration>,
}

impl Series {
    fn push(&mut self, d: Duration) {
        self.runs.push(d);
    }

    fn best(&self) -> Duration {
        self.runs.iter().copied().min().unwrap_or_default()
    }

    fn median(&self) -> Duration {
        let mut runs = self.runs.clone();
        runs.sort();
        runs.get(runs.len() / 2).copied().unwrap_or_default()
    }
}

fn mib_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / MIB as f64 / d.as_secs_f64()
}

/// Throughput of `m` over throughput of `reference`, from the best runs.
fn ratio_best(m: &Series, reference: &Series) -> f64 {
    reference.best().as_secs_f64() / m.best().as_secs_f64()
}

/// The median over runs of the same-run throughput ratio (runs are interleaved, so run `i` of
/// both saw the same machine).
fn ratio_paired(m: &Series, reference: &Series) -> Option<f64> {
    let mut ratios: Vec<f64> = m
        .runs
        .iter()
        .zip(&reference.runs)
        .map(|(m, r)| r.as_secs_f64() / m.as_secs_f64())
        .collect();
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    Some(ratios[ratios.len() / 2])
}

fn header() {
    println!(
        "  {:<58} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "measurement", "best s", "best", "median", "% of ref", "% of ref"
    );
    println!(
        "  {:<58} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "", "", "MiB/s", "MiB/s", "(best)", "(paired)"
    );
}

fn row(label: &str, bytes: u64, m: &Series, reference: Option<&Series>) {
    if m.runs.is_empty() {
        println!("  {label:<58} {:>8}", "skipped");
        return;
    }
    let (best, paired) = match reference {
        Some(r) => (
            format!("{:.1}%", 100.0 * ratio_best(m, r)),
            ratio_paired(m, r).map_or_else(String::new, |p| format!("{:.1}%", 100.0 * p)),
        ),
        None => ("ref".to_string(), "ref".to_string()),
    };
    println!(
        "  {label:<58} {:>8.3} {:>9.1} {:>9.1} {best:>9} {paired:>9}",
        m.best().as_secs_f64(),
        mib_s(bytes, m.best()),
        mib_s(bytes, m.median()),
    );
}

/// A line of `/proc/self/status` (e.g. `VmHWM`), in kB.
fn proc_status_kb(key: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let config = Config::from_env();
    let started = Instant::now();
    let tmp = tempfile::Builder::new()
        .prefix("wwpack-bench-")
        .tempdir()
        .expect("create a temp dir");
    let big = tmp.path().join("big.bin");
    let tree = tmp.path().join("tree");
    let scratch = tmp.path().join("scratch");
    fs::create_dir_all(&scratch).expect("create the scratch dir");

    // Setup, not timed.
    let setup = Instant::now();
    write_big_file(&big, config.file_mib);
    fs::create_dir_all(&tree).expect("create the tree root");
    let tree_bytes = write_tree(&tree, config.files);
    rustix::fs::sync();
    let mut buf = vec![0u8; CHUNK];
    let big_bytes = read_only(&big, &mut buf);
    sha_tree(&tree, &mut buf);
    let setup = setup.elapsed();

    let profiles = [UNIXFS_V1_2025, UNIXFS_V0_2015, KUBO_CIDV1];
    let mut read_big = Series::default();
    let mut ref_chunk = Series::default();
    let mut ref_stream = Series::default();
    let mut imports: Vec<Series> = profiles.iter().map(|_| Series::default()).collect();
    let mut ref_tree = Series::default();
    let mut import_tree = Series::default();
    let mut stored = store::Results::default();
    let mut scan_tree = Series::default();
    let mut files_tree = Series::default();
    let mut alloc_tree = Series::default();

    // Interleaved: run `i` of every measurement happens close in time to run `i` of its reference.
    for run in 0..config.runs {
        read_big.push(time(|| {
            black_box(read_only(&big, &mut buf));
        }));
        ref_chunk.push(time(|| sha_per_chunk(&big, &mut buf)));
        for (profile, series) in profiles.iter().zip(&mut imports) {
            series.push(time(|| import_big(&big, profile, &NullSink)));
        }
        ref_stream.push(time(|| sha_stream(&big, &mut buf)));

        ref_tree.push(time(|| sha_tree(&tree, &mut buf)));
        import_tree.push(time(|| {
            let node = import_path(&tree, &UNIXFS_V1_2025, &NullSink).expect("import the tree");
            black_box(node);
        }));
        scan_tree.push(time(|| {
            black_box(ww_content::tree::Tree::scan(&tree).expect("scan the tree"));
        }));
        files_tree.push(time(|| import_tree_files(&tree)));
        alloc_tree.push(time(|| sha_tree_alloc(&tree)));
        if run < config.store_runs {
            store::run_once(&mut stored, &big, &tree, &scratch, &mut buf);
        }
    }

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "wwpack import benchmark{}",
        if config.smoke {
            " (smoke run: no --bench)"
        } else {
            ""
        }
    );
    println!(
        "  large file: {} MiB of xorshift64 bytes; tree: {} files of 0..=8 KiB in {} dirs, {:.1} MiB",
        big_bytes / MIB as u64,
        config.files,
        config.files.div_ceil(FILES_PER_DIR),
        tree_bytes as f64 / MIB as f64,
    );
    println!(
        "  both read once before timing (in the page cache); setup took {:.1} s",
        setup.as_secs_f64()
    );
    println!(
        "  runs: {} interleaved, best kept ({} for the store imports); {} cores, shared",
        config.runs,
        config.store_runs.min(config.runs),
        cores
    );
    println!("  only the ratios are meaningful: reference and import ran in the same process, interleaved");
    println!("  % of ref (paired) is the median over runs of the ratio within each run");
    println!();
    println!(
        "large file ({} MiB), reference: sha2-256 of each 1 MiB chunk",
        big_bytes / MIB as u64
    );
    header();
    row(
        "[ref] sha2-256 per 1 MiB chunk (read + hash)",
        big_bytes,
        &ref_chunk,
        None,
    );
    row(
        "[ref] sha2-256 whole stream (read + hash)",
        big_bytes,
        &ref_stream,
        Some(&ref_chunk),
    );
    row(
        "read only, 1 MiB chunks (no hashing)",
        big_bytes,
        &read_big,
        Some(&ref_chunk),
    );
    for (profile, series) in profiles.iter().zip(&imports) {
        let label = format!(
            "import_file {} ({} KiB chunks), NullSink",
            profile.name,
            profile.chunk_size / 1024
        );
        row(&label, big_bytes, series, Some(&ref_chunk));
    }
    println!();
    println!(
        "tree ({} files, {:.1} MiB), reference: walk + read + sha2-256 of each file",
        config.files,
        tree_bytes as f64 / MIB as f64
    );
    header();
    row(
        "[ref] sha2-256 per file (walk + read + hash)",
        tree_bytes,
        &ref_tree,
        None,
    );
    row(
        "import_path unixfs-v1-2025, NullSink",
        tree_bytes,
        &import_tree,
        Some(&ref_tree),
    );
    println!("  breakdown (diagnostic):");
    row("  Tree::scan only", tree_bytes, &scan_tree, Some(&ref_tree));
    row(
        "  import_file of each file (no scan, no dir nodes)",
        tree_bytes,
        &files_tree,
        Some(&ref_tree),
    );
    row(
        "  [ref] + a zeroed 1 MiB Vec per file",
        tree_bytes,
        &alloc_tree,
        Some(&ref_tree),
    );
    let files_s = |s: &Series| config.files as f64 / s.best().as_secs_f64();
    println!(
        "  files/s (best): ref {:.0}, import {:.0}",
        files_s(&ref_tree),
        files_s(&import_tree),
    );

    println!();
    println!(
        "target: unixfs-v1-2025 large-file import >= {:.0}% of sha2-256 throughput",
        100.0 * TARGET
    );
    let v1 = &imports[0];
    for (what, reference) in [("per-chunk", &ref_chunk), ("whole-stream", &ref_stream)] {
        let best = ratio_best(v1, reference);
        let paired = ratio_paired(v1, reference).unwrap_or(best);
        let verdict = if best >= TARGET { "PASS" } else { "FAIL" };
        println!(
            "  vs {what:<12} sha2-256: {:>5.1}% (best) {:>5.1}% (paired)  {verdict}",
            100.0 * best,
            100.0 * paired
        );
    }
    store::clean(&scratch);
    if config.store_runs > 0 {
        store::print(&stored, big_bytes, tree_bytes, config.files);
    }
    println!();
    match proc_status_kb("VmHWM") {
        Some(kb) => println!(
            "peak RSS (VmHWM): {:.1} MiB for a {} MiB file: the import streams if this is far below the file size",
            kb as f64 / 1024.0,
            big_bytes / MIB as u64
        ),
        None => println!("peak RSS: /proc/self/status not available"),
    }
    println!("total time: {:.1} s", started.elapsed().as_secs_f64());
}
