//! Progress of long operations, measured and never shown here: a [`Meter`] is a few shared
//! counters (bytes and items, done and expected) that library code adds to where it reads,
//! hashes or moves data, and that a command line polls to draw a bar on its terminal.
//!
//! An update is one relaxed atomic add, cheap enough for the hot paths (a chunk of a file, a
//! block, a read of a CAR). Totals may come from untrusted data (the sizes a DAG's root claims):
//! they are only for display, and [`Snapshot`] clamps what is done so it never shows past them.
//! [`MeteredRead`] and [`MeteredWrite`] count the bytes through a reader or writer, and
//! [`dag_size_hint`] reads the size a DAG's root block claims for the whole DAG. With the
//! feature `bar`, [`bar`] draws a meter on a terminal (for the command lines).

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::cid::{Cid, DAG_PB, RAW};
use crate::dagpb::PbNode;

#[cfg(feature = "bar")]
pub mod bar;

/// No total: [`Meter`]'s totals hold this until one is set.
const UNKNOWN: u64 = u64::MAX;

/// Shared progress counters; clones count into the same ones.
#[derive(Debug, Clone)]
pub struct Meter(Arc<Counters>);

#[derive(Debug)]
struct Counters {
    bytes: AtomicU64,
    bytes_total: AtomicU64,
    items: AtomicU64,
    items_total: AtomicU64,
}

impl Default for Meter {
    fn default() -> Meter {
        Meter::new()
    }
}

impl Meter {
    /// A meter at zero, with no totals.
    pub fn new() -> Meter {
        Meter(Arc::new(Counters {
            bytes: AtomicU64::new(0),
            bytes_total: AtomicU64::new(UNKNOWN),
            items: AtomicU64::new(0),
            items_total: AtomicU64::new(UNKNOWN),
        }))
    }

    /// Counts `n` more bytes done.
    #[inline]
    pub fn add_bytes(&self, n: u64) {
        self.0.bytes.fetch_add(n, Relaxed);
    }

    /// Sets the bytes done (to correct a count that went past what was really done, or
    /// to count work found done already).
    pub fn set_bytes(&self, n: u64) {
        self.0.bytes.store(n, Relaxed);
    }

    /// Counts `n` more items (files, blocks) done.
    #[inline]
    pub fn add_items(&self, n: u64) {
        self.0.items.fetch_add(n, Relaxed);
    }

    /// Sets the bytes expected in all.
    pub fn set_bytes_total(&self, total: u64) {
        self.0.bytes_total.store(total.min(UNKNOWN - 1), Relaxed);
    }

    /// Sets the items expected in all.
    pub fn set_items_total(&self, total: u64) {
        self.0.items_total.store(total.min(UNKNOWN - 1), Relaxed);
    }

    /// Sets the items done.
    pub fn set_items(&self, n: u64) {
        self.0.items.store(n, Relaxed);
    }

    /// Sets the bytes total only if none is set yet; returns whether it did.
    pub fn init_bytes_total(&self, total: u64) -> bool {
        self.0
            .bytes_total
            .compare_exchange(UNKNOWN, total.min(UNKNOWN - 1), Relaxed, Relaxed)
            .is_ok()
    }

    /// The counters now.
    pub fn snapshot(&self) -> Snapshot {
        let total = |a: &AtomicU64| Some(a.load(Relaxed)).filter(|&t| t != UNKNOWN);
        Snapshot {
            bytes: self.0.bytes.load(Relaxed),
            bytes_total: total(&self.0.bytes_total),
            items: self.0.items.load(Relaxed),
            items_total: total(&self.0.items_total),
        }
    }
}

/// What a [`Meter`] holds at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub bytes: u64,
    pub bytes_total: Option<u64>,
    pub items: u64,
    pub items_total: Option<u64>,
}

impl Snapshot {
    /// Bytes done, never past the total (which may have been a claim of untrusted data).
    pub fn bytes_shown(&self) -> u64 {
        self.bytes_total.map_or(self.bytes, |t| self.bytes.min(t))
    }

    /// Items done, never past the total.
    pub fn items_shown(&self) -> u64 {
        self.items_total.map_or(self.items, |t| self.items.min(t))
    }
}

/// A reader counting the bytes read through it into a meter.
pub struct MeteredRead<R> {
    inner: R,
    meter: Meter,
}

impl<R> MeteredRead<R> {
    pub fn new(inner: R, meter: Meter) -> MeteredRead<R> {
        MeteredRead { inner, meter }
    }
}

impl<R: Read> Read for MeteredRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.meter.add_bytes(n as u64);
        Ok(n)
    }
}

/// A writer counting the bytes written through it into a meter.
pub struct MeteredWrite<W> {
    inner: W,
    meter: Meter,
}

impl<W> MeteredWrite<W> {
    pub fn new(inner: W, meter: Meter) -> MeteredWrite<W> {
        MeteredWrite { inner, meter }
    }
}

impl<W: Write> Write for MeteredWrite<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.meter.add_bytes(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The bytes of blocks the DAG under the block `cid` with bytes `data` claims to hold: for a
/// dag-pb node, its own size plus the cumulative sizes (`Tsize`) of its links; for a raw
/// block, its size. `None` for other codecs or a node that does not decode. The claim is the
/// DAG's author's, unchecked: use it only to show progress.
pub fn dag_size_hint(cid: &Cid, data: &[u8]) -> Option<u64> {
    match cid.codec() {
        RAW => Some(data.len() as u64),
        DAG_PB => {
            let node = PbNode::decode(data).ok()?;
            Some(node.links.iter().fold(data.len() as u64, |sum, l| {
                sum.saturating_add(l.tsize.unwrap_or(0))
            }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dagpb::PbLink;

    #[test]
    fn done_is_clamped_to_the_total() {
        let meter = Meter::new();
        assert_eq!(meter.snapshot().bytes_total, None);
        meter.add_bytes(10);
        meter.clone().add_items(2);
        assert!(meter.init_bytes_total(4));
        assert!(!meter.init_bytes_total(100));
        let s = meter.snapshot();
        assert_eq!((s.bytes, s.bytes_shown(), s.items_shown()), (10, 4, 2));
        meter.set_items_total(1);
        assert_eq!(meter.snapshot().items_shown(), 1);
    }

    #[test]
    fn readers_and_writers_are_counted() {
        let meter = Meter::new();
        let mut out = MeteredWrite::new(Vec::new(), meter.clone());
        std::io::copy(
            &mut MeteredRead::new(&b"hello"[..], meter.clone()),
            &mut out,
        )
        .unwrap();
        assert_eq!(meter.snapshot().bytes, 10);
    }

    #[test]
    fn the_hint_sums_the_links() {
        let child = Cid::v1_sha2_256(RAW, b"x");
        let block = PbNode {
            links: vec![
                PbLink {
                    cid: child.clone(),
                    name: Some("a".into()),
                    tsize: Some(1000),
                },
                PbLink {
                    cid: child,
                    name: Some("b".into()),
                    tsize: Some(u64::MAX),
                },
            ],
            data: None,
        }
        .encode();
        let cid = Cid::v1_sha2_256(DAG_PB, &block);
        assert_eq!(dag_size_hint(&cid, &block), Some(u64::MAX));
        let raw = Cid::v1_sha2_256(RAW, b"abc");
        assert_eq!(dag_size_hint(&raw, b"abc"), Some(3));
        assert_eq!(dag_size_hint(&cid, b"\xff\xff"), None);
    }
}
