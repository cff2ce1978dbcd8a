//! Content identifiers: CIDv0 and CIDv1, their multihashes, and their text forms.
//!
//! A CID is `version + codec + multihash`. CIDv0 is a bare sha2-256 multihash of a dag-pb block,
//! written in base58btc (`Qm...`); CIDv1 is written in lowercase base32 with the `b` multibase
//! prefix (`bafy...`, `bafk...`). Parsing also accepts base58btc (`z`), uppercase base32 (`B`) and
//! base16 (`f`/`F`) CIDv1s.
//!
//! [`Multihash`] is a thin wrapper over the ecosystem's [`multihash::Multihash`] (digests of up to
//! [`MAX_DIGEST`] bytes; boxed, as the digest was a `Vec` before, so that a [`Cid`] stays 24
//! bytes and the many errors that carry one stay small), [`Version`] is
//! [`cid::Version`], a [`Cid`] converts to and from [`cid::CidGeneric`] for free, and text forms
//! are [`multibase`]'s. A [`Cid`] keeps its parts itself (rather than wrapping `cid::Cid`) so that
//! [`Cid::hash`] can lend out a [`Multihash`]. The binary parser is ours, because it is stricter
//! than the crates': their readers accept 10-byte varints (and drop the bits past 64) and fail
//! with one error for every cause; here every varint is a minimal multiformats one
//! ([`crate::varint`]), the version is 1 (or the bare `0x12 0x20` CIDv0 form), a digest fits, and
//! each error names the rule and the field.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use multibase::Base;
use sha2::{Digest, Sha256};

/// The CID varints, re-exported from their one home ([`crate::varint`]).
pub use crate::varint;
pub use cid::Version;

/// Multicodec of raw blocks: the block is the bytes.
pub const RAW: u64 = 0x55;
/// Multicodec of dag-pb blocks (protobuf PBNode), the codec of UnixFS nodes.
pub const DAG_PB: u64 = 0x70;
/// Multihash code of sha2-256.
pub const SHA2_256: u64 = 0x12;
/// Multihash code of the identity "hash" (the digest is the data).
pub const IDENTITY: u64 = 0x00;
/// The longest digest a multihash may have: 128 bytes, the identity-CID limit Kubo (boxo's
/// `verifcid`) enforces; every real hash function's digest is shorter.
pub const MAX_DIGEST: usize = 128;

type RawMultihash = multihash::Multihash<MAX_DIGEST>;
type RawCid = cid::CidGeneric<MAX_DIGEST>;

/// A multihash: hash function code and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multihash(Box<RawMultihash>);

impl Multihash {
    /// The sha2-256 multihash of `data`.
    pub fn sha2_256(data: &[u8]) -> Multihash {
        Multihash::from_sha2_256_digest(Sha256::digest(data).into())
    }

    /// A sha2-256 multihash from a digest computed elsewhere (e.g. incrementally).
    pub fn from_sha2_256_digest(digest: [u8; 32]) -> Multihash {
        let hash = RawMultihash::wrap(SHA2_256, &digest).expect("32 bytes fit in MAX_DIGEST");
        Multihash(Box::new(hash))
    }

    /// A multihash of `code` over `digest`.
    ///
    /// # Panics
    /// If `digest` is longer than [`MAX_DIGEST`]; [`Multihash::try_new`] returns an error instead.
    pub fn new(code: u64, digest: Vec<u8>) -> Multihash {
        match Multihash::try_new(code, &digest) {
            Ok(hash) => hash,
            Err(e) => panic!("{e}"),
        }
    }

    /// A multihash of `code` over `digest`, unless the digest is longer than [`MAX_DIGEST`].
    pub fn try_new(code: u64, digest: &[u8]) -> Result<Multihash, CidError> {
        RawMultihash::wrap(code, digest)
            .map(|hash| Multihash(Box::new(hash)))
            .map_err(|_| CidError::DigestTooLong(digest.len()))
    }

    pub fn code(&self) -> u64 {
        self.0.code()
    }

    pub fn digest(&self) -> &[u8] {
        self.0.digest()
    }

    /// The ecosystem's multihash this wraps.
    pub fn as_multihash(&self) -> &multihash::Multihash<MAX_DIGEST> {
        &self.0
    }

