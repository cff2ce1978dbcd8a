//! `wwpack build` of an image of many small files, next to `wwpack cid` of the same tree, in
//! the same run: what building costs over only hashing (the build writes every block to the
//! store, the image directory and `wwpack.lock`, and pins the image).
//!
//! `cargo bench -p wwpack --bench build_tree` builds a project of static layers (no guests):
//! `etc/` of 10,000 files of 0..=8 KiB (`WWPACK_BENCH_FILES`) and a WAT pid0, each run into a
//! fresh store and output directory (a cold build), and runs `wwpack cid` of the layer; then a
//! build with nothing changed (the stat cache). `WWPACK_BENCH_RUNS` runs (default 3), best
//! kept. Without `--bench` (as `cargo test --all-targets` runs it) it does a small smoke run.
//! The benchmark reports; it never fails.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const WWPACK: &str = env!("CARGO_BIN_EXE_wwpack");

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `wwpack` with `args` and the given store, and times it; panics if it fails.
fn wwpack(project: &Path, store: &Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let out = Command::new(WWPACK)
        .current_dir(project)
        .env_remove("WW_STORE")
        .arg("--quiet")
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .expect("run wwpack");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "wwpack {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// The project: `layers/base` with `etc/` of `files` small files and a pid0 that traps.
fn write_project(dir: &Path, files: usize) -> u64 {
    std::fs::write(
        dir.join("wwpack.toml"),
        "[layers.base]\npath = \"layers/base\"\n\n[images.default]\nlayers = [\"base\"]\n",
    )
    .expect("write wwpack.toml");
    let base = dir.join("layers/base");
    std::fs::create_dir_all(base.join("bin")).expect("create bin/");
    std::fs::write(
        base.join("bin/main.wasm"),
        ww_test_support::wasm::trapping_command(),
    )
    .expect("write pid0");
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut total = 0;
    for i in 0..files {
        let sub = base.join(format!("etc/d{:03}", i / 100));
        if i % 100 == 0 {
            std::fs::create_dir_all(&sub).expect("create a directory");
        }
        let len = (next() % 8193) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        std::fs::write(sub.join(format!("f{:03}", i % 100)), bytes).expect("write a file");
        total += len as u64;
    }
    total
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let files = env_usize("WWPACK_BENCH_FILES", if smoke { 200 } else { 10_000 });
    let runs = env_usize("WWPACK_BENCH_RUNS", if smoke { 1 } else { 3 }).max(1);
    let dir = tempfile::tempdir().expect("create a temp dir");
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).expect("create the project");
    let bytes = write_project(&project, files);
    rustix::fs::sync();

    let (mut cid, mut cold, mut warm) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        let store = dir.path().join(format!("store-{run}"));
        cid.push(wwpack(&project, &store, &["cid", "layers/base"]));
        rustix::fs::sync();
        let out = dir.path().join(format!("out-{run}"));
        let out_arg = out.to_str().expect("UTF-8 path");
        cold.push(wwpack(&project, &store, &["build", "--out-dir", out_arg]));
        warm.push(wwpack(&project, &store, &["build", "--out-dir", out_arg]));
    }
    // Stores and outputs are removed only now: on this ext4 (no journal), creating files right
    // after thousands were deleted nearby is several times slower (the inode allocator skips
    // recently deleted inodes one by one), which the next run would measure.
    let best = |s: &[Duration]| s.iter().copied().min().unwrap_or_default();
    let (cid, cold, warm) = (best(&cid), best(&cold), best(&warm));
    println!();
    println!(
        "wwpack build of an image of {files} small files ({:.1} MiB){}",
        bytes as f64 / (1 << 20) as f64,
        if smoke {
            " (smoke run: no --bench)"
        } else {
            ""
        }
    );
    println!("  {runs} runs, best kept; processes include their start-up");
    println!(
        "  [ref] wwpack cid layers/base          {:>8.3} s",
        cid.as_secs_f64()
    );
    println!(
        "  wwpack build, fresh store and output  {:>8.3} s  {:.1}x the cid's time",
        cold.as_secs_f64(),
        cold.as_secs_f64() / cid.as_secs_f64()
    );
    println!(
        "  wwpack build again, nothing changed   {:>8.3} s  {:.1}x the cid's time",
        warm.as_secs_f64(),
        warm.as_secs_f64() / cid.as_secs_f64()
    );
}
