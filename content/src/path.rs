//! Content paths: a CID and a path below it, as `CID[/path]` or `/ipfs/CID[/path]`.

use std::fmt;
use std::str::FromStr;

use crate::cid::Cid;

/// Why a string is not a [`ContentPath`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a content path: {reason} (expected CID[/path] or /ipfs/CID[/path])")]
pub struct BadPath {
    pub input: String,
    pub reason: String,
}

/// A CID and an optional path below it: `CID[/path]` or `/ipfs/CID[/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentPath {
    pub root: Cid,
    /// Below the root, without leading or trailing `/`; empty for the root itself.
    pub path: String,
}

impl FromStr for ContentPath {
    type Err = BadPath;

    fn from_str(s: &str) -> Result<ContentPath, BadPath> {
        let bad = |reason: String| BadPath {
            input: s.to_string(),
            reason,
        };
        let rest = s.strip_prefix("/ipfs/").unwrap_or(s);
        let (cid, path) = rest.split_once('/').unwrap_or((rest, ""));
        let root = cid.parse().map_err(|e| bad(format!("`{cid}`: {e}")))?;
        let path = path.trim_end_matches('/').to_string();
        if path.split('/').any(|c| c == "." || c == "..") {
            return Err(bad("`.` and `..` are not allowed".into()));
        }
        Ok(ContentPath { root, path })
    }
}

impl fmt::Display for ContentPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.root)
        } else {
            write!(f, "{}/{}", self.root, self.path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_paths() {
        let cid = "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354";
        let p: ContentPath = format!("/ipfs/{cid}/etc/motd").parse().unwrap();
        assert_eq!(
            (p.root.to_string().as_str(), p.path.as_str()),
            (cid, "etc/motd")
        );
        let p: ContentPath = cid.parse().unwrap();
        assert_eq!(p.path, "");
        assert!(format!("{cid}/../x").parse::<ContentPath>().is_err());
        let err = "nope/x".parse::<ContentPath>().unwrap_err().to_string();
        assert!(err.contains("`nope`"), "{err}");
    }
}