    /// Binary form: varint code, varint length, digest.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.encoded_len());
        self.write_to(&mut out);
        out
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        varint::write(self.code(), out);
        varint::write(self.digest().len() as u64, out);
        out.extend_from_slice(self.digest());
    }

    /// Parses a multihash at the start of `bytes`; returns it and the bytes read.
    fn read(bytes: &[u8]) -> Result<(Multihash, usize), CidError> {
        let (code, a) = read_varint(bytes, "multihash code")?;
        let (len, b) = read_varint(&bytes[a..], "multihash length")?;
        let start = a + b;
        let len = usize::try_from(len).map_err(|_| CidError::DigestTooLong(usize::MAX))?;
        if len > MAX_DIGEST {
            return Err(CidError::DigestTooLong(len));
        }
        let end = start
            .checked_add(len)
            .filter(|&e| e <= bytes.len())
            .ok_or(CidError::Malformed("multihash digest is truncated"))?;
        Ok((Multihash::try_new(code, &bytes[start..end])?, end))
    }
}

// The order is (code, digest bytes), whatever the digest lengths: not the crate's derived
// (code, length, digest) order.
impl Ord for Multihash {
    fn cmp(&self, other: &Multihash) -> Ordering {
        (self.code(), self.digest()).cmp(&(other.code(), other.digest()))
    }
}

impl PartialOrd for Multihash {
    fn partial_cmp(&self, other: &Multihash) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for Multihash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.code().hash(state);
        self.digest().hash(state);
    }
}

/// A varint of a CID or multihash, the field named in the error.
fn read_varint(bytes: &[u8], field: &'static str) -> Result<(u64, usize), CidError> {
    varint::decode(bytes, varint::MULTIFORMATS_MAX).map_err(|rule| CidError::Varint { field, rule })
}

/// A content identifier. Ordered by (version, codec, hash code, digest bytes).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cid {
    version: Version,
    codec: u64,
    hash: Multihash,
}

/// Why a CID could not be parsed, or why a block does not match its CID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidError {
    #[error("malformed CID: {0}")]
    Malformed(&'static str),
    #[error("malformed CID: its {field}: {rule}")]
    Varint {
        field: &'static str,
        rule: varint::VarintError,
    },
    #[error("malformed CID: a multihash digest of {0} bytes, more than {MAX_DIGEST}")]
    DigestTooLong(usize),
    #[error("unsupported multibase prefix `{0}`")]
    Multibase(char),
    #[error("CIDv0 must be a sha2-256 multihash of a dag-pb block")]
    BadV0,
    #[error("unsupported CID version {0}")]
    Version(u64),
}

impl Cid {
    /// A CIDv1 of `codec` over the sha2-256 of `data`.
    pub fn v1_sha2_256(codec: u64, data: &[u8]) -> Cid {
        Cid::new_v1(codec, Multihash::sha2_256(data))
    }

    pub fn new_v1(codec: u64, hash: Multihash) -> Cid {
        Cid {
            version: Version::V1,
            codec,
            hash,
        }
    }

    /// A CIDv0: a sha2-256 multihash of a dag-pb block.
    pub fn new_v0(hash: Multihash) -> Result<Cid, CidError> {
        if hash.code() != SHA2_256 || hash.digest().len() != 32 {
            return Err(CidError::BadV0);
        }
        Ok(Cid {
            version: Version::V0,
            codec: DAG_PB,
            hash,
        })
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn codec(&self) -> u64 {
        self.codec
    }

    pub fn hash(&self) -> &Multihash {
        &self.hash
    }

    /// The length of [`Cid::to_bytes`]'s output, without encoding.
    pub fn encoded_len(&self) -> usize {
        let prefix = match self.version {
            Version::V0 => 0,
            Version::V1 => varint::len(1) + varint::len(self.codec),
        };
        prefix + self.hash.0.encoded_len()
    }

    /// Binary form (as in dag-pb links and CAR files).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut out);
        out
    }

