//! What a `.wasm` file declares and how its bytes divide, and what changed between two of them.
//!
//! Used by `wwpack diff` to show a reviewer the interfaces and functions a component imports and
//! exports, which of them were added or removed, and the size of its code, data and custom
//! sections before and after. The JSON form of [`WasmSummary`] and [`WasmDiff`] is a stable
//! schema: fields serialize in declaration order.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use serde::Serialize;
use wasmparser::component_types::ComponentEntityType;
use wasmparser::types::{EntityType, TypesRef};
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

/// What a .wasm file declares and how its bytes divide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WasmSummary {
    /// `"component"` or `"module"`.
    pub kind: &'static str,
    /// By import name: for a component, e.g. `wasi:cli/environment@0.2.6`; for a core module,
    /// `module::name`.
    pub imports: BTreeMap<String, Item>,
    /// By export name, e.g. `wasi:cli/run@0.2.6`.
    pub exports: BTreeMap<String, Item>,
    pub sections: Sections,
}

/// One import or export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// `"instance"` (an interface), `"func"`, `"component"`, `"module"`, `"type"`, `"value"`,
    /// `"table"`, `"memory"`, `"global"` or `"tag"`.
    pub kind: &'static str,
    /// For an instance, the names of its func exports, verbatim (e.g.
    /// `[method]output-stream.write`); empty for every other kind.
    pub functions: BTreeSet<String>,
}

/// Bytes by section kind, summed over the whole binary including every nested core module and
/// component.
///
/// A section counts whole: its id byte, its size (LEB128, as encoded, padding included) and its
/// contents. `code`, `data` and `custom` count only leaf sections (a nested module is inside the
/// outer component's module section, and is counted through its own sections instead), and
/// `other` is the rest: preambles, every other section, and the headers of nested module and
/// component sections. So `code + data + custom + other` is the file length.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sections {
    /// Code sections of all core modules.
    pub code: u64,
    /// Data sections of all core modules.
    pub data: u64,
    /// Custom sections at any nesting level (`name`, `producers`, `component-type:...`, ...).
    pub custom: u64,
    /// Everything else.
    pub other: u64,
}

/// Summarizes a valid component or core module. The error is one line: `not WebAssembly`, or
/// `invalid component: <why>` / `invalid module: <why>`.
pub fn summarize(bytes: &[u8]) -> Result<WasmSummary, String> {
    let kind = if Parser::is_component(bytes) {
        "component"
    } else if Parser::is_core_wasm(bytes) {
        "module"
    } else {
        return Err("not WebAssembly".into());
    };
    let invalid = |e: wasmparser::BinaryReaderError| {
        let why: Vec<&str> = e.message().lines().collect();
        format!("invalid {kind}: {}", why.join(": "))
    };
    let types = Validator::new_with_features(WasmFeatures::all())
        .validate_all(bytes)
        .map_err(invalid)?;
    let types = types.as_ref();
    let walk = walk(bytes).map_err(invalid)?;

    let mut imports = BTreeMap::new();
    let mut exports = BTreeMap::new();
    if kind == "component" {
        for name in walk.imports {
            if let Some(item) = types.component_item_for_import(name) {
                imports.insert(name.to_string(), component_item(types, &item.ty));
            }
        }
        for name in walk.exports {
            if let Some(item) = types.component_item_for_export(name) {
                exports.insert(name.to_string(), component_item(types, &item.ty));
            }
        }
    } else {
        for (module, name, ty) in types.core_imports().into_iter().flatten() {
            imports.insert(format!("{module}::{name}"), core_item(&ty));
        }
        for (name, ty) in types.core_exports().into_iter().flatten() {
            exports.insert(name.to_string(), core_item(&ty));
        }
    }
    Ok(WasmSummary {
        kind,
        imports,
        exports,
        sections: walk.sections,
    })
}

fn component_item(types: TypesRef<'_>, ty: &ComponentEntityType) -> Item {
    let mut functions = BTreeSet::new();
    let kind = match ty {
        ComponentEntityType::Instance(id) => {
            let exports = types[*id].exports.iter();
            let funcs = exports.filter(|(_, item)| matches!(item.ty, ComponentEntityType::Func(_)));
            functions = funcs.map(|(name, _)| name.clone()).collect();
            "instance"
        }
        ComponentEntityType::Func(_) => "func",
        ComponentEntityType::Component(_) => "component",
        ComponentEntityType::Module(_) => "module",
        ComponentEntityType::Type { .. } => "type",
        ComponentEntityType::Value(_) => "value",
    };
    Item { kind, functions }
}

