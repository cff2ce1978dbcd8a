//! The bar `ww run` draws on stderr while it fetches and writes the files of a content layer:
//! bytes written to the cache of the total the layer's DAG claims (its files' sizes, counted
//! before any is written), with the rate and the time left; a count of files while the DAG is
//! still walked. Only on a terminal, never with `--json-log` or `-q`.
//!
//! The loader counts on a [`Meter`](ww_content::progress::Meter); the [`Bar`] (shared with
//! `wwpack`, in [`ww_content::progress::bar`]) polls it. It is drawn when it starts and when it
//! finishes, then cleared: it is gone before pid0, which inherits stderr, writes anything.

use std::io::IsTerminal;

pub use ww_content::progress::bar::{Bar, Items};

/// Whether a bar may be drawn: stderr is a terminal, the log is not JSON and not `-q`.
pub fn wanted() -> bool {
    !crate::logline::is_json() && !crate::logline::is_quiet() && std::io::stderr().is_terminal()
}
