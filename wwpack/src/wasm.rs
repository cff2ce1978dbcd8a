//! What a `.wasm` file is: a component, a core module, or not WebAssembly at all.
//!
//! Used by `wwpack build` to check `bin/main.wasm` and by `ww run` to explain why a file cannot
//! boot, with the same words.

use std::fmt;

/// The kind of a WebAssembly binary, judged by its preamble.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Component,
    CoreModule,
    NotWasm,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Component => "a WebAssembly component",
            Kind::CoreModule => "a core WebAssembly module",
            Kind::NotWasm => "not WebAssembly",
        })
    }
}

/// Judges `bytes` by the magic number and version/layer field.
pub fn kind(bytes: &[u8]) -> Kind {
    if wasmparser::Parser::is_component(bytes) {
        Kind::Component
    } else if wasmparser::Parser::is_core_wasm(bytes) {
        Kind::CoreModule
    } else {
        Kind::NotWasm
    }
}

/// Checks that `bytes` are a valid WebAssembly component; the error says why not, in one line.
pub fn check_component(bytes: &[u8]) -> Result<(), String> {
    match kind(bytes) {
        Kind::Component => {}
        Kind::CoreModule => {
            return Err("is a core WebAssembly module, not a component (build it for wasm32-wasip2, or wrap it with `wasm-tools component new`)".into())
        }
        Kind::NotWasm => return Err("is not WebAssembly (no `\\0asm` header)".into()),
    }
    let mut validator = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all());
    validator
        .validate_all(bytes)
        .map(|_| ())
        .map_err(|e| format!("is not a valid WebAssembly component: {}", e.message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_components_modules_and_garbage_apart() {
        let component = wat::parse_str("(component)").unwrap();
        let module = wat::parse_str("(module)").unwrap();
        assert_eq!(kind(&component), Kind::Component);
        assert_eq!(kind(&module), Kind::CoreModule);
        assert_eq!(kind(b"#!/bin/sh\n"), Kind::NotWasm);
        assert!(check_component(&component).is_ok());
        assert!(check_component(&module).unwrap_err().contains("core"));
        assert!(check_component(b"")
            .unwrap_err()
            .contains("not WebAssembly"));
        let mut broken = component.clone();
        broken.extend_from_slice(&[0x01, 0xff]);
        assert!(check_component(&broken)
            .unwrap_err()
            .contains("not a valid"));
    }
}
