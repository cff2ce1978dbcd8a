//! `examples/ci/wwpack-diff.yml`, the GitHub Actions workflow a project copies: its shape (on
//! pull requests, allowed to comment, the six steps in order, which of them talk to GitHub),
//! and its shell steps run here, as the runner would run them (bash, `-eo pipefail`, the
//! workflow's, job's and step's environment, `continue-on-error`, later steps skipped after a
//! failure), on a real project in a pull request's clone, with the real `wwpack` on PATH and
//! `WWPACK_CI_LOCAL=1`. The steps marked `if: env.WWPACK_CI_LOCAL != '1'` (check-out, install,
//! comment) are left out, and the test says which ran and which did not. A change of the file's
//! shape fails it: update the expectations here with the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ww_test_support::{exiting_command, output, stderr, write_tree};
use yaml_rust2::{Yaml, YamlLoader};

const WWPACK: &str = env!("CARGO_BIN_EXE_wwpack");

/// The one condition the workflow may put on a step: skipped when run locally.
const LOCAL_GUARD: &str = "env.WWPACK_CI_LOCAL != '1'";

/// The steps, in order, and whether each talks to GitHub (and is left out locally).
const STEPS: [(&str, bool); 6] = [
    ("Check out, with the base branch's history", true),
    ("Install wwpack", true),
    (
        "Build the base branch's images (their blocks serve the content diff)",
        false,
    ),
    (
        "Diff the base branch's lock against this branch's build",
        false,
    ),
    ("Post or update the comment on the pull request", true),
    (
        "The committed wwpack.lock must be what these sources build",
        false,
    ),
];

const TOML: &str = r#"
[layers.base]
path = "layers/base"

[images.default]
layers = ["base"]
"#;

fn workflow_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/ci/wwpack-diff.yml")
}

fn workflow() -> Yaml {
    let text = std::fs::read_to_string(workflow_path()).unwrap();
    let mut docs = YamlLoader::load_from_str(&text).expect("the workflow is YAML");
    assert_eq!(docs.len(), 1, "one document");
    docs.remove(0)
}

fn string(y: &Yaml, what: &str) -> String {
    y.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {y:?}"))
        .to_string()
}

/// `KEY: VALUE` pairs of an `env:` mapping (none when absent).
fn env_of(y: &Yaml) -> BTreeMap<String, String> {
    let Some(map) = y["env"].as_hash() else {
        assert!(y["env"].is_badvalue(), "env is a mapping: {y:?}");
        return BTreeMap::new();
    };
    map.iter()
        .map(|(k, v)| (string(k, "an env name"), string(v, "an env value")))
        .collect()
}

fn steps(w: &Yaml) -> &[Yaml] {
    w["jobs"]["diff"]["steps"]
        .as_vec()
        .expect("jobs.diff.steps")
}

