//! The node's identity: an ed25519 key kept in a file, and the libp2p peer ID it gives.
//!
//! The file holds the key in libp2p's protobuf encoding of a `PrivateKey` (field 1, the key type,
//! `Ed25519` = 1; field 2, 64 bytes: the 32-byte seed then the 32-byte public key), as go-libp2p
//! and rust-libp2p write it, so the same file works with their tools. A file holding just the
//! raw 32-byte seed is accepted too. The peer ID is the base58btc text of the identity multihash
//! of the protobuf `PublicKey` (`12D3KooW...`).
//!
//! ww keeps one key per user in the data directory (`$XDG_DATA_HOME/ww/identity`, else
//! `~/.local/share/ww/identity`), created on first use; `--identity FILE` names another.

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ww_content::cid::varint;
use ww_content::{atomic, pb};

/// The libp2p `KeyType` of an ed25519 key.
const KEY_TYPE_ED25519: u64 = 1;
/// The multihash code of the identity "hash" (the bytes themselves).
const MULTIHASH_IDENTITY: u64 = 0x00;

/// Why an identity could not be read or created. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("identity {}: cannot read: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("identity {}: {rule}", .path.display())]
    Corrupt { path: PathBuf, rule: String },

    #[error("identity {}: cannot create: {source}", .path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("no home for the node identity: set --identity FILE (or WW_IDENTITY), XDG_DATA_HOME or HOME")]
    NoHome,
}

/// An ed25519 node key.
#[derive(Clone)]
pub struct Identity {
    key: SigningKey,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("Identity")
            .field("peer_id", &self.peer_id())
            .finish()
    }
}

impl Identity {
    /// The key of a 32-byte ed25519 seed.
    pub fn from_seed(seed: [u8; 32]) -> Identity {
        Identity {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// A new random key from the operating system's generator.
    pub fn generate() -> Result<Identity, std::io::Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Identity::from_seed(seed))
    }

    /// The libp2p peer ID, e.g. `12D3KooW...`.
    pub fn peer_id(&self) -> String {
        // PublicKey { 1: Ed25519, 2: 32 bytes }
        let mut public = Vec::with_capacity(36);
        pb::put_varint(1, KEY_TYPE_ED25519, &mut public);
        pb::put_bytes(2, self.key.verifying_key().as_bytes(), &mut public);
        let mut multihash = Vec::with_capacity(38);
        varint::write(MULTIHASH_IDENTITY, &mut multihash);
        varint::write(public.len() as u64, &mut multihash);
        multihash.extend_from_slice(&public);
        bs58::encode(multihash).into_string()
    }

    /// The libp2p protobuf encoding of the private key (68 bytes).
    pub fn encode(&self) -> Vec<u8> {
        // PrivateKey { 1: Ed25519, 2: seed || public }
        let mut out = Vec::with_capacity(68);
        pb::put_varint(1, KEY_TYPE_ED25519, &mut out);
        pb::put_bytes(2, &self.key.to_keypair_bytes(), &mut out);
        out
    }

    /// Reads a key from its protobuf encoding or a raw 32-byte seed; the error is the rule the
    /// bytes break.
    pub fn decode(bytes: &[u8]) -> Result<Identity, String> {
        if let Ok(seed) = <[u8; 32]>::try_from(bytes) {
            return Ok(Identity::from_seed(seed));
        }
        let fields = protobuf_fields(bytes)?;
        let key_type = fields.key_type.ok_or(
            "the libp2p private key has no key type (field 1); expected a protobuf PrivateKey or a raw 32-byte ed25519 seed",
        )?;
        if key_type != KEY_TYPE_ED25519 {
            return Err(format!(
                "the key type is {key_type}, but only ed25519 (1) keys are supported"
            ));
        }
        let data = fields
            .data
            .ok_or("the libp2p private key has no key data (field 2)")?;
        let pair = <[u8; 64]>::try_from(data).map_err(|_| {
            format!(
                "the ed25519 key data is {} bytes; it must be 64 (the seed, then the public key)",
                data.len()
            )
        })?;
        let key = SigningKey::from_keypair_bytes(&pair).map_err(|_| {
            "the public key in the key data does not belong to its seed".to_string()
        })?;
        Ok(Identity { key })
    }

