//! `block/put`: storing blocks on the node, one at a time ([`BlockSink::put`]) or several in
//! flight ([`Node::put_all`], what push uses). Each block is put with its codec and sha2-256, and
//! the CID the node answers is parsed and compared (by codec and multihash) with ours.

use hyper::body::Bytes;

use super::client::{self, Call};
use super::{same_block, Node, NodeError};
use crate::block::{BlockError, BlockSink};
use crate::cid::{Cid, DAG_PB, RAW};

impl Node {
    /// Stores blocks on the node, up to `width` requests at once: `next` reads the next block
    /// to store (`None` at the end) and is called only when fewer than `width` are in flight,
    /// so at most `width` blocks are held at a time; `stored` is told of each block the node
    /// has stored (its CID and length), in the order they finish. Stops at the first error
    /// (which names the block and the node) or when the node's [`Cancel`](crate::cancel::Cancel)
    /// is raised; the requests still in flight are then dropped.
    pub fn put_all(
        &self,
        width: usize,
        mut next: impl FnMut() -> Result<Option<(Cid, Vec<u8>)>, BlockError>,
        mut stored: impl FnMut(&Cid, u64) -> Result<(), BlockError>,
    ) -> Result<(), BlockError> {
        self.client.bounded(
            width,
            || {
                Ok(next()?.map(|(cid, data)| async move {
                    let len = data.len() as u64;
                    self.put_async(&cid, data.into()).await?;
                    Ok::<_, BlockError>((cid, len))
                }))
            },
            |(cid, len)| stored(&cid, len),
        )
    }

    /// One `block/put` of `data` as `cid`, under its own deadline.
    async fn put_async(&self, cid: &Cid, data: Bytes) -> Result<(), BlockError> {
        #[derive(serde::Deserialize)]
        struct Put {
            #[serde(rename = "Key")]
            key: String,
        }
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
        let what = format!("storing {cid}");
        let call = Call {
            command: "block/put",
            args: &[("format", format), ("mhtype", "sha2-256")],
            what: &what,
        };
        let body = self
            .client
            .answer_async(&call, Some(data), client::ANSWER)
            .await?;
        let malformed = |reason: String| NodeError::Malformed {
            url: self.url().to_string(),
            what: what.clone(),
            reason,
        };
        let put: Put = serde_json::from_slice(&body)
            .map_err(|e| malformed(format!("not JSON with a Key: {e}")))?;
        let theirs: Cid = put.key.parse().map_err(|e| {
            malformed(format!(
                "answered with `{}`, not a CID: {e}",
                client::quote(&put.key)
            ))
        })?;
        if !same_block(cid, &theirs) {
            return Err(NodeError::WrongCid {
                url: self.url().to_string(),
                cid: cid.clone(),
                theirs,
            }
            .into());
        }
        Ok(())
    }
}

impl BlockSink for Node {
    fn put(&self, cid: &Cid, data: &[u8]) -> Result<(), BlockError> {
        self.client
            .run(self.put_async(cid, Bytes::copy_from_slice(data)))
    }
}
