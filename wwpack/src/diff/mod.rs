//! `wwpack diff`: what a change does to an image, in a form a reviewer reads.
//!
//! [`side`] reads each argument (a lock, `--git REV`, an image directory, a CID, the working
//! tree) into a [`side::Snapshot`]; [`compare`] pairs the images and compares them path by path
//! into a [`Report`]; [`content`] adds what changed inside files ([`wasm`] for components); and
//! [`render`] prints the report as text, Markdown or JSON.

pub mod compare;
pub mod content;
pub mod render;
pub mod side;
pub mod wasm;

pub use compare::{compare, Report};
pub use content::ContentReader;
pub use side::{Env, SideSpec, Snapshot};

use crate::error::{Error, Result};

/// Resolves the sides (none: the project's `wwpack.lock` and a fresh build of the working tree;
/// one: it and the working tree) and compares them.
pub fn run(env: &Env<'_>, sides: &[SideSpec], reader: &ContentReader<'_>) -> Result<Report> {
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
    compare(&a, &b, reader)
}
