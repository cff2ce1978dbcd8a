//! What the tests of `wwpack` (`wwpack/tests/`) and the end-to-end tests (`tests/`, crate `e2e`)
//! share, and nothing that needs a crate of this workspace: the repository's paths, running a
//! command and reading what it left, files and trees on disk, WASI command components written in
//! WAT, a real js-ipfs node ([`IpfsNode`]), several linked on loopback ([`Swarm`]) and fake
//! nodes that misbehave ([`hostile_node`], [`lying_node`]).
//!
//! It depends on no crate of the workspace so that `wwpack` can have it as a dev-dependency:
//! `e2e` depends on `wwpack`, so `wwpack`'s tests cannot use `e2e`.

pub mod hostile_node;
pub mod ipfs_node;
pub mod lying_node;
pub mod node_api;
pub mod process;
pub mod project;
pub mod registry;
pub mod sockets;
pub mod swarm;
pub mod terminal;
pub mod wasm;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use ipfs_node::IpfsNode;
pub use lying_node::{Lie, LyingNode};
pub use swarm::{Swarm, Topology};
pub use wasm::{
    command_component, exiting_command, library_component, spinning_command, trapping_command, wat,
};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/support/ is two levels below the repository root")
        .to_path_buf()
}

/// Runs `cmd`, returning its output; panics only if it cannot be started.
pub fn output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// `bytes` as text, invalid UTF-8 replaced.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The stderr of `o`, as text.
pub fn stderr(o: &Output) -> String {
    text(&o.stderr)
}

/// The stdout of `o`, as text.
pub fn stdout(o: &Output) -> String {
    text(&o.stdout)
}

/// Asserts that `o` succeeded and returns its stdout, which must be UTF-8.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}, stderr: {}",
        o.status,
        stderr(o)
    );
    String::from_utf8(o.stdout.clone()).expect("UTF-8 output")
}

/// Asserts that `o` failed and returns its stderr.
pub fn failed(o: &Output) -> String {
    assert!(!o.status.success(), "unexpected success: {}", stdout(o));
    stderr(o)
}

/// `p` as a `&str` (the tests' temporary paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Writes `files` (relative path, bytes) below `dir`, creating parents.
pub fn write_tree(dir: &Path, files: &[(&str, &[u8])]) {
    for (path, bytes) in files {
        let to = dir.join(path);
        std::fs::create_dir_all(to.parent().expect("a parent")).expect("create parent");
        std::fs::write(&to, bytes).expect("write file");
    }
}

/// Copies the tree `from` to `to` (created): files with their permissions, symlinks as
/// symlinks; any directory named `target` (a cargo build's) is left out.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    let entries =
        std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.expect("a directory entry");
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        let kind = entry.file_type().expect("a file type");
        if kind.is_symlink() {
            let target = std::fs::read_link(&src).expect("read link");
            std::os::unix::fs::symlink(target, &dst).expect("copy symlink");
        } else if kind.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst)
                .unwrap_or_else(|e| panic!("copy {} to {}: {e}", src.display(), dst.display()));
        }
    }
}

/// Flips the bits of the byte at `offset` of `path`, whatever its mode (block files and packs
/// are read-only): how tests damage a block where a store keeps it (`Store::locate`).
pub fn flip_byte(path: &Path, offset: u64) {
    use std::os::unix::fs::{FileExt, PermissionsExt};
    let mode = std::fs::metadata(path)
        .expect("inspect the file to damage")
        .permissions();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .expect("make it writable");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open the file to damage");
    let mut byte = [0];
    file.read_exact_at(&mut byte, offset)
        .expect("read the byte to flip");
    file.write_all_at(&[!byte[0]], offset).expect("flip it");
    std::fs::set_permissions(path, mode).expect("restore its mode");
}

/// The permission bits of `path` itself (a symlink is not followed).
pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .mode()
        & 0o777
}

/// The names in `dir`, sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The regular files below `dir` (none if it does not exist).
pub fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk_files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Lets the unprivileged user `nobody` reach each of `paths`: o+rx on it and on every one of
/// its parents. (As root, permission bits decide nothing, and CI runs as root: tests about
/// permissions run the binary as `nobody`, which must reach it and its directories.)
pub fn reachable_for_nobody(paths: &[&Path]) {
    for start in paths {
        let mut d = Some(*start);
        while let Some(p) = d {
            let _ = Command::new("chmod").arg("o+rx").arg(p).status();
            d = p.parent();
        }
    }
}

/// The write end of a pipe whose read end is already closed: every write to it fails with
/// `EPIPE`, as a stdout does once `head` has exited.
pub fn closed_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    writer
}

/// Decodes lowercase or uppercase hex; panics on anything else.
pub fn unhex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd-length hex {hex:?}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Sends `signal` to the process `pid` (a child of the test's, so that the pid cannot have
/// been reused while it is not waited for).
pub fn kill(pid: u32, signal: libc::c_int) -> std::io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
    // SAFETY: kill(2) takes no pointers; the pid is the caller's child.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sends `signal` to the child process `child`, which must not have been waited for.
pub fn signal(child: &std::process::Child, signal: libc::c_int) {
    if let Err(e) = kill(child.id(), signal) {
        panic!("kill({}, {signal}): {e}", child.id());
    }
}
