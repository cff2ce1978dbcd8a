//! A Kubo-compatible IPFS node over its HTTP RPC API: a block source and sink, plus the few
//! calls push and pull need (`version`, `refs/local`, `pin/add`).
//!
//! The node is untrusted. Its address is checked before anything connects ([`addr`]); every
//! request carries the node-side `timeout` option and a client-side deadline a little later, so
//! a node that is down, silent or slow, or a CID that is nowhere (an offline node waits forever
//! for a missing block otherwise), gives an error within the timeout, naming the URL; every wait
//! can be stopped by a [`Cancel`] ([`Node::with_cancel`], [`LazyNode::with_cancel`]) within
//! [`crate::cancel::POLL`]. Every answer is bounded: a block to [`MAX_BLOCK_LEN`], `refs/local`
//! read as a stream of bounded lines keeping only the blocks asked about, the rest to
//! [`client::ANSWER_LIMIT`]. Blocks are computed locally and put with their codec
//! and hash function; every CID the node reports is parsed and compared (by codec and
//! multihash: nodes answer in CIDv0, base58 or base32) with ours.

pub mod addr;
mod client;
mod lines;
pub mod name;
mod put;
pub mod record;

use std::collections::HashSet;
use std::time::Duration;

pub use addr::{api_url, normalize, resolve, AddrError, Api, ApiError, ApiSource, DEFAULT_API};
pub use client::{ANSWER_LIMIT, GRACE, QUOTE_LIMIT};

use crate::block::{BlockError, BlockSource, Got};
use crate::cancel::{Cancel, Cancelled};
use crate::car::MAX_BLOCK_LEN;
use crate::cid::Cid;
use client::{Call, Client, Limit};

/// The longest line of a `refs/local` answer (one CID as JSON is about 100 bytes).
pub const MAX_REFS_LINE: usize = 4 << 10;

/// What went wrong talking to a node. Every variant names the node's URL and what was being
/// done (`fetching block bafk...`); text from the node is quoted through
/// [`crate::text::printable`], cut to [`QUOTE_LIMIT`] characters.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Address(#[from] AddrError),
    #[error("IPFS node at {url}: unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("IPFS node at {url}: {what}: no complete answer within {secs}s")]
    NoAnswer {
        url: String,
        what: String,
        secs: u64,
    },
    #[error("IPFS node at {url}: {what}: {reason}")]
    Transport {
        url: String,
        what: String,
        reason: String,
    },
    #[error("IPFS node at {url}: {what}: HTTP {status}: {message}")]
    Refused {
        url: String,
        what: String,
        status: u16,
        message: String,
    },
    #[error(
        "IPFS node at {url}: {what}: the answer is larger than {limit} bytes ({limit_name}); \
         connection dropped"
    )]
    TooLarge {
        url: String,
        what: String,
        limit: usize,
        limit_name: &'static str,
    },
    #[error(
        "IPFS node at {url}: {what}: the answer has a line longer than {limit} bytes; \
         connection dropped"
    )]
    LineTooLong {
        url: String,
        what: String,
        limit: usize,
    },
    #[error("IPFS node at {url}: {what}: malformed answer: {reason}")]
    Malformed {
        url: String,
        what: String,
        reason: String,
    },
    #[error("IPFS node at {url}: stored block {cid} under a different CID {theirs}")]
    WrongCid { url: String, cid: Cid, theirs: Cid },
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
}

impl From<NodeError> for BlockError {
    fn from(e: NodeError) -> BlockError {
        match e {
            NodeError::Cancelled(c) => BlockError::Cancelled(c),
            e => BlockError::Other(e.to_string()),
        }
    }
}

/// The largest answer to `block/get`: the largest valid block.
const BLOCK: Limit = Limit {
    bytes: MAX_BLOCK_LEN,
    name: "the largest valid block, 2 MiB",
};

/// An IPFS node, connected.
pub struct Node {
    client: Client,
}

impl Node {
    /// Connects to the node at `url` (any form [`addr::normalize`] accepts) and checks that it
    /// answers (`version`).
    pub fn connect(url: &str, timeout: Duration) -> Result<Node, BlockError> {
        Node::connect_with(url, timeout, Cancel::new())
    }

