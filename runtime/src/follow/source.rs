//! What `ww run --follow` follows, and how it reads the root each one points at now.
//!
//! - `/ipns/NAME`: an IPNS name, resolved through the IPFS node;
//! - a file named `wwpack.lock`, optionally `:IMAGE`: the root of that image in the lock
//!   (`wwpack build` rewrites the lock, atomically, when the image changes);
//! - any other file: a head file holding `/ipfs/CID` or a bare CID (as `wwpack publish --head`
//!   writes it).
//!
//! A root read is always `/ipfs/CID[/path]`, checked to be one, whatever the source said.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ww_content::cid::Cid;
use ww_content::ipfs::name::split_ipns;
use ww_content::ipfs::LazyNode;

/// The largest head file ww reads: one content path and a newline.
pub const MAX_HEAD_BYTES: u64 = 4096;

/// The largest `wwpack.lock` ww reads.
pub const MAX_LOCK_BYTES: u64 = 64 << 20;

/// How often a name is resolved when `--poll-interval` is not given.
pub const NAME_INTERVAL: Duration = Duration::from_secs(5);

/// How often a file is read when `--poll-interval` is not given.
pub const FILE_INTERVAL: Duration = Duration::from_millis(500);

/// A source of roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `/ipns/NAME[/path]`.
    Name { name: String, below: String },
    /// A head file.
    Head(PathBuf),
    /// A `wwpack.lock`, and the image named after `:` (`None`: the only image, or `default`).
    Lock {
        path: PathBuf,
        image: Option<String>,
    },
}

/// The root a source points at, and the CID it starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// `/ipfs/CID[/path]`.
    pub path: String,
    /// The CID of the path's first segment.
    pub cid: Cid,
}

impl Source {
    /// Parses `--follow`'s argument.
    pub fn parse(arg: &str) -> Result<Source, String> {
        if let Some(split) = split_ipns(arg) {
            let (name, below) = split?;
            return Ok(Source::Name {
                name: name.to_string(),
                below: below.to_string(),
            });
        }
        if arg.starts_with("/ipfs/") {
            return Err(format!(
                "`{arg}` never changes: follow a name (/ipns/NAME), a head file or a \
                 wwpack.lock, or run the path without --follow"
            ));
        }
        let (file, image) = match arg.rsplit_once(':') {
            Some((file, image)) if is_lock(Path::new(file)) => (file, Some(image)),
            _ => (arg, None),
        };
        let path = PathBuf::from(file);
        if is_lock(&path) {
            if image == Some("") {
                return Err(format!("`{arg}`: no image name after `:`"));
            }
            return Ok(Source::Lock {
                path,
                image: image.map(str::to_string),
            });
        }
        if arg.is_empty() {
            return Err("an empty --follow source".to_string());
        }
        Ok(Source::Head(path))
    }

    /// The poll interval when none is given.
    pub fn default_interval(&self) -> Duration {
        match self {
            Source::Name { .. } => NAME_INTERVAL,
            Source::Head(_) | Source::Lock { .. } => FILE_INTERVAL,
        }
    }

    /// Reads the root the source points at now. `node` resolves names.
    pub fn read(&self, node: &LazyNode) -> Result<Root, String> {
        match self {
            Source::Name { name, below } => {
                let target = node.resolve_name(name).map_err(|e| e.to_string())?;
                let path = if below.is_empty() {
                    format!("/ipfs/{target}")
                } else {
                    format!("/ipfs/{target}/{below}")
                };
                root_of(&path).map_err(|e| format!("/ipns/{name} points at {e}"))
            }
            Source::Head(path) => {
                let text = crate::text_file::read(path, MAX_HEAD_BYTES, "a head file")?;
                let line = text.trim_end_matches(['\n', '\r']);
                if line.contains('\n') {
                    return Err(format!(
                        "{}: a head file holds one line, /ipfs/CID or a CID",
                        path.display()
                    ));
                }
                let content = if line.starts_with("/ipfs/") {
                    line.to_string()
                } else {
                    format!("/ipfs/{line}")
                };
                root_of(&content).map_err(|e| format!("{}: {e}", path.display()))
            }
            Source::Lock { path, image } => {
                let text = crate::text_file::read(path, MAX_LOCK_BYTES, "a lock")?;
                let root = lock_root(&text, image.as_deref())
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                root_of(&format!("/ipfs/{root}")).map_err(|e| format!("{}: {e}", path.display()))
            }
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Name { name, below } if below.is_empty() => write!(f, "/ipns/{name}"),
            Source::Name { name, below } => write!(f, "/ipns/{name}/{below}"),
            Source::Head(path) => write!(f, "{}", path.display()),
            Source::Lock { path, image: None } => write!(f, "{}", path.display()),
            Source::Lock {
                path,
                image: Some(image),
            } => write!(f, "{}:{image}", path.display()),
        }
    }
}

