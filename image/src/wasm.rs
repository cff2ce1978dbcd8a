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

/// The interface a WASI 0.2 command exports; any 0.2.x version is accepted.
pub const RUN_EXPORT_PREFIX: &str = "wasi:cli/run@0.2.";

/// Checks that `bytes` are a valid component that is a WASI 0.2 command: it exports
/// `wasi:cli/run@0.2.x`. The error says what it exports instead, in one line.
pub fn check_command(bytes: &[u8]) -> Result<(), String> {
    check_component(bytes)?;
    let exports = component_exports(bytes)?;
    if exports.iter().any(|n| n.starts_with(RUN_EXPORT_PREFIX)) {
        return Ok(());
    }
    Err(not_a_command(&exports))
}

/// The message for a component that does not export `wasi:cli/run`, given what it exports.
pub fn not_a_command(exports: &[String]) -> String {
    let have = if exports.is_empty() {
        "it exports nothing".to_string()
    } else {
        format!("it exports {}", exports.join(", "))
    };
    format!("is a component but not a WASI command: it does not export wasi:cli/run@0.2.x ({have})")
}

/// The names a component exports at its top level (not those of nested modules or components).
fn component_exports(bytes: &[u8]) -> Result<Vec<String>, String> {
    let mut depth = 0usize;
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload
            .map_err(|e| format!("is not a valid WebAssembly component: {}", e.message()))?
        {
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            wasmparser::Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    let export = export.map_err(|e| {
                        format!("is not a valid WebAssembly component: {}", e.message())
                    })?;
                    names.push(export.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_export_wasi_cli_run() {
        let command = wat::parse_str(
            r#"(component
                (core module $m (func (export "run") (result i32) i32.const 0))
                (core instance $i (instantiate $m))
                (func $run (result (result)) (canon lift (core func $i "run")))
                (instance $inst (export "run" (func $run)))
                (export "wasi:cli/run@0.2.3" (instance $inst)))"#,
        )
        .unwrap();
        assert_eq!(check_command(&command), Ok(()));
        let err = check_command(&wat::parse_str("(component)").unwrap()).unwrap_err();
        assert!(
            err.contains("not a WASI command") && err.contains("exports nothing"),
            "{err}"
        );
        // An export of a nested component does not count.
        let nested = wat::parse_str(
            r#"(component (component
                (core module $m (func (export "run") (result i32) i32.const 0))
                (core instance $i (instantiate $m))
                (func $run (result (result)) (canon lift (core func $i "run")))
                (instance $inst (export "run" (func $run)))
                (export "wasi:cli/run@0.2.3" (instance $inst))))"#,
        )
        .unwrap();
        assert!(check_command(&nested).is_err());
    }

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
pub mod summary;