    /// [`Node::connect`], the connection and every later request stopped by `cancel`.
    pub fn connect_with(url: &str, timeout: Duration, cancel: Cancel) -> Result<Node, BlockError> {
        Ok(Node::open(url, timeout, cancel)?)
    }

    fn open(url: &str, timeout: Duration, cancel: Cancel) -> Result<Node, NodeError> {
        let url = addr::normalize(url)?;
        let node = Node {
            client: Client::new(url, timeout, cancel)?,
        };
        node.version().map_err(|e| match e {
            NodeError::Transport { url, reason, .. } => NodeError::Unreachable { url, reason },
            NodeError::NoAnswer { url, secs, .. } => NodeError::Unreachable {
                url,
                reason: format!("no answer within {secs}s"),
            },
            e => e,
        })?;
        Ok(node)
    }

    /// The node with its requests stopped by `cancel` from now on.
    pub fn with_cancel(mut self, cancel: Cancel) -> Node {
        self.client.set_cancel(cancel);
        self
    }

    /// What stops this node's requests.
    pub fn cancel(&self) -> &Cancel {
        self.client.cancel()
    }

    /// The node's URL, `http://HOST:PORT`.
    pub fn url(&self) -> &str {
        self.client.url()
    }

    /// The node's version (`version`), checking that it speaks the API.
    pub fn version(&self) -> Result<String, NodeError> {
        #[derive(serde::Deserialize)]
        struct Version {
            #[serde(rename = "Version")]
            version: String,
        }
        let call = Call {
            command: "version",
            args: &[],
            what: "version",
        };
        let answer: Version =
            self.answer_json(&call, "not an IPFS RPC API's answer (JSON with a Version)")?;
        Ok(client::quote(&answer.version))
    }

    /// The answer to `call` (at most [`client::ANSWER`]) decoded from JSON; one that does not
    /// decode is [`NodeError::Malformed`], saying it is `not_it` and why.
    fn answer_json<T: serde::de::DeserializeOwned>(
        &self,
        call: &Call<'_>,
        not_it: &str,
    ) -> Result<T, NodeError> {
        let body = self.client.answer(call, None, client::ANSWER)?;
        serde_json::from_slice(&body).map_err(|e| NodeError::Malformed {
            url: self.url().to_string(),
            what: call.what.to_string(),
            reason: format!("{not_it}: {e}"),
        })
    }

    /// Which of the multihashes in `wanted` the node holds, from one `refs/local` request read
    /// as a stream: memory grows with `wanted`, never with the node's answer, and reading stops
    /// as soon as every one is found.
    pub fn local_blocks_among(
        &self,
        wanted: &HashSet<Vec<u8>>,
    ) -> Result<HashSet<Vec<u8>>, BlockError> {
        #[derive(serde::Deserialize)]
        struct Entry {
            #[serde(rename = "Ref", default)]
            reference: Option<String>,
        }
        let call = Call {
            command: "refs/local",
            args: &[],
            what: "listing its blocks (refs/local)",
        };
        let mut found = HashSet::new();
        if wanted.is_empty() {
            return Ok(found);
        }
        self.client.lines(&call, MAX_REFS_LINE, |line| {
            if line.iter().all(u8::is_ascii_whitespace) {
                return Ok(true);
            }
            let entry: Entry = serde_json::from_slice(line).map_err(|e| NodeError::Malformed {
                url: self.url().to_string(),
                what: call.what.to_string(),
                reason: format!(
                    "a line is not JSON ({e}): {}",
                    client::quote(&String::from_utf8_lossy(line))
                ),
            })?;
            if let Some(hash) = entry.reference.as_deref().and_then(multihash_of) {
                if wanted.contains(&hash) {
                    found.insert(hash);
                }
            }
            Ok(found.len() < wanted.len())
        })?;
        Ok(found)
    }

    /// Pins `root` recursively on the node.
    pub fn pin(&self, root: &Cid) -> Result<(), BlockError> {
        let arg = root.to_string();
        let what = format!("pinning {root}");
        let call = Call {
            command: "pin/add",
            args: &[("arg", &arg), ("recursive", "true")],
            what: &what,
        };
        self.client.answer(&call, None, client::ANSWER)?;
        Ok(())
    }
}

