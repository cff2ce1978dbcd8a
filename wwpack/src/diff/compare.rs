//! Compares two [`Snapshot`]s into a [`Report`]: images paired by name, then every path.
//!
//! The report is also the JSON output of `wwpack diff --format json`, so its field names and
//! order are a stable schema (documented in `docs/diff.md`); add fields, never rename them.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::content::{Content, ContentReader, TextBudget};
use super::side::{FileView, ImageView, Snapshot};
use crate::error::{Error, Result};
use ww_image::manifest::{GuestRecord, LayerRecord};

/// The version of the JSON schema.
pub const SCHEMA_VERSION: u32 = 1;

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

/// One image, as the two sides have it.
#[derive(Debug, Clone, Serialize)]
pub struct ImageDiff {
    /// The image's name (on side B, or A when B has none).
    pub name: String,
    /// Its name on side A, when different (two single images of different names).
    pub renamed_from: Option<String>,
    /// `added`, `removed`, `modified` or `identical`.
    pub status: &'static str,
    /// Root CIDs `[a, b]`; `null` for a side without the image.
    pub root: [Option<String>; 2],
    pub profile: [Option<String>; 2],
    /// Layers `[a, b]` when they differ and both sides know them.
    pub layers: Option<[Vec<LayerRecord>; 2]>,
    pub changes: Vec<PathChange>,
}

/// What happened to one path.
#[derive(Debug, Clone, Serialize)]
pub struct PathChange {
    pub path: String,
    /// `added`, `removed`, `modified`, `moved` or `provenance`.
    pub change: &'static str,
    /// For `moved`: the path on side A.
    pub from: Option<String>,
    pub a: Option<FileInfo>,
    pub b: Option<FileInfo>,
    /// A change of the providing layer or of the layers it shadows, when both sides know them.
    pub provenance: Option<Provenance>,
    pub content: Option<Content>,
}

/// A file on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    pub cid: String,
    pub size: u64,
    pub layer: Option<String>,
    pub shadows: Option<Vec<String>>,
    pub target: Option<String>,
}

/// `[a, b]` of what changed in where a file comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    pub layer: Option<[String; 2]>,
    pub shadows: Option<[Vec<String>; 2]>,
}

