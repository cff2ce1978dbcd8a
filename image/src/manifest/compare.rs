//! The one differ of the `wwpack.lock` format: two images compared path by path, and two locks
//! image by image and guest by guest.
//!
//! A side need not be a lock: an image directory or a CID knows each file's CID and size but not
//! the layer it comes from, so what a side knows is an [`ImageView`] of [`FileInfo`]s whose
//! provenance is optional; a provenance change is reported only when both sides know it.
//!
//! A path of B that A lacks is `moved` when A lost a path with the same CID (paired in path
//! order), else `added`; a path of A that B lacks and that no move took is `removed`; a path of
//! both is `modified` when its CID, size or symlink target differ, else `provenance` when its
//! layer or the layers it shadows differ. The changes of an image are in path order.
//!
//! The types serialize as the JSON of `wwpack diff --format json` (schema in `docs/diff.md`):
//! add fields, never rename them. What changed inside a file is the caller's to add (`C`):
//! `wwpack diff` reads the bytes, a lock alone cannot.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{FileRecord, GuestRecord, ImageManifest, LayerRecord, Lock};

/// A file (or symlink) of an image, as one side knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    pub cid: String,
    pub size: u64,
    /// The layer that provides it; `None` when the side does not know (a directory, a CID).
    pub layer: Option<String>,
    /// The layers whose file at this path it hides; `None` when unknown.
    pub shadows: Option<Vec<String>>,
    /// A symlink's target.
    pub target: Option<String>,
}

impl From<&FileRecord> for FileInfo {
    fn from(f: &FileRecord) -> FileInfo {
        FileInfo {
            cid: f.cid.clone(),
            size: f.size,
            layer: Some(f.layer.clone()),
            shadows: Some(f.shadows.clone()),
            target: f.target.clone(),
        }
    }
}

/// An image, as one side knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageView {
    pub root: String,
    /// The UnixFS profile of its CIDs; `None` when unknown.
    pub profile: Option<String>,
    /// `None` when the side does not know the layers.
    pub layers: Option<Vec<LayerRecord>>,
    pub files: BTreeMap<String, FileInfo>,
}

impl From<&ImageManifest> for ImageView {
    fn from(m: &ImageManifest) -> ImageView {
        ImageView {
            root: m.root.clone(),
            profile: Some(m.profile.clone()),
            layers: Some(m.layers.clone()),
            files: m
                .files
                .iter()
                .map(|(path, f)| (path.clone(), FileInfo::from(f)))
                .collect(),
        }
    }
}

/// What carries no content change: a comparison of locks alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum NoContent {}

/// One image, as the two sides have it.
#[derive(Debug, Clone, Serialize)]
pub struct ImageDiff<C = NoContent> {
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
    pub changes: Vec<PathChange<C>>,
}

/// What happened to one path.
#[derive(Debug, Clone, Serialize)]
pub struct PathChange<C = NoContent> {
    pub path: String,
    /// `added`, `removed`, `modified`, `moved` or `provenance`.
    pub change: &'static str,
    /// For `moved`: the path on side A.
    pub from: Option<String>,
    pub a: Option<FileInfo>,
    pub b: Option<FileInfo>,
    /// A change of the providing layer or of the layers it shadows, when both sides know them.
    pub provenance: Option<Provenance>,
    /// What changed inside the file, when the caller looked.
    pub content: Option<C>,
}

/// `[a, b]` of what changed in where a file comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    pub layer: Option<[String; 2]>,
    pub shadows: Option<[Vec<String>; 2]>,
}

/// A guest whose record changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuestChange {
    pub name: String,
    /// `added`, `removed` or `modified`.
    pub change: &'static str,
    pub a: Option<GuestRecord>,
    pub b: Option<GuestRecord>,
}

/// What differs between two locks ([`Lock::compare`]).
#[derive(Debug, Clone)]
pub struct LockDiff {
    /// Every image of either lock, by name, changed or not.
    pub images: Vec<ImageDiff>,
    /// Guests whose record changed.
    pub guests: Vec<GuestChange>,
}

impl LockDiff {
    /// Whether the two locks record the same images and guests.
    pub fn is_empty(&self) -> bool {
        self.guests.is_empty() && self.images.iter().all(|i| i.status == "identical")
    }
}

impl Lock {
    /// What changed from `self` (side A, e.g. the committed lock) to `new` (side B).
    pub fn compare(&self, new: &Lock) -> LockDiff {
        let names: BTreeSet<&String> = self.images.keys().chain(new.images.keys()).collect();
        let images = names
            .into_iter()
            .map(|name| {
                let a = self.images.get(name).map(ImageView::from);
                let b = new.images.get(name).map(ImageView::from);
                compare_images(name.clone(), None, a.as_ref(), b.as_ref())
            })
            .collect();
        LockDiff {
            images,
            guests: compare_guests(&self.guests, &new.guests),
        }
    }
}

/// Compares image `a` with image `b` (`None`: the side lacks it), path by path. `name` and
/// `renamed_from` are the names the caller paired them under.
pub fn compare_images<C>(
    name: String,
    renamed_from: Option<String>,
    a: Option<&ImageView>,
    b: Option<&ImageView>,
) -> ImageDiff<C> {
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
                None => change(path, "added", None, Some(g)),
            },
            Some(f) if f.cid != g.cid || f.size != g.size || f.target != g.target => {
                let mut c = change(path, "modified", Some(f), Some(g));
                c.provenance = provenance(f, g);
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
            changes.push(change(path, "removed", Some(f), None));
        }
    }
    changes.sort_by(|x, y| x.path.cmp(&y.path));
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
        (None, _) => "added",
        (_, None) => "removed",
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

