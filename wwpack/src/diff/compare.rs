//! Compares two [`Snapshot`]s into a [`Report`]: images paired by name, each pair compared path
//! by path by the lock format's one differ ([`ww_image::manifest::compare`]), then what changed
//! inside files added ([`super::content`]) and everything counted.
//!
//! The report is also the JSON output of `wwpack diff --format json`, so its field names and
//! order are a stable schema (documented in `docs/diff.md`); add fields, never rename them.

use std::collections::BTreeSet;

use serde::Serialize;

use super::content::{Content, ContentReader, TextBudget};
use super::side::{FileView, ImageView, Snapshot};
use crate::error::{Error, Result};
use ww_image::manifest::compare::{self as lock_compare, LockDiff, NoContent};
use ww_image::manifest::Lock;

pub use ww_image::manifest::compare::{FileInfo, GuestChange, Provenance};

/// One image, as the two sides have it, with what changed inside its files.
pub type ImageDiff = lock_compare::ImageDiff<Content>;

/// What happened to one path, with what changed inside the file.
pub type PathChange = lock_compare::PathChange<Content>;

/// The version of the JSON schema.
pub const SCHEMA_VERSION: u32 = 2;

/// Everything `wwpack diff` found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: u32,
    pub a: SideInfo,
    pub b: SideInfo,
    pub identical: bool,
    pub summary: Summary,
    /// Every image compared, changed or not, by name.
    pub images: Vec<ImageDiff>,
    /// Guests whose record changed (only when both sides are whole locks).
    pub guests: Vec<GuestChange>,
}

/// How a side was given.
#[derive(Debug, Clone, Serialize)]
pub struct SideInfo {
    pub kind: &'static str,
    pub label: String,
}

/// Counts over every image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub added: usize,
    pub removed: usize,
    pub modified: usize,
    pub moved: usize,
    pub provenance: usize,
    /// Bytes of files added, and of the new content of files modified.
    pub bytes_added: u64,
    /// Bytes of files removed, and of the old content of files modified.
    pub bytes_removed: u64,
    pub images_added: usize,
    pub images_removed: usize,
    pub guests_changed: usize,
}

/// The side's image as the lock differ sees it (without where the bytes are on this machine).
fn view(i: &ImageView) -> lock_compare::ImageView {
    lock_compare::ImageView {
        root: i.root.clone(),
        profile: i.profile.clone(),
        layers: i.layers.clone(),
        files: i
            .files
            .iter()
            .map(|(path, f)| (path.clone(), info(f)))
            .collect(),
    }
}

fn info(f: &FileView) -> FileInfo {
    FileInfo {
        cid: f.cid.clone(),
        size: f.size,
        layer: f.layer.clone(),
        shadows: f.shadows.clone(),
        target: f.target.clone(),
    }
}

/// Compares `a` with `b`, reading file contents through `reader`. The text diffs of the whole
/// comparison share one time budget ([`TextBudget`]).
pub fn compare(a: &Snapshot, b: &Snapshot, reader: &ContentReader<'_>) -> Result<Report> {
    let budget = TextBudget::default();
    let mut images = Vec::new();
    for (name, renamed_from, ia, ib) in pair(a, b)? {
        let (va, vb) = (ia.map(view), ib.map(view));
        let mut image = lock_compare::compare_images(name, renamed_from, va.as_ref(), vb.as_ref());
        for c in &mut image.changes {
            if matches!(c.change, "added" | "removed" | "modified") {
                let fa = ia
                    .and_then(|i| i.files.get(&c.path))
                    .filter(|_| c.a.is_some());
                let fb = ib
                    .and_then(|i| i.files.get(&c.path))
                    .filter(|_| c.b.is_some());
                c.content = reader.content(&c.path, fa, fb, &budget);
            }
        }
        images.push(image);
    }
    let guests = match (&a.guests, &b.guests) {
        (Some(ga), Some(gb)) => lock_compare::compare_guests(ga, gb),
        _ => Vec::new(),
    };
    Ok(report(
        side(a.kind, &a.label),
        side(b.kind, &b.label),
        images,
        guests,
    ))
}

/// Compares two whole locks, without looking inside files: what `wwpack build --locked` prints
/// when the build does not match the committed lock (`a`).
pub fn locks(a: (&Lock, &str), b: (&Lock, &str)) -> Report {
    let LockDiff { images, guests } = a.0.compare(b.0);
    let images = images.into_iter().map(without_content).collect();
    report(side("lock", a.1), side("lock", b.1), images, guests)
}

/// A lock comparison's image, in the report's type (whose content is always absent).
fn without_content(image: lock_compare::ImageDiff<NoContent>) -> ImageDiff {
    ImageDiff {
        name: image.name,
        renamed_from: image.renamed_from,
        status: image.status,
        root: image.root,
        profile: image.profile,
        layers: image.layers,
        changes: image
            .changes
            .into_iter()
            .map(|c| PathChange {
                path: c.path,
                change: c.change,
                from: c.from,
                a: c.a,
                b: c.b,
                provenance: c.provenance,
                content: None,
            })
            .collect(),
    }
}

