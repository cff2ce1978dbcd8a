//! WebAssembly written in the tests: [`wat`] compiles WAT, and [`command_component`] is the one
//! wrapper that turns a core module into a WASI 0.2 command component (its `run` export lifted
//! as `wasi:cli/run@0.2.0`), which the commands below are made of.

/// Compiles WebAssembly text (core module or component) to bytes.
pub fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap_or_else(|e| panic!("bad test WAT: {e}"))
}

/// The WAT of a WASI 0.2 command component around the core module `$m` whose fields are
/// `module_fields` (they must export `run` of type `(result i32)`: 0 is `Ok`, anything else
/// `Err`); `instances` (at least 1) instances of `$m` are made, the first one's `run` lifted.
pub fn command_component(module_fields: &str, instances: usize) -> String {
    let mut extra = String::new();
    for i in 1..instances {
        extra.push_str(&format!("(core instance $extra{i} (instantiate $m))\n"));
    }
    format!(
        r#"(component
  (core module $m
    {module_fields})
  (core instance $i (instantiate $m))
  {extra}
  (type $run-type (func (result (result))))
  (func $run (type $run-type) (canon lift (core func $i "run")))
  (instance $run-instance (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run-instance)))"#
    )
}

/// A WASI 0.2 command component whose `run` returns at once: `Ok` for `status` 0, `Err` (exit
/// status 1) for 1.
pub fn exiting_command(status: u8) -> Vec<u8> {
    wat(&command_component(
        &format!(r#"(func (export "run") (result i32) i32.const {status})"#),
        1,
    ))
}

/// A WASI 0.2 command component whose `run` executes `unreachable`.
pub fn trapping_command() -> Vec<u8> {
    wat(&command_component(
        r#"(func (export "run") (result i32) unreachable)"#,
        1,
    ))
}

/// A WASI 0.2 command component whose `run` never returns (an endless loop, interrupted only by
/// the engine's epochs).
pub fn spinning_command() -> Vec<u8> {
    wat(&command_component(
        r#"(func (export "run") (result i32) (loop $forever (br $forever)) unreachable)"#,
        1,
    ))
}

/// A component that exports a function but is not a WASI command.
pub fn library_component() -> Vec<u8> {
    wat(r#"
(component
  (core module $m
    (func (export "answer") (result i32) i32.const 42))
  (core instance $i (instantiate $m))
  (func $answer (result u32) (canon lift (core func $i "answer")))
  (export "answer" (func $answer)))
"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commands_are_components_and_differ() {
        let all = [
            exiting_command(0),
            exiting_command(1),
            trapping_command(),
            spinning_command(),
            library_component(),
        ];
        for (i, a) in all.iter().enumerate() {
            // A component's preamble: magic, then version 0x0d and layer 1.
            assert_eq!(&a[..8], b"\0asm\x0d\0\x01\0", "{i}");
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
