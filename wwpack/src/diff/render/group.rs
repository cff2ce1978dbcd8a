//! What the text and Markdown formats show beyond the report itself, so that a big change stays
//! readable: many files added (or removed) under one directory as one row ([`rows`]), each
//! layer once with the images that use it ([`layers`]), and CIDs abbreviated ([`Cids`]). The
//! JSON keeps every path and every full CID.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::diff::compare::{Distinct, ImageDiff, Report};

/// A directory with at least this many files added (or removed) the same way, in the same
/// images, shows them as one row (the deepest such directory first).
pub(super) const ROLLUP: usize = 20;

/// Final characters an abbreviated CID keeps, at least (more when two CIDs of the report would
/// look alike).
const SUFFIX: usize = 8;

/// Leading characters an abbreviated CID keeps: the multibase, version and codec (`bafy`,
/// `bafk`).
const PREFIX: usize = 4;

/// A row of the changes: one change, or many files under one directory.
pub(super) enum Row<'r> {
    One(&'r Distinct<'r>),
    Rollup(Rollup<'r>),
}

/// Files added (or removed) under one directory, in the same images.
pub(super) struct Rollup<'r> {
    /// `added` or `removed`.
    pub change: &'static str,
    /// The directory, with a trailing `/` (`/` alone for the image's root).
    pub dir: String,
    pub files: usize,
    pub bytes: u64,
    /// The layer of every file, when they all come from one.
    pub layer: Option<&'r str>,
    pub images: &'r [&'r str],
}

/// The rows of `changes` (in path order): each change, but the files added or removed in the
/// same images under a directory holding at least [`ROLLUP`] of them make one row, where the
/// first of them was. The deepest such directory rolls up first; a directory above takes in
/// its rolled-up subdirectories too when there are several (not the image's root: two big
/// directories there stay two rows) or when [`ROLLUP`] more files are left under it.
pub(super) fn rows<'r>(changes: &'r [Distinct<'r>]) -> Vec<Row<'r>> {
    // Group: change kind and images; directory → indices of its files, at any depth.
    let mut groups: HashMap<(&str, &[&str]), Dirs<'_>> = HashMap::new();
    for (i, d) in changes.iter().enumerate() {
        let c = d.change;
        if c.change != "added" && c.change != "removed" {
            continue;
        }
        let dirs = groups.entry((c.change, &d.images)).or_default();
        dirs.entry("").or_default().push(i);
        for (at, _) in c.path.match_indices('/') {
            dirs.entry(&c.path[..=at]).or_default().push(i);
        }
    }
    let mut rolled: HashMap<usize, usize> = HashMap::new(); // change → rollup
    let mut rollups: Vec<(String, Vec<usize>)> = Vec::new();
    for dirs in groups.values() {
        let mut deepest: Vec<(&&str, &Vec<usize>)> = dirs.iter().collect();
        deepest.sort_by_key(|(dir, _)| std::cmp::Reverse(dir.matches('/').count()));
        let mut alive: Vec<usize> = Vec::new(); // this group's rollups not taken in above
        for (dir, files) in deepest {
            let left: Vec<usize> = files
                .iter()
                .copied()
                .filter(|i| !rolled.contains_key(i))
                .collect();
            let (below, others): (Vec<usize>, Vec<usize>) =
                alive.iter().partition(|&&r| rollups[r].0.starts_with(*dir));
            if left.len() < ROLLUP && (dir.is_empty() || below.len() < 2) {
                continue;
            }
            let mut all = left;
            for r in &below {
                all.append(&mut rollups[*r].1);
            }
            all.sort_unstable();
            for &i in &all {
                rolled.insert(i, rollups.len());
            }
            alive = others;
            alive.push(rollups.len());
            rollups.push((dir.to_string(), all));
        }
    }
    let mut placed = HashSet::new();
    let mut out = Vec::new();
    for (i, d) in changes.iter().enumerate() {
        let Some(&r) = rolled.get(&i) else {
            out.push(Row::One(d));
            continue;
        };
        if !placed.insert(r) {
            continue;
        }
        let (dir, files) = &rollups[r];
        let dir = if dir.is_empty() { "/" } else { dir };
        let side = |j: &usize| {
            let c = changes[*j].change;
            if c.change == "added" {
                c.b.as_ref()
            } else {
                c.a.as_ref()
            }
        };
        let layers: HashSet<Option<&str>> = files
            .iter()
            .map(|j| side(j).and_then(|f| f.layer.as_deref()))
            .collect();
        out.push(Row::Rollup(Rollup {
            change: d.change.change,
            dir: dir.to_string(),
            files: files.len(),
            bytes: files.iter().map(|j| side(j).map_or(0, |f| f.size)).sum(),
            layer: (layers.len() == 1)
                .then(|| layers.into_iter().next().flatten())
                .flatten(),
            images: &d.images,
        }));
    }
    out
}

/// Directory (with its trailing `/`, empty for the root) → the changes under it, at any depth.
type Dirs<'r> = BTreeMap<&'r str, Vec<usize>>;

/// A layer as the two sides have it, and the images that list it.
pub(super) struct Layer<'r> {
    pub name: &'r str,
    /// Its CID on each side (`None`: not in the side's images).
    pub cid: [Option<&'r str>; 2],
    pub images: Vec<&'r str>,
}

/// Each layer of the images whose layer lists changed, once: by name and CIDs, with the images
/// that use it, in the order first met.
pub(super) fn layers(report: &Report) -> Vec<Layer<'_>> {
    let mut out: Vec<Layer<'_>> = Vec::new();
    for image in &report.images {
        let Some([a, b]) = &image.layers else {
            continue;
        };
        let mut names: Vec<&str> = a.iter().map(|l| l.name.as_str()).collect();
        names.extend(
            b.iter()
                .map(|l| l.name.as_str())
                .filter(|n| !a.iter().any(|l| l.name == *n)),
        );
        for name in names {
            let cid =
                [a, b].map(|side| side.iter().find(|l| l.name == name).map(|l| l.cid.as_str()));
            match out.iter_mut().find(|l| l.name == name && l.cid == cid) {
                Some(l) => l.images.push(&image.name),
                None => out.push(Layer {
                    name,
                    cid,
                    images: vec![&image.name],
                }),
            }
        }
    }
    out
}

