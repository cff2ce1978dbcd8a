//! Unpacking the layers of an OCI image, in order, into their per-file union in a directory ww
//! made: a later layer's file wins, directories merge, nothing is deleted (the union `wwpack
//! build` writes).
//!
//! The layers are untrusted. Each blob is verified against its digest before a byte of it is
//! unpacked ([`Layout::verify_blob`]). Every entry is written beneath the destination's
//! directory handles ([`ww_content::beneath`]): a path is split into single names, each reached
//! with `O_NOFOLLOW`, so a symlink an earlier entry planted is never written through. Refused,
//! each naming the layer and the entry: an absolute path, a `..` or empty component, a path that
//! is not UTF-8, a hard link, a device, FIFO or socket, a whiteout (`.wh.*`: the union deletes
//! nothing), a symlink whose target is absolute, climbs out of the tree or has a `..` after a
//! name, a GNU long-name or PAX record (read raw, never whole into memory; wwpack writes plain
//! ustar), a file over a directory or a directory over a file. Bounded: entries, bytes of files
//! (all layers together), every byte the decompressors give (the files' budget plus
//! [`HEADER_ALLOWANCE`], so a small blob cannot expand without end), path length and depth
//! ([`Limits`]). Modes, owners and times in the tar are ignored: files are 0644 and
//! directories 0755, as UnixFS has none.

use std::io::{self, Read, Write};
use std::path::Path;

use ww_content::beneath::{Dir, Kind};

use crate::layout::{Layout, LayoutError};
use crate::spec::{self, Descriptor};

/// The bounds of an unpack.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Entries of all layers together.
    pub max_entries: u64,
    /// Bytes of file content of all layers together (decompressed).
    pub max_bytes: u64,
    /// Bytes of one entry's path.
    pub max_path: usize,
    /// Components of one entry's path.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_entries: 1_000_000,
            max_bytes: 4 << 30,
            max_path: 4096,
            max_depth: 64,
        }
    }
}

/// The bytes of tar headers and padding allowed on top of [`Limits::max_bytes`] when counting
/// what the decompressors give: the bound on decompressed bytes, so that a small blob cannot
/// expand without end in entries that are not files.
pub const HEADER_ALLOWANCE: u64 = 64 << 20;

/// What an unpack wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unpacked {
    pub entries: u64,
    pub bytes: u64,
}

/// Why an unpack failed.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("layer {layer}: {reason}")]
    Layer { layer: String, reason: String },
    #[error("layer {layer}: `{entry}`: {reason}")]
    Entry {
        layer: String,
        entry: String,
        reason: String,
    },
}

/// Unpacks every layer of `layout`'s manifest, in order, into the new directory `dest` (created
/// here; its parent is ww's own). On an error `dest` may hold part of the union: the caller
/// removes it.
pub fn unpack(layout: &Layout, dest: &Path, limits: Limits) -> Result<Unpacked, UnpackError> {
    let root = Dir::create_new(dest, 0o755).map_err(|e| UnpackError::Layer {
        layer: "-".into(),
        reason: format!("cannot create {}: {e}", dest.display()),
    })?;
    let mut done = Unpacked::default();
    let decompressed = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let cap = limits.max_bytes.saturating_add(HEADER_ALLOWANCE);
    for (i, layer) in layout.manifest.layers.iter().enumerate() {
        let name = layer_name(i, layer);
        layout.verify_blob(layer)?;
        let file = std::fs::File::open(layout.blob_path(&layer.digest)).map_err(|e| {
            UnpackError::Layer {
                layer: name.clone(),
                reason: format!("cannot open its blob: {e}"),
            }
        })?;
        let decoded: Box<dyn Read> = match layer.media_type.as_str() {
            spec::MEDIA_LAYER_ZSTD => {
                Box::new(zstd::Decoder::new(file).map_err(|e| UnpackError::Layer {
                    layer: name.clone(),
                    reason: format!("not zstd: {e}"),
                })?)
            }
            spec::MEDIA_LAYER_GZIP | spec::MEDIA_DOCKER_LAYER_GZIP => {
                Box::new(flate2::read::GzDecoder::new(file))
            }
            _ => Box::new(file),
        };
        let decoded = Capped {
            inner: decoded,
            read: decompressed.clone(),
            cap,
        };
        Unpacker {
            root: &root,
            layer: &name,
            limits,
            done: &mut done,
        }
        .layer(decoded)?;
    }
    root.sync().ok();
    Ok(done)
}

