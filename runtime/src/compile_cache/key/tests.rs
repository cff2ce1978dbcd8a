//! The tests of [`super`]: making, sharing and refusing the compiled cache's key.

use std::os::unix::fs::PermissionsExt;

use super::*;

/// `compiled` holds the key and nothing else (no temporary name left).
fn assert_only_the_key(compiled: &Path) {
    let names: Vec<_> = std::fs::read_dir(compiled)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from(KEY_FILE)],
        "no temp left"
    );
}

#[test]
fn a_key_is_made_once_mode_0600_and_read_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let compiled = dir.path().join("compiled");
    let made = CacheKey::load_or_create(&compiled).expect("make a key");
    let path = compiled.join(KEY_FILE);
    let meta = std::fs::metadata(&path).expect("the key file");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), KEY_LEN as u64);
    let again = CacheKey::load_or_create(&compiled).expect("read the key");
    assert_eq!(made.bytes(), again.bytes());
    let other = tempfile::tempdir().expect("temp dir");
    let fresh = CacheKey::load_or_create(other.path()).expect("another key");
    assert_ne!(made.bytes(), fresh.bytes(), "each cache has its own");
    assert_only_the_key(&compiled);
}

#[test]
fn concurrent_first_uses_agree_on_one_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let compiled = dir.path().join("compiled");
    let keys: Vec<[u8; KEY_LEN]> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| CacheKey::load_or_create(&compiled).map(|k| *k.bytes())))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread").expect("a key"))
            .collect()
    });
    assert!(keys.iter().all(|k| k == &keys[0]), "one key for all");
}

#[test]
fn a_symlink_a_directory_or_a_wrong_size_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, [9u8; KEY_LEN]).expect("write target");
    let cases = [
        "is a symbolic link",
        "is a directory",
        "is a file of 31 bytes",
        "is a file of 33 bytes",
    ];
    for found in cases {
        let compiled = tempfile::tempdir().expect("temp dir");
        let path = compiled.path().join(KEY_FILE);
        match found {
            "is a symbolic link" => std::os::unix::fs::symlink(&target, &path).expect("symlink"),
            "is a directory" => std::fs::create_dir(&path).expect("mkdir"),
            "is a file of 31 bytes" => write_key(&path, &[1u8; 31], 0o600),
            _ => write_key(&path, &[1u8; 33], 0o600),
        }
        let err = CacheKey::load_or_create(compiled.path()).unwrap_err();
        assert!(
            matches!(&err, KeyError::Invalid { found: f, .. } if f == found),
            "{found}: {err}"
        );
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("{} {found}; ", path.display())),
            "{message}"
        );
        assert!(message.contains("remove it"), "{message}");
        assert!(std::fs::symlink_metadata(&path).is_ok(), "left in place");
    }
    assert_eq!(
        std::fs::read(&target).expect("target"),
        [9u8; KEY_LEN],
        "the symlink's target is untouched"
    );
}

