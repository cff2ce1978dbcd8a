//! The `ww` command line: parses arguments and calls the runtime library. The flags of the log
//! and colour (`-q`, `-v`, `--color`) are [`ww_clidocs::log`]'s, as `wwpack`'s are; the
//! variables that stand in for flags (`WW_STORE`, `WW_CACHE`, `WW_IDENTITY`,
//! `WW_CACHE_MAX_SIZE`) are read here, not by clap, so that a value from the environment never
//! shows in a usage line as if it had been typed ([`ww_clidocs::env_var`]).

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use ww_clidocs::env_var;
use ww_clidocs::log::LogArgs;
use ww_runtime::run::RunOptions;

/// The Wetware runtime: boots images under wasmtime.
#[derive(Parser)]
#[command(name = "ww", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    log: LogArgs,
    /// Write ww's log (stderr) as one JSON object per line. The level filter comes from
    /// WW_LOG, else RUST_LOG (tracing's EnvFilter syntax, e.g. `info,ww::compile=debug`),
    /// else `warn`; -q and -v set its overall level
    #[arg(long, global = true)]
    json_log: bool,
}

// Parsed once per run: boxing `Run`'s flags would only obscure them.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Boot bin/main.wasm of the per-file union of an image and overlays
    ///
    /// Each layer is a CID, /ipfs/CID[/path], /ipns/NAME[/path], oci://REGISTRY/REPO[:TAG|@DIGEST]
    /// (fetched once into the block store, every digest verified, its root checked against the
    /// CID its manifest promises) or a directory, resolved from the
    /// embedded block store, then the IPFS node, then the host path (a name once, through the
    /// node, before anything loads). The union is per file: a later layer wins,
    /// directories merge. It is materialized once in the cache under the union's CID. pid0 runs
    /// as a WASI 0.2 command with stdio inherited and the union preopened read-only at `/`. ww
    /// exits with pid0's exit status; 125 when ww itself fails (bad layer, no or unbootable
    /// pid0), 134 when pid0 traps, 137 when it goes past a memory, table or instance limit or
    /// the memory budget all processes share, 124 past its --timeout, 130 on SIGINT and 143 on
    /// SIGTERM (pid0 and its children are stopped). Children have the same limits; a child past
    /// one fails its Process.wait.
    ///
    /// With --follow SOURCE, every positional argument is an overlay and the image is the root
    /// SOURCE points at: an IPNS name (/ipns/NAME, resolved every --poll-interval through the
    /// node), a head file holding /ipfs/CID (as `wwpack publish --head` writes it), or a
    /// wwpack.lock[:IMAGE] (`wwpack build` in another terminal upgrades the running image). Each
    /// new root is fetched, verified and checked as a boot checks it while the old one runs (one
    /// that fails is logged and skipped); then the epoch advances, so the old sessions' Host
    /// and Executor fail with staleEpoch, the old pid0 has --upgrade-grace to exit, its stdin
    /// is closed, it is stopped, and the new pid0 and services boot with the same overlays.
    /// Each transition is logged on stderr. When pid0 exits by itself, --on-exit says what
    /// follows.
    #[command(after_help = "Examples:
  ww run target/wwpack/images/default examples/motd-overlay -- a b
  ww run -e GREETING=hi --env-file ./app.env target/wwpack/images/default
  ww run --follow /ipns/k51qzi5uqu5d... examples/motd-overlay
  ww run --follow wwpack.lock:shell
  ww run oci://127.0.0.1:5000/fleet:v2 --plain-http")]
    Run {
        /// The image: a CID, /ipfs/CID[/path], /ipns/NAME[/path] (resolved once through the
        /// IPFS node), oci://REGISTRY/REPO[:TAG|@DIGEST], or a directory; with --follow, the
        /// first overlay
        #[arg(required_unless_present = "follow", value_name = "IMAGE")]
        image: Option<String>,
        /// Overlays (CID, /ipfs/CID[/path], /ipns/NAME[/path] or directory), applied in order on
        /// top of the image
        overlays: Vec<String>,
        /// Arguments for pid0 (after `--`)
        #[arg(last = true)]
        args: Vec<String>,
        /// An environment variable of pid0: NAME=VALUE, or NAME to pass ww's own value; repeat
        /// for more. Over the image's etc/environment; services get theirs from their own
        /// image (svc/NAME/etc/environment), none from here
        #[arg(short = 'e', long = "env", value_name = "NAME[=VALUE]")]
        env: Vec<String>,
        /// A file of pid0's environment variables, one NAME=VALUE per line (`#` comments);
        /// read before the -e flags, a later value of a name wins
        #[arg(long, value_name = "FILE")]
        env_file: Vec<PathBuf>,
        /// Boot the root SOURCE points at and upgrade to each new one: /ipns/NAME, a head file,
        /// or wwpack.lock[:IMAGE] (the only image, or `default`, without :IMAGE)
        #[arg(long, value_name = "SOURCE")]
        follow: Option<String>,
        /// How often --follow reads its source, e.g. 1s or 500ms [default: 5s for a name,
        /// 500ms for a file]
        #[arg(long, value_name = "DURATION", requires = "follow",
              value_parser = ww_runtime::units::parse_duration)]
        poll_interval: Option<std::time::Duration>,
        /// How long an old pid0 has to exit once the epoch has advanced, before its stdin is
        /// closed and it is stopped
        #[arg(long, value_name = "DURATION", requires = "follow", default_value = "5s",
              value_parser = ww_runtime::units::parse_duration)]
        upgrade_grace: std::time::Duration,
        /// When pid0 exits by itself while following: `exit` ends the run with its status,
        /// `wait` stops its services and boots the source's next root
        #[arg(
            long,
            value_name = "WHAT",
            requires = "follow",
            value_enum,
            default_value = "exit"
        )]
        on_exit: ww_runtime::follow::OnExit,
        /// Embedded block store [env: WW_STORE] [default: $XDG_DATA_HOME/ww/blocks, or
        /// ~/.local/share/ww/blocks]
        #[arg(long, value_name = "DIR", help_heading = "Store options")]
        store: Option<PathBuf>,
        /// Cache of files and union roots [env: WW_CACHE] [default: $XDG_CACHE_HOME/ww, or
        /// ~/.cache/ww]
        #[arg(long, value_name = "DIR", help_heading = "Store options")]
        cache: Option<PathBuf>,
        // For blocks not in the store; the same flag, forms and order as wwpack's --api.
        #[arg(long, value_name = "ADDR", help = ww_content::ipfs::addr::API_HELP,
              help_heading = "Node options")]
        api: Option<String>,
        /// Seconds to wait for each request to the IPFS node (and to an OCI registry), as
        /// wwpack's --api-timeout
        #[arg(
            long,
            value_name = "SECS",
            default_value_t = 30,
            help_heading = "Node options"
        )]
        api_timeout: u64,
        /// Speak plain HTTP to an oci:// registry on a loopback address (127.0.0.1, localhost)
        #[arg(long, help_heading = "Registry options")]
        plain_http: bool,
        /// Speak plain HTTP to any oci:// registry (anyone on the path can read and change what
        /// is sent; the digests are still checked)
        #[arg(long, help_heading = "Registry options")]
        insecure: bool,
        /// Linear memory of each process (pid0 and every child), e.g. 64MiB, 1GiB or bytes
        #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = ww_runtime::units::parse_size)]
        max_memory: u64,
        /// Linear memory of all processes of this run together (pid0, children, services).
        /// Growth past it stops the process that grows (pid0: exit 137; a child: its
        /// Process.wait fails); runBytes is refused when less than 64 KiB is left
        #[arg(long, value_name = "SIZE", default_value = "2GiB", value_parser = ww_runtime::units::parse_size)]
        max_total_memory: u64,
        /// Processes alive at once in this run, counting pid0, every child at any depth and
        /// every svc/ service. At the limit, runBytes is refused with an RPC error (the caller
        /// goes on) until a process ends
        #[arg(long, value_name = "N", default_value_t = ww_runtime::limits::DEFAULT_MAX_PROCESSES,
              value_parser = ww_runtime::limits::parse_max_processes)]
        max_processes: usize,
        /// Elements of each table of each process
        #[arg(long, value_name = "N", default_value_t = ww_runtime::limits::DEFAULT_MAX_TABLE_ELEMENTS)]
        max_table_elements: usize,
        /// Core wasm instances of each process (a component instantiates several)
        #[arg(long, value_name = "N", default_value_t = ww_runtime::limits::DEFAULT_MAX_INSTANCES)]
        max_instances: usize,
        /// Wall-clock time each process may run, e.g. 30s, 2m, 500ms [default: none]
        #[arg(long, value_name = "DURATION", value_parser = ww_runtime::units::parse_duration)]
        timeout: Option<std::time::Duration>,
        /// The node's ed25519 key (libp2p protobuf or raw 32-byte seed); it must exist
        /// [env: WW_IDENTITY] [default: $XDG_DATA_HOME/ww/identity, or
        /// ~/.local/share/ww/identity, created when first needed]
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
        /// Compile every component; neither read nor write the compiled cache (<cache>/compiled)
        #[arg(long)]
        no_cache: bool,
        /// Bytes of files the image and overlays together may put in the cache (each distinct
        /// file once), checked before any is written, e.g. 512MiB or 8GiB
        #[arg(long, value_name = "SIZE", default_value = "4GiB", value_parser = ww_runtime::units::parse_size)]
        max_image_size: u64,
        /// Size the cache (files, union roots, compiled components) is pruned to once pid0 is
        /// compiled: least recently used entries first, never what a running ww holds
        /// [env: WW_CACHE_MAX_SIZE] [default: 1GiB]
        #[arg(long, value_name = "SIZE", value_parser = ww_runtime::units::parse_size)]
        cache_max_size: Option<u64>,
    },
    /// Show or shrink ww's cache: files, union roots and compiled components
    ///
    /// Entries are listed least recently used first. prune and clear remove entries no running
    /// ww holds (its union root and files stay until it ends), least recently used first.
    /// `ww run` prunes to --cache-max-size itself; these verbs exit 0, or 125 when the cache
    /// cannot be read or an entry cannot be removed.
    #[command(after_help = "Examples:
  ww cache ls
  ww cache prune --max-size 512MiB
  ww cache clear --json")]
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
        /// The cache [env: WW_CACHE] [default: $XDG_CACHE_HOME/ww, or ~/.cache/ww]
        #[arg(long, value_name = "DIR", global = true)]
        cache: Option<PathBuf>,
    },
    /// Print the shell completion script of ww
    #[command(after_help = "Examples:
  source <(ww completions bash)
  ww completions fish > ~/.config/fish/completions/ww.fish")]
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: ww_clidocs::Shell,
    },
    /// Write the man pages of ww and of each verb into a directory (ww.1, ww-run.1, ...)
    ///
    /// Made from the same definitions as --help; nothing installs them: put DIR in MANPATH.
    #[command(after_help = "Example:
  ww man target/man && MANPATH=target/man man ww-run")]
    Man {
        /// Where the pages go (created if missing)
        dir: PathBuf,
    },
    /// Print the node's libp2p peer ID
    ///
    /// The peer ID of the key `ww run` uses: --identity FILE, else the default key file, which
    /// is created (mode 0600) when missing.
    #[command(after_help = "Examples:
  ww identity
  ww identity --identity ./node.key --json")]
    Identity {
        /// The node's key file; it must exist [env: WW_IDENTITY] [default:
        /// $XDG_DATA_HOME/ww/identity, or ~/.local/share/ww/identity]
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
        /// One JSON object: {"peer_id"}
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum CacheCommand {
    /// List the entries (kind, size in bytes, last used, id) and their total
    #[command(after_help = "Example:\n  ww cache ls --json")]
    Ls {
        /// One JSON object: {"cache", "entries": [{"kind", "id", "size", "last_used",
        /// "last_used_ns", "held"}], "total"}
        #[arg(long)]
        json: bool,
    },
    /// Evict least recently used entries until the cache is at most --max-size
    #[command(after_help = "Example:\n  ww cache prune --max-size 256MiB")]
    Prune {
        /// The size to prune to, e.g. 512MiB or 1GiB [env: WW_CACHE_MAX_SIZE] [default: 1GiB]
        #[arg(long, value_name = "SIZE", value_parser = ww_runtime::units::parse_size)]
        max_size: Option<u64>,
        /// One JSON object: {"cache", "max_size", "removed": [...], "held": [...], "freed",
        /// "total"}
        #[arg(long)]
        json: bool,
    },
    /// Remove every entry no running ww holds
    #[command(after_help = "Example:\n  ww cache clear")]
    Clear {
        /// One JSON object, as prune's
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&ww_clidocs::parse(Cli::command())) {
        Ok(cli) => cli,
        Err(e) => ww_clidocs::exit(&e),
    };
    ww_clidocs::color::set(cli.log.color);
    ww_clidocs::log::Log {
        name: "ww",
        vars: &["WW_LOG", "RUST_LOG"],
        json: cli.json_log,
    }
    .init(&cli.log);
    ww_runtime::logline::set_json(cli.json_log);
    ww_runtime::logline::set_quiet(cli.log.quiet);
    match cli.command {
        Command::Run {
            image,
            overlays,
            args,
            env,
            env_file,
            follow,
            poll_interval,
            upgrade_grace,
            on_exit,
            store,
            cache,
            api,
            api_timeout,
            plain_http,
            insecure,
            max_memory,
            max_total_memory,
            max_processes,
            max_table_elements,
            max_instances,
            timeout,
            identity,
            no_cache,
            max_image_size,
            cache_max_size,
        } => {
            let mut layers: Vec<String> = image.into_iter().collect();
            layers.extend(overlays);
            let identity = or_env(identity, "WW_IDENTITY");
            let cache_max_size = match size_or_env(cache_max_size, "WW_CACHE_MAX_SIZE") {
                Ok(size) => size,
                Err(message) => {
                    ww_runtime::logline::error(&message);
                    return ExitCode::from(ww_runtime::error::EXIT_USAGE);
                }
            };
            let (Some(store), Some(cache)) = (
                or_env(store, "WW_STORE").or_else(ww_content::store::default_dir),
                or_env(cache, "WW_CACHE").or_else(ww_runtime::cache::Cache::default_dir),
            ) else {
                ww_runtime::logline::error(
                    "no home for the block store and cache: set --store and --cache, or HOME",
                );
                return ExitCode::from(ww_runtime::error::EXIT_HOST_ERROR);
            };
            let env = match ww_runtime::env::collect(&env_file, &env) {
                Ok(env) => env,
                Err(err) => {
                    ww_runtime::logline::error(&err);
                    return ExitCode::from(ww_runtime::error::EXIT_HOST_ERROR);
                }
            };
            let opts = RunOptions {
                layers,
                args,
                env,
                store,
                cache,
                identity,
                limits: ww_runtime::limits::Limits {
                    max_memory,
                    max_table_elements,
                    max_instances,
                    timeout,
                    max_processes,
                    max_total_memory,
                },
                no_cache,
                max_image_size,
                cache_max_size,
                cancel: ww_content::cancel::Cancel::new(),
            };
            let api = match ww_content::ipfs::resolve(api.as_deref()) {
                Ok(api) => api,
                Err(err) => {
                    ww_runtime::logline::error(&err.to_string());
                    return ExitCode::from(ww_runtime::error::EXIT_HOST_ERROR);
                }
            };
            let timeout = std::time::Duration::from_secs(api_timeout.max(1));
            let reach = ww_runtime::oci::Reach {
                plain_http,
                insecure,
                timeout,
            };
            let opts = match ww_runtime::oci::resolve_layers(&opts, reach) {
                Ok(layers) => ww_runtime::run::RunOptions { layers, ..opts },
                Err(err) => {
                    ww_runtime::logline::error(&err.to_string());
                    return ExitCode::from(err.exit_status());
                }
            };
            let node =
                ww_content::ipfs::LazyNode::new(&api.url, timeout).with_cancel(opts.cancel.clone());
            let opts = match ww_runtime::names::resolve_layers(&opts.layers, &node) {
                Ok(layers) => ww_runtime::run::RunOptions { layers, ..opts },
                Err(err) => {
                    ww_runtime::logline::error(&err.to_string());
                    return ExitCode::from(err.exit_status());
                }
            };
            if let Some(source) = follow {
                let source = match ww_runtime::follow::source::Source::parse(&source) {
                    Ok(source) => source,
                    Err(err) => {
                        ww_runtime::logline::error(&format!("--follow: {err}"));
                        return ExitCode::from(ww_runtime::error::EXIT_HOST_ERROR);
                    }
                };
                let follow = ww_runtime::follow::FollowOptions {
                    poll_interval: poll_interval.unwrap_or_else(|| source.default_interval()),
                    source,
                    grace: upgrade_grace,
                    on_exit,
                };
                let node = ww_runtime::follow::NodeSpec {
                    url: api.url.clone(),
                    label: api.label(),
                    timeout,
                };
                return exit_with(ww_runtime::follow::follow(&opts, &follow, node));
            }
            exit_with(ww_runtime::run::run(&opts, Some((&node, api.label()))))
        }
        Command::Cache { command, cache } => {
            let Some(dir) =
                or_env(cache, "WW_CACHE").or_else(ww_runtime::cache::Cache::default_dir)
            else {
                ww_runtime::logline::error("no home for the cache: set --cache, or HOME");
                return ExitCode::from(ww_runtime::error::EXIT_HOST_ERROR);
            };
            use ww_runtime::cache::cli;
            ExitCode::from(match command {
                CacheCommand::Ls { json } => cli::ls(&dir, json),
                CacheCommand::Prune { max_size, json } => {
                    match size_or_env(max_size, "WW_CACHE_MAX_SIZE") {
                        Ok(max_size) => cli::prune(&dir, max_size, json),
                        Err(message) => {
                            ww_runtime::logline::error(&message);
                            ww_runtime::error::EXIT_USAGE
                        }
                    }
                }
                CacheCommand::Clear { json } => cli::clear(&dir, json),
            })
        }
        Command::Completions { shell } => {
            ww_clidocs::completions(shell, &mut Cli::command(), &mut std::io::stdout().lock());
            ExitCode::SUCCESS
        }
        Command::Man { dir } => match ww_clidocs::man_pages(Cli::command(), &dir) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                ww_runtime::logline::error(&format!("writing man pages to {}: {e}", dir.display()));
                ExitCode::from(ww_runtime::error::EXIT_HOST_ERROR)
            }
        },
        Command::Identity { identity, json } => {
            match ww_runtime::identity::Identity::resolve(
                or_env(identity, "WW_IDENTITY").as_deref(),
            ) {
                Ok(key) if json => {
                    println!("{}", serde_json::json!({"peer_id": key.peer_id()}));
                    ExitCode::SUCCESS
                }
                Ok(key) => {
                    println!("{}", key.peer_id());
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    ww_runtime::logline::error(&err.to_string());
                    ExitCode::from(ww_runtime::error::EXIT_HOST_ERROR)
                }
            }
        }
    }
}

/// ww's exit status for a run's outcome, its error logged.
fn exit_with(outcome: Result<u8, ww_runtime::error::BootError>) -> ExitCode {
    match outcome {
        Ok(status) => ExitCode::from(status),
        Err(err) => {
            ww_runtime::logline::error(&err.to_string());
            ExitCode::from(err.exit_status())
        }
    }
}

/// A path flag, else its variable when set and not empty.
fn or_env(flag: Option<PathBuf>, var: &str) -> Option<PathBuf> {
    flag.or_else(|| env_var(var).map(PathBuf::from))
}

/// A size flag, else its variable (a size as the flag takes), else the cache's default size.
fn size_or_env(flag: Option<u64>, var: &str) -> Result<u64, String> {
    if let Some(size) = flag {
        return Ok(size);
    }
    match env_var(var) {
        None => Ok(ww_runtime::cache::prune::DEFAULT_MAX_SIZE),
        Some(value) => {
            let text = value.to_string_lossy();
            ww_runtime::units::parse_size(&text).map_err(|e| format!("{var}={text}: {e}"))
        }
    }
}
