//! The walking skeleton end to end: `wwpack build` builds the real `hello` guest for
//! wasm32-wasip2 and writes the `hello` image; `ww run` boots it with overlays; and every way a
//! boot can fail gives one line naming the file and the reason, and a non-zero exit.

use std::process::{Command, Output};
use std::sync::OnceLock;

use e2e::{
    bin, build_image, library_component, output, stderr, stdout, trapping_command, wat, write_tree,
    Ww,
};

/// The `hello` image (the `hello` guest as pid0, no RPC), built once for all tests of this file.
fn image() -> &'static std::path::Path {
    static IMAGE: OnceLock<(tempfile::TempDir, std::path::PathBuf)> = OnceLock::new();
    let (_, dir) = IMAGE.get_or_init(|| {
        let out = tempfile::tempdir().expect("temp dir");
        let dir = build_image(out.path(), "hello");
        (out, dir)
    });
    dir
}

/// A block store and cache of ww's own for this test process.
fn ww() -> &'static Ww {
    static WW: OnceLock<Ww> = OnceLock::new();
    WW.get_or_init(Ww::new)
}

fn ww_run(layers: &[&std::path::Path], args: &[&str]) -> Output {
    output(&mut ww().run_command(layers, &[], args))
}

fn ww_run_args(layers: &[String], args: &[&str]) -> Output {
    output(&mut ww().run_command(layers, &[], args))
}

/// Asserts a failed boot: status `code`, exactly one line on stderr containing every `needle`.
fn assert_one_line_error(o: &Output, code: i32, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(err.starts_with("ww: error: "), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
    }
}

#[test]
fn image_has_pid0_and_the_base_motd() {
    let img = image();
    let main = std::fs::read(img.join("bin/main.wasm")).unwrap();
    assert!(wasmparser_is_component(&main));
    let base_motd = std::fs::read(e2e::repo().join("layers/base/etc/motd")).unwrap();
    assert_eq!(std::fs::read(img.join("etc/motd")).unwrap(), base_motd);
}

fn wasmparser_is_component(bytes: &[u8]) -> bool {
    // Component preamble: magic, version 0x0d, layer 1.
    bytes.starts_with(b"\0asm\x0d\0\x01\0")
}

#[test]
fn boots_hello_with_an_overlay_that_replaces_the_motd() {
    let overlay = tempfile::tempdir().unwrap();
    write_tree(overlay.path(), &[("etc/motd", b"motd from the overlay\n")]);
    let o = ww_run(&[image(), overlay.path()], &["alpha", "two words"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "Hello from Wetware!\nargs: 2\n  [0] alpha\n  [1] two words\nmotd from the overlay\n"
    );
}

#[test]
fn boots_hello_without_overlay_printing_the_image_motd() {
    let o = ww_run(&[image()], &[]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let motd = std::fs::read_to_string(e2e::repo().join("layers/base/etc/motd")).unwrap();
    assert_eq!(stdout(&o), format!("Hello from Wetware!\nargs: 0\n{motd}"));
}

#[test]
fn later_overlay_wins_per_file_and_directories_merge() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    write_tree(
        first.path(),
        &[("etc/motd", b"first\n"), ("etc/other", b"x")],
    );
    write_tree(second.path(), &[("etc/motd", b"second\n")]);
    let o = ww_run(&[image(), first.path(), second.path()], &[]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert!(stdout(&o).ends_with("second\n"), "{}", stdout(&o));
}

#[test]
fn exit_status_of_the_guest_is_passed_on() {
    for code in [0, 1, 3, 42] {
        let o = ww_run(&[image()], &["--exit", &code.to_string()]);
        assert_eq!(o.status.code(), Some(code), "stderr: {}", stderr(&o));
    }
}

#[test]
fn a_directory_over_a_file_is_a_one_line_error_naming_both_layers() {
    let overlay = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(overlay.path().join("etc/motd")).unwrap();
    let o = ww_run(&[image(), overlay.path()], &[]);
    let img = image().display().to_string();
    let over = overlay.path().display().to_string();
    assert_one_line_error(&o, 125, &["etc/motd", &img, &over]);
}

#[test]
fn missing_pid0_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("etc/motd", b"no pid0 here\n")]);
    let o = ww_run(&[dir.path()], &[]);
    assert_one_line_error(
        &o,
        125,
        &[
            "bin/main.wasm",
            "not found",
            &dir.path().display().to_string(),
        ],
    );
}

