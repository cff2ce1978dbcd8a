//! CID profiles: the UnixFS parameters that fix a CID.
//!
//! `unixfs-v1-2025` and `unixfs-v0-2015` are defined by IPIP-499 ("UnixFS CID Profiles");
//! `kubo-cidv1` is what `ipfs add --cid-version=1` gives with Kubo's defaults. In every profile
//! hidden files are included (as `ipfs add --hidden`), empty directories are kept, symlinks are
//! stored as UnixFS symlink nodes, and no mode or mtime is recorded.

use std::fmt;
use std::str::FromStr;

use crate::cid::Version;

/// When a directory becomes a HAMT shard instead of one dag-pb node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HamtThreshold {
    /// Shard when the serialized basic-directory block would be larger than this many bytes.
    BlockSize(usize),
    /// Shard when the sum over links of name bytes plus binary CID bytes reaches this many bytes
    /// (Kubo's estimate).
    LinkEstimate(usize),
}

/// The parameters of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub name: &'static str,
    pub cid_version: Version,
    pub chunk_size: usize,
    pub max_links: usize,
    pub raw_leaves: bool,
    pub hamt_threshold: HamtThreshold,
    /// Fanout of HAMT shards.
    pub hamt_fanout: usize,
}

pub const UNIXFS_V1_2025: Profile = Profile {
    name: "unixfs-v1-2025",
    cid_version: Version::V1,
    chunk_size: 1 << 20,
    max_links: 1024,
    raw_leaves: true,
    hamt_threshold: HamtThreshold::BlockSize(256 * 1024),
    hamt_fanout: 256,
};

pub const UNIXFS_V0_2015: Profile = Profile {
    name: "unixfs-v0-2015",
    cid_version: Version::V0,
    chunk_size: 256 * 1024,
    max_links: 174,
    raw_leaves: false,
    hamt_threshold: HamtThreshold::LinkEstimate(256 * 1024),
    hamt_fanout: 256,
};

pub const KUBO_CIDV1: Profile = Profile {
    name: "kubo-cidv1",
    cid_version: Version::V1,
    chunk_size: 256 * 1024,
    max_links: 174,
    raw_leaves: true,
    hamt_threshold: HamtThreshold::LinkEstimate(256 * 1024),
    hamt_fanout: 256,
};

/// Every profile, the default first.
pub const PROFILES: [Profile; 3] = [UNIXFS_V1_2025, UNIXFS_V0_2015, KUBO_CIDV1];

impl Default for Profile {
    fn default() -> Profile {
        UNIXFS_V1_2025
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Profile, String> {
        PROFILES
            .iter()
            .find(|p| p.name == s)
            .copied()
            .ok_or_else(|| {
                let names: Vec<_> = PROFILES.iter().map(|p| p.name).collect();
                format!("unknown profile `{s}` (profiles: {})", names.join(", "))
            })
    }
}
