//! Directories: one dag-pb node with links sorted by name, or a HAMT shard tree once that node
//! would be too large for the profile's threshold.

use crate::block::BlockSink;
use crate::pb;

use super::data::{Data, DataType};
use super::entry::{link, Entry};
use super::hamt;
use super::profile::HamtThreshold;
use super::{put_pb, ImportError, Imported, Profile};

/// Builds the directory of `entries` (any order; names must be unique).
pub fn build_dir(
    mut entries: Vec<Entry>,
    profile: &Profile,
    sink: &dyn BlockSink,
) -> Result<Imported, ImportError> {
    entries.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    if let Some(w) = entries.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(ImportError::Invalid(format!(
            "directory has two entries named `{}`",
            w[0].name
        )));
    }
    if needs_hamt(&entries, profile) {
        return hamt::build(entries, profile, sink);
    }
    let links = entries.into_iter().map(link).collect();
    put_pb(profile, sink, links, Data::new(DataType::Directory), 0)
}

/// Whether a basic directory of `entries` is over the profile's HAMT threshold (strictly greater,
/// as IPIP-499 specifies).
fn needs_hamt(entries: &[Entry], profile: &Profile) -> bool {
    match profile.hamt_threshold {
        HamtThreshold::LinkEstimate(limit) => {
            let size: usize = entries
                .iter()
                .map(|e| e.name.len() + e.node.cid.encoded_len())
                .sum();
            size > limit
        }
        HamtThreshold::BlockSize(limit) => basic_block_size(entries) > limit,
    }
}

/// The exact size of the basic directory node of `entries`, computed without encoding it.
fn basic_block_size(entries: &[Entry]) -> usize {
    let data = Data::new(DataType::Directory).encode().len();
    let links: usize = entries
        .iter()
        .map(|e| {
            let link = pb::bytes_field_len(e.node.cid.encoded_len())
                + pb::bytes_field_len(e.name.len())
                + 1
                + pb::varint_len(e.node.tsize);
            pb::bytes_field_len(link)
        })
        .sum();
    pb::bytes_field_len(data) + links
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::NullSink;
    use crate::cid::{Cid, RAW};
    use crate::dagpb::PbNode;
    use crate::unixfs::UNIXFS_V1_2025;

    #[test]
    fn basic_block_size_is_the_encoded_size() {
        let entries: Vec<Entry> = (0..50u64)
            .map(|i| Entry {
                name: format!("file-{i}"),
                node: Imported {
                    cid: Cid::v1_sha2_256(RAW, &i.to_le_bytes()),
                    tsize: i * 1000,
                    filesize: 0,
                },
            })
            .collect();
        let node = PbNode {
            links: entries.iter().cloned().map(link).collect(),
            data: Some(Data::new(DataType::Directory).encode()),
        };
        assert_eq!(basic_block_size(&entries), node.encode().len());
        assert!(build_dir(entries, &UNIXFS_V1_2025, &NullSink).is_ok());
    }

    #[test]
    fn duplicate_names_are_an_error() {
        let node = Imported {
            cid: Cid::v1_sha2_256(RAW, b""),
            tsize: 0,
            filesize: 0,
        };
        let e = Entry {
            name: "a".into(),
            node,
        };
        let err = build_dir(vec![e.clone(), e], &UNIXFS_V1_2025, &NullSink).unwrap_err();
        assert!(err.to_string().contains("`a`"), "{err}");
    }
}
