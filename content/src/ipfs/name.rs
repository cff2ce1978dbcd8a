//! IPNS names through the node: `name/resolve` of `/ipns/NAME`, to the `/ipfs/CID[/path]` it
//! points at now (what `ww run /ipns/NAME[/path]` boots). The name and the node's answer are
//! untrusted: the name is checked before it is sent, the answer read up to [`client::ANSWER`]
//! and parsed as a content path (a CID and a path without `.` or `..`).

use super::client::{self, Call};
use super::{Node, NodeError};
use crate::block::BlockError;
use crate::path::ContentPath;

/// The longest IPNS name taken (a DNS name's limit; a key's CID is far shorter).
pub const MAX_NAME_LEN: usize = 253;

/// `/ipns/NAME[/path]` split into its name and the path below it (without `/` at either end),
/// or `None` when `arg` does not start with `/ipns/`. A name that is empty, too long or has
/// characters that neither a key's CID nor a DNS name has is an error naming it.
pub fn split_ipns(arg: &str) -> Option<Result<(&str, &str), String>> {
    let rest = arg.strip_prefix("/ipns/")?;
    let (name, path) = rest.split_once('/').unwrap_or((rest, ""));
    let bad = |reason: &str| {
        Some(Err(format!(
            "`/ipns/{}`: {reason}",
            crate::text::printable(&name.chars().take(80).collect::<String>())
        )))
    };
    if name.is_empty() {
        return bad("no name after /ipns/");
    }
    if name.len() > MAX_NAME_LEN {
        return bad(&format!("the name is longer than {MAX_NAME_LEN} bytes"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    {
        return bad("an IPNS name is a key's CID or a DNS name (letters, digits, `.`, `-`, `_`)");
    }
    Some(Ok((name, path.trim_matches('/'))))
}

impl Node {
    /// What `/ipns/NAME` points at now, resolved by the node (recursively, so a name pointing
    /// at a name is followed by the node). A name the node cannot resolve is an error naming
    /// the name and the node.
    pub fn resolve_name(&self, name: &str) -> Result<ContentPath, BlockError> {
        #[derive(serde::Deserialize)]
        struct Resolved {
            #[serde(rename = "Path")]
            path: String,
        }
        let arg = format!("/ipns/{name}");
        let what = format!("resolving {arg}");
        let call = Call {
            command: "name/resolve",
            args: &[("arg", &arg), ("recursive", "true")],
            what: &what,
        };
        let fail = |reason: String| {
            BlockError::Other(format!(
                "{arg} does not resolve through the IPFS node at {}: {reason}",
                self.url()
            ))
        };
        let body = match self.client.answer(&call, None, client::ANSWER) {
            Ok(body) => body,
            Err(NodeError::Refused { message, .. }) => return Err(fail(message)),
            Err(e) => return Err(e.into()),
        };
        let resolved: Resolved = serde_json::from_slice(&body)
            .map_err(|e| fail(format!("the node's answer is not JSON with a Path: {e}")))?;
        let target = resolved.path.strip_prefix("/ipfs/").ok_or_else(|| {
            fail(format!(
                "the node answered `{}`, not an /ipfs/ path",
                client::quote(&resolved.path)
            ))
        })?;
        target.parse::<ContentPath>().map_err(|e| {
            fail(format!(
                "the node answered `{}`: {}",
                client::quote(&resolved.path),
                e.reason
            ))
        })
    }
}

/// The longest key name taken.
pub const MAX_KEY_LEN: usize = 64;

/// Checks the name of a key of the node: 1 to [`MAX_KEY_LEN`] letters, digits, `.`, `-`, `_`.
pub fn check_key_name(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(format!("a key's name has 1 to {MAX_KEY_LEN} bytes"));
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    {
        return Err(format!(
            "`{}`: a key's name is letters, digits, `.`, `-` and `_`",
            crate::text::printable(key)
        ));
    }
    Ok(())
}

/// A key of the node: its name and its id (the IPNS name it publishes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Key {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Id")]
    pub id: String,
}

impl Node {
    /// The node's keys (`key/list`).
    pub fn keys(&self) -> Result<Vec<Key>, BlockError> {
        #[derive(serde::Deserialize)]
        struct Keys {
            #[serde(rename = "Keys", default)]
            keys: Vec<Key>,
        }
        let call = Call {
            command: "key/list",
            args: &[],
            what: "listing the node's keys",
        };
        let keys: Keys = self.answer_json(&call, "not JSON with Keys")?;
        Ok(keys.keys)
    }

    /// Makes an ed25519 key `name` on the node (`key/gen`).
    pub fn key_gen(&self, name: &str) -> Result<Key, BlockError> {
        let what = format!("making the key `{name}`");
        let call = Call {
            command: "key/gen",
            args: &[("arg", name), ("type", "ed25519")],
            what: &what,
        };
        Ok(self.answer_json(&call, "not JSON with Name and Id")?)
    }

    /// Points the IPNS name of the node's key `key` at `/ipfs/ROOT` (`name/publish`, allowed
    /// while the node has no peers); the name published, as the node says it.
    pub fn publish_name(&self, root: &crate::cid::Cid, key: &str) -> Result<String, BlockError> {
        #[derive(serde::Deserialize)]
        struct Published {
            #[serde(rename = "Name")]
            name: String,
        }
        let arg = format!("/ipfs/{root}");
        let what = format!("publishing {arg} under the key `{key}`");
        let call = Call {
            command: "name/publish",
            args: &[("arg", &arg), ("key", key), ("allow-offline", "true")],
            what: &what,
        };
        let published: Published = self.answer_json(&call, "not JSON with a Name")?;
        Ok(published.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipns_arguments_are_split_and_bad_names_refused() {
        assert_eq!(split_ipns("/ipfs/x"), None);
        assert_eq!(split_ipns("bafy"), None);
        assert_eq!(
            split_ipns("/ipns/k51qzi5uqu5dl/etc/motd/"),
            Some(Ok(("k51qzi5uqu5dl", "etc/motd")))
        );
        assert_eq!(
            split_ipns("/ipns/example.org"),
            Some(Ok(("example.org", "")))
        );
        for bad in [
            "/ipns/",
            "/ipns//x",
            "/ipns/a b",
            "/ipns/a?b",
            "/ipns/\u{7}",
        ] {
            assert!(matches!(split_ipns(bad), Some(Err(_))), "{bad}");
        }
        let long = format!("/ipns/{}", "a".repeat(MAX_NAME_LEN + 1));
        let err = split_ipns(&long).unwrap().unwrap_err();
        assert!(err.contains("longer than 253"), "{err}");
    }
}
