//! Boot-to-exit of the `default` image with the real `ww`: with an empty cache (cold: the union
//! root is materialized and pid0 and child-echo are compiled) and with the cache of an earlier
//! run (warm: both are loaded from the compiled cache). Beside them, as the reference, the same
//! pid0 compiled and instantiated directly with wasmtime in this process (its imports are
//! stubbed, so it is instantiated, not run), and deserialized and instantiated.
//!
//! Needs the built image: `target/debug/wwpack build` (or `cargo run -p wwpack -- build`)
//! writes `target/wwpack/images/default`; `WW_BENCH_IMAGE=DIR` names another. Runs are
//! interleaved (`WW_BENCH_RUNS`, default 7 of each); medians are printed.
//!
//! ```text
//! cargo bench -p ww-runtime --bench boot                # release build of ww
//! cargo bench -p ww-runtime --bench boot --profile dev  # reuses the dev build (deps optimized)
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

fn main() -> ExitCode {
    match bench() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("boot bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn bench() -> Result<(), String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("runtime/ has no parent")?
        .to_path_buf();
    let image = std::env::var_os("WW_BENCH_IMAGE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target/wwpack/images/default"));
    let pid0 = image.join("bin/main.wasm");
    let wasm = std::fs::read(&pid0).map_err(|e| {
        format!(
            "cannot read {}: {e}; build the image first (target/debug/wwpack build)",
            pid0.display()
        )
    })?;
    let runs: usize = std::env::var("WW_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(7);
    let ww = PathBuf::from(env!("CARGO_BIN_EXE_ww"));
    let work = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let warm_cache = work.path().join("warm");
    boot(&ww, &image, work.path(), &warm_cache)?;

    let engine = ww_runtime::engine::engine().map_err(|e| e.to_string())?;
    let serialized = Component::new(&engine, &wasm)
        .and_then(|c| c.serialize())
        .map_err(|e| format!("cannot compile {}: {e}", pid0.display()))?;

    let (mut cold, mut warm, mut direct, mut direct_loaded) = (vec![], vec![], vec![], vec![]);
    for run in 0..runs {
        let cold_cache = work.path().join(format!("cold-{run}"));
        cold.push(boot(&ww, &image, work.path(), &cold_cache)?);
        warm.push(boot(&ww, &image, work.path(), &warm_cache)?);
        direct.push(timed(|| {
            let component = Component::new(&engine, &wasm).map_err(|e| e.to_string())?;
            instantiate(&engine, &component)
        })?);
        direct_loaded.push(timed(|| {
            // SAFETY: `serialized` was produced by `Component::serialize` on this engine above.
            let component = unsafe { Component::deserialize(&engine, &serialized) }
                .map_err(|e| e.to_string())?;
            instantiate(&engine, &component)
        })?);
        let _ = std::fs::remove_dir_all(&cold_cache);
    }
    let (cold, warm) = (median(&mut cold), median(&mut warm));
    let (direct, direct_loaded) = (median(&mut direct), median(&mut direct_loaded));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("boot of {} ({runs} runs each, medians)", image.display());
    println!(
        "  ww run, cold cache:                    {:8.1} ms",
        ms(cold)
    );
    println!(
        "  ww run, warm cache:                    {:8.1} ms",
        ms(warm)
    );
    println!(
        "  pid0 compile + instantiate (direct):   {:8.1} ms",
        ms(direct)
    );
    println!(
        "  pid0 deserialize + instantiate (direct):{:8.1} ms",
        ms(direct_loaded)
    );
    println!(
        "  cold / warm:                           {:8.1}x",
        ms(cold) / ms(warm)
    );
    println!(
        "  direct compile / warm:                 {:8.1}x",
        ms(direct) / ms(warm)
    );
    Ok(())
}

/// One `ww run` of `image` with `cache`, to its exit; its wall-clock time.
fn boot(ww: &Path, image: &Path, work: &Path, cache: &Path) -> Result<Duration, String> {
    let started = Instant::now();
    let out = Command::new(ww)
        .env("WW_STORE", work.join("store"))
        .env("WW_CACHE", cache)
        .env("XDG_DATA_HOME", work.join("data"))
        .env("IPFS_API", "http://127.0.0.1:9")
        .env_remove("WW_LOG")
        .arg("run")
        .arg(image)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", ww.display()))?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(format!(
            "ww run {} failed ({}): {}",
            image.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(took)
}

/// Instantiates `component` with every import stubbed (trapping if called): linking WASI
/// would cost the same in both cases and nothing here runs the component.
fn instantiate(engine: &Engine, component: &Component) -> Result<(), String> {
    let mut linker = Linker::<()>::new(engine);
    linker
        .define_unknown_imports_as_traps(component)
        .map_err(|e| e.to_string())?;
    let mut store = Store::new(engine, ());
    store.set_epoch_deadline(u64::MAX / 2);
    let tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    tokio
        .block_on(linker.instantiate_async(&mut store, component))
        .map_err(|e| format!("cannot instantiate: {e}"))?;
    Ok(())
}

fn timed(f: impl FnOnce() -> Result<(), String>) -> Result<Duration, String> {
    let started = Instant::now();
    f()?;
    Ok(started.elapsed())
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}
