//! [`Reader::walk`]: every entry of a directory tree, depth-first in name order, iteratively,
//! within the walk budget of paths, symlink targets and directory blocks
//! ([`Reader::with_max_walk_bytes`]) and [`MAX_DEPTH`] levels.

use crate::cid::Cid;
use crate::text::printable;
use crate::tree::MAX_DEPTH;

use super::{Kind, ReadError, Reader, WalkEntry};

impl Reader<'_> {
    /// Every entry below `root` (the root first, then depth-first in name order). Iterative;
    /// a tree deeper than [`MAX_DEPTH`] is [`ReadError::TooDeep`], and the reader's block budget
    /// bounds the rest.
    pub fn walk(&self, root: &Cid) -> Result<Vec<WalkEntry>, ReadError> {
        let mut out = Vec::new();
        self.walk_with(root, |entry| {
            out.push(entry);
            Ok(())
        })?;
        Ok(out)
    }

    /// [`Reader::walk`], handing each entry to `visit` as it is met (so a caller can stop, or
    /// count, before the whole tree is in memory).
    pub fn walk_with(
        &self,
        root: &Cid,
        mut visit: impl FnMut(WalkEntry) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        let mut stack = vec![(String::new(), root.clone(), None, 0usize)];
        // Bytes of the paths made (counted as they are made, stack included) and targets met.
        let mut kept = 0u64;
        let mut keep = |cid: &Cid, bytes: usize| {
            kept = kept.saturating_add(bytes as u64);
            if kept > self.max_walk_bytes {
                return Err(ReadError::Budget {
                    cid: cid.clone(),
                    limit: self.max_walk_bytes,
                    what: "bytes of paths and directories",
                });
            }
            Ok(())
        };
        while let Some((path, cid, tsize, depth)) = stack.pop() {
            let before = self.decoded_bytes.get();
            let (kind, entries) = self.describe(&cid)?;
            match &kind {
                Kind::Symlink { target } => keep(&cid, target.len())?,
                Kind::Directory => {
                    let block = self.decoded_bytes.get().saturating_sub(before);
                    keep(&cid, usize::try_from(block).unwrap_or(usize::MAX))?;
                }
                Kind::File { .. } => {}
            }
            if let Some(entries) = entries {
                if !entries.is_empty() && depth >= MAX_DEPTH {
                    return Err(ReadError::TooDeep {
                        cid,
                        path: printable(&path).into_owned(),
                    });
                }
                for e in entries.into_iter().rev() {
                    keep(&cid, path.len() + 1 + e.name.len())?;
                    let child = if path.is_empty() {
                        e.name
                    } else {
                        format!("{path}/{}", e.name)
                    };
                    stack.push((child, e.cid, e.tsize, depth + 1));
                }
            }
            visit(WalkEntry {
                path,
                cid,
                kind,
                tsize,
            })?;
        }
        Ok(())
    }
}
