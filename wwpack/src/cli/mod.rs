//! The command line's plumbing, shared by the verbs of [`crate::ops`]: the flag groups the verbs
//! take ([`args`]) and what they find ([`Globals`]: the project's `wwpack.toml`, the block
//! store, the IPFS node, from flags, the environment and the XDG directories), logging, stdout
//! and stderr ([`output`], `outln!`, `errln!`), progress on stderr ([`progress`]), how an error
//! is printed, and the help topics ([`topics`]).

pub mod args;
mod log;
pub mod output;
pub mod progress;
pub mod topics;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use ww_content::store::Store;
use ww_content::text::printable;

use crate::config::Config;
use args::{EarlyArgs, NodeArgs, ProjectArgs, StoreArgs};
pub use ww_clidocs::log::LogArgs;

/// Seconds each request to the node may take without `--api-timeout`.
const DEFAULT_TIMEOUT_SECS: u64 = 30;

/// Writes one line to stdout, as `println!` would, but evaluates to an `anyhow::Result` instead
/// of panicking: a closed stdout (`wwpack ls | head -1`) is an error that `main` turns into a
/// quiet exit with status 0 ([`output::stdout_closed`]).
macro_rules! outln {
    ($($arg:tt)*) => {
        anyhow::Context::context(
            std::io::Write::write_all(
                &mut $crate::cli::output::Stdout,
                format!("{}\n", format_args!($($arg)*)).as_bytes(),
            ),
            "writing to stdout",
        )
    };
}

/// Writes one line to stderr; unlike `eprintln!`, a stderr nobody reads is no panic.
macro_rules! errln {
    ($($arg:tt)*) => {{
        let line = format!("{}\n", format_args!($($arg)*));
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    }};
}

pub(crate) use errln;
pub(crate) use outln;

/// What the command line gives a verb of [`crate::ops`]: the global flags (`-q`) and the flag
/// groups the verb takes ([`args`]), merged with those given before the verb. A verb reads only
/// what its groups set; the rest keeps its default.
#[derive(Debug, Clone, Default)]
pub struct Globals {
    /// `--manifest-path`.
    pub manifest_path: Option<PathBuf>,
    /// `-q`: print only errors.
    pub quiet: bool,
    /// `--store` (else `WW_STORE`, else the XDG data directory: [`Globals::store_dir`]).
    pub store: Option<PathBuf>,
    /// `--api`.
    pub api: Option<String>,
    /// `--api-timeout`, in seconds (else 30).
    pub timeout: Option<u64>,
}

impl Globals {
    /// The global flags, and the groups' flags given before the verb.
    pub fn new(log: &LogArgs, early: EarlyArgs) -> Globals {
        Globals {
            manifest_path: early.manifest_path,
            quiet: log.quiet,
            store: early.store,
            api: early.api,
            timeout: early.api_timeout,
        }
    }

    /// With the verb's `--manifest-path`.
    pub fn project(mut self, args: ProjectArgs) -> Globals {
        self.manifest_path = args.manifest_path.or(self.manifest_path);
        self
    }

    /// With the verb's `--store`.
    pub fn store(mut self, args: StoreArgs) -> Globals {
        self.store = args.store.or(self.store);
        self
    }

    /// With the verb's `--api` and `--api-timeout`.
    pub fn node(mut self, args: NodeArgs) -> Globals {
        self.api = args.api.or(self.api);
        self.timeout = args.api_timeout.or(self.timeout);
        self
    }

    /// The project: `--manifest-path`, or `wwpack.toml` found from the current directory up.
    pub fn load_config(&self) -> anyhow::Result<Config> {
        Ok(match &self.manifest_path {
            Some(file) => Config::load(file)?,
            None => Config::discover(&std::env::current_dir().context("current directory")?)?,
        })
    }

    /// The block store's directory: `--store`, `WW_STORE`, or the XDG data directory.
    pub fn store_dir(&self) -> anyhow::Result<PathBuf> {
        match &self.store {
            Some(dir) => Ok(dir.clone()),
            None => ww_clidocs::env_var("WW_STORE")
                .map(PathBuf::from)
                .or_else(ww_content::store::default_dir)
                .context("no block store: set --store DIR, WW_STORE, XDG_DATA_HOME or HOME"),
        }
    }

    /// The store, created if missing and checked to be writable.
    pub fn open_store(&self) -> anyhow::Result<Store> {
        Ok(Store::open(&self.store_dir()?)?)
    }

    /// An existing store, for reading only.
    pub fn read_store(&self) -> anyhow::Result<Store> {
        Ok(Store::open_read_only(&self.store_dir()?)?)
    }