    /// Reads the key file at `path`, which must exist.
    pub fn load(path: &Path) -> Result<Identity, IdentityError> {
        let bytes = std::fs::read(path).map_err(|source| IdentityError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Identity::decode(&bytes).map_err(|rule| IdentityError::Corrupt {
            path: path.to_path_buf(),
            rule,
        })
    }

    /// Reads the key file at `path`, creating it with a new key first when there is none. The
    /// file is written whole or not at all (temp file, fsync, then moved into place without
    /// replacing, [`atomic::write_new_file`], so a key another process created meanwhile wins),
    /// readable by its owner only.
    pub fn load_or_create(path: &Path) -> Result<Identity, IdentityError> {
        match std::fs::metadata(path) {
            Ok(_) => return Identity::load(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(IdentityError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
        let created = Identity::generate().map_err(|source| IdentityError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        match write_new(path, &created.encode()) {
            Ok(()) => Ok(created),
            // Another process created it first: its key wins.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Identity::load(path),
            Err(source) => Err(IdentityError::Create {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The key `ww` uses: `explicit` (which must exist), else the default key file, created
    /// when missing.
    pub fn resolve(explicit: Option<&Path>) -> Result<Identity, IdentityError> {
        match explicit {
            Some(path) => Identity::load(path),
            None => {
                Identity::load_or_create(&Identity::default_path().ok_or(IdentityError::NoHome)?)
            }
        }
    }

    /// `$XDG_DATA_HOME/ww/identity` (when absolute), else `$HOME/.local/share/ww/identity`.
    pub fn default_path() -> Option<PathBuf> {
        ww_content::dirs::ww_dir(None, ww_content::dirs::Home::Data, "identity")
    }
}

/// Fields 1 and 2 of a protobuf message.
struct KeyFields<'a> {
    key_type: Option<u64>,
    data: Option<&'a [u8]>,
}

/// The key type and key data of a protobuf `PrivateKey`: field 1 a varint, field 2 bytes, other
/// length-delimited fields skipped, anything else refused.
fn protobuf_fields(bytes: &[u8]) -> Result<KeyFields<'_>, String> {
    let not_a_key = |why: &str| {
        format!(
            "not a libp2p private key (protobuf PrivateKey) nor a raw 32-byte ed25519 seed: {why}"
        )
    };
    let mut fields = KeyFields {
        key_type: None,
        data: None,
    };
    let mut reader = pb::Reader::new(bytes);
    loop {
        let field = reader.next_field().map_err(|e| match e {
            // The reader's words are a block's; here the bytes are a file's.
            "length runs past the end of the block" => {
                not_a_key("a length runs past the end of the file")
            }
            other => not_a_key(other),
        })?;
        match field {
            None => return Ok(fields),
            Some((1, pb::Value::Varint(key_type))) => fields.key_type = Some(key_type),
            Some((2, pb::Value::Bytes(data))) => fields.data = Some(data),
            Some((_, pb::Value::Bytes(_))) => {}
            Some((field, pb::Value::Varint(_))) => {
                return Err(not_a_key(&format!(
                    "unexpected field {field} of wire type {}",
                    pb::WIRE_VARINT
                )))
            }
        }
    }
}

/// Writes `bytes` to a new file at `path` (mode 0600), atomically; `AlreadyExists` if there is
/// one. Its directory is made (mode 0700) if need be.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    atomic::write_new_file(path, bytes, 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// The ed25519 test vector of the libp2p peer-ids specification.
    const SPEC_PRIVATE: &str = "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
    const SPEC_PEER_ID: &str = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";

    #[test]
    fn the_spec_vector_gives_its_peer_id_and_encodes_back() {
        let id = Identity::decode(&hex(SPEC_PRIVATE)).expect("spec key");
        assert_eq!(id.peer_id(), SPEC_PEER_ID);
        assert_eq!(id.encode(), hex(SPEC_PRIVATE));
    }

    #[test]
    fn a_raw_seed_is_the_same_key() {
        let seed = &hex(SPEC_PRIVATE)[4..36];
        let id = Identity::decode(seed).expect("seed");
        assert_eq!(id.peer_id(), SPEC_PEER_ID);
    }

    #[test]
    fn corrupt_keys_name_the_rule() {
        let mut wrong_public = hex(SPEC_PRIVATE);
        wrong_public[67] ^= 1;
        let err = Identity::decode(&wrong_public).expect_err("mismatched public key");
        assert!(err.contains("does not belong to its seed"), "{err}");

        let mut rsa = hex(SPEC_PRIVATE);
        rsa[1] = 0;
        let err = Identity::decode(&rsa).expect_err("rsa");
        assert!(err.contains("only ed25519"), "{err}");

        let err = Identity::decode(b"hello").expect_err("garbage");
        assert!(err.contains("not a libp2p private key"), "{err}");

        let err = Identity::decode(&hex(SPEC_PRIVATE)[..40]).expect_err("cut short");
        assert!(err.contains("runs past the end"), "{err}");

        let pair = &hex(SPEC_PRIVATE)[4..];
        let with = |head: &[u8], tail: &[u8]| [head, tail].concat();
        let cases: [(Vec<u8>, &str); 8] = [
            (with(&[0x12, 64], pair), "no key type (field 1)"),
            (vec![0x08, 1], "no key data (field 2)"),
            (
                with(&[0x08, 1, 0x12, 63], &pair[..63]),
                "key data is 63 bytes",
            ),
            (vec![0x08, 1, 0x10, 5], "unexpected field 2 of wire type 0"),
            (vec![0x08, 1, 0x18, 5], "unexpected field 3 of wire type 0"),
            (vec![0x00, 1], "not a libp2p private key"),
            (vec![0x08, 0xff, 0xff], "not a libp2p private key"),
            (vec![0x0d, 1, 2, 3, 4], "not a libp2p private key"),
        ];
        for (bytes, rule) in cases {
            let err = Identity::decode(&bytes).expect_err(rule);
            assert!(err.contains(rule), "{bytes:02x?}: {err}");
        }
        // A length-delimited field other than 2 is skipped, as libp2p's decoders do.
        let skipped = with(&[0x1a, 2, 7, 7], &hex(SPEC_PRIVATE));
        let id = Identity::decode(&skipped).expect("an extra field");
        assert_eq!(id.peer_id(), SPEC_PEER_ID);
    }

    #[test]
    fn load_or_create_creates_once_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("a/b/identity");
        let first = Identity::load_or_create(&path).expect("create");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read(&path).expect("read").len(), 68);
        let again = Identity::load_or_create(&path).expect("load");
        assert_eq!(first.peer_id(), again.peer_id());
        assert!(
            first.peer_id().starts_with("12D3KooW"),
            "{}",
            first.peer_id()
        );
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
            .expect("list")
            .collect();
        assert_eq!(leftovers.len(), 1, "only the key file remains");
    }

    #[test]
    fn load_names_a_missing_or_corrupt_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("nope");
        let err = Identity::load(&missing).expect_err("missing").to_string();
        assert!(err.contains(&missing.display().to_string()), "{err}");
        let corrupt = dir.path().join("corrupt");
        std::fs::write(&corrupt, b"not a key at all").expect("write");
        let err = Identity::load(&corrupt).expect_err("corrupt").to_string();
        assert!(err.contains(&corrupt.display().to_string()), "{err}");
        assert!(err.contains("not a libp2p private key"), "{err}");
    }
}