#[test]
fn core_module_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("bin/main.wasm", &wat("(module)"))]);
    let o = ww_run(&[dir.path()], &[]);
    let file = dir.path().join("bin/main.wasm");
    assert_one_line_error(
        &o,
        125,
        &[
            &file.display().to_string(),
            "core WebAssembly module, not a component",
        ],
    );
}

#[test]
fn garbage_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("bin/main.wasm", b"#!/bin/sh\necho hi\n")]);
    let o = ww_run(&[dir.path()], &[]);
    assert_one_line_error(&o, 125, &["bin/main.wasm", "not WebAssembly"]);
}

#[test]
fn component_that_is_not_a_command_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("bin/main.wasm", &library_component())]);
    let o = ww_run(&[dir.path()], &[]);
    assert_one_line_error(
        &o,
        125,
        &[
            "bin/main.wasm",
            "not a WASI command",
            "wasi:cli/run",
            "exports answer",
        ],
    );
}

#[test]
fn trap_is_a_one_line_error_with_the_trap_status() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("bin/main.wasm", &trapping_command())]);
    let o = ww_run(&[dir.path()], &[]);
    assert_one_line_error(&o, 134, &["bin/main.wasm", "trapped", "unreachable"]);
}

#[test]
fn pid0_from_an_overlay_names_the_overlay_file() {
    // The image's pid0 is shadowed by a trapping one from the overlay: the error names the
    // overlay's file, the one that actually ran.
    let overlay = tempfile::tempdir().unwrap();
    write_tree(overlay.path(), &[("bin/main.wasm", &trapping_command())]);
    let o = ww_run(&[image(), overlay.path()], &[]);
    let file = overlay.path().join("bin/main.wasm");
    assert_one_line_error(&o, 134, &[&file.display().to_string(), "trapped"]);
}

#[test]
fn a_layer_that_is_not_a_directory_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let o = ww_run(&[image(), &missing], &[]);
    assert_one_line_error(&o, 125, &[&missing.display().to_string()]);
}

/// Adds the built image to ww's block store with `wwpack add` and returns its CID.
fn add_image() -> String {
    let o = output(
        Command::new(bin("wwpack"))
            .arg("--store")
            .arg(ww().store())
            .arg("add")
            .arg(image()),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).trim().to_string()
}

#[test]
fn boots_an_image_by_cid_from_the_block_store_with_an_overlay() {
    let cid = add_image();
    let overlay = tempfile::tempdir().unwrap();
    write_tree(overlay.path(), &[("etc/motd", b"motd over a CID\n")]);
    for layer in [cid.clone(), format!("/ipfs/{cid}")] {
        let o = ww_run_args(&[layer, overlay.path().display().to_string()], &["x"]);
        assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
        assert_eq!(
            stdout(&o),
            "Hello from Wetware!\nargs: 1\n  [0] x\nmotd over a CID\n"
        );
    }
    // The union root of the image alone is cached under the image's own CID.
    let o = ww_run_args(std::slice::from_ref(&cid), &[]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert!(
        ww().cache().join("roots").join(&cid).is_dir(),
        "root cached under {cid}"
    );
    // A pid0 from a CID layer is named by its /ipfs path in errors.
    let trap = tempfile::tempdir().unwrap();
    write_tree(trap.path(), &[("bin/main.wasm", &trapping_command())]);
    let o = ww_run(&[trap.path()], &[]);
    assert_one_line_error(&o, 134, &["trapped"]);
}

#[test]
fn a_cid_that_is_nowhere_is_a_one_line_error() {
    let missing = "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
    let o = ww_run_args(&[missing.to_string()], &[]);
    assert_one_line_error(
        &o,
        125,
        &[
            missing,
            "not in the block store",
            "http://127.0.0.1:9",
            "unreachable",
        ],
    );
}
