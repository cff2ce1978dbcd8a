//! Hand-made DAGs for the hostile-input tests: dag-pb and UnixFS nodes with whatever names,
//! links and sizes a test wants (the encoders write what they are given; nothing here checks
//! a rule), put into a block store or a CAR as an attacker would hand them to ww.

use std::path::Path;

use ww_content::block::{BlockSink, MemoryBlocks};
use ww_content::cid::{Cid, DAG_PB, RAW};
use ww_content::dagpb::{PbLink, PbNode};
use ww_content::unixfs::{Data, DataType};

/// The blocks of one or more hand-made DAGs.
#[derive(Debug, Default)]
pub struct Dag {
    pub blocks: MemoryBlocks,
}

impl Dag {
    pub fn new() -> Dag {
        Dag::default()
    }

    /// A raw leaf.
    pub fn raw(&self, bytes: &[u8]) -> Cid {
        let cid = Cid::v1_sha2_256(RAW, bytes);
        self.put(&cid, bytes);
        cid
    }

    /// A dag-pb node with `links` and the UnixFS `data`.
    pub fn node(&self, links: Vec<PbLink>, data: Data) -> Cid {
        let bytes = PbNode {
            links,
            data: Some(data.encode()),
        }
        .encode();
        let cid = Cid::v1_sha2_256(DAG_PB, &bytes);
        self.put(&cid, &bytes);
        cid
    }

    /// A basic directory with these entries, in the order given, names as given.
    pub fn dir(&self, entries: &[(&str, &Cid)]) -> Cid {
        let links = entries.iter().map(|(name, cid)| link(name, cid)).collect();
        self.node(links, Data::new(DataType::Directory))
    }

    /// A symlink to `target`.
    pub fn symlink(&self, target: &str) -> Cid {
        let mut data = Data::new(DataType::Symlink);
        data.data = Some(target.as_bytes().to_vec());
        self.node(Vec::new(), data)
    }

    /// A file node over `children`, each recorded with the given block size (true or not).
    pub fn file(&self, children: &[(&Cid, u64)], filesize: Option<u64>) -> Cid {
        let mut data = Data::new(DataType::File);
        data.filesize = filesize;
        data.blocksizes = children.iter().map(|(_, size)| *size).collect();
        let links = children.iter().map(|(cid, _)| link("", cid)).collect();
        self.node(links, data)
    }

    /// A HAMT shard of `fanout` with these links (full link names, slot prefix included).
    pub fn shard(&self, links: &[(String, &Cid)], fanout: u64) -> Cid {
        let mut data = Data::new(DataType::HamtShard);
        data.fanout = Some(fanout);
        data.hash_type = Some(0x22);
        let links = links.iter().map(|(name, cid)| link(name, cid)).collect();
        self.node(links, data)
    }

    /// Puts every block into the embedded block store at `dir` (as if fetched from a node).
    pub fn store_into(&self, dir: &Path) {
        let store = ww_content::store::Store::open(dir).expect("open the block store");
        for (cid, bytes) in self.blocks.blocks() {
            store.put(&cid, &bytes).expect("put a block");
        }
    }

    /// A CAR v1 of the DAG under `root` (every block of it must be here).
    pub fn car(&self, root: &Cid) -> Vec<u8> {
        let mut out = Vec::new();
        ww_content::car::export(&self.blocks, std::slice::from_ref(root), &mut out)
            .expect("export");
        out
    }

    fn put(&self, cid: &Cid, bytes: &[u8]) {
        self.blocks
            .put(cid, bytes)
            .expect("memory blocks take anything");
    }
}

/// A link named `name` to `cid`.
pub fn link(name: &str, cid: &Cid) -> PbLink {
    PbLink {
        cid: cid.clone(),
        name: Some(name.to_string()),
        tsize: None,
    }
}
