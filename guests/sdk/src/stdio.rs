//! The guest's own stdin, stdout and stderr as async streams, so that a guest waiting for input
//! or for a full pipe to drain keeps serving its RPC connection meanwhile.
//!
//! Each call returns a new handle on the same host stream. Output written here and output
//! written by `std` (`println!`) go to the same place; each is in order as long as it is flushed
//! ([`AsyncOutput::write_line`] flushes) before the other writes.

use futures::io::BufReader;
use wasip2::cli::{stderr, stdin, stdout, terminal_stdin};

use crate::input::AsyncInput;
use crate::output::AsyncOutput;

/// The guest's standard input.
pub fn stdin() -> AsyncInput {
    AsyncInput::new(stdin::get_stdin(), "stdin")
}

/// The guest's standard input, buffered, for `futures::io::AsyncBufReadExt::read_line` and
/// `lines`.
pub fn stdin_lines() -> BufReader<AsyncInput> {
    BufReader::new(stdin())
}

/// The guest's standard output.
pub fn stdout() -> AsyncOutput {
    AsyncOutput::new(stdout::get_stdout(), "stdout")
}

/// The guest's standard error.
pub fn stderr() -> AsyncOutput {
    AsyncOutput::new(stderr::get_stderr(), "stderr")
}

/// Whether the guest's stdin is a terminal (`wasi:cli/terminal-stdin`): `ww` reports its own
/// stdin's; a child process's stdin is a pipe, never a terminal.
pub fn stdin_is_terminal() -> bool {
    terminal_stdin::get_terminal_stdin().is_some()
}
