//! HAMT-sharded directories as Kubo writes them: names hashed with murmur3 (`h1`, big-endian),
//! `log2(fanout)` bits per level taken most significant first, a slot holding either one entry
//! (link name = uppercase hex slot + entry name) or a child shard (link name = hex slot only),
//! links in slot order, and a bitfield of used slots as a big-endian integer without leading
//! zero bytes. Child shards exist only where two or more names collide, so the tree depends only
//! on the set of names.

use std::collections::BTreeMap;

use crate::block::BlockSink;
use crate::dagpb::PbLink;

use super::data::{Data, DataType};
use super::entry::{link, Entry};
use super::murmur3::hamt_hash;
use super::{put_pb, ImportError, Imported, Profile};

/// The multicodec of murmur3-x64-64, recorded in every shard's `hashType`.
pub const MURMUR3_X64_64: u64 = 0x22;

enum Slot {
    Entry(Entry, u64),
    Shard(Shard),
}

#[derive(Default)]
struct Shard {
    slots: BTreeMap<usize, Slot>,
}

struct Shape {
    bits: u32,
    fanout: usize,
    hex_width: usize,
}

impl Shape {
    fn new(fanout: usize) -> Result<Shape, ImportError> {
        if !fanout.is_power_of_two() || !(8..=1024).contains(&fanout) {
            return Err(ImportError::Invalid(format!(
                "HAMT fanout {fanout} must be a power of two from 8 to 1024"
            )));
        }
        let bits = fanout.trailing_zeros();
        Ok(Shape {
            bits,
            fanout,
            hex_width: format!("{:X}", fanout - 1).len(),
        })
    }

    /// The slot of `hash` at `depth`, or `None` when the 64 bits are used up.
    fn slot(&self, hash: u64, depth: u32) -> Option<usize> {
        let used = self.bits * (depth + 1);
        if used > 64 {
            return None;
        }
        let mask = (1u64 << self.bits) - 1;
        Some(((hash >> (64 - used)) & mask) as usize)
    }
}

/// Builds the HAMT of `entries` (names unique) and returns its root.
pub fn build(
    entries: Vec<Entry>,
    profile: &Profile,
    sink: &dyn BlockSink,
) -> Result<Imported, ImportError> {
    let shape = Shape::new(profile.hamt_fanout)?;
    let mut root = Shard::default();
    for entry in entries {
        let hash = hamt_hash(entry.name.as_bytes());
        insert(&mut root, &shape, entry, hash, 0)?;
    }
    write(root, &shape, profile, sink)
}

fn insert(
    shard: &mut Shard,
    shape: &Shape,
    entry: Entry,
    hash: u64,
    depth: u32,
) -> Result<(), ImportError> {
    let too_deep = |name: &str| {
        ImportError::Invalid(format!(
            "sharded directory too deep: the 64-bit hashes of `{name}` and another name collide"
        ))
    };
    let slot = shape
        .slot(hash, depth)
        .ok_or_else(|| too_deep(&entry.name))?;
    match shard.slots.remove(&slot) {
        None => {
            shard.slots.insert(slot, Slot::Entry(entry, hash));
        }
        Some(Slot::Shard(mut child)) => {
            insert(&mut child, shape, entry, hash, depth + 1)?;
            shard.slots.insert(slot, Slot::Shard(child));
        }
        Some(Slot::Entry(other, other_hash)) => {
            let mut child = Shard::default();
            insert(&mut child, shape, other, other_hash, depth + 1)?;
            insert(&mut child, shape, entry, hash, depth + 1)?;
            shard.slots.insert(slot, Slot::Shard(child));
        }
    }
    Ok(())
}

fn write(
    shard: Shard,
    shape: &Shape,
    profile: &Profile,
    sink: &dyn BlockSink,
) -> Result<Imported, ImportError> {
    let mut bitfield = vec![0u8; shape.fanout / 8];
    let mut links = Vec::with_capacity(shard.slots.len());
    for (slot, item) in shard.slots {
        let len = bitfield.len();
        bitfield[len - 1 - slot / 8] |= 1 << (slot % 8);
        let prefix = format!("{:0width$X}", slot, width = shape.hex_width);
        links.push(match item {
            Slot::Entry(entry, _) => {
                let mut l = link(entry);
                l.name = l.name.map(|n| format!("{prefix}{n}"));
                l
            }
            Slot::Shard(child) => {
                let node = write(child, shape, profile, sink)?;
                PbLink {
                    cid: node.cid,
                    name: Some(prefix),
                    tsize: Some(node.tsize),
                }
            }
        });
    }
    let first_used = bitfield
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bitfield.len());
    let mut data = Data::new(DataType::HamtShard);
    data.data = Some(bitfield[first_used..].to_vec()).filter(|b| !b.is_empty());
    data.hash_type = Some(MURMUR3_X64_64);
    data.fanout = Some(shape.fanout as u64);
    put_pb(profile, sink, links, data, 0)
}