/// The multihash a `refs/local` entry names: a CID, or (some nodes) a bare base58 multihash.
fn multihash_of(reference: &str) -> Option<Vec<u8>> {
    if let Ok(cid) = reference.parse::<Cid>() {
        return Some(cid.hash().to_bytes());
    }
    bs58::decode(reference).into_vec().ok()
}

/// The same block: same codec and multihash (a CIDv0 is dag-pb).
fn same_block(a: &Cid, b: &Cid) -> bool {
    a.codec() == b.codec() && a.hash() == b.hash()
}

/// An error answer to `block/get` that means "not here": a node-side timeout (an offline node
/// looking for a block it lacks) or not found.
fn means_absent(status: u16, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    status == 404
        || ["timed out", "timeout", "deadline exceeded", "not found"]
            .iter()
            .any(|m| message.contains(m))
}

impl BlockSource for Node {
    /// The node's bytes for `cid`, at most [`MAX_BLOCK_LEN`]; `Ok(None)` when the node does not
    /// have it within the timeout. The caller verifies the bytes.
    fn get_unverified(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        self.client.run(self.get_async(cid))
    }

    /// [`GET_IN_FLIGHT`] `block/get` requests at a time, each under its own deadline.
    fn get_many(&self, cids: &[Cid], got: &mut Got<'_>) -> Result<(), BlockError> {
        let mut next = cids.iter();
        self.client.bounded(
            GET_IN_FLIGHT,
            || {
                Ok(next.next().map(|cid| async move {
                    Ok::<_, BlockError>((cid, self.get_async(cid).await?))
                }))
            },
            |(cid, data)| match data {
                Some(data) => got(cid, data),
                None => Ok(()),
            },
        )
    }
}

/// `block/get` requests a node is sent at a time by [`BlockSource::get_many`]: a node that
/// fetches each block from a peer answers several at once in about the time of one.
pub const GET_IN_FLIGHT: usize = 16;

impl Node {
    /// One `block/get`, under its own deadline: see [`BlockSource::get_unverified`].
    async fn get_async(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        let arg = cid.to_string();
        let what = format!("fetching block {cid}");
        let call = Call {
            command: "block/get",
            args: &[("arg", &arg)],
            what: &what,
        };
        match self.client.answer_async(&call, None, BLOCK).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(NodeError::NoAnswer { .. }) => Ok(None),
            Err(NodeError::Refused {
                status, message, ..
            }) if means_absent(status, &message) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// A node connected on first use: runs that find everything in the store never touch it.
pub struct LazyNode {
    url: String,
    timeout: Duration,
    cancel: Cancel,
    node: std::cell::OnceCell<Result<Node, NodeError>>,
}

impl LazyNode {
    pub fn new(url: &str, timeout: Duration) -> LazyNode {
        LazyNode {
            url: url.to_string(),
            timeout,
            cancel: Cancel::new(),
            node: std::cell::OnceCell::new(),
        }
    }

    /// The node with its connection and requests stopped by `cancel`.
    pub fn with_cancel(mut self, cancel: Cancel) -> LazyNode {
        if let Some(Ok(node)) = self.node.take() {
            let _ = self.node.set(Ok(node.with_cancel(cancel.clone())));
        }
        self.cancel = cancel;
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn node(&self) -> Result<&Node, BlockError> {
        self.node
            .get_or_init(|| Node::open(&self.url, self.timeout, self.cancel.clone()))
            .as_ref()
            .map_err(|e| e.clone().into())
    }
}

impl LazyNode {
    /// [`Node::resolve_name`], connecting first.
    pub fn resolve_name(&self, name: &str) -> Result<crate::path::ContentPath, BlockError> {
        self.node()?.resolve_name(name)
    }
}

impl BlockSource for LazyNode {
    fn get_unverified(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        self.node()?.get_unverified(cid)
    }

    fn get_many(&self, cids: &[Cid], got: &mut Got<'_>) -> Result<(), BlockError> {
        self.node()?.get_many(cids, got)
    }
}

#[cfg(test)]
mod tests;
