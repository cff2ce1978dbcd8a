//! Outputs on real files, FIFOs, devices and symlinks.

use super::*;
use std::io::Read;
use std::os::unix::fs::FileTypeExt;

fn write(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let mut out = Output::create(path)?;
    out.write_all(bytes).unwrap();
    out.finish()
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// The umask of this process (read from /proc, which does not change it).
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().mode() & 0o777
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_new_file_is_written_with_the_umask_applied_and_nothing_else_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.car");
    write(&path, b"car").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"car");
    assert_eq!(mode(&path), 0o666 & !umask());
    assert_eq!(names(dir.path()), ["new.car"]);
}

#[test]
fn a_regular_file_is_replaced_atomically_and_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.car");
    std::fs::write(&path, b"previous").unwrap();
    std::fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
    let before = std::fs::metadata(&path).unwrap().ino();
    write(&path, b"new").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"new");
    assert_ne!(
        std::fs::metadata(&path).unwrap().ino(),
        before,
        "renamed over"
    );
    assert_eq!(mode(&path), 0o640);
    assert_eq!(names(dir.path()), ["old.car"]);
}

#[test]
fn an_unfinished_output_leaves_the_previous_file_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.car");
    std::fs::write(&path, b"previous").unwrap();
    let mut out = Output::create(&path).unwrap();
    out.write_all(b"half of a CAR").unwrap();
    drop(out);
    assert_eq!(std::fs::read(&path).unwrap(), b"previous");
    assert_eq!(names(dir.path()), ["old.car"]);
}

#[test]
fn a_fifo_is_written_in_place_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            File::open(&fifo).unwrap().read_to_end(&mut bytes).unwrap();
            bytes
        })
    };
    write(&fifo, b"through the pipe").unwrap();
    assert_eq!(reader.join().unwrap(), b"through the pipe");
    let meta = std::fs::symlink_metadata(&fifo).unwrap();
    assert!(meta.file_type().is_fifo(), "the FIFO is still a FIFO");
    assert_eq!(names(dir.path()), ["pipe"]);
}

#[test]
fn a_character_device_is_written_in_place() {
    write(Path::new("/dev/null"), b"discarded").unwrap();
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
}

#[test]
fn a_symlink_to_a_regular_file_is_kept_and_its_target_replaced() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("real")).unwrap();
    let target = dir.path().join("real/file.car");
    std::fs::write(&target, b"previous").unwrap();
    let link = dir.path().join("link.car");
    std::os::unix::fs::symlink("real/file.car", &link).unwrap();
    write(&link, b"new").unwrap();
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("real/file.car")
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"new");
    assert_eq!(names(&dir.path().join("real")), ["file.car"]);
}

#[test]
fn a_dangling_symlink_chain_creates_its_final_target() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    std::os::unix::fs::symlink("d/second", dir.path().join("first")).unwrap();
    std::os::unix::fs::symlink("out.car", dir.path().join("d/second")).unwrap();
    write(&dir.path().join("first"), b"car").unwrap();
    assert_eq!(std::fs::read(dir.path().join("d/out.car")).unwrap(), b"car");
    assert!(std::fs::symlink_metadata(dir.path().join("first"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn a_symlink_to_a_fifo_writes_the_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let link = dir.path().join("link");
    std::os::unix::fs::symlink("pipe", &link).unwrap();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        File::open(&fifo).unwrap().read_to_end(&mut bytes).unwrap();
        bytes
    });
    write(&link, b"via the link").unwrap();
    assert_eq!(reader.join().unwrap(), b"via the link");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let err = Output::create(dir.path()).err().unwrap().to_string();
    assert!(
        err.contains(dir.path().to_str().unwrap()) && err.contains("Is a directory"),
        "{err}"
    );
    let missing = dir.path().join("no/such/dir/x.car");
    let err = Output::create(&missing).err().unwrap().to_string();
    assert!(err.contains("no/such/dir"), "{err}");
    let looped = dir.path().join("loop");
    std::os::unix::fs::symlink("loop", &looped).unwrap();
    let err = Output::create(&looped).err().unwrap().to_string();
    assert!(
        err.contains("loop") && err.contains("symbolic links"),
        "{err}"
    );
}

#[test]
fn dash_is_stdout() {
    let out = Output::create(Path::new("-")).unwrap();
    assert!(out.is_stdout());
    let dir = tempfile::tempdir().unwrap();
    let out = Output::create(&dir.path().join("-")).unwrap();
    assert!(!out.is_stdout());
}
