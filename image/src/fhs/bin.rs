//! The rules of `bin/`: `bin/main.wasm` (pid0) is a regular file holding a WASI command, every
//! other regular `*.wasm` file below `bin/` a WebAssembly component ([`crate::wasm`] checks
//! them).

use crate::error::{Error, Result};
use crate::union::UnionEntry;
use crate::wasm;
use ww_content::tree::Entry;

use super::image::Checker;

impl Checker<'_> {
    /// pid0 (`bin/main.wasm` of an image) at `path`.
    pub(super) fn pid0(&mut self, path: &str, item: &UnionEntry) -> Result<()> {
        let layer = self.layer(item).to_string();
        let Entry::File { source } = &item.entry else {
            self.error(
                path,
                format!(
                    "from layer `{layer}` is a {}, not a file; pid0 must be a regular file \
                     holding a WebAssembly component",
                    item.entry.kind()
                ),
            );
            return Ok(());
        };
        let bytes = std::fs::read(source).map_err(Error::io("read", source))?;
        if let Err(rule) = wasm::check_command(&bytes) {
            self.error(
                path,
                format!("from layer `{layer}` ({}) {rule}", source.display()),
            );
        }
        Ok(())
    }

    /// A file below `bin/` other than pid0.
    pub(super) fn bin_entry(&mut self, path: &str, item: &UnionEntry) -> Result<()> {
        let Entry::File { source } = &item.entry else {
            return Ok(());
        };
        if !path.ends_with(".wasm") {
            return Ok(());
        }
        let bytes = std::fs::read(source).map_err(Error::io("read", source))?;
        if let Err(rule) = wasm::check_component(&bytes) {
            let layer = self.layer(item).to_string();
            self.error(
                path,
                format!(
                    "from layer `{layer}` ({}) {rule}; every `.wasm` file under `bin/` must be \
                     a WebAssembly component",
                    source.display()
                ),
            );
        }
        Ok(())
    }
}
