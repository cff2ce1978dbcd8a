//! Content identifiers: CIDv0 and CIDv1, their multihashes, and their text forms.
//!
//! A CID is `version + codec + multihash`. CIDv0 is a bare sha2-256 multihash of a dag-pb block,
//! written in base58btc (`Qm...`); CIDv1 is written in lowercase base32 with the `b` multibase
//! prefix (`bafy...`, `bafk...`). Parsing also accepts base58btc (`z`), uppercase base32 (`B`) and
//! base16 (`f`/`F`) CIDv1s.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// Multicodec of raw blocks: the block is the bytes.
pub const RAW: u64 = 0x55;
/// Multicodec of dag-pb blocks (protobuf PBNode), the codec of UnixFS nodes.
pub const DAG_PB: u64 = 0x70;
/// Multihash code of sha2-256.
pub const SHA2_256: u64 = 0x12;
/// Multihash code of the identity "hash" (the digest is the data).
pub const IDENTITY: u64 = 0x00;

/// CID version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    V0,
    V1,
}

/// A multihash: hash function code and digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Multihash {
    code: u64,
    digest: Vec<u8>,
}

impl Multihash {
    /// The sha2-256 multihash of `data`.
    pub fn sha2_256(data: &[u8]) -> Multihash {
        Multihash::from_sha2_256_digest(Sha256::digest(data).into())
    }

    /// A sha2-256 multihash from a digest computed elsewhere (e.g. incrementally).
    pub fn from_sha2_256_digest(digest: [u8; 32]) -> Multihash {
        Multihash {
            code: SHA2_256,
            digest: digest.to_vec(),
        }
    }

    pub fn new(code: u64, digest: Vec<u8>) -> Multihash {
        Multihash { code, digest }
    }

    pub fn code(&self) -> u64 {
        self.code
    }

    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// Binary form: varint code, varint length, digest.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.digest.len() + 4);
        self.write_to(&mut out);
        out
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        varint::write(self.code, out);
        varint::write(self.digest.len() as u64, out);
        out.extend_from_slice(&self.digest);
    }

    /// Parses a multihash at the start of `bytes`; returns it and the bytes read.
    fn read(bytes: &[u8]) -> Result<(Multihash, usize), CidError> {
        let (code, a) = varint::read(bytes).ok_or(CidError::Malformed("multihash code"))?;
        let (len, b) = varint::read(&bytes[a..]).ok_or(CidError::Malformed("multihash length"))?;
        let start = a + b;
        let len = usize::try_from(len).map_err(|_| CidError::Malformed("multihash length"))?;
        let end = start
            .checked_add(len)
            .filter(|&e| e <= bytes.len())
            .ok_or(CidError::Malformed("multihash digest is truncated"))?;
        Ok((
            Multihash {
                code,
                digest: bytes[start..end].to_vec(),
            },
            end,
        ))
    }
}

/// A content identifier.
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
        if hash.code != SHA2_256 || hash.digest.len() != 32 {
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

    /// Binary form (as in dag-pb links and CAR files).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(40);
        if self.version == Version::V1 {
            varint::write(1, &mut out);
            varint::write(self.codec, &mut out);
        }
        self.hash.write_to(&mut out);
        out
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
        let (version, a) = varint::read(bytes).ok_or(CidError::Malformed("version"))?;
        if version != 1 {
            return Err(CidError::Version(version));
        }
        let (codec, b) = varint::read(&bytes[a..]).ok_or(CidError::Malformed("codec"))?;
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
        match self.hash.code {
            SHA2_256 => Ok(Sha256::digest(data).as_slice() == self.hash.digest.as_slice()),
            IDENTITY => Ok(data == self.hash.digest.as_slice()),
            code => Err(UnsupportedHash(code)),
        }
    }
}