fn core_item(ty: &EntityType) -> Item {
    let kind = match ty {
        EntityType::Func(_) | EntityType::FuncExact(_) => "func",
        EntityType::Table(_) => "table",
        EntityType::Memory(_) => "memory",
        EntityType::Global(_) => "global",
        EntityType::Tag(_) => "tag",
    };
    Item {
        kind,
        functions: BTreeSet::new(),
    }
}

/// The section sizes and the names of the top-level component imports and exports.
#[derive(Default)]
struct Walk<'a> {
    sections: Sections,
    imports: Vec<&'a str>,
    exports: Vec<&'a str>,
}

fn walk(bytes: &[u8]) -> Result<Walk<'_>, wasmparser::BinaryReaderError> {
    let mut walk = Walk::default();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::CodeSectionStart { range, .. } => {
                walk.sections.code += with_header(bytes, range)
            }
            Payload::DataSection(s) => walk.sections.data += with_header(bytes, s.range()),
            Payload::CustomSection(s) => walk.sections.custom += with_header(bytes, s.range()),
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    walk.imports.push(import?.name.name);
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    walk.exports.push(export?.name.name);
                }
            }
            _ => {}
        }
    }
    let s = &mut walk.sections;
    s.other = (bytes.len() as u64).saturating_sub(s.code + s.data + s.custom);
    Ok(walk)
}

/// The length of the section whose contents are `range`, with its header: the id byte and the
/// LEB128 size just before `range`. The size's last byte has its high bit clear, the bytes before
/// it have it set, and the id byte (< 0x80) stops the scan back.
fn with_header(bytes: &[u8], range: Range<usize>) -> u64 {
    let before = bytes.get(..range.start.saturating_sub(1)).unwrap_or(&[]);
    let continued = before
        .iter()
        .rev()
        .take(4)
        .take_while(|b| *b & 0x80 != 0)
        .count();
    (2 + continued + range.len()) as u64
}

/// The difference between two summaries; `None` for a side that has no file (added/removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WasmDiff {
    pub imports: ItemsDiff,
    pub exports: ItemsDiff,
    pub sections: SectionsDiff,
}

/// Imports or exports added, removed and changed, each sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ItemsDiff {
    pub added: Vec<ItemRef>,
    pub removed: Vec<ItemRef>,
    /// Same name on both sides, different kind or functions.
    pub changed: Vec<ItemChange>,
}

/// An item added or removed; `functions` sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemRef {
    pub name: String,
    pub kind: &'static str,
    pub functions: Vec<String>,
}

/// An item present on both sides that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemChange {
    pub name: String,
    pub functions_added: Vec<String>,
    pub functions_removed: Vec<String>,
    /// `Some([old, new])` only when the kind changed.
    pub kind: Option<[&'static str; 2]>,
}

/// Section sizes as `[before, after]`; 0 for a missing side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionsDiff {
    pub code: [u64; 2],
    pub data: [u64; 2],
    pub custom: [u64; 2],
    pub other: [u64; 2],
}

impl WasmDiff {
    /// No import or export was added, removed or changed.
    pub fn is_empty_interface(&self) -> bool {
        [&self.imports, &self.exports]
            .iter()
            .all(|d| d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty())
    }
}

/// What changed from `a` to `b`.
pub fn diff(a: Option<&WasmSummary>, b: Option<&WasmSummary>) -> WasmDiff {
    let empty = BTreeMap::new();
    let (ia, ea) = a.map_or((&empty, &empty), |s| (&s.imports, &s.exports));
    let (ib, eb) = b.map_or((&empty, &empty), |s| (&s.imports, &s.exports));
    let none = Sections::default();
    let (sa, sb) = (
        a.map_or(&none, |s| &s.sections),
        b.map_or(&none, |s| &s.sections),
    );
    WasmDiff {
        imports: diff_items(ia, ib),
        exports: diff_items(ea, eb),
        sections: SectionsDiff {
            code: [sa.code, sb.code],
            data: [sa.data, sb.data],
            custom: [sa.custom, sb.custom],
            other: [sa.other, sb.other],
        },
    }
}