/// Writes `bytes` to a new file `path` of mode `mode` (whatever the umask).
fn write_key(path: &Path, bytes: &[u8], mode: u32) {
    std::fs::write(path, bytes).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The error of the key of `compiled`, which must be refused, with the key left alone.
fn refused(compiled: &Path) -> String {
    let path = compiled.join(KEY_FILE);
    let before = std::fs::read(&path).expect("the key");
    let err = CacheKey::load_or_create(compiled).unwrap_err();
    assert!(matches!(err, KeyError::Invalid { .. }), "{err}");
    assert_eq!(std::fs::read(&path).expect("the key"), before, "left alone");
    let message = err.to_string();
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(message.contains("remove it"), "{message}");
    message
}

#[test]
fn a_key_others_may_read_or_write_is_refused() {
    for mode in [0o644, 0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o444] {
        let compiled = tempfile::tempdir().expect("temp dir");
        write_key(&compiled.path().join(KEY_FILE), &[3u8; KEY_LEN], mode);
        let message = refused(compiled.path());
        assert!(
            message.contains(&format!(
                "has mode {mode:04o}, which gives group or others access"
            )),
            "{mode:o}: {message}"
        );
    }
    // The owner's bits are the owner's business: 0400 is fine.
    let compiled = tempfile::tempdir().expect("temp dir");
    write_key(&compiled.path().join(KEY_FILE), &[3u8; KEY_LEN], 0o400);
    let key = CacheKey::load_or_create(compiled.path()).expect("a 0400 key");
    assert_eq!(key.bytes(), &[3u8; KEY_LEN]);
}

#[test]
fn a_key_with_another_name_is_refused() {
    // The attack: mode 0444 and 2 links, as a file of ww's own files cache hard-linked
    // into place (by an image, through an earlier bug). Every broken rule is named.
    let outside = tempfile::tempdir().expect("temp dir");
    let compiled = tempfile::tempdir().expect("temp dir");
    let planted = outside.path().join("files-entry");
    write_key(&planted, &[4u8; KEY_LEN], 0o444);
    std::fs::hard_link(&planted, compiled.path().join(KEY_FILE)).expect("link");
    let message = refused(compiled.path());
    assert!(
        message.contains(" has mode 0444, which gives group or others access and has 2 links;"),
        "{message}"
    );

    // Mode 0600, but another name anywhere else, inside the cache directory or not.
    for other in [
        outside.path().join("copy"),
        compiled.path().join("other"),
        compiled.path().join("key-1-0"),
    ] {
        let compiled = tempfile::tempdir().expect("temp dir");
        let path = compiled.path().join(KEY_FILE);
        write_key(&path, &[5u8; KEY_LEN], 0o600);
        let other = match other.starts_with(outside.path()) {
            true => other,
            false => compiled.path().join(other.file_name().expect("a name")),
        };
        std::fs::hard_link(&path, &other).expect("link");
        let message = refused(compiled.path());
        assert!(message.contains(" has 2 links;"), "{other:?}: {message}");
        assert!(other.exists(), "the other name is left alone");
    }
}

#[test]
fn a_temporary_name_of_the_key_itself_is_removed_not_refused() {
    // Where RENAME_NOREPLACE is unsupported the key is hard-linked into place, then its
    // temporary name removed: a reader in between, or after a maker was killed there,
    // finds 2 links, the other a `.key-*` of the same inode. That is the genuine key.
    let compiled = tempfile::tempdir().expect("temp dir");
    let path = compiled.path().join(KEY_FILE);
    let temp = compiled.path().join(".key-4242-7");
    write_key(&temp, &[6u8; KEY_LEN], 0o600);
    std::fs::hard_link(&temp, &path).expect("link");
    // Another temporary file, of another inode (a key being made): left alone.
    let making = compiled.path().join(".key-4243-0");
    write_key(&making, &[7u8; KEY_LEN], 0o600);
    let key = CacheKey::load_or_create(compiled.path()).expect("the genuine key");
    assert_eq!(key.bytes(), &[6u8; KEY_LEN]);
    assert!(!temp.exists(), "its temporary name is removed");
    assert!(making.exists(), "another file is left alone");
    let meta = std::fs::metadata(&path).expect("the key");
    assert_eq!(meta.nlink(), 1);

    // With a third name outside, it is refused all the same.
    let outside = tempfile::tempdir().expect("temp dir");
    std::fs::hard_link(&path, compiled.path().join(".key-1-1")).expect("link");
    std::fs::hard_link(&path, outside.path().join("copy")).expect("link");
    let message = refused(compiled.path());
    assert!(message.contains(" has 2 links;"), "{message}");
}

/// The fallback of filesystems without `RENAME_NOREPLACE`, its window held open: linked
/// into place, then 50 ms before the caller removes the temporary name.
fn publish_by_link_slowly(new: NewFile) -> std::io::Result<()> {
    new.put(|tmp, path| {
        std::fs::hard_link(tmp, path)?;
        std::thread::sleep(std::time::Duration::from_millis(50));
        Ok(())
    })
}

#[test]
fn concurrent_first_uses_agree_on_one_key_with_the_link_fallback_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let compiled = dir.path().join("compiled");
    let keys: Vec<[u8; KEY_LEN]> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    CacheKey::load_or_create_with(&compiled, publish_by_link_slowly)
                        .map(|k| *k.bytes())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread").expect("never refused"))
            .collect()
    });
    assert!(keys.iter().all(|k| k == &keys[0]), "one key for all");
    let meta = std::fs::metadata(compiled.join(KEY_FILE)).expect("the key");
    assert_eq!(meta.nlink(), 1);
    assert_only_the_key(&compiled);
}

#[test]
fn a_key_of_another_user_is_refused() {
    let compiled = tempfile::tempdir().expect("temp dir");
    let path = compiled.path().join(KEY_FILE);
    write_key(&path, &[8u8; KEY_LEN], 0o600);
    let euid = rustix::process::geteuid().as_raw();
    let other = if euid == 65534 { 65533 } else { 65534 };
    if rustix::fs::chown(&path, Some(rustix::fs::Uid::from_raw(other)), None).is_err() {
        // Only root can give a file away; as anyone else there is no such key to plant.
        eprintln!("skipped: cannot chown a file to uid {other} as uid {euid}");
        return;
    }
    let message = refused(compiled.path());
    assert!(
        message.contains(&format!(
            " is owned by uid {other}, not by uid {euid} who runs ww;"
        )),
        "{message}"
    );
}
