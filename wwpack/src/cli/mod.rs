//! The command line's plumbing, shared by the verbs of [`crate::ops`]: the global flags and what
//! they find (the project's `wwpack.toml`, the block store, the IPFS node, from flags, the
//! environment and the XDG directories), logging, stdout and stderr ([`output`], `outln!`,
//! `errln!`), progress on stderr ([`progress`]), and how an error is printed.

mod log;
pub mod output;
pub mod progress;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use ww_content::store::Store;
use ww_content::text::printable;

use crate::config::Config;

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

/// The flags every verb takes.
#[derive(Debug, Clone, clap::Args)]
pub struct Globals {
    /// Path to wwpack.toml [default: found in the current directory or a parent]
    #[arg(long, global = true, value_name = "FILE")]
    pub manifest_path: Option<PathBuf>,

    /// Print only errors
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Embedded block store [default: $XDG_DATA_HOME/ww/blocks, or ~/.local/share/ww/blocks]
    #[arg(long, global = true, value_name = "DIR", env = "WW_STORE")]
    pub store: Option<PathBuf>,

    // The IPFS node, for every verb that reaches one (`push`, `pull`, `pin add`, `verify
    // --repair`, and `cat`, `ls`, `export`, `diff` for blocks the store lacks); the help is
    // `ww run --api`'s too.
    #[arg(long, global = true, value_name = "ADDR", help = ww_content::ipfs::addr::API_HELP)]
    pub api: Option<String>,

    /// Seconds to wait for each request to the IPFS node
    #[arg(long, global = true, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
}

impl Globals {
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
            None => ww_content::store::default_dir()
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

    /// The time each request to the node may take (`--timeout`, at least a second).
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout.max(1))
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

/// Logs to stderr: warnings (errors only with `quiet`), or what `WWPACK_LOG` asks for.
pub fn init_logging(quiet: bool) {
    log::init(quiet);
}

/// Prints `err` on stderr as `wwpack: error: ...`, unless stdout was closed: whatever failed
/// once the reader of stdout was gone (the write itself, or work after it), nobody reads the
/// output, and the command ends quietly, as other Unix tools do. Returns whether it was an
/// error to report (false: exit with success).
pub fn report_error(err: &anyhow::Error) -> bool {
    if output::stdout_closed() {
        return false;
    }
    errln!("wwpack: error: {}", printable_lines(&one_message(err)));
    true
}

/// `message` with the control characters of each line escaped: messages quote names from
/// images and nodes, which must not drive the terminal; the lines themselves stay lines.
fn printable_lines(message: &str) -> String {
    message
        .split('\n')
        .map(|line| printable(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The error and its causes, each cause added only when the message does not already end
/// with it (the library's messages include their cause).
fn one_message(err: &anyhow::Error) -> String {
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !message.ends_with(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message
}
