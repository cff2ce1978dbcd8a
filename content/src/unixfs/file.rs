//! Files: fixed-size chunks from a reader, arranged in a balanced DAG as Kubo's balanced builder
//! arranges them, streamed (memory holds one chunk and one row of links per level, whatever the
//! file's size).

use std::io::Read;

use crate::block::BlockSink;
use crate::cid::RAW;
use crate::dagpb::PbLink;
use crate::progress::Meter;

use super::data::{Data, DataType};
use super::{make_cid, ImportError, Imported, Profile};

/// Imports the bytes of `reader` as a UnixFS file; `what` names the source in errors.
pub fn import_file(
    reader: &mut dyn Read,
    what: &str,
    profile: &Profile,
    sink: &dyn BlockSink,
) -> Result<Imported, ImportError> {
    import_file_metered(reader, what, profile, sink, None)
}

/// [`import_file`], counting the bytes read (chunk by chunk) on `meter`.
pub fn import_file_metered(
    reader: &mut dyn Read,
    what: &str,
    profile: &Profile,
    sink: &dyn BlockSink,
    meter: Option<&Meter>,
) -> Result<Imported, ImportError> {
    let mut builder = Balanced {
        profile,
        sink,
        levels: Vec::new(),
    };
    // Grows to the chunk size only for files that big, then is reused: small files stay cheap.
    let mut buf = Vec::new();
    let mut first = true;
    loop {
        let n = fill(reader, &mut buf, profile.chunk_size).map_err(|source| ImportError::Read {
            path: what.to_string(),
            source,
        })?;
        if let Some(meter) = meter {
            meter.add_bytes(n as u64);
        }
        if n == 0 && !first {
            break;
        }
        first = false;
        let leaf = builder.leaf(&buf)?;
        if n < profile.chunk_size && builder.levels.is_empty() {
            // The whole file is one chunk: the leaf is the root.
            return Ok(leaf);
        }
        builder.push(0, leaf)?;
        if n < profile.chunk_size {
            break;
        }
    }
    builder.finish()
}

/// Replaces `buf` with the next `chunk` bytes of the reader (fewer at its end); returns how many.
fn fill(reader: &mut dyn Read, buf: &mut Vec<u8>, chunk: usize) -> std::io::Result<usize> {
    buf.clear();
    reader.take(chunk as u64).read_to_end(buf)
}

struct Balanced<'a> {
    profile: &'a Profile,
    sink: &'a dyn BlockSink,
    /// `levels[0]` holds leaves not yet under a node, `levels[i]` nodes of depth `i`.
    levels: Vec<Vec<Imported>>,
}

impl Balanced<'_> {
    fn leaf(&self, chunk: &[u8]) -> Result<Imported, ImportError> {
        let filesize = chunk.len() as u64;
        if self.profile.raw_leaves {
            let cid = make_cid(self.profile, RAW, chunk);
            self.sink.put_hashed(&cid, chunk)?;
            return Ok(Imported {
                cid,
                tsize: filesize,
                filesize,
            });
        }
        let mut data = Data::new(DataType::File);
        data.data = (!chunk.is_empty()).then(|| chunk.to_vec());
        data.filesize = Some(filesize);
        self.put_node(Vec::new(), data, filesize)
    }

    /// Adds `node` at `level`; a full level becomes a node one level up.
    fn push(&mut self, level: usize, node: Imported) -> Result<(), ImportError> {
        if self.levels.len() <= level {
            self.levels.resize_with(level + 1, Vec::new);
        }
        self.levels[level].push(node);
        if self.levels[level].len() == self.profile.max_links {
            let children = std::mem::take(&mut self.levels[level]);
            let parent = self.internal(children)?;
            self.push(level + 1, parent)?;
        }
        Ok(())
    }

    /// Closes the partial rows bottom-up, as the balanced layout leaves them: every row below the
    /// top becomes a node, and the top row becomes the root (or is the root if it holds one node).
    fn finish(mut self) -> Result<Imported, ImportError> {
        let top = self.levels.len() - 1;
        for level in 0..top {
            let row = std::mem::take(&mut self.levels[level]);
            if !row.is_empty() {
                let node = self.internal(row)?;
                self.levels[level + 1].push(node);
            }
        }
        let mut row = std::mem::take(&mut self.levels[top]);
        match row.len() {
            1 => Ok(row.remove(0)),
            _ => self.internal(row),
        }
    }

    fn internal(&self, children: Vec<Imported>) -> Result<Imported, ImportError> {
        let mut data = Data::new(DataType::File);
        data.blocksizes = children.iter().map(|c| c.filesize).collect();
        let filesize = data.blocksizes.iter().sum();
        data.filesize = Some(filesize);
        let links = children
            .into_iter()
            .map(|c| PbLink {
                cid: c.cid,
                name: Some(String::new()),
                tsize: Some(c.tsize),
            })
            .collect();
        self.put_node(links, data, filesize)
    }

    fn put_node(
        &self,
        links: Vec<PbLink>,
        data: Data,
        filesize: u64,
    ) -> Result<Imported, ImportError> {
        super::put_pb(self.profile, self.sink, links, data, filesize)
    }
}
