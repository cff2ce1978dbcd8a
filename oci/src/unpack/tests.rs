//! Unpacking real tars (written with the `tar` crate, hostile ones byte by byte) into a union.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::layout::LayoutWriter;
use crate::spec::Config;

/// One tar entry: a path (raw bytes, written as they are), its type, data or link target.
pub(crate) enum E<'a> {
    File(&'a [u8], &'a [u8]),
    Dir(&'a [u8]),
    Link(&'a [u8], tar::EntryType, &'a [u8]),
}

pub(crate) fn tar_of(entries: &[E<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        let (path, kind, data, link): (&[u8], _, &[u8], &[u8]) = match e {
            E::File(p, d) => (p, tar::EntryType::Regular, d, b""),
            E::Dir(p) => (p, tar::EntryType::Directory, b"", b""),
            E::Link(p, k, t) => (p, *k, b"", t),
        };
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name[..path.len()].copy_from_slice(path);
        gnu.linkname[..link.len()].copy_from_slice(link);
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A layout of these layers (tar, gzip or zstd by `media`), in order.
pub(crate) fn layout_of(dir: &Path, layers: &[(&str, Vec<u8>)]) -> Layout {
    layout_annotated(dir, layers, BTreeMap::new())
}

/// As [`layout_of`], with these annotations on the manifest.
pub(crate) fn layout_annotated(
    dir: &Path,
    layers: &[(&str, Vec<u8>)],
    annotations: BTreeMap<String, String>,
) -> Layout {
    let w = LayoutWriter::create(dir).unwrap();
    let mut descriptors = Vec::new();
    for (media, tar) in layers {
        let bytes = match *media {
            spec::MEDIA_LAYER_ZSTD => zstd::encode_all(&tar[..], 3).unwrap(),
            spec::MEDIA_LAYER_GZIP => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(tar).unwrap();
                e.finish().unwrap()
            }
            _ => tar.clone(),
        };
        descriptors.push(w.put_blob(media, &bytes).unwrap());
    }
    w.finish_image(&Config::wasm(vec![], None), descriptors, annotations, None)
        .unwrap();
    Layout::open(dir, None).unwrap()
}

fn unpack_one(entries: &[E<'_>]) -> (tempfile::TempDir, Result<Unpacked, UnpackError>) {
    let work = tempfile::tempdir().unwrap();
    let layout = layout_of(
        &work.path().join("layout"),
        &[(spec::MEDIA_LAYER_TAR, tar_of(entries))],
    );
    let result = unpack(&layout, &work.path().join("root"), Limits::default());
    (work, result)
}

fn refused(entries: &[E<'_>], says: &str) -> tempfile::TempDir {
    let (work, result) = unpack_one(entries);
    let err = result.expect_err("refused").to_string();
    assert!(err.contains(says), "expected `{says}` in: {err}");
    work
}

#[test]
fn layers_unpack_in_order_into_their_union() {
    let work = tempfile::tempdir().unwrap();
    let bottom = tar_of(&[
        E::Dir(b"./"),
        E::Dir(b"./etc/"),
        E::File(b"./etc/motd", b"old\n"),
        E::File(b"./etc/keep", b"kept\n"),
        E::Link(b"./etc/link", tar::EntryType::Symlink, b"motd"),
    ]);
    let top = tar_of(&[
        E::Dir(b"etc"),
        E::File(b"etc/motd", b"new\n"),
        E::File(b"bin/main.wasm", b"\0asm"),
        E::Link(b"etc/link", tar::EntryType::Symlink, b"keep"),
    ]);
    let layout = layout_of(
        &work.path().join("layout"),
        &[
            (spec::MEDIA_LAYER_ZSTD, bottom),
            (spec::MEDIA_LAYER_GZIP, top),
        ],
    );
    let root = work.path().join("root");
    let done = unpack(&layout, &root, Limits::default()).unwrap();
    assert_eq!(done.bytes, 4 + 5 + 4 + 4);
    assert_eq!(std::fs::read(root.join("etc/motd")).unwrap(), b"new\n");
    assert_eq!(std::fs::read(root.join("etc/keep")).unwrap(), b"kept\n");
    assert_eq!(std::fs::read(root.join("bin/main.wasm")).unwrap(), b"\0asm");
    assert_eq!(
        std::fs::read_link(root.join("etc/link")).unwrap(),
        Path::new("keep")
    );
}

#[test]
fn hostile_entries_are_refused_naming_the_entry_and_the_rule() {
    refused(&[E::File(b"../evil", b"x")], "`..` component");
    refused(&[E::File(b"/etc/evil", b"x")], "an absolute path");
    refused(&[E::File(b"a/./b", b"x")], "`.` component");
    refused(
        &[E::Link(b"out", tar::EntryType::Symlink, b"/etc/passwd")],
        "out of the tree",
    );
    refused(
        &[E::Link(b"a/out", tar::EntryType::Symlink, b"../../x")],
        "climbs out of the tree",
    );
    refused(
        &[E::Link(b"hard", tar::EntryType::Link, b"etc/motd")],
        "a hard link",
    );
    refused(
        &[E::Link(b"dev", tar::EntryType::Char, b"")],
        "a device file",
    );
    refused(&[E::Link(b"p", tar::EntryType::Fifo, b"")], "a FIFO");
    refused(&[E::File(b"etc/.wh.motd", b"")], "a whiteout");
    // `s -> .` then `t -> s/..` would leave the tree through `s`.
    refused(
        &[
            E::Link(b"s", tar::EntryType::Symlink, b"."),
            E::Link(b"t", tar::EntryType::Symlink, b"s/.."),
        ],
        "a `..` after a name",
    );
    refused(
        &[E::Link(b"long", tar::EntryType::GNULongName, b"")],
        "a GNU long-name or PAX record",
    );
    refused(
        &[E::Link(b"pax", tar::EntryType::XHeader, b"")],
        "a GNU long-name or PAX record",
    );
    refused(&[E::File(b"\xff", b"")], "not UTF-8");
    refused(
        &[E::Dir(b"etc"), E::File(b"etc", b"x")],
        "a file over a directory",
    );
    refused(
        &[E::File(b"etc", b"x"), E::Dir(b"etc")],
        "a directory over a file",
    );
}

#[test]
fn a_symlink_planted_by_an_entry_is_never_written_through() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().display().to_string();
    // An in-tree link is taken, but a later entry below it is refused, not followed.
    let work = refused(
        &[
            E::Dir(b"real"),
            E::Link(b"link", tar::EntryType::Symlink, b"real"),
            E::File(b"link/x", b"through"),
        ],
        "is not a directory",
    );
    assert!(!work.path().join("root/real/x").exists());
    // An absolute one is refused outright, so nothing lands outside.
    let (_work, result) = unpack_one(&[
        E::Link(b"esc", tar::EntryType::Symlink, target.as_bytes()),
        E::File(b"esc/x", b"x"),
    ]);
    assert!(result.is_err());
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn sizes_and_counts_are_bounded() {
    let work = tempfile::tempdir().unwrap();
    let big = vec![0u8; 1 << 20];
    let layout = layout_of(
        &work.path().join("layout"),
        &[(spec::MEDIA_LAYER_ZSTD, tar_of(&[E::File(b"zeros", &big)]))],
    );
    let limits = Limits {
        max_bytes: 1000,
        ..Limits::default()
    };
    let err = unpack(&layout, &work.path().join("a"), limits)
        .unwrap_err()
        .to_string();
    assert!(err.contains("past 1000 bytes"), "{err}");
    let limits = Limits {
        max_entries: 0,
        ..Limits::default()
    };
    let err = unpack(&layout, &work.path().join("b"), limits)
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than 0 entries"), "{err}");
    let layout = layout_of(
        &work.path().join("deep"),
        &[(spec::MEDIA_LAYER_TAR, tar_of(&[E::File(b"a/b/c/d/f", b"")]))],
    );
    let limits = Limits {
        max_depth: 4,
        ..Limits::default()
    };
    let err = unpack(&layout, &work.path().join("c"), limits)
        .unwrap_err()
        .to_string();
    assert!(err.contains("deeper than 4"), "{err}");
}

#[test]
fn what_the_decompressor_gives_is_bounded_even_in_entries_that_are_not_files() {
    // A directory entry claiming 80 MiB of data: no file bytes, but 80 MiB to decompress.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.as_gnu_mut().unwrap().name[..2].copy_from_slice(b"d/");
    h.set_entry_type(tar::EntryType::Directory);
    h.set_size(80 << 20);
    h.set_cksum();
    b.append(&h, &vec![0u8; 80 << 20][..]).unwrap();
    let tar = b.into_inner().unwrap();
    let work = tempfile::tempdir().unwrap();
    let layout = layout_of(
        &work.path().join("layout"),
        &[(spec::MEDIA_LAYER_ZSTD, tar)],
    );
    let limits = Limits {
        max_bytes: 1 << 20,
        ..Limits::default()
    };
    let err = unpack(&layout, &work.path().join("root"), limits)
        .unwrap_err()
        .to_string();
    assert!(err.contains("decompress to more than"), "{err}");
}

#[test]
fn a_tampered_layer_is_refused_before_anything_is_unpacked() {
    let work = tempfile::tempdir().unwrap();
    let layout = layout_of(
        &work.path().join("layout"),
        &[(spec::MEDIA_LAYER_TAR, tar_of(&[E::File(b"a", b"good")]))],
    );
    let layer = &layout.manifest.layers[0];
    let mut bytes = std::fs::read(layout.blob_path(&layer.digest)).unwrap();
    let at = bytes.windows(4).position(|w| w == b"good").unwrap();
    bytes[at..at + 4].copy_from_slice(b"evil");
    std::fs::write(layout.blob_path(&layer.digest), bytes).unwrap();
    let err = unpack(&layout, &work.path().join("root"), Limits::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not match its digest"), "{err}");
    assert!(!work.path().join("root/a").exists());
}