fn side(kind: &'static str, label: &str) -> SideInfo {
    SideInfo {
        kind,
        label: label.to_string(),
    }
}

/// The report of compared images and guests, counted: each distinct change once ([`distinct`]).
fn report(a: SideInfo, b: SideInfo, images: Vec<ImageDiff>, guests: Vec<GuestChange>) -> Report {
    let mut summary = Summary::default();
    for image in &images {
        match image.status {
            "added" => summary.images_added += 1,
            "removed" => summary.images_removed += 1,
            _ => {}
        }
    }
    for Distinct { change: c, .. } in distinct(&images) {
        let size = |s: &Option<FileInfo>| s.as_ref().map_or(0, |f| f.size);
        match c.change {
            "added" => summary.added += 1,
            "removed" => summary.removed += 1,
            "modified" => summary.modified += 1,
            "moved" => summary.moved += 1,
            _ => summary.provenance += 1,
        }
        if c.change != "moved" && c.change != "provenance" {
            summary.bytes_added += size(&c.b);
            summary.bytes_removed += size(&c.a);
        }
    }
    summary.guests_changed = guests.len();
    let identical = guests.is_empty() && images.iter().all(|i| i.status == "identical");
    Report {
        version: SCHEMA_VERSION,
        a,
        b,
        identical,
        summary,
        images,
        guests,
    }
}

/// One change as it happened in one or more images.
#[derive(Debug, Clone)]
pub struct Distinct<'a> {
    pub change: &'a PathChange,
    /// The images it happened in, in the report's order.
    pub images: Vec<&'a str>,
}

/// Each change of `images` once, in path order, with the images it happened in: the same path
/// changed the same way (same kind, origin, files and provenance) in several images, as a
/// change to a layer they share is, is one change.
pub fn distinct(images: &[ImageDiff]) -> Vec<Distinct<'_>> {
    let mut by_path: std::collections::BTreeMap<&str, Vec<Distinct<'_>>> = Default::default();
    for image in images {
        for c in &image.changes {
            let same = by_path.entry(c.path.as_str()).or_default();
            match same.iter_mut().find(|d| same_change(d.change, c)) {
                Some(d) => d.images.push(&image.name),
                None => same.push(Distinct {
                    change: c,
                    images: vec![&image.name],
                }),
            }
        }
    }
    by_path.into_values().flatten().collect()
}

fn same_change(x: &PathChange, y: &PathChange) -> bool {
    x.path == y.path
        && x.change == y.change
        && x.from == y.from
        && x.a == y.a
        && x.b == y.b
        && x.provenance == y.provenance
}

type Paired<'a> = (
    String,
    Option<String>,
    Option<&'a ImageView>,
    Option<&'a ImageView>,
);

/// Which image of `a` goes with which of `b`.
fn pair<'a>(a: &'a Snapshot, b: &'a Snapshot) -> Result<Vec<Paired<'a>>> {
    let only = |s: &'a Snapshot| s.images.iter().next();
    match (a.single, b.single) {
        (true, true) => {
            let ((na, ia), (nb, ib)) = (only(a).expect("one"), only(b).expect("one"));
            let renamed = (na != nb).then(|| na.clone());
            Ok(vec![(nb.clone(), renamed, Some(ia), Some(ib))])
        }
        (true, false) | (false, true) => {
            let (one, many, one_is_a) = if a.single {
                (a, b, true)
            } else {
                (b, a, false)
            };
            let (name, image) = only(one).expect("one");
            let other = partner(name, one, many)?;
            Ok(vec![if one_is_a {
                (name.clone(), None, Some(image), Some(other))
            } else {
                (name.clone(), None, Some(other), Some(image))
            }])
        }
        (false, false) => {
            let names: BTreeSet<&String> = a.images.keys().chain(b.images.keys()).collect();
            Ok(names
                .into_iter()
                .map(|n| (n.clone(), None, a.images.get(n), b.images.get(n)))
                .collect())
        }
    }
}

