//! What `wwpack build` is asked to do: the images, where to write them and the lock, and how
//! strict to be.

use std::path::PathBuf;

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Images to build; all images of `wwpack.toml` when empty.
    pub images: Vec<String>,
    /// Output directory; `<project>/target/wwpack` when `None`.
    pub out_dir: Option<PathBuf>,
    /// Silence cargo's progress output.
    pub quiet: bool,
    /// Draw a bar of the files and bytes hashed on stderr (the caller checked it is a terminal).
    pub progress: bool,
    /// Fail, and write nothing, when the result differs from the committed `wwpack.lock`.
    pub locked: bool,
    /// Make a later layer shadowing a pid0 (`bin/main.wasm`, `svc/*/bin/main.wasm`) an error.
    pub deny_shadowing: bool,
    /// The lock to read and write; `<project>/wwpack.lock` when `None`. `wwpack diff` builds
    /// the working tree into its own output directory and lock, leaving the project's alone.
    pub lock_file: Option<PathBuf>,
}
