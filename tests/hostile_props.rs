//! Property tests with random malformed DAGs and CARs: whatever the blocks say, reading them
//! (stat, list, walk, read) and importing a CAR never panics, never decodes more blocks than the
//! reader's budget, never yields a name that breaks the name rule, and writing what a walk
//! found never creates anything outside the directory it was given.
//!
//! Each property runs a bounded number of cases twice: with a fixed seed (the same cases in
//! every run) and with a random one, printed on failure so the failing cases can be run again
//! with `WW_PROPTEST_SEED=<hex>`.

use std::io::Write;
use std::path::Path;

use e2e::dag::{link, Dag};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use ww_content::block::{BlockSink, MemoryBlocks};
use ww_content::cancel::Cancel;
use ww_content::cid::{Cid, DAG_PB};
use ww_content::tree::{Entry, RelPath, Tree};
use ww_content::unixfs::read::{Kind, Reader};
use ww_content::unixfs::{Data, DataType};
use ww_image::union::{Placement, Union};

/// Cases per property and seed.
const CASES: u32 = 96;
/// The block budget of the readers under test.
const BUDGET: u64 = 5_000;

/// One block of a random DAG; links name earlier blocks by index (modulo how many exist).
#[derive(Debug, Clone)]
enum Spec {
    Raw(Vec<u8>),
    Dir(Vec<(String, usize)>),
    Shard(u64, Vec<(String, usize)>),
    File(Vec<(usize, u64)>, Option<u64>, Option<Vec<u8>>),
    Symlink(String),
    Garbage(Vec<u8>),
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{1,6}",
        1 => Just(String::new()),
        1 => Just(".".to_string()),
        1 => Just("..".to_string()),
        1 => "[a-z]{1,3}/[a-z]{1,3}",
        1 => "[a-z]{0,2}\0[a-z]{0,2}",
        1 => "[a-z]{0,2}[\\x01-\\x1f][a-z]{0,2}",
        1 => Just("same".to_string()),
    ]
}

fn target() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,4}",
        "(\\.\\./){1,6}outside",
        Just("/outside".to_string()),
        Just(String::new()),
        "([a-z]/){0,3}\\.\\.",
    ]
}

fn size() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0u64..64,
        1 => Just(u64::MAX),
        1 => Just(u64::MAX / 2 + 1),
        1 => any::<u64>(),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let links = || prop::collection::vec((name(), any::<usize>()), 0..5);
    let shard_links = prop::collection::vec(("[0-9A-F]{1,3}[a-z]{0,3}", any::<usize>()), 0..5);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..48).prop_map(Spec::Raw),
        links().prop_map(Spec::Dir),
        (
            prop_oneof![
                Just(2u64),
                Just(16),
                Just(256),
                Just(3),
                Just(0),
                Just(4096)
            ],
            shard_links
        )
            .prop_map(|(f, l)| Spec::Shard(f, l)),
        (
            prop::collection::vec((any::<usize>(), size()), 0..6),
            prop::option::of(size()),
            prop::option::of(prop::collection::vec(any::<u8>(), 0..8)),
        )
            .prop_map(|(c, f, d)| Spec::File(c, f, d)),
        target().prop_map(Spec::Symlink),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Spec::Garbage),
    ]
}

/// Builds the blocks of `specs` (each linking only earlier ones) and returns every CID.
fn build(dag: &Dag, specs: &[Spec]) -> Vec<Cid> {
    let mut cids: Vec<Cid> = Vec::new();
    let pick = |cids: &[Cid], i: usize| -> Option<Cid> {
        (!cids.is_empty()).then(|| cids[i % cids.len()].clone())
    };
    for spec in specs {
        let cid = match spec {
            Spec::Raw(bytes) => dag.raw(bytes),
            Spec::Dir(entries) => {
                let links = entries
                    .iter()
                    .filter_map(|(n, i)| pick(&cids, *i).map(|c| link(n, &c)))
                    .collect();
                dag.node(links, Data::new(DataType::Directory))
            }
            Spec::Shard(fanout, entries) => {
                let mut data = Data::new(DataType::HamtShard);
                data.fanout = Some(*fanout);
                data.hash_type = Some(0x22);
                let links = entries
                    .iter()
                    .filter_map(|(n, i)| pick(&cids, *i).map(|c| link(n, &c)))
                    .collect();
                dag.node(links, data)
            }
            Spec::File(children, filesize, own) => {
                let mut data = Data::new(DataType::File);
                data.filesize = *filesize;
                data.data = own.clone();
                let mut links = Vec::new();
                for (i, size) in children {
                    if let Some(c) = pick(&cids, *i) {
                        links.push(link("", &c));
                        data.blocksizes.push(*size);
                    }
                }
                dag.node(links, data)
            }
            Spec::Symlink(target) => dag.symlink(target),
            Spec::Garbage(bytes) => {
                let cid = Cid::v1_sha2_256(DAG_PB, bytes);
                dag.blocks.put(&cid, bytes).expect("memory");
                cid
            }
        };
        cids.push(cid);
    }
    cids
}

