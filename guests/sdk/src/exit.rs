//! [`run`]: a guest's `main` in one call: the async main on the executor, then its exit status.

use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;

use crate::executor::block_on;

/// Runs `main` on the executor and turns its result into the process's exit status: `Ok(code)`
/// exits with `code` (any 0-255, through `wasi:cli/exit.exit-with-code`, since `std` can only
/// report success or failure), `Err(e)` prints `<name>: error: <e>` on stderr and exits 1.
///
/// The executor has finished and dropped everything (capabilities, the RPC system, streams and
/// their pollables, in that order) before the process exits.
pub fn run<F, E>(name: &str, main: F) -> ExitCode
where
    F: Future<Output = Result<u8, E>>,
    E: Display,
{
    match block_on(main) {
        Ok(Ok(0)) => ExitCode::SUCCESS,
        Ok(Ok(code)) => exit(code),
        Ok(Err(e)) => {
            eprintln!("{name}: error: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{name}: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Exits with `code` now.
pub fn exit(code: u8) -> ExitCode {
    wasip2::cli::exit::exit_with_code(code);
    // exit-with-code does not return; a host that returns anyway gets a plain failure.
    ExitCode::FAILURE
}
