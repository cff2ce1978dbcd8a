//! A Kubo-compatible IPFS node over its HTTP RPC API (`ipfs-api-backend-hyper`): a block source
//! and sink, plus the few calls push and pull need.
//!
//! The node's address is `--api URL`, else `$IPFS_API`, else `http://127.0.0.1:5001`. Every
//! request carries the node-side `timeout` option and a client-side deadline a little later, so
//! a node that is down or a CID that is nowhere (an offline node waits forever for a missing
//! block otherwise) gives an error within the timeout, naming the URL. Blocks are computed
//! locally and put with their codec and hash function; every CID the node reports is parsed
//! and compared (by codec and multihash: nodes answer in CIDv0, base58 or base32) with ours.

use std::collections::HashSet;
use std::io::Cursor;
use std::time::Duration;

use futures::TryStreamExt;
use ipfs_api_backend_hyper::request::BlockPut;
use ipfs_api_backend_hyper::{
    BackendWithGlobalOptions, GlobalOptions, IpfsApi, IpfsClient, TryFromUri,
};

use crate::block::{BlockError, BlockSink, BlockSource};
use crate::cid::{Cid, DAG_PB, RAW};

/// The default API address, as Kubo's.
pub const DEFAULT_API: &str = "http://127.0.0.1:5001";

/// `--api`, else `$IPFS_API`, else [`DEFAULT_API`].
pub fn api_url(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| std::env::var("IPFS_API").ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| DEFAULT_API.to_string())
}

/// An IPFS node.
pub struct Node {
    url: String,
    client: BackendWithGlobalOptions<IpfsClient>,
    runtime: tokio::runtime::Runtime,
    timeout: Duration,
}

fn node_err(url: &str, what: impl std::fmt::Display) -> BlockError {
    BlockError::Other(format!("IPFS node at {url}: {what}"))
}

impl Node {
    /// Connects to the node at `url` and checks that it answers (`version`).
    pub fn connect(url: &str, timeout: Duration) -> Result<Node, BlockError> {
        let base = IpfsClient::from_str(url)
            .map_err(|e| node_err(url, format!("not a usable API URL: {e}")))?;
        let client = BackendWithGlobalOptions::new(
            base,
            GlobalOptions {
                timeout: Some(timeout),
                ..Default::default()
            },
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| node_err(url, format!("cannot start an async runtime: {e}")))?;
        let node = Node {
            url: url.to_string(),
            client,
            runtime,
            timeout,
        };
        node.call("answer", node.client.version())
            .map_err(|e| node_err(url, format!("unreachable: {e}")))?;
        Ok(node)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs one request with a deadline a little after the node-side timeout.
    fn call<T, E: std::fmt::Display>(
        &self,
        what: &str,
        fut: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, String> {
        let deadline = self.timeout + Duration::from_secs(2);
        match self
            .runtime
            .block_on(async { tokio::time::timeout(deadline, fut).await })
        {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(format!("{what}: {e}")),
            Err(_) => Err(format!("{what}: no answer within {}s", deadline.as_secs())),
        }
    }

    /// The multihashes of every block the node holds (one `refs/local` request). Made directly:
    /// the crate's typed response wants an `Err` field that js-ipfs does not send.
    pub fn local_blocks(&self) -> Result<HashSet<Vec<u8>>, BlockError> {
        let uri = format!(
            "{}/api/v0/refs/local?timeout={}s",
            self.url.trim_end_matches('/'),
            self.timeout.as_secs().max(1)
        );
        let body = self
            .call("refs/local", async {
                let request = hyper::Request::post(&uri)
                    .body(hyper::Body::empty())
                    .map_err(|e| e.to_string())?;
                let response = hyper::Client::new()
                    .request(request)
                    .await
                    .map_err(|e| e.to_string())?;
                let status = response.status();
                let bytes = hyper::body::to_bytes(response.into_body())
                    .await
                    .map_err(|e| e.to_string())?;
                if !status.is_success() {
                    return Err(format!(
                        "HTTP {status}: {}",
                        String::from_utf8_lossy(&bytes)
                    ));
                }
                Ok(bytes)
            })
            .map_err(|e| node_err(&self.url, e))?;
        let mut set = HashSet::new();
        for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let entry: serde_json::Value = serde_json::from_slice(line)
                .map_err(|e| node_err(&self.url, format!("refs/local: not JSON: {e}")))?;
            let Some(reference) = entry.get("Ref").and_then(|r| r.as_str()) else {
                continue;
            };
            if let Ok(cid) = reference.parse::<Cid>() {
                set.insert(cid.hash().to_bytes());
            } else if let Ok(bytes) = bs58::decode(reference).into_vec() {
                // Some nodes list bare multihashes.
                set.insert(bytes);
            }
        }
        Ok(set)
    }

    /// Pins `root` recursively on the node.
    pub fn pin(&self, root: &Cid) -> Result<(), BlockError> {
        self.call("pin/add", self.client.pin_add(&root.to_string(), true))
            .map(drop)
            .map_err(|e| node_err(&self.url, format!("pinning {root}: {e}")))
    }
}

/// The same block: same codec and multihash (a CIDv0 is dag-pb).
fn same_block(a: &Cid, b: &Cid) -> bool {
    a.codec() == b.codec() && a.hash() == b.hash()
}

impl BlockSink for Node {
    fn put(&self, cid: &Cid, data: &[u8]) -> Result<(), BlockError> {
        let format = match cid.codec() {
            RAW => "raw",
            DAG_PB => "dag-pb",
            codec => {
                return Err(BlockError::UnknownCodec {
                    cid: cid.clone(),
                    codec,
                })
            }
        };
        let options = BlockPut {
            format: Some(format),
            mhtype: Some("sha2-256"),
            ..Default::default()
        };
        let put = self
            .call(
                "block/put",
                self.client
                    .block_put_with_options(Cursor::new(data.to_vec()), options),
            )
            .map_err(|e| node_err(&self.url, format!("storing {cid}: {e}")))?;
        let theirs: Cid = put.key.parse().map_err(|e| {
            node_err(
                &self.url,
                format!(
                    "stored {cid} but answered with `{}`, not a CID: {e}",
                    put.key
                ),
            )
        })?;
        if !same_block(cid, &theirs) {
            return Err(node_err(
                &self.url,
                format!("stored block {cid} under a different CID {theirs}"),
            ));
        }
        Ok(())
    }
}

impl BlockSource for Node {
    /// The node's bytes for `cid`; `Ok(None)` when the node does not have it within the
    /// timeout. The caller verifies the bytes.
    fn get_unverified(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        let stream = self.client.block_get(&cid.to_string());
        match self.call(
            "block/get",
            stream.map_ok(|chunk| chunk.to_vec()).try_concat(),
        ) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.contains("timed out") || e.contains("no answer") => Ok(None),
            Err(e) => Err(node_err(&self.url, format!("fetching {cid}: {e}"))),
        }
    }
}

/// A node connected on first use: runs that find everything in the store never touch it.
pub struct LazyNode {
    url: String,
    timeout: Duration,
    node: std::cell::OnceCell<Result<Node, String>>,
}

impl LazyNode {
    pub fn new(url: &str, timeout: Duration) -> LazyNode {
        LazyNode {
            url: url.to_string(),
            timeout,
            node: std::cell::OnceCell::new(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn node(&self) -> Result<&Node, BlockError> {
        self.node
            .get_or_init(|| Node::connect(&self.url, self.timeout).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| BlockError::Other(e.clone()))
    }
}

impl BlockSource for LazyNode {
    fn get_unverified(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        self.node()?.get_unverified(cid)
    }
}