/// The image of `many` to compare with the single image `name` of `one`: the one of that name,
/// or the only one.
pub fn partner<'a>(name: &str, one: &Snapshot, many: &'a Snapshot) -> Result<&'a ImageView> {
    if let Some(image) = many.images.get(name) {
        return Ok(image);
    }
    if many.images.len() == 1 {
        return Ok(many.images.values().next().expect("one"));
    }
    Err(Error::Diff {
        side: many.label.clone(),
        message: format!(
            "has no image `{name}` to compare with {} (images: {}); choose one with --image NAME",
            one.label,
            many.images.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn file(cid: &str, layer: &str) -> FileView {
        FileView {
            cid: cid.into(),
            size: cid.len() as u64,
            layer: Some(layer.into()),
            shadows: Some(vec![]),
            target: None,
            host: None,
        }
    }

    fn snapshot(label: &str, single: bool, images: &[(&str, &[(&str, FileView)])]) -> Snapshot {
        Snapshot {
            label: label.into(),
            kind: "lock",
            images: images
                .iter()
                .map(|(name, files)| {
                    let files: BTreeMap<String, FileView> = files
                        .iter()
                        .map(|(p, f)| (p.to_string(), f.clone()))
                        .collect();
                    let image = ImageView {
                        root: format!("root-{}", files.len()),
                        profile: Some("unixfs-v1-2025".into()),
                        layers: None,
                        files,
                    };
                    (name.to_string(), image)
                })
                .collect(),
            single,
            guests: None,
            dir: None,
        }
    }

    fn no_content() -> ContentReader<'static> {
        ContentReader {
            store: None,
            keep: false,
            node: None,
            node_label: None,
            text_limit: 0,
        }
    }

    #[test]
    fn moves_pair_equal_content_in_path_order_and_the_rest_is_added_or_removed() {
        let a = snapshot(
            "a",
            false,
            &[(
                "img",
                &[
                    ("x/1", file("same", "base")),
                    ("x/2", file("same", "base")),
                    ("x/3", file("gone", "base")),
                ],
            )],
        );
        let b = snapshot(
            "b",
            false,
            &[(
                "img",
                &[
                    ("y/1", file("same", "app")),
                    ("y/2", file("same", "base")),
                    ("y/3", file("same", "base")),
                ],
            )],
        );
        let report = compare(&a, &b, &no_content()).unwrap();
        let got: Vec<(&str, &str, Option<&str>)> = report.images[0]
            .changes
            .iter()
            .map(|c| (c.path.as_str(), c.change, c.from.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("x/3", "removed", None),
                ("y/1", "moved", Some("x/1")),
                ("y/2", "moved", Some("x/2")),
                ("y/3", "added", None),
            ]
        );
        let moved = &report.images[0].changes[1];
        assert_eq!(
            moved.provenance.as_ref().unwrap().layer,
            Some(["base".to_string(), "app".to_string()])
        );
        let s = &report.summary;
        assert_eq!((s.added, s.removed, s.moved), (1, 1, 2));
        assert_eq!(
            (s.bytes_added, s.bytes_removed),
            (4, 4),
            "moves move no bytes"
        );
        assert!(!report.identical);
        assert!(compare(&a, &a, &no_content()).unwrap().identical);
    }

    #[test]
    fn a_single_image_pairs_with_the_image_of_its_name_or_says_which_exist() {
        let many = snapshot("lock", false, &[("a", &[]), ("b", &[])]);
        let one = snapshot("dir", true, &[("b", &[("f", file("c", "l"))])]);
        let report = compare(&many, &one, &no_content()).unwrap();
        assert_eq!(report.images.len(), 1);
        assert_eq!(report.images[0].changes[0].change, "added");
        let stranger = snapshot("cid", true, &[("bafy", &[])]);
        let err = compare(&stranger, &many, &no_content())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no image `bafy`") && err.contains("images: a, b"),
            "{err}"
        );
        let lone = snapshot("lock", false, &[("only", &[])]);
        let report = compare(&stranger, &lone, &no_content()).unwrap();
        assert_eq!(
            report.images[0].name, "bafy",
            "a lock's only image pairs with any"
        );
        let other = snapshot("dir2", true, &[("c", &[])]);
        let report = compare(&one, &other, &no_content()).unwrap();
        assert_eq!(report.images[0].renamed_from.as_deref(), Some("b"));
        assert_eq!(report.images[0].name, "c");
    }

    #[test]
    fn a_change_to_a_layer_two_images_share_counts_once_with_both_images() {
        let v1: &[(&str, FileView)] =
            &[("etc/a", file("a1", "base")), ("etc/b", file("b1", "base"))];
        let v2: &[(&str, FileView)] = &[
            ("etc/a", file("a22", "base")),
            ("etc/b", file("b22", "base")),
        ];
        let mine: &[(&str, FileView)] = &[
            ("etc/a", file("a1", "base")),
            ("etc/b", file("b333", "own")),
        ];
        let a = snapshot("a", false, &[("one", v1), ("two", v1)]);
        let b = snapshot("b", false, &[("one", v2), ("two", mine)]);
        let report = compare(&a, &b, &no_content()).unwrap();
        assert_eq!(
            report.summary.modified, 3,
            "etc/a once, etc/b twice (two ways)"
        );
        assert_eq!(report.summary.bytes_added, 3 + 3 + 4);
        let got: Vec<(&str, &str, Vec<&str>)> = distinct(&report.images)
            .into_iter()
            .map(|d| {
                (
                    d.change.path.as_str(),
                    d.change.b.as_ref().unwrap().cid.as_str(),
                    d.images,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("etc/a", "a22", vec!["one"]),
                ("etc/b", "b22", vec!["one"]),
                ("etc/b", "b333", vec!["two"]),
            ]
        );
        let same = snapshot("b", false, &[("one", v2), ("two", v2)]);
        let report = compare(&a, &same, &no_content()).unwrap();
        assert_eq!(
            report.summary.modified, 2,
            "2 files in 2 images: 2 modified"
        );
        assert!(distinct(&report.images)
            .iter()
            .all(|d| d.images == ["one", "two"]));
    }
}