#[test]
fn the_workflow_runs_on_pull_requests_comments_once_and_gates_on_locked() {
    let w = workflow();
    let on = w["on"].as_hash().expect("on: a mapping");
    assert_eq!(on.len(), 1, "only pull requests: {on:?}");
    assert!(on.contains_key(&Yaml::String("pull_request".into())));
    assert_eq!(w["permissions"]["pull-requests"].as_str(), Some("write"));
    assert_eq!(w["permissions"]["contents"].as_str(), Some("read"));
    let jobs = w["jobs"].as_hash().expect("jobs");
    assert_eq!(jobs.len(), 1, "one job, `diff`");
    let job = &w["jobs"]["diff"];
    assert_eq!(job["runs-on"].as_str(), Some("ubuntu-latest"));
    assert_eq!(job["defaults"]["run"]["shell"].as_str(), Some("bash"));

    let steps = steps(&w);
    let got: Vec<(String, bool)> = steps
        .iter()
        .map(|s| {
            let guard = match &s["if"] {
                Yaml::BadValue => false,
                y => {
                    assert_eq!(y.as_str(), Some(LOCAL_GUARD), "the only condition");
                    true
                }
            };
            (string(&s["name"], "a step's name"), guard)
        })
        .collect();
    let want: Vec<(String, bool)> = STEPS.iter().map(|(n, g)| (n.to_string(), *g)).collect();
    assert_eq!(got, want, "the steps and which talk to GitHub");
    for s in steps {
        let name = string(&s["name"], "name");
        let guarded = !s["if"].is_badvalue();
        let text = format!("{s:?}");
        if !guarded {
            assert!(s["run"].as_str().is_some(), "{name}: a shell step");
            assert!(
                !text.contains("${{"),
                "{name}: runs locally, so it takes GitHub's values from the environment only"
            );
        }
    }
    let checkout = &steps[0];
    assert_eq!(checkout["uses"].as_str(), Some("actions/checkout@v4"));
    assert_eq!(
        checkout["with"]["fetch-depth"].as_i64(),
        Some(0),
        "the base branch's history, for --git"
    );
    // One comment: found by the marker, updated in place, else posted.
    let marker = env_of(&w)
        .remove("WWPACK_MARKER")
        .expect("WWPACK_MARKER in the workflow's env");
    assert!(
        marker.starts_with("<!--") && marker.ends_with("-->"),
        "{marker}"
    );
    let comment = string(&steps[4]["run"], "the comment step");
    for part in [
        "startswith(env.WWPACK_MARKER)",
        "gh api -X PATCH \"repos/$GITHUB_REPOSITORY/issues/comments/$id\"",
        "gh api \"repos/$GITHUB_REPOSITORY/issues/$PR/comments\" -f body=",
        "\"$WWPACK_MARKER\"$'\\n'",
    ] {
        assert!(
            comment.contains(part),
            "the comment step has {part}:\n{comment}"
        );
    }
    assert_eq!(
        steps[4]["continue-on-error"].as_bool(),
        Some(true),
        "a fork's read-only token does not fail the job"
    );
    let gate = string(&steps[5]["run"], "the gate");
    assert_eq!(gate.trim(), "wwpack build --locked");
    assert!(
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/diff.md"))
            .unwrap()
            .contains("examples/ci/wwpack-diff.yml"),
        "docs/diff.md tells of the file"
    );
}

/// What became of each step of one run of the job.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Left out: it talks to GitHub.
    LeftOut,
    Passed,
    /// Failed, and `continue-on-error` let the job go on.
    FailedAndContinued,
    Failed,
    /// Not run: an earlier step failed.
    Skipped,
}

/// A pull request's clone of a project: `main` as pushed (built with another block store, as
/// on the developer's machine), a branch `feature` checked out.
struct PullRequest {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    work: PathBuf,
}

impl PullRequest {
    fn new() -> PullRequest {
        let dir = tempfile::tempdir().unwrap();
        let dir_path = dir.path().to_path_buf();
        let upstream = dir_path.join("upstream");
        write_tree(
            &upstream,
            &[
                ("wwpack.toml", TOML.as_bytes()),
                ("layers/base/bin/main.wasm", &exiting_command(0)),
                (
                    "layers/base/etc/motd",
                    b"Welcome to Wetware.\nSecond line.\n",
                ),
                (".gitignore", b"target/\n"),
            ],
        );
        let pr = PullRequest {
            _dir: dir,
            work: dir_path.join("work"),
            dir: dir_path,
        };
        pr.wwpack(&upstream, &["build", "--quiet"]);
        pr.git(&upstream, &["init", "-q", "-b", "main"]);
        pr.git(&upstream, &["add", "."]);
        pr.git(&upstream, &["commit", "-q", "-m", "v1"]);
        pr.git(
            &pr.dir,
            &["clone", "-q", upstream.to_str().unwrap(), "work"],
        );
        pr.git(&pr.work, &["checkout", "-q", "-b", "feature"]);
        pr
    }

    /// Edits the motd; with `lock`, builds and commits the new lock too.
    fn change(&self, motd: &str, lock: bool) {
        std::fs::write(self.work.join("layers/base/etc/motd"), motd).unwrap();
        if lock {
            self.wwpack(&self.work, &["build", "--quiet"]);
        }
        self.git(&self.work, &["commit", "-q", "-am", "change the motd"]);
    }

    fn wwpack(&self, dir: &Path, args: &[&str]) {
        let o = output(
            Command::new(WWPACK)
                .current_dir(dir)
                .env("WW_STORE", self.dir.join("developer-store"))
                .args(args),
        );
        assert!(o.status.success(), "wwpack {args:?}: {}", stderr(&o));
    }

    fn git(&self, dir: &Path, args: &[&str]) {
        let o = output(git(dir, &self.dir).args(args));
        assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
    }