/// A writer that keeps nothing and refuses more than `left` bytes.
struct Capped {
    left: u64,
    written: u64,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() as u64 > self.left {
            return Err(std::io::Error::other("cap"));
        }
        self.left -= buf.len() as u64;
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The name rule every listed name must follow.
fn good_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

/// Reads every root every way; checks the properties.
fn read_everything(specs: Vec<Spec>) -> Result<(), TestCaseError> {
    let dag = Dag::new();
    let cids = build(&dag, &specs);
    for cid in cids.iter().rev().take(4) {
        let reader = Reader::new(&dag.blocks).with_max_blocks(BUDGET);
        if let Ok(entries) = reader.list(cid) {
            let mut names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
            prop_assert!(names.iter().all(|n| good_name(n)), "{names:?}");
            names.dedup();
            prop_assert_eq!(names.len(), entries.len(), "duplicate names listed");
        }
        if let Ok(walked) = reader.walk(cid) {
            for entry in &walked[1..] {
                prop_assert!(RelPath::new(&entry.path).is_ok(), "{:?}", entry.path);
            }
        }
        if let Ok(Kind::File { size }) = reader.stat(cid) {
            let mut out = Capped {
                left: 1 << 20,
                written: 0,
            };
            if reader.read_to(cid, &mut out).is_ok() {
                prop_assert_eq!(out.written, size, "bytes written differ from the size");
            }
        }
        prop_assert!(reader.blocks_decoded() <= BUDGET);
    }
    Ok(())
}

/// Walks every root into a tree as `ww` does, materializes it, and checks nothing was written
/// outside the destination.
fn materialize_everything(specs: Vec<Spec>, work: &Path) -> Result<(), TestCaseError> {
    let dag = Dag::new();
    let cids = build(&dag, &specs);
    let outside = work.join("outside");
    let source = work.join("source");
    for (n, cid) in cids.iter().rev().take(3).enumerate() {
        let reader = Reader::new(&dag.blocks).with_max_blocks(BUDGET);
        let Ok(walked) = reader.walk(cid) else {
            continue;
        };
        let mut tree = Tree::default();
        for e in walked.into_iter().skip(1) {
            let rel = RelPath::new(&e.path).map_err(|r| TestCaseError::fail(r.to_string()))?;
            let entry = match e.kind {
                Kind::Directory => Entry::Dir,
                Kind::File { .. } => Entry::File {
                    source: source.clone(),
                },
                Kind::Symlink { target } => Entry::Symlink { target },
            };
            // A walk never yields an entry below a non-directory.
            tree.insert(rel, entry)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        let union =
            Union::of([("layer", &tree)]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let dest = work.join(format!("root-{n}"));
        let _ = union.materialize(&dest, Placement::Copy, &Cancel::new());
        let _ = std::fs::remove_dir_all(&dest);
        let leaked: Vec<_> = std::fs::read_dir(&outside)
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .collect();
        prop_assert!(leaked.is_empty(), "written outside: {leaked:?}");
    }
    Ok(())
}

/// Imports a CAR of the DAG with random damage.
fn import_damaged_car(
    specs: Vec<Spec>,
    damage: Vec<(usize, u8)>,
    cut: usize,
) -> Result<(), TestCaseError> {
    let dag = Dag::new();
    let cids = build(&dag, &specs);
    let Some(root) = cids.last() else {
        return Ok(());
    };
    let mut car = Vec::new();
    if ww_content::car::export(&dag.blocks, std::slice::from_ref(root), &mut car).is_err() {
        return Ok(());
    }
    for (at, xor) in damage {
        let len = car.len();
        car[at % len] ^= xor;
    }
    car.truncate(car.len() - cut % car.len().max(1));
    let sink = MemoryBlocks::new();
    if ww_content::car::import(&mut car.as_slice(), &sink).is_ok() {
        for (cid, bytes) in sink.blocks() {
            prop_assert!(
                ww_content::block::verify(&cid, &bytes).is_ok(),
                "{cid} stored unverified"
            );
        }
    }
    Ok(())
}

/// Runs `test` over `strategy` with `seed`, and names the seed if it fails.
fn run_seeded<S: Strategy>(
    name: &str,
    seed: [u8; 32],
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    if let Err(e) = runner.run(&strategy, test) {
        let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
        panic!("{name} failed with seed {hex} (rerun: WW_PROPTEST_SEED={hex}): {e}");
    }
}

/// The fixed seed, then `WW_PROPTEST_SEED` or a random one.
fn seeds() -> [[u8; 32]; 2] {
    let fixed = *b"wetware hostile dag seed 0000001";
    let random = match std::env::var("WW_PROPTEST_SEED") {
        Ok(hex) if hex.len() == 64 => {
            let mut seed = [0u8; 32];
            for (i, byte) in seed.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex seed");
            }
            seed
        }
        _ => {
            let mut seed = [0u8; 32];
            getrandom_seed(&mut seed);
            seed
        }
    };
    [fixed, random]
}

fn getrandom_seed(seed: &mut [u8; 32]) {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(seed))
        .expect("read /dev/urandom");
}

fn dag_specs() -> impl Strategy<Value = Vec<Spec>> {
    prop::collection::vec(spec(), 1..24)
}

#[test]
fn reading_random_malformed_dags_never_panics_and_stays_bounded() {
    for seed in seeds() {
        run_seeded("read", seed, dag_specs(), read_everything);
    }
}

#[test]
fn materializing_what_a_walk_of_a_random_dag_found_stays_inside() {
    let work = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(work.path().join("outside")).expect("outside");
    std::fs::write(work.path().join("source"), b"file bytes").expect("source");
    // Symlink targets like `../../outside` and `/outside` resolve here, relative or not.
    for seed in seeds() {
        run_seeded("materialize", seed, dag_specs(), |specs| {
            materialize_everything(specs, work.path())
        });
    }
}

#[test]
fn importing_random_damaged_cars_never_panics_and_stores_only_verified_blocks() {
    let strategy = || {
        (
            dag_specs(),
            prop::collection::vec((any::<usize>(), 1u8..=255), 0..4),
            any::<usize>(),
        )
    };
    for seed in seeds() {
        run_seeded("car", seed, strategy(), |(specs, damage, cut)| {
            import_damaged_car(specs, damage, cut)
        });
    }
}