/// `base, app → base, app, extra` (or `base, app (new CIDs)`): the layer names of an image
/// whose layer list changed.
pub(super) fn layer_names(image: &ImageDiff) -> Option<String> {
    let [a, b] = image.layers.as_ref()?;
    let names = |ls: &[ww_image::manifest::LayerRecord]| {
        ls.iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (a, b) = (names(a), names(b));
    Some(match a == b {
        true => format!("{a} (new CIDs)"),
        false => format!("{a} → {b}"),
    })
}

/// Abbreviates CIDs as `bafk…hwavqlwt`: the first [`PREFIX`] characters and the last
/// [`SUFFIX`], or more of them until no two CIDs of the report look alike. Remembers what it
/// abbreviated, for a list of the full CIDs.
pub(super) struct Cids {
    suffix: usize,
    used: RefCell<BTreeMap<String, String>>,
}

impl Cids {
    /// The abbreviation for the CIDs of `report`.
    pub fn new(report: &Report) -> Cids {
        let mut all: HashSet<&str> = HashSet::new();
        for image in &report.images {
            all.extend(image.root.iter().flatten().map(String::as_str));
            for side in image.layers.iter().flatten() {
                all.extend(side.iter().map(|l| l.cid.as_str()));
            }
            for c in &image.changes {
                all.extend([&c.a, &c.b].into_iter().flatten().map(|f| f.cid.as_str()));
            }
        }
        for g in &report.guests {
            all.extend([&g.a, &g.b].into_iter().flatten().map(|r| r.wasm.as_str()));
        }
        Cids {
            suffix: suffix_for(&all),
            used: RefCell::default(),
        }
    }

    /// `cid` abbreviated (and remembered).
    pub fn short(&self, cid: &str) -> String {
        let s = short(cid, self.suffix);
        if s != cid {
            self.used.borrow_mut().insert(s.clone(), cid.to_string());
        }
        s
    }

    /// Every CID abbreviated so far: abbreviation → CID, sorted.
    pub fn used(&self) -> BTreeMap<String, String> {
        self.used.borrow().clone()
    }
}

/// Final characters that tell every CID of `all` apart ([`SUFFIX`] at least).
fn suffix_for(all: &HashSet<&str>) -> usize {
    let longest = all.iter().map(|c| c.chars().count()).max().unwrap_or(0);
    let mut suffix = SUFFIX;
    while suffix + PREFIX < longest {
        let mut seen = HashSet::new();
        if all.iter().all(|c| seen.insert(short(c, suffix))) {
            break;
        }
        suffix += 1;
    }
    suffix
}

fn short(cid: &str, suffix: usize) -> String {
    let chars: Vec<char> = cid.chars().collect();
    if chars.len() <= PREFIX + suffix + 1 {
        return cid.to_string();
    }
    let head: String = chars[..PREFIX].iter().collect();
    let tail: String = chars[chars.len() - suffix..].iter().collect();
    format!("{head}…{tail}")
}

/// `12.3 MiB`, `512 B`: a size at a glance.
pub(super) fn human(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::compare::{FileInfo, PathChange};

    fn added(path: &str, size: u64) -> PathChange {
        PathChange {
            path: path.into(),
            change: "added",
            from: None,
            a: None,
            b: Some(FileInfo {
                cid: format!("bafk{path}"),
                size,
                layer: Some("data".into()),
                shadows: Some(vec![]),
                target: None,
            }),
            provenance: None,
            content: None,
        }
    }

    fn show(rows: &[Row<'_>]) -> Vec<String> {
        rows.iter()
            .map(|r| match r {
                Row::One(d) => d.change.path.clone(),
                Row::Rollup(r) => format!(
                    "{} {} under {} ({} B, {:?})",
                    r.files, r.change, r.dir, r.bytes, r.layer
                ),
            })
            .collect()
    }

    #[test]
    fn many_files_under_a_directory_make_one_row_at_the_deepest_directory_that_has_enough() {
        let mut changes: Vec<PathChange> = vec![added("etc/a", 1)];
        // 25 in etc/data/x/, 10 in etc/data/ itself and 10 in etc/data/y/: x rolls up, then
        // the 20 left under etc/data/ do, taking x in.
        for i in 0..10 {
            changes.push(added(&format!("etc/data/f{i:02}"), 1));
        }
        for i in 0..25 {
            changes.push(added(&format!("etc/data/x/{i:02}"), 2));
        }
        for i in 0..10 {
            changes.push(added(&format!("etc/data/y/{i:02}"), 3));
        }
        changes.push(added("etc/z", 1));
        // Three directories of 20 under share/: one row; lib/ and share/ at the root: two.
        for d in ["a", "b", "c"] {
            for i in 0..20 {
                changes.push(added(&format!("share/{d}/{i:02}"), 1));
            }
        }
        for i in 0..20 {
            changes.push(added(&format!("lib/{i:02}"), 1));
        }
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        let distinct: Vec<Distinct<'_>> = changes
            .iter()
            .map(|c| Distinct {
                change: c,
                images: vec!["default"],
            })
            .collect();
        assert_eq!(
            show(&rows(&distinct)),
            [
                "etc/a",
                "45 added under etc/data/ (90 B, Some(\"data\"))",
                "etc/z",
                "20 added under lib/ (20 B, Some(\"data\"))",
                "60 added under share/ (60 B, Some(\"data\"))",
            ]
        );
        // Fewer than ROLLUP: every file is its own row; other images: another group.
        let data: Vec<Distinct<'_>> = distinct
            .iter()
            .filter(|d| {
                d.change.path.starts_with("etc/data/f") || d.change.path.starts_with("etc/data/y/")
            })
            .cloned()
            .collect();
        assert_eq!(data.len(), 20);
        assert_eq!(rows(&data[..ROLLUP - 1]).len(), ROLLUP - 1);
        assert_eq!(rows(&data).len(), 1);
        let mut split = data[..10].to_vec();
        split.extend(data[10..].iter().map(|d| Distinct {
            change: d.change,
            images: vec!["tiny"],
        }));
        assert_eq!(rows(&split).len(), 20, "two groups of 10 do not roll up");
    }

    #[test]
    fn cids_are_abbreviated_until_unique() {
        assert_eq!(short("bafkreiabcdefghijklmnop", 8), "bafk…ijklmnop");
        assert_eq!(short("bafkreiabc", 8), "bafkreiabc", "short enough already");
        let (a, b) = (
            "bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaxyz12345678",
            "bafkreibbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbwyz12345678",
        );
        assert_eq!(suffix_for(&HashSet::from([a])), 8);
        assert_eq!(
            suffix_for(&HashSet::from([a, b])),
            11,
            "as long as it takes to tell them apart"
        );
        assert_eq!(short(a, 11), "bafk…xyz12345678");
        assert_eq!(human(512), "512 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(12 * 1024 * 1024), "12.0 MiB");
    }
}