/// How messages name layer `i`: its wwpack name when annotated, and its digest.
fn layer_name(i: usize, layer: &Descriptor) -> String {
    match layer.annotations.get(spec::ANNOTATION_LAYER_NAME) {
        Some(name) => format!(
            "{} ({}, {})",
            i + 1,
            ww_content::text::printable(name),
            layer.digest
        ),
        None => format!("{} ({})", i + 1, layer.digest),
    }
}

struct Unpacker<'a> {
    root: &'a Dir,
    layer: &'a str,
    limits: Limits,
    done: &'a mut Unpacked,
}

impl Unpacker<'_> {
    fn layer(&mut self, decoded: impl Read) -> Result<(), UnpackError> {
        let bad_layer = |e: io::Error| UnpackError::Layer {
            layer: self.layer.to_string(),
            reason: format!("not a tar: {e}"),
        };
        let mut archive = tar::Archive::new(decoded);
        // Raw: GNU long names and PAX records are entries of their own, refused below, never
        // read into memory by the tar crate (which would read them whole, unbounded).
        let entries = archive.entries().map_err(bad_layer)?.raw(true);
        for entry in entries {
            let entry = entry.map_err(|e| UnpackError::Layer {
                layer: self.layer.to_string(),
                reason: format!("not a tar: {e}"),
            })?;
            self.entry(entry)?;
        }
        Ok(())
    }

    fn entry<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), UnpackError> {
        let raw = entry.path_bytes().into_owned();
        let shown = ww_content::text::printable(&String::from_utf8_lossy(&raw)).into_owned();
        let refuse = |reason: String| UnpackError::Entry {
            layer: self.layer.to_string(),
            entry: shown.clone(),
            reason,
        };
        self.done.entries += 1;
        if self.done.entries > self.limits.max_entries {
            return Err(refuse(format!(
                "more than {} entries in the image's layers",
                self.limits.max_entries
            )));
        }
        let names = split_path(&raw, self.limits).map_err(refuse)?;
        let kind = entry.header().entry_type();
        let Some((last, parents)) = names.split_last() else {
            // `./` itself: the root, which exists.
            return match kind {
                tar::EntryType::Directory => Ok(()),
                _ => Err(refuse("the root of the tree must be a directory".into())),
            };
        };
        if last.starts_with(".wh.") {
            return Err(refuse(
                "a whiteout: the union of an image deletes nothing".into(),
            ));
        }
        let parent = self.parents(parents).map_err(|e| refuse(e.to_string()))?;
        let here = parent.kind(last).map_err(|e| refuse(e.to_string()))?;
        match kind {
            tar::EntryType::Directory => match here {
                None => parent
                    .create_dir(last, 0o755)
                    .map(drop)
                    .map_err(|e| refuse(e.to_string())),
                Some(Kind::Dir) => Ok(()),
                Some(_) => Err(refuse("a directory over a file of an earlier layer".into())),
            },
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                match here {
                    Some(Kind::Dir) => {
                        return Err(refuse("a file over a directory of an earlier layer".into()))
                    }
                    Some(_) => parent
                        .remove_file(last)
                        .map_err(|e| refuse(e.to_string()))?,
                    None => {}
                }
                let size = entry.size();
                let left = self.limits.max_bytes.saturating_sub(self.done.bytes);
                if size > left {
                    return Err(refuse(format!(
                        "its {size} bytes would take the image's files past {} bytes",
                        self.limits.max_bytes
                    )));
                }
                let mut file = parent
                    .create_file(last, 0o644)
                    .map_err(|e| refuse(e.to_string()))?;
                let copied = io::copy(&mut (&mut entry).take(size), &mut file)
                    .and_then(|n| file.flush().map(|()| n))
                    .map_err(|e| refuse(format!("cannot unpack: {e}")))?;
                if copied != size {
                    return Err(refuse(format!(
                        "the tar ends after {copied} of its {size} bytes"
                    )));
                }
                self.done.bytes += size;
                Ok(())
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| refuse("a symlink without a target".into()))?
                    .into_owned();
                let target = String::from_utf8(target)
                    .map_err(|_| refuse("the symlink's target is not UTF-8".into()))?;
                check_link(parents.len(), &target).map_err(refuse)?;
                match here {
                    Some(Kind::Dir) => {
                        return Err(refuse(
                            "a symlink over a directory of an earlier layer".into(),
                        ))
                    }
                    Some(_) => parent
                        .remove_file(last)
                        .map_err(|e| refuse(e.to_string()))?,
                    None => {}
                }
                parent
                    .symlink(last, &target)
                    .map_err(|e| refuse(e.to_string()))
            }
            tar::EntryType::Link => Err(refuse("a hard link: not taken".into())),
            tar::EntryType::Char | tar::EntryType::Block => {
                Err(refuse("a device file: not taken".into()))
            }
            tar::EntryType::Fifo => Err(refuse("a FIFO: not taken".into())),
            tar::EntryType::GNULongName
            | tar::EntryType::GNULongLink
            | tar::EntryType::XHeader
            | tar::EntryType::XGlobalHeader => Err(refuse(
                "a GNU long-name or PAX record: not taken (an image's layers are plain ustar)"
                    .into(),
            )),
            other => Err(refuse(format!("an entry of tar type {other:?}: not taken"))),
        }
    }

    /// The directory that holds an entry: each of `names` reached (or made) beneath the root,
    /// never through a symlink (a symlink there is an error).
    fn parents(&self, names: &[String]) -> io::Result<Dir> {
        let mut dir = Dir::open(self.root.path())?;
        for name in names {
            dir = match dir.kind(name)? {
                None => dir.create_dir(name, 0o755)?,
                Some(Kind::Dir) => dir.open_dir(name)?,
                Some(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{} is not a directory", dir.path_of(name).display()),
                    ))
                }
            };
        }
        Ok(dir)
    }
}