/// A guest whose record changed.
#[derive(Debug, Clone, Serialize)]
pub struct GuestChange {
    pub name: String,
    pub change: &'static str,
    pub a: Option<GuestRecord>,
    pub b: Option<GuestRecord>,
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
    let mut summary = Summary::default();
    let mut images = Vec::new();
    let budget = TextBudget::default();
    for (name, renamed_from, ia, ib) in pair(a, b)? {
        let image = compare_image(name, renamed_from, ia, ib, reader, &budget, &mut summary);
        images.push(image);
    }
    let guests = match (&a.guests, &b.guests) {
        (Some(ga), Some(gb)) => compare_guests(ga, gb),
        _ => Vec::new(),
    };
    summary.guests_changed = guests.len();
    let identical = guests.is_empty() && images.iter().all(|i| i.status == "identical");
    Ok(Report {
        version: SCHEMA_VERSION,
        a: SideInfo {
            kind: a.kind,
            label: a.label.clone(),
        },
        b: SideInfo {
            kind: b.kind,
            label: b.label.clone(),
        },
        identical,
        summary,
        images,
        guests,
    })
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

fn compare_image(
    name: String,
    renamed_from: Option<String>,
    a: Option<&ImageView>,
    b: Option<&ImageView>,
    reader: &ContentReader<'_>,
    budget: &TextBudget,
    summary: &mut Summary,
) -> ImageDiff {
    let empty = BTreeMap::new();
    let fa = a.map_or(&empty, |i| &i.files);
    let fb = b.map_or(&empty, |i| &i.files);
    let mut changes = Vec::new();
    let mut removed: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (path, f) in fa {
        if !fb.contains_key(path) {
            removed.entry(f.cid.as_str()).or_default().push(path);
        }
    }
    let mut moved_from: BTreeSet<&str> = BTreeSet::new();
    for (path, g) in fb {
        let change = match fa.get(path) {
            None => match removed.get_mut(g.cid.as_str()).filter(|p| !p.is_empty()) {
                Some(paths) => {
                    let from = paths.remove(0);
                    moved_from.insert(from);
                    let f = &fa[from];
                    let mut c = change(path, "moved", Some(f), Some(g));
                    c.from = Some(from.to_string());
                    c.provenance = provenance(f, g);
                    c
                }
                None => {
                    let mut c = change(path, "added", None, Some(g));
                    c.content = reader.content(path, None, Some(g), budget);
                    c
                }
            },
            Some(f) if f.cid != g.cid || f.size != g.size || f.target != g.target => {
                let mut c = change(path, "modified", Some(f), Some(g));
                c.provenance = provenance(f, g);
                c.content = reader.content(path, Some(f), Some(g), budget);
                c
            }
            Some(f) => match provenance(f, g) {
                Some(p) => {
                    let mut c = change(path, "provenance", Some(f), Some(g));
                    c.provenance = Some(p);
                    c
                }
                None => continue,
            },
        };
        changes.push(change);
    }
    for (path, f) in fa {
        if !fb.contains_key(path) && !moved_from.contains(path.as_str()) {
            let mut c = change(path, "removed", Some(f), None);
            c.content = reader.content(path, Some(f), None, budget);
            changes.push(c);
        }
    }
    changes.sort_by(|x, y| x.path.cmp(&y.path));
    for c in &changes {
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
    let layers = match (
        a.and_then(|i| i.layers.clone()),
        b.and_then(|i| i.layers.clone()),
    ) {
        (Some(la), Some(lb)) if la != lb => Some([la, lb]),
        _ => None,
    };
    let root = [a.map(|i| i.root.clone()), b.map(|i| i.root.clone())];
    let profile = [
        a.and_then(|i| i.profile.clone()),
        b.and_then(|i| i.profile.clone()),
    ];
    let status = match (a, b) {
        (None, _) => {
            summary.images_added += 1;
            "added"
        }
        (_, None) => {
            summary.images_removed += 1;
            "removed"
        }
        _ if changes.is_empty() && layers.is_none() && root[0] == root[1] => "identical",
        _ => "modified",
    };
    ImageDiff {
        name,
        renamed_from,
        status,
        root,
        profile,
        layers,
        changes,
    }
}

fn change(
    path: &str,
    kind: &'static str,
    a: Option<&FileView>,
    b: Option<&FileView>,
) -> PathChange {
    PathChange {
        path: path.to_string(),
        change: kind,
        from: None,
        a: a.map(info),
        b: b.map(info),
        provenance: None,
        content: None,
    }
}

/// What changed in where the file comes from, when both sides know.
fn provenance(a: &FileView, b: &FileView) -> Option<Provenance> {
    let layer = match (&a.layer, &b.layer) {
        (Some(x), Some(y)) if x != y => Some([x.clone(), y.clone()]),
        _ => None,
    };
    let shadows = match (&a.shadows, &b.shadows) {
        (Some(x), Some(y)) if x != y => Some([x.clone(), y.clone()]),
        _ => None,
    };
    (layer.is_some() || shadows.is_some()).then_some(Provenance { layer, shadows })
}

fn compare_guests(
    a: &BTreeMap<String, GuestRecord>,
    b: &BTreeMap<String, GuestRecord>,
) -> Vec<GuestChange> {
    let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let (x, y) = (a.get(name), b.get(name));
            let change = match (x, y) {
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                (Some(x), Some(y)) if x != y => "modified",
                _ => return None,
            };
            Some(GuestChange {
                name: name.clone(),
                change,
                a: x.cloned(),
                b: y.cloned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
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
            node: None,
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
}
