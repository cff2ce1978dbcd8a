//! A deterministic tar writer: ustar headers only (no PAX records, no GNU extensions, no
//! extended attributes), with fixed metadata (uid/gid 0, empty user and group names, modes
//! 0755 for directories, 0644 for files, 0777 for symlinks, one mtime for every entry), and the
//! end of the archive as the `tar` crate writes it (two zero blocks, no padding to a record).
//! What ustar cannot say is refused, never approximated: a path that does not fit its `prefix`
//! and `name` fields, a symlink target over 100 bytes, a size or mtime of 8^11 or more.
//!
//! The order of entries is the caller's: [`sorted`] gives the one both the layers and the
//! layout's tar use.

use std::cmp::Ordering;
use std::io::{self, Write};

/// Bytes of a tar block.
const BLOCK: usize = 512;
/// The largest size or mtime an 11-digit octal field holds.
pub const MAX_OCTAL: u64 = (1 << 33) - 1;
/// The largest symlink target ustar holds.
pub const MAX_LINK: usize = 100;

/// The mode of each kind of entry.
pub const DIR_MODE: u32 = 0o755;
pub const FILE_MODE: u32 = 0o644;
pub const SYMLINK_MODE: u32 = 0o777;

/// What an entry is when ustar cannot hold it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{path}` cannot be written to a ustar archive: {reason}")]
pub struct Unrepresentable {
    pub path: String,
    pub reason: String,
}

/// `a` before `b` as the entries of a tar: component by component (as `tar --sort=name`), so a
/// directory comes right before what it holds.
pub fn sorted(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

/// A tar being written to `out`.
pub struct TarWriter<W: Write> {
    out: W,
    mtime: u64,
}

impl<W: Write> TarWriter<W> {
    /// A tar whose every entry has the modification time `mtime` (seconds since the epoch, at
    /// most [`MAX_OCTAL`]: checked by the caller with [`check_mtime`]).
    pub fn new(out: W, mtime: u64) -> TarWriter<W> {
        TarWriter { out, mtime }
    }

    /// A directory `path` (relative, no trailing `/`: the entry's name gets one).
    pub fn dir(&mut self, path: &str) -> io::Result<()> {
        let header = self.header(&format!("{path}/"), tar::EntryType::Directory, 0, "")?;
        self.out.write_all(&header)
    }

    /// A symlink `path` to `target`, kept as a symlink.
    pub fn symlink(&mut self, path: &str, target: &str) -> io::Result<()> {
        let header = self.header(path, tar::EntryType::Symlink, 0, target)?;
        self.out.write_all(&header)
    }

    /// A regular file `path` of `size` bytes, which `write` writes: exactly `size`, or the
    /// archive is refused (an error, never a tar with a wrong header).
    pub fn file(
        &mut self,
        path: &str,
        size: u64,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        if size > MAX_OCTAL {
            return Err(refuse(
                path,
                format!("its {size} bytes are more than ustar's {MAX_OCTAL}"),
            ));
        }
        let header = self.header(path, tar::EntryType::Regular, size, "")?;
        self.out.write_all(&header)?;
        let mut exact = Exact {
            out: &mut self.out,
            left: size,
        };
        write(&mut exact)?;
        if exact.left != 0 {
            return Err(io::Error::other(format!(
                "`{path}`: {} bytes written where its size says {size}",
                size - exact.left
            )));
        }
        let pad = (BLOCK - (size % BLOCK as u64) as usize) % BLOCK;
        self.out.write_all(&[0; BLOCK][..pad])
    }

    /// Ends the archive (two zero blocks); the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0; 2 * BLOCK])?;
        Ok(self.out)
    }

    fn header(
        &self,
        name: &str,
        kind: tar::EntryType,
        size: u64,
        link: &str,
    ) -> io::Result<[u8; BLOCK]> {
        let mut header = tar::Header::new_ustar();
        let ustar = header
            .as_ustar_mut()
            .ok_or_else(|| io::Error::other("a ustar header"))?;
        let (prefix, rest) = split_name(name)?;
        ustar.prefix[..prefix.len()].copy_from_slice(prefix.as_bytes());
        ustar.name[..rest.len()].copy_from_slice(rest.as_bytes());
        if link.len() > MAX_LINK {
            return Err(refuse(
                name,
                format!(
                    "its target has {} bytes, more than ustar's {MAX_LINK}",
                    link.len()
                ),
            ));
        }
        ustar.linkname[..link.len()].copy_from_slice(link.as_bytes());
        header.set_entry_type(kind);
        header.set_mode(match kind {
            tar::EntryType::Directory => DIR_MODE,
            tar::EntryType::Symlink => SYMLINK_MODE,
            _ => FILE_MODE,
        });
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(size);
        header.set_mtime(self.mtime);
        header.set_device_major(0)?;
        header.set_device_minor(0)?;
        header.set_cksum();
        Ok(*header.as_bytes())
    }
}

/// Checks that `mtime` fits a ustar header.
pub fn check_mtime(mtime: u64) -> Result<(), String> {
    if mtime > MAX_OCTAL {
        return Err(format!(
            "{mtime} is later than the last time ustar can hold ({MAX_OCTAL})"
        ));
    }
    Ok(())
}

fn refuse(path: &str, reason: String) -> io::Error {
    io::Error::other(Unrepresentable {
        path: ww_content::text::printable(path).into_owned(),
        reason,
    })
}

/// `name` as ustar's `prefix` (at most 155 bytes) and `name` (at most 100) fields, split at a
/// `/`: the first `/` that leaves a name that fits (always the same split for the same path).
fn split_name(name: &str) -> io::Result<(&str, &str)> {
    if name.len() <= 100 {
        return Ok(("", name));
    }
    // A trailing `/` (a directory) stays in the name part.
    let body = name.strip_suffix('/').unwrap_or(name);
    let split = body
        .char_indices()
        .filter(|&(i, c)| c == '/' && i <= 155 && name.len() - i - 1 <= 100 && i > 0)
        .map(|(i, _)| i)
        .next();
    match split {
        Some(i) if i + 1 < name.len() => Ok((&name[..i], &name[i + 1..])),
        _ => Err(refuse(
            name,
            format!(
                "its path of {} bytes does not fit ustar's 155-byte prefix and 100-byte name",
                name.len()
            ),
        )),
    }
}

/// A writer that takes exactly `left` more bytes and refuses any beyond.
struct Exact<'a, W: Write> {
    out: &'a mut W,
    left: u64,
}

impl<W: Write> Write for Exact<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() as u64 > self.left {
            return Err(io::Error::other(format!(
                "more bytes than the file's size ({} left)",
                self.left
            )));
        }
        let n = self.out.write(buf)?;
        self.left -= n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