/// The names of a tar path: relative, `./` prefixes and a trailing `/` dropped, no empty,
/// `.` or `..` component, UTF-8, within the limits.
fn split_path(raw: &[u8], limits: Limits) -> Result<Vec<String>, String> {
    if raw.len() > limits.max_path {
        return Err(format!("a path longer than {} bytes", limits.max_path));
    }
    let text = std::str::from_utf8(raw).map_err(|_| "a path that is not UTF-8".to_string())?;
    if text.starts_with('/') {
        return Err("an absolute path".into());
    }
    let mut names = Vec::new();
    let trimmed = text.trim_end_matches('/');
    for (i, part) in trimmed.split('/').enumerate() {
        match part {
            "." if i == 0 || names.is_empty() => continue,
            "" if trimmed.is_empty() => continue,
            "" | "." => return Err("an empty or `.` component inside the path".into()),
            ".." => return Err("a `..` component".into()),
            _ if part.contains('\0') => return Err("a NUL in the path".into()),
            _ => names.push(part.to_string()),
        }
    }
    if names.len() > limits.max_depth {
        return Err(format!("deeper than {} directories", limits.max_depth));
    }
    Ok(names)
}

/// A symlink at depth `depth` (its number of parent directories below the root) may point
/// only inside the tree, which is decided from its text alone only when every `..` comes first:
/// `../../a/b` climbs at most `depth` levels, then descends. A `..` after a name (`s/..`) is
/// refused, since `s` may itself be a link (`s -> .` makes `t -> s/..` leave the tree).
fn check_link(depth: usize, target: &str) -> Result<(), String> {
    let shown = || ww_content::text::printable(target).into_owned();
    if target.is_empty() {
        return Err("a symlink with an empty target".into());
    }
    if target.starts_with('/') {
        return Err(format!(
            "a symlink to the absolute path `{}`, out of the tree",
            shown()
        ));
    }
    let mut climbs = 0usize;
    let mut descended = false;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." if descended => {
                return Err(format!(
                    "a symlink to `{}`: a `..` after a name is not taken (it may climb out of \
                     the tree through another link)",
                    shown()
                ))
            }
            ".." => climbs += 1,
            _ => descended = true,
        }
    }
    if climbs > depth {
        return Err(format!(
            "a symlink to `{}`, which climbs out of the tree",
            shown()
        ));
    }
    Ok(())
}

/// A reader that fails once more than `cap` bytes have been read through all readers sharing
/// `read`.
struct Capped<R> {
    inner: R,
    read: std::rc::Rc<std::cell::Cell<u64>>,
    cap: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.read.get() + n as u64;
        self.read.set(total);
        if total > self.cap {
            return Err(io::Error::other(format!(
                "the layers decompress to more than {} bytes",
                self.cap
            )));
        }
        Ok(n)
    }
}

#[cfg(test)]
pub(crate) mod tests;
