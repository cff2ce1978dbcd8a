//! `kill -9` at random moments: many rounds of the real `wwpack` binary writing to one store
//! (`add` of trees of small files and a large one, `import` of a CAR, `gc`), each killed at a
//! random moment or left to finish, two at once. After every round, every pinned root's DAG is
//! complete and every block in the store verifies; a killed write leaves at most unpinned blocks
//! and temp files, which the next `gc` removes. The seed is printed, and `WWPACK_CRASH_SEED`
//! replays a run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ww_content::block::BlockError;
use ww_content::store::Store;
use ww_content::walk::{Budget, Walk};
use ww_test_support::{ok, output, s};

const WWPACK: &str = env!("CARGO_BIN_EXE_wwpack");
const ROUNDS: u64 = 30;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn wwpack(store: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(WWPACK);
    cmd.env_remove("WW_STORE")
        .arg("--quiet")
        .arg("--store")
        .arg(store)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// A tree of `files` small files of random bytes (distinct per `salt`), and one of 1.5 MiB.
fn make_tree(dir: &Path, salt: u64, files: u64) -> PathBuf {
    let mut rng = Rng(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let root = dir.join(format!("tree-{salt}"));
    for i in 0..files {
        let sub = root.join(format!("d{}", i % 7));
        // Fresh content per tree, so that every add writes blocks.
        std::fs::create_dir_all(&sub).unwrap();
        let len = rng.below(6000) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        std::fs::write(sub.join(format!("f{i}")), bytes).unwrap();
    }
    let big: Vec<u8> = (0..3 << 19).map(|_| rng.next() as u8).collect();
    std::fs::write(root.join("big"), big).unwrap();
    root
}

/// Every pinned root is whole and every block verifies.
fn check_store(store_dir: &Path, round: u64) -> usize {
    let store = Store::open(store_dir).unwrap();
    let pins = store.pins().unwrap();
    for root in &pins {
        Walk::new(&store)
            .budget(Budget::UNLIMITED)
            .run(std::slice::from_ref(root), |_| Ok::<_, BlockError>(()))
            .unwrap_or_else(|e| panic!("round {round}: pinned root {root} is not whole: {e}"));
    }
    let bad = store.verify_all().unwrap();
    assert!(
        bad.is_empty(),
        "round {round}: blocks that do not verify: {bad:?}"
    );
    pins.len()
}

/// Kills `child` at `deadline`, unless it ended first; whether it was killed.
fn kill_at(child: &mut Child, deadline: Instant) -> bool {
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let killed = child.kill().is_ok();
    child.wait().unwrap();
    killed
}

#[test]
fn kill_9_at_random_moments_never_leaves_a_pinned_root_incomplete_or_a_bad_block() {
    let seed = std::env::var("WWPACK_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("WWPACK_CRASH_SEED={seed}");
    let mut rng = Rng(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");

    // CARs to import, and how long an add of a fresh tree takes here: the kills fall within
    // that time.
    let seed_store = dir.path().join("seed-store");
    let mut cars = Vec::new();
    let mut add_times = Vec::new();
    for i in 0..3 {
        let tree = make_tree(dir.path(), 1000 + i, 200);
        let started = Instant::now();
        let cid = ok(&output(
            wwpack(&seed_store, &["add", s(&tree)]).stdout(Stdio::piped()),
        ));
        add_times.push(started.elapsed());
        let car = dir.path().join(format!("tree-{i}.car"));
        ok(&output(&mut wwpack(
            &seed_store,
            &["export", cid.trim(), "-o", s(&car)],
        )));
        cars.push(car);
    }
    add_times.sort();
    let window = (add_times[1].as_micros() as u64).max(20_000);

    let (mut killed, mut finished) = (0, 0);
    let mut trees = Vec::new();
    for round in 0..ROUNDS {
        // Two writers at once, each killed at a random moment within an add's time (or, when
        // the moment comes after it, finished), and sometimes a gc among them. Most write new
        // content (a fresh tree); the CAR imports repeat, so later ones find blocks in place.
        let mut children: Vec<(Instant, Child)> = (0..2)
            .map(|k| {
                if rng.below(3) == 0 {
                    let car = &cars[rng.below(cars.len() as u64) as usize];
                    wwpack(&store, &["import", s(car)])
                } else {
                    let tree = make_tree(dir.path(), round * 2 + k, 200);
                    let cmd = wwpack(&store, &["add", s(&tree)]);
                    trees.push(tree);
                    cmd
                }
                .spawn()
                .map(|child| (Instant::now(), child))
                .unwrap()
            })
            .collect();
        if rng.below(4) == 0 {
            children.push((Instant::now(), wwpack(&store, &["gc"]).spawn().unwrap()));
        }
        // Each at its own moment after its start, earliest first.
        let mut moments: Vec<(Instant, Child)> = children
            .into_iter()
            .map(|(start, child)| (start + Duration::from_micros(rng.below(window)), child))
            .collect();
        moments.sort_by_key(|(at, _)| *at);
        for (at, child) in &mut moments {
            if kill_at(child, *at) {
                killed += 1;
            } else {
                finished += 1;
            }
        }
        check_store(&store, round);
    }
    eprintln!("{killed} killed, {finished} finished in {ROUNDS} rounds (window {window} µs)");
    assert!(
        killed >= ROUNDS as usize / 2,
        "only {killed} processes were killed: the rounds proved little"
    );

    // Whatever the kills left is unpinned; gc removes it and the pinned DAGs stay whole.
    ok(&output(&mut wwpack(&store, &["gc"])));
    let pins = check_store(&store, ROUNDS);
    let temps = std::fs::read_dir(store.join("tmp")).unwrap().count();
    assert_eq!(temps, 0, "gc left temp files");
    // And trees whose add was killed can still be added, pinned and read back whole.
    for tree in trees.iter().step_by(10) {
        let cid = ok(&output(
            wwpack(&store, &["add", s(tree)]).stdout(Stdio::piped()),
        ));
        let big =
            output(wwpack(&store, &["cat", &format!("{}/big", cid.trim())]).stdout(Stdio::piped()));
        assert!(big.status.success(), "cat of {}/big failed", cid.trim());
        assert!(big.stdout == std::fs::read(tree.join("big")).unwrap());
    }
    assert!(check_store(&store, ROUNDS + 1) >= pins);
}
