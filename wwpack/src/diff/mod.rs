//! `wwpack diff`: what a change does to an image, in a form a reviewer reads.
//!
//! [`side`] reads each argument (a lock, `--git REV`, an image directory, a CID, the working
//! tree) into a [`side::Snapshot`]; [`compare`](mod@compare) pairs the images and compares them path by path
//! (with the lock format's one differ, [`ww_image::manifest::compare`]) into a [`Report`];
//! [`content`] adds what changed inside files ([`ww_image::wasm::summary`] for components); and [`render`] prints
//! the report as text, Markdown or JSON. `wwpack build --locked` prints its mismatch with the
//! same compare and text render; the working tree's build is the command line's to give
//! ([`Env::build_worktree`]), so nothing here depends on the build.

pub mod compare;
pub mod content;
pub mod render;
pub mod side;

pub use compare::{compare, Report};
pub use content::ContentReader;
pub use side::{BuildWorktree, Env, SideSpec, Snapshot, Worktree};

use crate::error::{Error, Result};

/// Resolves the sides (none: the committed lock and a fresh build of the working tree; one: it
/// and the working tree), keeps only `image` of sides with several images, and compares them.
pub fn run(
    env: &Env<'_>,
    sides: &[SideSpec],
    image: Option<&str>,
    reader: &ContentReader<'_>,
) -> Result<Report> {
    let (a, b) = match sides {
        [] => (env.committed_lock()?, env.resolve(&SideSpec::WorkTree)?),
        [a] => (env.resolve(a)?, env.resolve(&SideSpec::WorkTree)?),
        [a, b] => (env.resolve(a)?, env.resolve(b)?),
        _ => {
            return Err(Error::Diff {
                side: format!("{} sides", sides.len()),
                message: "give at most two (A and B)".into(),
            })
        }
    };
    let (a, b) = (only(a, image)?, only(b, image)?);
    let a = same_profile(env, a, &b)?;
    let b = same_profile(env, b, &a)?;
    compare(&a, &b, reader)
}

/// `snapshot` with only `image`, when it has several images and one is named.
fn only(mut snapshot: Snapshot, image: Option<&str>) -> Result<Snapshot> {
    let Some(name) = image.filter(|_| !snapshot.single) else {
        return Ok(snapshot);
    };
    let Some(view) = snapshot.images.remove(name) else {
        return Err(Error::Diff {
            side: snapshot.label,
            message: format!(
                "has no image `{name}` (images: {})",
                snapshot
                    .images
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    };
    snapshot.images = std::collections::BTreeMap::from([(name.to_string(), view)]);
    snapshot.single = true;
    snapshot.guests = None;
    Ok(snapshot)
}

/// An image directory hashed again under the profile of the image it is compared with, when
/// that one's is known and different: CIDs of two profiles never match.
fn same_profile(env: &Env<'_>, snapshot: Snapshot, other: &Snapshot) -> Result<Snapshot> {
    let (Some(dir), Some((name, mine))) = (&snapshot.dir, snapshot.images.iter().next()) else {
        return Ok(snapshot);
    };
    let theirs = match other.single {
        true => other.images.values().next(),
        false => compare::partner(name, &snapshot, other).ok(),
    };
    match theirs.and_then(|i| i.profile.as_deref()) {
        Some(profile) if Some(profile) != mine.profile.as_deref() => {
            env.directory(dir, &snapshot.label, Some(profile))
        }
        _ => Ok(snapshot),
    }
}