    /// The store content is read through (the chain: the store, then the node), and whether
    /// it keeps what the node gives: the store opened for writing (created if missing), or,
    /// when that fails, an existing store read only (it serves what it has; blocks from the
    /// node are used, not kept).
    pub fn chain_store(&self) -> anyhow::Result<(Store, bool)> {
        let dir = self.store_dir()?;
        match Store::open(&dir) {
            Ok(store) => Ok((store, true)),
            Err(e) => match Store::open_read_only(&dir) {
                Ok(store) => Ok((store, false)),
                Err(_) => Err(e.into()),
            },
        }
    }

    /// The IPFS node's address and where it came from: `--api`, `$IPFS_API`, `$IPFS_PATH/api`
    /// (or `~/.ipfs/api`), or the default ([`ww_content::ipfs::addr`]).
    pub fn api(&self) -> anyhow::Result<ww_content::ipfs::Api> {
        Ok(ww_content::ipfs::resolve(self.api.as_deref())?)
    }

    /// The IPFS node's API URL, resolved as [`Globals::api`].
    pub fn api_url(&self) -> anyhow::Result<String> {
        Ok(self.api()?.url)
    }

    /// The time each request to the node (or a registry) may take (`--api-timeout`, at least
    /// a second; 30 s by default).
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS).max(1))
    }

    /// The IPFS node, connected.
    pub fn connect(&self) -> anyhow::Result<ww_content::ipfs::Node> {
        Ok(ww_content::ipfs::Node::connect(
            &self.api_url()?,
            self.timeout(),
        )?)
    }
}

/// One line on stderr for each block `store` repaired: storing verified bytes replaced a block
/// file that did not hold them.
pub fn report_repairs(store: &Store) {
    for cid in store.repaired() {
        errln!(
            "wwpack: repaired block {cid} in the block store {}: its file did not match its CID \
             and was replaced by verified bytes",
            printable(&store.dir().display().to_string())
        );
    }
}

/// Logs to stderr as [`ww_clidocs::log`] says: `wwpack: warning: ...`, filtered by
/// `WWPACK_LOG`, else `RUST_LOG`, else `warn`; `-q` and `-v` set the overall level.
pub fn init_logging(flags: &LogArgs) {
    log::init(flags);
}

/// Prints `err` on stderr as `wwpack: error: ...` (the word coloured as `--color` says), each
/// cause its message does not already end with on a line of its own (`  caused by: ...`),
/// unless stdout was closed: whatever failed once the reader of stdout was gone (the write
/// itself, or work after it), nobody reads the output, and the command ends quietly, as other
/// Unix tools do. Returns whether it was an error to report (false: exit with success).
pub fn report_error(err: &anyhow::Error) -> bool {
    if output::stdout_closed() {
        return false;
    }
    let color = ww_clidocs::color::enabled(ww_clidocs::color::Stream::Stderr);
    errln!("{}", error_lines(err, color));
    true
}

/// `wwpack: error: MESSAGE` and its causes (see [`report_error`]), the control characters of
/// each line escaped: messages quote names from images and nodes, which must not drive the
/// terminal; the lines themselves stay lines.
fn error_lines(err: &anyhow::Error, color: bool) -> String {
    let word = ww_clidocs::log::level_word(tracing::Level::ERROR, color);
    let mut shown = vec![err.to_string()];
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !shown.iter().any(|line| line.ends_with(&cause)) {
            shown.push(cause);
        }
    }
    let mut out = format!("wwpack: {word} {}", printable_lines(&shown[0]));
    for cause in &shown[1..] {
        out.push_str("\n  caused by: ");
        out.push_str(&printable_lines(cause));
    }
    out
}

/// `message` with the control characters of each line escaped.
fn printable_lines(message: &str) -> String {
    message
        .split('\n')
        .map(|line| printable(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_prefix_and_the_causes_not_already_said_on_lines_of_their_own() {
        let inner = anyhow::anyhow!("disk full");
        let err = inner.context("writing x.car").context("exporting bafy");
        assert_eq!(
            error_lines(&err, false),
            "wwpack: error: exporting bafy\n  caused by: writing x.car\n  caused by: disk full"
        );
        // A library message that already ends with its cause says it once.
        let io = std::io::Error::other("denied");
        let err = anyhow::Error::new(ww_content::Error::io("read", "/x")(io));
        let text = error_lines(&err, false);
        assert_eq!(text.matches("denied").count(), 1, "{text}");
        assert!(!text.contains("caused by"), "{text}");
        assert!(error_lines(&err, true).starts_with("wwpack: \x1b[1;31merror:\x1b[0m "));
        let err = anyhow::anyhow!("a \x1b[2J b\n  second");
        assert_eq!(
            error_lines(&err, false),
            "wwpack: error: a \\x1b[2J b\n  second"
        );
    }
}