    /// Runs the job as the runner would, in a fresh runner: each step's outcome by name, and
    /// the job's summary.
    fn run_job(&self, run: &str) -> (Vec<(String, Outcome)>, String) {
        let w = workflow();
        let temp = self.dir.join(format!("runner-{run}"));
        std::fs::create_dir_all(&temp).unwrap();
        let summary = temp.join("step-summary.md");
        std::fs::write(&summary, "").unwrap();
        let bin = Path::new(WWPACK).parent().unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut env: BTreeMap<String, String> = [
            ("WWPACK_CI_LOCAL", "1".to_string()),
            ("GITHUB_BASE_REF", "main".into()),
            ("GITHUB_WORKSPACE", self.work.display().to_string()),
            ("GITHUB_REPOSITORY", "example/project".into()),
            ("RUNNER_TEMP", temp.display().to_string()),
            ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
            ("WW_STORE", temp.join("store").display().to_string()),
            ("IPFS_API", "http://127.0.0.1:9".into()),
            ("PATH", path),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        env.extend(env_of(&w));
        env.extend(env_of(&w["jobs"]["diff"]));
        let mut failed = false;
        let mut outcomes = Vec::new();
        for (i, step) in steps(&w).iter().enumerate() {
            let name = string(&step["name"], "name");
            let outcome = if step["if"].as_str() == Some(LOCAL_GUARD) {
                Outcome::LeftOut
            } else if failed {
                Outcome::Skipped
            } else {
                let script = temp.join(format!("step-{i}.sh"));
                std::fs::write(&script, string(&step["run"], "run")).unwrap();
                let o = output(
                    Command::new("bash")
                        .current_dir(&self.work)
                        .env_clear()
                        .envs(&env)
                        .envs(env_of(step))
                        .env("HOME", &self.dir)
                        .env("GIT_CONFIG_NOSYSTEM", "1")
                        .args(["--noprofile", "--norc", "-eo", "pipefail"])
                        .arg(&script),
                );
                let log = format!(
                    "{name}:\n{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    stderr(&o)
                );
                eprintln!("{log}");
                match (o.status.success(), step["continue-on-error"].as_bool()) {
                    (true, _) => Outcome::Passed,
                    (false, Some(true)) => Outcome::FailedAndContinued,
                    (false, _) => {
                        failed = true;
                        Outcome::Failed
                    }
                }
            };
            outcomes.push((name, outcome));
        }
        (outcomes, std::fs::read_to_string(&summary).unwrap())
    }
}

/// A command in `dir` with git's identity and no user or system configuration.
fn git(dir: &Path, home: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", home);
    cmd
}

fn outcomes(list: &[Outcome]) -> Vec<(String, &Outcome)> {
    STEPS.iter().map(|(n, _)| n.to_string()).zip(list).collect()
}

#[test]
fn the_shell_steps_diff_a_pull_request_and_fail_on_a_stale_lock() {
    let pr = PullRequest::new();
    pr.change("Welcome to Wetware, reviewed.\nSecond line.\n", true);
    let (ran, summary) = pr.run_job("1");
    use Outcome::*;
    let want = [LeftOut, LeftOut, Passed, Passed, LeftOut, Passed];
    let got: Vec<(String, &Outcome)> = ran.iter().map(|(n, o)| (n.clone(), o)).collect();
    assert_eq!(got, outcomes(&want), "which steps ran, and how");
    assert!(summary.starts_with("### wwpack diff"), "{summary}");
    assert!(
        summary.contains("`git origin/main` → `working tree`: **1 modified in 1 image;"),
        "{summary}"
    );
    // The motd's content, from the blocks the base build step stored (the runner's store
    // started empty).
    assert!(
        summary.contains("-Welcome to Wetware.\n+Welcome to Wetware, reviewed.\n"),
        "{summary}"
    );

    // The motd changed again, without the new lock: the diff still shows it, the gate fails.
    pr.change("Welcome to Wetware, unlocked.\nSecond line.\n", false);
    let (ran, summary) = pr.run_job("2");
    let want = [LeftOut, LeftOut, Passed, Passed, LeftOut, Failed];
    let got: Vec<(String, &Outcome)> = ran.iter().map(|(n, o)| (n.clone(), o)).collect();
    assert_eq!(got, outcomes(&want), "the --locked gate fails the job");
    assert!(
        summary.contains("+Welcome to Wetware, unlocked.\n"),
        "{summary}"
    );
}
