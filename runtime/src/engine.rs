//! The wasmtime engine every cell of a node shares.
//!
//! All cells of a node run on one thread (Cap'n Proto objects are not `Send`), so a cell that
//! computes without calling the host must still give the others a turn: the engine uses epoch
//! interruption, a ticker thread advances the epoch every [`TICK`], and each cell's store yields
//! to the async executor when its deadline passes (see `cell`).

use std::time::Duration;

use wasmtime::{Config, Engine};

use crate::error::BootError;

/// How often a running cell yields to the others.
pub const TICK: Duration = Duration::from_millis(10);

/// An engine with epoch interruption, ticked by a thread that ends when the engine is dropped.
pub fn engine() -> Result<Engine, BootError> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).map_err(|e| {
        BootError::Host(format!(
            "cannot set up wasmtime: {}",
            crate::cell::one_line(&e)
        ))
    })?;
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("ww-epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })
        .map_err(|e| BootError::Host(format!("cannot start the epoch ticker thread: {e}")))?;
    Ok(engine)
}
