//! Listing directories: plain directory nodes and HAMT shards (every shard met once, of the
//! root's fanout, no deeper than its hash bits allow), every name checked against [`NAME_RULE`](super::NAME_RULE)
//! and unique.

use std::collections::HashSet;

use crate::cid::Cid;
use crate::dagpb::PbNode;
use crate::text::printable;

use super::super::data::{Data, DataType};
use super::name::check_name;
use super::{decoded_word, malformed, Decoded, DirEntry, ReadError, Reader};

impl Reader<'_> {
    /// The entries of a decoded directory node or HAMT root shard `cid`, sorted by name.
    pub(super) fn list_decoded(
        &self,
        cid: &Cid,
        decoded: Decoded,
    ) -> Result<Vec<DirEntry>, ReadError> {
        let mut out = Vec::new();
        match decoded {
            Decoded::Pb(node, data) if data.kind == DataType::Directory => {
                for link in node.links {
                    let name = link
                        .name
                        .ok_or_else(|| malformed(cid, "directory link without a name"))?;
                    out.push(DirEntry {
                        name,
                        cid: link.cid,
                        tsize: link.tsize,
                    });
                }
            }
            Decoded::Pb(node, data) if data.kind == DataType::HamtShard => {
                self.list_shard(cid, node, &data, &mut out)?;
            }
            other => {
                return Err(ReadError::WrongKind {
                    cid: cid.clone(),
                    expected: "directory",
                    found: decoded_word(&other),
                })
            }
        }
        for entry in &out {
            check_name(cid, &entry.name)?;
        }
        out.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        if let Some(pair) = out.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(ReadError::BadName {
                dir: cid.clone(),
                name: printable(&pair[0].name).into_owned(),
                rule: "appears twice",
            });
        }
        Ok(out)
    }

    /// The entries of the HAMT whose root shard is `cid`, iteratively. Every shard has the root's
    /// fanout, nests no deeper than the 64 hash bits allow, and is met once: a shard linked twice
    /// would list the same names twice (and, repeated at every level, take 2^60 visits).
    fn list_shard(
        &self,
        cid: &Cid,
        node: PbNode,
        data: &Data,
        out: &mut Vec<DirEntry>,
    ) -> Result<(), ReadError> {
        let fanout = shard_fanout(cid, data)?;
        let bits = fanout.trailing_zeros() as usize;
        let max_depth = 64usize.div_ceil(bits);
        let width = format!("{:X}", fanout - 1).len();
        let mut seen: HashSet<Cid> = HashSet::from([cid.to_v1()]);
        let mut stack = vec![(cid.clone(), node, 0usize)];
        while let Some((shard, node, depth)) = stack.pop() {
            for link in node.links {
                let name = link
                    .name
                    .ok_or_else(|| malformed(&shard, "HAMT link without a name"))?;
                if name.len() < width
                    || !name.is_char_boundary(width)
                    || !name[..width].bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(malformed(
                        &shard,
                        format!(
                            "HAMT link name `{}` does not start with a {width}-digit hex slot",
                            printable(&name)
                        ),
                    ));
                }
                if name.len() > width {
                    out.push(DirEntry {
                        name: name[width..].to_string(),
                        cid: link.cid,
                        tsize: link.tsize,
                    });
                    continue;
                }
                if depth + 1 >= max_depth {
                    return Err(malformed(
                        &link.cid,
                        format!("HAMT nests deeper than its {max_depth} levels of hash bits"),
                    ));
                }
                if !seen.insert(link.cid.to_v1()) {
                    return Err(malformed(
                        &shard,
                        format!("HAMT shard {} is linked twice in one directory", link.cid),
                    ));
                }
                match self.decode(&link.cid)? {
                    Decoded::Pb(child, child_data) if child_data.kind == DataType::HamtShard => {
                        if shard_fanout(&link.cid, &child_data)? != fanout {
                            return Err(malformed(
                                &link.cid,
                                format!("HAMT shard's fanout differs from its root's {fanout}"),
                            ));
                        }
                        stack.push((link.cid, child, depth + 1));
                    }
                    _ => return Err(malformed(&link.cid, "HAMT child is not a HAMT shard")),
                }
            }
        }
        Ok(())
    }
}

/// The fanout of a HAMT shard: a power of two from 2 to 1024.
fn shard_fanout(cid: &Cid, data: &Data) -> Result<u64, ReadError> {
    let fanout = data
        .fanout
        .ok_or_else(|| malformed(cid, "HAMT shard has no fanout"))?;
    if !fanout.is_power_of_two() || !(2..=1024).contains(&fanout) {
        return Err(malformed(
            cid,
            format!("HAMT fanout {fanout} is not a power of two from 2 to 1024"),
        ));
    }
    Ok(fanout)
}