/// The guests whose record differs, by name.
pub fn compare_guests(
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

fn change<C>(
    path: &str,
    kind: &'static str,
    a: Option<&FileInfo>,
    b: Option<&FileInfo>,
) -> PathChange<C> {
    PathChange {
        path: path.to_string(),
        change: kind,
        from: None,
        a: a.cloned(),
        b: b.cloned(),
        provenance: None,
        content: None,
    }
}

/// What changed in where the file comes from, when both sides know.
fn provenance(a: &FileInfo, b: &FileInfo) -> Option<Provenance> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cid: &str, size: u64, layer: &str) -> FileRecord {
        FileRecord {
            cid: cid.into(),
            layer: layer.into(),
            shadows: vec![],
            size,
            target: None,
        }
    }

    fn sample() -> Lock {
        let mut lock = Lock::new();
        let files = BTreeMap::from([("etc/motd".to_string(), record("bafkmotd", 3, "base"))]);
        lock.images.insert(
            "default".into(),
            ImageManifest {
                files,
                layers: vec![LayerRecord {
                    cid: "bafybase".into(),
                    name: "base".into(),
                }],
                profile: "unixfs-v1-2025".into(),
                root: "bafyroot".into(),
            },
        );
        lock
    }

    #[test]
    fn two_locks_differ_in_each_change_named() {
        let old = sample();
        let mut new = sample();
        assert!(old.compare(&new).is_empty());
        let image = new.images.get_mut("default").unwrap();
        image.root = "bafyroot2".into();
        let motd = image.files.get_mut("etc/motd").unwrap();
        motd.cid = "bafkmotd2".into();
        motd.size = 4;
        image
            .files
            .insert("etc/new".into(), record("bafknew", 5, "base"));
        let diff = old.compare(&new);
        assert!(!diff.is_empty());
        let [image] = &diff.images[..] else {
            panic!("{diff:#?}")
        };
        assert_eq!(image.status, "modified");
        assert_eq!(
            image.root,
            [Some("bafyroot".to_string()), Some("bafyroot2".to_string())]
        );
        let got: Vec<(&str, &str)> = image
            .changes
            .iter()
            .map(|c| (c.path.as_str(), c.change))
            .collect();
        assert_eq!(got, [("etc/motd", "modified"), ("etc/new", "added")]);
        let motd = &image.changes[0];
        assert_eq!(
            (
                motd.a.as_ref().unwrap().cid.as_str(),
                motd.a.as_ref().unwrap().size
            ),
            ("bafkmotd", 3)
        );
        assert_eq!(
            (
                motd.b.as_ref().unwrap().cid.as_str(),
                motd.b.as_ref().unwrap().size
            ),
            ("bafkmotd2", 4)
        );
        assert!(motd.provenance.is_none());
    }

    #[test]
    fn images_and_guests_added_removed_and_modified() {
        let old = sample();
        let mut new = Lock::new();
        new.images
            .insert("other".into(), sample().images["default"].clone());
        let guest = |wasm: &str| GuestRecord {
            package: "hello".into(),
            version: "0.1.0".into(),
            wasm: wasm.into(),
        };
        let mut old_guests = old.clone();
        old_guests.guests.insert("hello".into(), guest("bafkold"));
        old_guests.guests.insert("gone".into(), guest("bafkgone"));
        new.guests.insert("hello".into(), guest("bafknew"));
        let diff = old_guests.compare(&new);
        let status: Vec<(&str, &str)> = diff
            .images
            .iter()
            .map(|i| (i.name.as_str(), i.status))
            .collect();
        assert_eq!(status, [("default", "removed"), ("other", "added")]);
        let guests: Vec<(&str, &str)> = diff
            .guests
            .iter()
            .map(|g| (g.name.as_str(), g.change))
            .collect();
        assert_eq!(guests, [("gone", "removed"), ("hello", "modified")]);
    }

    #[test]
    fn a_layer_change_alone_is_provenance_and_a_lost_cid_elsewhere_a_move() {
        let old = sample();
        let mut new = sample();
        let image = new.images.get_mut("default").unwrap();
        let motd = image.files.remove("etc/motd").unwrap();
        image.files.insert("etc/motd2".into(), motd.clone());
        let diff = old.compare(&new);
        let c = &diff.images[0].changes;
        assert_eq!(c.len(), 1, "{c:#?}");
        assert_eq!(
            (c[0].change, c[0].from.as_deref()),
            ("moved", Some("etc/motd"))
        );

        let mut new = sample();
        let image = new.images.get_mut("default").unwrap();
        image.files.get_mut("etc/motd").unwrap().layer = "extra".into();
        let diff = old.compare(&new);
        let c = &diff.images[0].changes[0];
        assert_eq!(c.change, "provenance");
        assert_eq!(
            c.provenance.as_ref().unwrap().layer,
            Some(["base".to_string(), "extra".to_string()])
        );
        assert_eq!(diff.images[0].status, "modified");
    }
}
