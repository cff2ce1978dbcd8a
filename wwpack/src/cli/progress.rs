//! Progress on stderr: the [`Bar`] of [`ww_content::progress::bar`], shown only on a terminal,
//! never with `-q` or `--json`.

use std::io::IsTerminal;

pub use ww_content::progress::bar::{Bar, Items};

/// Whether a bar may be drawn: stderr is a terminal, and neither `-q` nor `--json` was given.
pub fn wanted(quiet: bool, json: bool) -> bool {
    !quiet && !json && std::io::stderr().is_terminal()
}