fn is_lock(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name == "wwpack.lock")
}

/// `/ipfs/CID[/path]` checked: the CID parses.
fn root_of(path: &str) -> Result<Root, String> {
    let rest = path.strip_prefix("/ipfs/").unwrap_or(path);
    let first = rest.split('/').next().unwrap_or_default();
    let cid: Cid = first.parse().map_err(|e| {
        format!(
            "`{}`, which is not /ipfs/CID: {e}",
            ww_content::text::printable(path)
        )
    })?;
    Ok(Root {
        path: path.to_string(),
        cid,
    })
}

/// The root of `image` in the lock `text`: the only image, or `default`, when `image` is `None`.
fn lock_root(text: &str, image: Option<&str>) -> Result<String, String> {
    let lock: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not a wwpack.lock: {e}"))?;
    let images = lock
        .get("images")
        .and_then(|i| i.as_object())
        .ok_or("not a wwpack.lock: no `images`")?;
    let names = || images.keys().cloned().collect::<Vec<_>>().join(", ");
    let name = match image {
        Some(name) => name.to_string(),
        None if images.len() == 1 => images.keys().next().cloned().unwrap_or_default(),
        None if images.contains_key("default") => "default".to_string(),
        None => {
            return Err(format!(
                "which image? the lock has {}: follow wwpack.lock:IMAGE",
                names()
            ))
        }
    };
    let entry = images
        .get(&name)
        .ok_or_else(|| format!("no image `{name}` in the lock (it has {})", names()))?;
    entry
        .get("root")
        .and_then(|r| r.as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("image `{name}` has no root"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CID: &str = "bafybeigxuoa5q3bh36wxuex2ijt7s2gxc5fh7uhzowypfnokoobaewflfe";

    #[test]
    fn sources_parse_by_form() {
        assert_eq!(
            Source::parse("/ipns/k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8")
                .unwrap(),
            Source::Name {
                name: "k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8".into(),
                below: String::new()
            }
        );
        assert_eq!(
            Source::parse("x/wwpack.lock:shell").unwrap(),
            Source::Lock {
                path: "x/wwpack.lock".into(),
                image: Some("shell".into())
            }
        );
        assert_eq!(
            Source::parse("wwpack.lock").unwrap(),
            Source::Lock {
                path: "wwpack.lock".into(),
                image: None
            }
        );
        assert_eq!(
            Source::parse("run/HEAD").unwrap(),
            Source::Head("run/HEAD".into())
        );
        // A colon in a head file's name is part of the name.
        assert_eq!(Source::parse("a:b").unwrap(), Source::Head("a:b".into()));
        assert!(Source::parse(&format!("/ipfs/{CID}"))
            .unwrap_err()
            .contains("never changes"));
        assert!(Source::parse("wwpack.lock:").is_err());
    }

    #[test]
    fn head_files_and_locks_read_to_checked_roots() {
        let dir = tempfile::tempdir().unwrap();
        let node = LazyNode::new("http://127.0.0.1:9", Duration::from_secs(1));
        let head = dir.path().join("HEAD");
        for text in [format!("/ipfs/{CID}\n"), CID.to_string()] {
            std::fs::write(&head, text).unwrap();
            let root = Source::Head(head.clone()).read(&node).unwrap();
            assert_eq!(root.path, format!("/ipfs/{CID}"));
            assert_eq!(root.cid.to_string(), CID);
        }
        std::fs::write(&head, "not a cid\n").unwrap();
        let err = Source::Head(head.clone()).read(&node).unwrap_err();
        assert!(
            err.contains("HEAD") && err.contains("not /ipfs/CID"),
            "{err}"
        );
        std::fs::write(&head, vec![b'b'; 5000]).unwrap();
        let err = Source::Head(head.clone()).read(&node).unwrap_err();
        assert!(err.contains("longer than 4096 bytes"), "{err}");
        let missing = Source::Head(dir.path().join("none")).read(&node);
        assert!(missing.unwrap_err().contains("none"));

        let lock = dir.path().join("wwpack.lock");
        std::fs::write(
            &lock,
            format!(r#"{{"images":{{"a":{{"root":"{CID}"}},"b":{{"root":"x"}}}}}}"#),
        )
        .unwrap();
        let read = |image: Option<&str>| {
            Source::Lock {
                path: lock.clone(),
                image: image.map(str::to_string),
            }
            .read(&node)
        };
        assert_eq!(read(Some("a")).unwrap().path, format!("/ipfs/{CID}"));
        assert!(read(None)
            .unwrap_err()
            .contains("which image? the lock has a, b"));
        assert!(read(Some("c")).unwrap_err().contains("no image `c`"));
        assert!(read(Some("b")).unwrap_err().contains("not /ipfs/CID"));
    }
}