/// A multihash function this implementation cannot check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unsupported hash function 0x{0:x} (supported: sha2-256 0x12, identity 0x00)")]
pub struct UnsupportedHash(pub u64);

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            Version::V0 => f.write_str(&bs58::encode(self.hash.to_bytes()).into_string()),
            Version::V1 => {
                f.write_str("b")?;
                f.write_str(
                    &data_encoding::BASE32_NOPAD
                        .encode(&self.to_bytes())
                        .to_ascii_lowercase(),
                )
            }
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
            let bytes = bs58::decode(s)
                .into_vec()
                .map_err(|_| CidError::Malformed("invalid base58btc"))?;
            return Cid::from_bytes(&bytes);
        }
        let mut chars = s.chars();
        let prefix = chars.next().ok_or(CidError::Malformed("empty"))?;
        let rest = chars.as_str();
        let bytes = match prefix {
            'b' | 'B' => data_encoding::BASE32_NOPAD
                .decode(rest.to_ascii_uppercase().as_bytes())
                .map_err(|_| CidError::Malformed("invalid base32"))?,
            'z' => bs58::decode(rest)
                .into_vec()
                .map_err(|_| CidError::Malformed("invalid base58btc"))?,
            'f' | 'F' => data_encoding::HEXLOWER_PERMISSIVE
                .decode(rest.as_bytes())
                .map_err(|_| CidError::Malformed("invalid base16"))?,
            other => return Err(CidError::Multibase(other)),
        };
        let cid = Cid::from_bytes(&bytes)?;
        if cid.version == Version::V0 {
            // A CIDv0 has no multibase form.
            return Err(CidError::Malformed("a CIDv0 is written in bare base58btc"));
        }
        Ok(cid)
    }
}

/// Unsigned LEB128 varints, as multiformats use them (at most 9 bytes, minimal encoding).
pub mod varint {
    /// Appends `value`.
    pub fn write(mut value: u64, out: &mut Vec<u8>) {
        while value >= 0x80 {
            out.push((value as u8) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }

    /// Reads a varint at the start of `bytes`: the value and the bytes read. `None` if it is
    /// truncated, longer than 9 bytes, or not minimally encoded.
    pub fn read(bytes: &[u8]) -> Option<(u64, usize)> {
        read_at_most(bytes, 9)
    }

    /// [`read`], allowing up to `max` bytes (at most 10, which a `u64` with its top bit set
    /// takes, as protobuf writes it); nothing past 64 bits is accepted.
    pub fn read_at_most(bytes: &[u8], max: usize) -> Option<(u64, usize)> {
        let mut value = 0u64;
        for (i, &b) in bytes.iter().enumerate().take(max.min(10)) {
            if i == 9 && b > 1 {
                return None;
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return None;
                }
                return Some((value, i + 1));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip() {
        for s in [
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
            "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354",
            "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
        ] {
            let cid: Cid = s.parse().unwrap();
            assert_eq!(cid.to_string(), s);
            assert_eq!(Cid::from_bytes(&cid.to_bytes()).unwrap(), cid);
        }
    }

    #[test]
    fn other_multibases_parse_to_the_same_cid() {
        let cid: Cid = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
            .parse()
            .unwrap();
        let upper = format!("B{}", &cid.to_string()[1..].to_ascii_uppercase());
        let hex = format!("f{}", data_encoding::HEXLOWER.encode(&cid.to_bytes()));
        let b58 = format!("z{}", bs58::encode(cid.to_bytes()).into_string());
        for s in [upper, hex, b58] {
            assert_eq!(s.parse::<Cid>().unwrap(), cid, "{s}");
        }
    }

    #[test]
    fn hello_world_raw_cid_and_verification() {
        let cid = Cid::v1_sha2_256(RAW, b"hello world");
        assert_eq!(
            cid.to_string(),
            "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
        );
        assert_eq!(cid.verify(b"hello world"), Ok(true));
        assert_eq!(cid.verify(b"hello worle"), Ok(false));
        let odd = Cid::new_v1(RAW, Multihash::new(0x1b, vec![0; 32]));
        assert_eq!(odd.verify(b""), Err(UnsupportedHash(0x1b)));
    }

    #[test]
    fn rejects_malformed_input() {
        for s in [
            "",
            "x123",
            "bafy",
            "Qm",
            "b!!!!",
            "zQmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
        ] {
            assert!(s.parse::<Cid>().is_err(), "{s:?} parsed");
        }
        assert!(Cid::from_bytes(&[0x01, 0x55, 0x12, 0x20, 0x00]).is_err());
        assert!(Cid::from_bytes(&[0x02, 0x55, 0x00, 0x00]).is_err());
    }

    #[test]
    fn varints_are_minimal() {
        let mut out = Vec::new();
        varint::write(300, &mut out);
        assert_eq!(out, [0xac, 0x02]);
        assert_eq!(varint::read(&out), Some((300, 2)));
        assert_eq!(varint::read(&[0x80, 0x00]), None);
        assert_eq!(varint::read(&[0x80]), None);
    }
}