    /// Appends the binary form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        if self.version() == Version::V1 {
            varint::write(1, out);
            varint::write(self.codec(), out);
        }
        self.hash().write_to(out);
    }

    /// Parses the binary form that fills all of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Cid, CidError> {
        let (cid, used) = Cid::read_bytes(bytes)?;
        if used != bytes.len() {
            return Err(CidError::Malformed("trailing bytes after the CID"));
        }
        Ok(cid)
    }

    /// Parses a binary CID at the start of `bytes`; returns it and the bytes read.
    pub fn read_bytes(bytes: &[u8]) -> Result<(Cid, usize), CidError> {
        if bytes.len() >= 2 && bytes[0] == 0x12 && bytes[1] == 0x20 {
            let (hash, used) = Multihash::read(bytes)?;
            return Ok((Cid::new_v0(hash)?, used));
        }
        let (version, a) = read_varint(bytes, "version")?;
        if version != 1 {
            return Err(CidError::Version(version));
        }
        let (codec, b) = read_varint(&bytes[a..], "codec")?;
        let (hash, c) = Multihash::read(&bytes[a + b..])?;
        Ok((Cid::new_v1(codec, hash), a + b + c))
    }

    /// The same content as CIDv1 (a CIDv0 becomes a dag-pb CIDv1).
    pub fn to_v1(&self) -> Cid {
        Cid::new_v1(self.codec, self.hash.clone())
    }

    /// Whether `data` hashes to this CID's multihash. Only sha2-256 and identity are supported:
    /// another hash function is an error, never a pass.
    pub fn verify(&self, data: &[u8]) -> Result<bool, UnsupportedHash> {
        let digest = self.hash.digest();
        match self.hash.code() {
            SHA2_256 => Ok(Sha256::digest(data).as_slice() == digest),
            IDENTITY => Ok(data == digest),
            code => Err(UnsupportedHash(code)),
        }
    }
}

impl From<&Cid> for cid::CidGeneric<MAX_DIGEST> {
    fn from(cid: &Cid) -> Self {
        match cid.version {
            Version::V0 => RawCid::new_v0(*cid.hash.0).unwrap_or_else(|_| {
                unreachable!("a CIDv0 is only made of a 32-byte sha2-256 multihash")
            }),
            Version::V1 => RawCid::new_v1(cid.codec, *cid.hash.0),
        }
    }
}

impl From<cid::CidGeneric<MAX_DIGEST>> for Cid {
    fn from(cid: cid::CidGeneric<MAX_DIGEST>) -> Cid {
        Cid {
            version: cid.version(),
            codec: cid.codec(),
            hash: Multihash(Box::new(*cid.hash())),
        }
    }
}

/// A multihash function this implementation cannot check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unsupported hash function 0x{0:x} (supported: sha2-256 0x12, identity 0x00)")]
pub struct UnsupportedHash(pub u64);

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version() {
            Version::V0 => f.write_str(&Base::Base58Btc.encode(self.hash().to_bytes())),
            Version::V1 => f.write_str(&multibase::encode(Base::Base32Lower, self.to_bytes())),
        }
    }
}

impl fmt::Debug for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cid({self})")
    }
}

impl FromStr for Cid {
    type Err = CidError;

    fn from_str(s: &str) -> Result<Cid, CidError> {
        if s.len() == 46 && s.starts_with("Qm") {
            let bytes = Base::Base58Btc
                .decode(s)
                .map_err(|_| CidError::Malformed("invalid base58btc"))?;
            return Cid::from_bytes(&bytes);
        }
        let mut chars = s.chars();
        let prefix = chars.next().ok_or(CidError::Malformed("empty"))?;
        let (base, invalid) = match prefix {
            'b' => (Base::Base32Lower, "invalid base32"),
            'B' => (Base::Base32Upper, "invalid base32"),
            'z' => (Base::Base58Btc, "invalid base58btc"),
            'f' | 'F' => (Base::Base16Lower, "invalid base16"),
            other => return Err(CidError::Multibase(other)),
        };
        let rest = chars.as_str();
        let bytes = if prefix == 'F' {
            // Both hex cases decode alike (as before): fold to the lowercase alphabet.
            base.decode(rest.to_ascii_lowercase())
        } else {
            base.decode(rest)
        }
        .map_err(|_| CidError::Malformed(invalid))?;
        let cid = Cid::from_bytes(&bytes)?;
        if cid.version() == Version::V0 {
            // A CIDv0 has no multibase form.
            return Err(CidError::Malformed("a CIDv0 is written in bare base58btc"));
        }
        Ok(cid)
    }
}

#[cfg(test)]
mod tests;