fn diff_items(a: &BTreeMap<String, Item>, b: &BTreeMap<String, Item>) -> ItemsDiff {
    let item_ref = |name: &String, item: &Item| ItemRef {
        name: name.clone(),
        kind: item.kind,
        functions: item.functions.iter().cloned().collect(),
    };
    let mut d = ItemsDiff::default();
    for (name, old) in a {
        match b.get(name) {
            None => d.removed.push(item_ref(name, old)),
            Some(new) if new != old => d.changed.push(ItemChange {
                name: name.clone(),
                functions_added: new.functions.difference(&old.functions).cloned().collect(),
                functions_removed: old.functions.difference(&new.functions).cloned().collect(),
                kind: (old.kind != new.kind).then_some([old.kind, new.kind]),
            }),
            Some(_) => {}
        }
    }
    for (name, new) in b {
        if !a.contains_key(name) {
            d.added.push(item_ref(name, new));
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(wat: &str) -> WasmSummary {
        summarize(&wat::parse_str(wat).unwrap()).unwrap()
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// A component importing `wasi:cli/environment` with the given functions, `extra` imports,
    /// and exporting `wasi:cli/run` (an instance) and `hello` (a func) when `run` is set.
    fn component(env_funcs: &[&str], extra: &str, run: bool) -> WasmSummary {
        let funcs: String = env_funcs
            .iter()
            .map(|f| format!(r#"(export "{f}" (func (result (list string))))"#))
            .collect();
        let exports = if run {
            r#"(core module $m (func (export "run") (result i32) i32.const 0))
               (core instance $i (instantiate $m))
               (func $run (result (result)) (canon lift (core func $i "run")))
               (instance $inst (export "run" (func $run)))
               (export "wasi:cli/run@0.2.0" (instance $inst))
               (export "hello" (func $run))"#
        } else {
            ""
        };
        summary(&format!(
            r#"(component
                (import "wasi:cli/environment@0.2.0" (instance
                    (export "get-env" (type (sub resource)))
                    {funcs}))
                {extra}
                {exports})"#
        ))
    }

    fn kinds(items: &BTreeMap<String, Item>) -> Vec<(&str, &str)> {
        items.iter().map(|(n, i)| (n.as_str(), i.kind)).collect()
    }

    #[test]
    fn component_imports_and_exports() {
        // The nested component's import and export are not the outer component's.
        let extra = r#"(import "wasi:io/streams@0.2.0" (instance
                (export "output-stream" (type $os (sub resource)))
                (export "[method]output-stream.write"
                    (func (param "self" (borrow $os)) (param "contents" (list u8))))))
            (import "f" (func))
            (component (import "inner" (func)) (export "inner-out" (func 0)))"#;
        let s = component(&["get-arguments", "get-environment"], extra, true);
        assert_eq!(s.kind, "component");
        let imports = [
            ("f", "func"),
            ("wasi:cli/environment@0.2.0", "instance"),
            ("wasi:io/streams@0.2.0", "instance"),
        ];
        assert_eq!(kinds(&s.imports), imports);
        let env = &s.imports["wasi:cli/environment@0.2.0"];
        assert_eq!(env.functions, set(&["get-arguments", "get-environment"]));
        let streams = &s.imports["wasi:io/streams@0.2.0"];
        assert_eq!(streams.functions, set(&["[method]output-stream.write"]));
        let exports = [("hello", "func"), ("wasi:cli/run@0.2.0", "instance")];
        assert_eq!(kinds(&s.exports), exports);
        assert_eq!(s.exports["wasi:cli/run@0.2.0"].functions, set(&["run"]));
        assert!(s.imports["f"].functions.is_empty() && s.exports["hello"].functions.is_empty());
        assert!(s.sections.code > 0 && s.sections.other > 0);
    }

    #[test]
    fn core_modules() {
        let bytes = wat::parse_str(
            r#"(module
                (import "env" "log" (func (param i32)))
                (import "env" "mem" (memory 1))
                (global $g (mut i32) (i32.const 0))
                (func (export "run") (call 0 (i32.const 1)))
                (export "g" (global $g))
                (data (i32.const 8) "hello"))"#,
        )
        .unwrap();
        let s = summarize(&bytes).unwrap();
        assert_eq!(s.kind, "module");
        assert_eq!(
            kinds(&s.imports),
            [("env::log", "func"), ("env::mem", "memory")]
        );
        assert_eq!(kinds(&s.exports), [("g", "global"), ("run", "func")]);
        let t = &s.sections;
        assert!(t.code > 0 && t.data > 0, "{t:?}");
        assert_eq!(t.code + t.data + t.custom + t.other, bytes.len() as u64);
    }

    #[test]
    fn section_sizes_include_headers_and_add_up() {
        // Preamble (8) + type section 01 04 01 60 00 00 (6) + function section 03 02 01 00 (4)
        // + code section 0a 04 01 02 00 0b (6).
        let s = summary("(module (func))").sections;
        assert_eq!((s.code, s.data, s.custom, s.other), (6, 0, 0, 18));
        // Nested modules count through their own sections, once; names are custom sections.
        let bytes = wat::parse_str(
            r#"(component $c
                (core module $m (memory 1) (func $f) (data (i32.const 0) "abc"))
                (core module $n (func $g) (func $h))
                (component (core module (memory 1) (data (i32.const 0) "xyz"))))"#,
        )
        .unwrap();
        let s = summarize(&bytes).unwrap().sections;
        assert!(s.code >= 12 && s.data >= 18 && s.custom > 0, "{s:?}");
        assert_eq!(s.code + s.data + s.custom + s.other, bytes.len() as u64);
    }

    #[test]
    fn diff_finds_interface_changes() {
        let old = component(&["get-arguments"], r#"(import "old" (func))"#, false);
        let new = component(
            &["get-arguments", "get-environment"],
            r#"(import "old" (instance))"#,
            true,
        );
        let d = diff(Some(&old), Some(&new));
        assert!(d.imports.added.is_empty() && d.imports.removed.is_empty());
        let [old_fn, env] = &d.imports.changed[..] else {
            panic!("{d:?}")
        };
        assert_eq!(
            (&*old_fn.name, old_fn.kind),
            ("old", Some(["func", "instance"]))
        );
        assert!(old_fn.functions_added.is_empty() && old_fn.functions_removed.is_empty());
        assert_eq!((&*env.name, env.kind), ("wasi:cli/environment@0.2.0", None));
        assert_eq!(env.functions_added, ["get-environment"]);
        assert!(env.functions_removed.is_empty());
        let added: Vec<_> = d.exports.added.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(added, ["hello", "wasi:cli/run@0.2.0"]);
        assert_eq!(d.exports.added[1].functions, ["run"]);
        assert!(!d.is_empty_interface());

        let back = diff(Some(&new), Some(&old));
        assert_eq!(back.exports.removed, d.exports.added);
        assert_eq!(
            back.imports.changed[1].functions_removed,
            ["get-environment"]
        );
        assert!(diff(Some(&new), Some(&new)).is_empty_interface());

        let gone = diff(Some(&new), None);
        assert_eq!(gone.imports.removed.len(), 2);
        assert_eq!(gone.sections.code, [new.sections.code, 0]);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["imports"]["changed"][0]["kind"][1], "instance");
    }

    #[test]
    fn garbage_and_truncated_input_are_errors() {
        assert_eq!(summarize(b"hello, world").unwrap_err(), "not WebAssembly");
        assert_eq!(summarize(b"").unwrap_err(), "not WebAssembly");
        let one_line = |err: String| err.starts_with("invalid component: ") && !err.contains('\n');
        let bytes =
            wat::parse_str(r#"(component (import "f" (func)) (core module (func)))"#).unwrap();
        // A cut at a section boundary leaves a valid component; every other cut is an error.
        for len in 8..bytes.len() {
            assert!(summarize(&bytes[..len]).map_or_else(one_line, |_| true));
        }
        assert!(summarize(&bytes[..bytes.len() - 1]).is_err());
        // wasmparser's multi-line messages are joined into one line.
        let bad = wat::parse_str(r#"(component (import "[method]x.y" (func)))"#).unwrap();
        assert!(one_line(summarize(&bad).unwrap_err()));
        let mut bad = wat::parse_str("(module (func))").unwrap();
        bad.push(0x0a);
        assert!(summarize(&bad).unwrap_err().starts_with("invalid module: "));
    }
}
