//! The flag groups of the verbs, each flattened into the verbs that act on it, so that a verb's
//! `--help` lists only the flags it reads: the project ([`ProjectArgs`]: the verbs that read
//! `wwpack.toml`), the block store ([`StoreArgs`]), the IPFS node ([`NodeArgs`]: the verbs that
//! may reach one; its timeout also bounds OCI registry requests) and an OCI registry
//! ([`RegistryArgs`]). `-q`, `-v` and `--color` act on every verb and are global
//! ([`ww_clidocs::log::LogArgs`]).
//!
//! The first three may also come before the verb (`wwpack --store DIR import x.car`), as they
//! did when they were global: [`EarlyArgs`] takes them there, hidden; the verb's own win.

use std::path::PathBuf;

/// The project, for the verbs that read `wwpack.toml`.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Project options")]
pub struct ProjectArgs {
    /// Path to wwpack.toml [default: found in the current directory or a parent]
    #[arg(long, value_name = "FILE")]
    pub manifest_path: Option<PathBuf>,
}

/// The embedded block store, for the verbs that read or write it.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Store options")]
pub struct StoreArgs {
    /// Embedded block store [env: WW_STORE] [default: $XDG_DATA_HOME/ww/blocks, or
    /// ~/.local/share/ww/blocks] (`wwpack help store`)
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
}

/// The IPFS node (and how long its requests, and an OCI registry's, may take).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Node options")]
pub struct NodeArgs {
    // The help is `ww run --api`'s too.
    #[arg(long, value_name = "ADDR", help = ww_content::ipfs::addr::API_HELP)]
    pub api: Option<String>,

    /// Seconds to wait for each request to the IPFS node (and to an OCI registry) [default:
    /// 30]; `--timeout` is an older spelling
    #[arg(long, value_name = "SECS", alias = "timeout")]
    pub api_timeout: Option<u64>,
}

/// How `--oci` verbs reach a registry.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
#[command(next_help_heading = "Registry options")]
pub struct RegistryArgs {
    /// Speak plain HTTP to a registry on a loopback address (127.0.0.1, localhost, [::1])
    #[arg(long)]
    pub plain_http: bool,
    /// Speak plain HTTP to any registry (anyone on the path can read and change what is sent;
    /// a pull's digests are still checked)
    #[arg(long)]
    pub insecure: bool,
}

/// The project, store and node flags given before the verb (hidden; see the module docs).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct EarlyArgs {
    #[arg(long, value_name = "FILE", hide = true)]
    pub manifest_path: Option<PathBuf>,
    #[arg(long, value_name = "DIR", hide = true)]
    pub store: Option<PathBuf>,
    #[arg(long, value_name = "ADDR", hide = true)]
    pub api: Option<String>,
    #[arg(long, value_name = "SECS", alias = "timeout", hide = true)]
    pub api_timeout: Option<u64>,
}
