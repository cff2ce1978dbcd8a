//! The `wwpack` command line: parses arguments and calls the library.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use ww_content::cid::Cid;
use ww_content::path::ContentPath;
use ww_content::store::Store;
use ww_content::text::printable;
use ww_content::unixfs::Profile;
use wwpack::build::BuildOptions;
use wwpack::config::Config;
use wwpack::content;
use wwpack::diff::SideSpec;
use wwpack::output::Stdout;

/// Writes one line to stdout, as `println!` would, but evaluates to an `anyhow::Result` instead
/// of panicking: a closed stdout (`wwpack ls | head -1`) is an error that `main` turns into a
/// quiet exit with status 0 ([`wwpack::output::stdout_closed`]).
macro_rules! outln {
    ($($arg:tt)*) => {
        std::io::Write::write_all(&mut Stdout, format!("{}\n", format_args!($($arg)*)).as_bytes())
            .context("writing to stdout")
    };
}

/// Writes one line to stderr; unlike `eprintln!`, a stderr nobody reads is no panic.
macro_rules! errln {
    ($($arg:tt)*) => {{
        let line = format!("{}\n", format_args!($($arg)*));
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    }};
}

/// Reproducible, content-addressed images for Wetware.
#[derive(Parser)]
#[command(name = "wwpack", version, about)]
struct Cli {
    /// Path to wwpack.toml [default: found in the current directory or a parent]
    #[arg(long, global = true, value_name = "FILE")]
    manifest_path: Option<PathBuf>,

    /// Print only errors
    #[arg(short, long, global = true)]
    quiet: bool,

    /// Embedded block store [default: $XDG_DATA_HOME/ww/blocks, or ~/.local/share/ww/blocks]
    #[arg(long, global = true, value_name = "DIR", env = "WW_STORE")]
    store: Option<PathBuf>,

    /// IPFS node RPC API: http://HOST:PORT, HOST:PORT or /ip4/A.B.C.D/tcp/PORT
    /// [default: $IPFS_API, or http://127.0.0.1:5001]
    #[arg(long, global = true, value_name = "ADDR")]
    api: Option<String>,

    /// Seconds to wait for each request to the IPFS node
    #[arg(long, global = true, value_name = "SECS", default_value_t = 30)]
    timeout: u64,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build guests, assemble and validate images, write them and wwpack.lock
    ///
    /// Guests are built for wasm32-wasip2 in dependency order; each image is written to
    /// <out-dir>/images/<image>/, its blocks to the block store, and its manifest to wwpack.lock.
    /// When nothing that goes into the images changed, nothing is rebuilt or re-hashed.
    Build {
        /// Images to build [default: all images of wwpack.toml]
        images: Vec<String>,
        /// Output directory [default: target/wwpack next to wwpack.toml]
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// Fail (exit 1) and print the differences when the result does not match wwpack.lock
        #[arg(long)]
        locked: bool,
        /// Make a layer shadowing bin/main.wasm or svc/*/bin/main.wasm an error, not a warning
        #[arg(long)]
        deny_shadowing: bool,
        /// Print a JSON summary instead of one line per image
        #[arg(long)]
        json: bool,
    },
    /// Print the CID of a file or directory tree, as `ipfs add -r --hidden --only-hash`; writes nothing
    Cid {
        path: PathBuf,
        /// unixfs-v1-2025, unixfs-v0-2015 or kubo-cidv1
        #[arg(long, default_value = "unixfs-v1-2025")]
        profile: Profile,
        /// Print a JSON object instead of the CID
        #[arg(long)]
        json: bool,
    },
    /// Store a file or directory tree in the block store and pin it; prints its CID
    Add {
        path: PathBuf,
        /// unixfs-v1-2025, unixfs-v0-2015 or kubo-cidv1
        #[arg(long, default_value = "unixfs-v1-2025")]
        profile: Profile,
        /// Print a JSON object instead of the CID
        #[arg(long)]
        json: bool,
    },
    /// Write a file from the block store to stdout (every block verified)
    Cat {
        /// CID[/path] or /ipfs/CID[/path]
        target: ContentPath,
        /// Start at this byte
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// Write at most this many bytes
        #[arg(long)]
        length: Option<u64>,
    },
    /// List a directory in the block store: CID, size, name (a trailing / marks directories)
    Ls {
        /// CID[/path] or /ipfs/CID[/path]
        target: ContentPath,
        /// Print JSON lines instead
        #[arg(long)]
        json: bool,
    },
    /// Write the DAG under a CID from the block store to a CAR v1 file
    Export {
        cid: Cid,
        /// Where to write the CAR: `-` is stdout; a regular file is replaced atomically; a
        /// FIFO or device is written in place; a symlink is followed, never replaced
        #[arg(short, long, value_name = "FILE.car")]
        output: PathBuf,
    },
    /// Read a CAR v1 file into the block store, verifying every block, and pin its roots
    Import {
        #[arg(value_name = "FILE.car")]
        car: PathBuf,
    },
    /// Remove every block of the block store that no pin reaches
    Gc,
    /// Upload the blocks of images (and their layers) the IPFS node lacks, and pin the roots
    Push {
        /// Images of wwpack.lock [default: all]
        images: Vec<String>,
        /// Print a JSON report
        #[arg(long)]
        json: bool,
    },
    /// Fetch a DAG from the IPFS node into the block store (every block verified) and pin it
    Pull { cid: Cid },
    /// Show what changed between two versions of images, path by path and inside files
    ///
    /// Each side is a wwpack.lock (FILE, or FILE:IMAGE for one image of it), a directory with
    /// wwpack.toml and wwpack.lock (that lock), an image directory, a CID[/path] (block store,
    /// then IPFS node), or --git REV[:IMAGE] (the lock committed at REV). Sides are taken in the
    /// order given. With one side, B is a fresh build of the working tree (into
    /// target/wwpack/worktree; wwpack.lock is left alone); with none, A is the committed
    /// wwpack.lock (at git HEAD, or the file outside a repository). Details: docs/diff.md.
    ///
    /// Exit status as diff(1): 0 identical, 1 different, 2 trouble.
    Diff {
        /// A and B
        #[arg(value_name = "SIDE")]
        sides: Vec<String>,
        /// A side: the wwpack.lock committed at REV (or one image of it)
        #[arg(long, value_name = "REV[:IMAGE]")]
        git: Vec<String>,
        /// text, markdown (a pull-request comment) or json (schema in docs/diff.md)
        #[arg(long, default_value = "text")]
        format: wwpack::diff::render::Format,
        /// Colour text output: auto (on a terminal, unless NO_COLOR is set), always or never
        #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
        color: String,
        /// Compare only this image of sides that have several (locks, --git, the working tree)
        #[arg(long, value_name = "NAME")]
        image: Option<String>,
        /// Largest text file shown as a unified diff, in bytes
        #[arg(long, value_name = "BYTES", default_value_t = wwpack::diff::content::DEFAULT_TEXT_LIMIT)]
        text_limit: u64,
    },
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    init_logging(cli.quiet);
    // `wwpack diff` reports trouble as diff(1) does: 2, since 1 means "different".
    let failure = match cli.command {
        Command::Diff { .. } => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    };
    let result = match matches.subcommand() {
        Some(("diff", sub)) => diff_command(&cli, side_specs(sub)),
        _ => run(cli).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        // Whatever failed once the reader of stdout was gone (the write itself, or work
        // after it), nobody reads the output: end quietly, as other Unix tools do.
        Err(_) if wwpack::output::stdout_closed() => ExitCode::SUCCESS,
        Err(err) => {
            errln!("wwpack: error: {}", printable_lines(&one_message(&err)));
            failure
        }
    }
}

/// The sides of `wwpack diff` in the order given, positional and `--git` alike.
fn side_specs(sub: &clap::ArgMatches) -> Vec<(usize, SideSpec)> {
    let mut specs = Vec::new();
    for (id, make) in [
        ("sides", SideSpec::Arg as fn(String) -> SideSpec),
        ("git", SideSpec::Git),
    ] {
        let values = sub.get_many::<String>(id).into_iter().flatten();
        let indices = sub.indices_of(id).into_iter().flatten();
        for (value, index) in values.zip(indices) {
            specs.push((index, make(value.clone())));
        }
    }
    specs.sort_by_key(|(index, _)| *index);
    specs
}

fn diff_command(cli: &Cli, specs: Vec<(usize, SideSpec)>) -> anyhow::Result<ExitCode> {
    let Command::Diff {
        format,
        color,
        text_limit,
        image,
        ..
    } = &cli.command
    else {
        unreachable!("called for diff only")
    };
    let specs: Vec<SideSpec> = specs.into_iter().map(|(_, s)| s).collect();
    if specs.len() > 2 {
        anyhow::bail!(
            "wwpack diff takes at most two sides (A and B), not {}",
            specs.len()
        );
    }
    // The project is needed only by some sides (and lends its lock's provenance to others).
    let config = match load_config(cli) {
        Ok(config) => Some(config),
        Err(e)
            if cli.manifest_path.is_none()
                && matches!(
                    e.downcast_ref::<wwpack::Error>(),
                    Some(wwpack::Error::ConfigNotFound { .. })
                ) =>
        {
            None
        }
        Err(e) => return Err(e),
    };
    // Reading content may fetch blocks from the node into the store; a read-only store still
    // serves what it has.
    let store = store_dir(cli).ok().and_then(|dir| {
        Store::open(&dir)
            .or_else(|_| Store::open_read_only(&dir))
            .ok()
    });
    let url = ww_content::ipfs::api_url(cli.api.as_deref())?;
    let node =
        ww_content::ipfs::LazyNode::new(&url, std::time::Duration::from_secs(cli.timeout.max(1)));
    let env = wwpack::diff::Env {
        project: config.as_ref(),
        store: store.as_ref(),
        node: Some(&node),
        node_label: Some(url.clone()),
        quiet: cli.quiet,
    };
    let reader = wwpack::diff::ContentReader {
        store: store.as_ref(),
        node: Some(&node),
        text_limit: *text_limit,
    };
    let report = wwpack::diff::run(&env, &specs, image.as_deref(), &reader)?;
    let color = match color.as_str() {
        "always" => true,
        "never" => false,
        _ => {
            std::io::IsTerminal::is_terminal(&std::io::stdout())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let text = wwpack::diff::render::render(&report, *format, color);
    std::io::Write::write_all(&mut Stdout, text.as_bytes())
        .and_then(|()| std::io::Write::flush(&mut Stdout))
        .context("writing to stdout")?;
    Ok(ExitCode::from(if report.identical { 0 } else { 1 }))
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    Ok(match &cli.manifest_path {
        Some(file) => Config::load(file)?,
        None => Config::discover(&std::env::current_dir().context("current directory")?)?,
    })
}

fn store_dir(cli: &Cli) -> anyhow::Result<PathBuf> {
    match &cli.store {
        Some(dir) => Ok(dir.clone()),
        None => ww_content::store::default_dir()
            .context("no block store: set --store DIR, WW_STORE, XDG_DATA_HOME or HOME"),
    }
}

/// The store, created if missing and checked to be writable.
fn open_store(cli: &Cli) -> anyhow::Result<Store> {
    Ok(Store::open(&store_dir(cli)?)?)
}

fn connect(cli: &Cli) -> anyhow::Result<ww_content::ipfs::Node> {
    let url = ww_content::ipfs::api_url(cli.api.as_deref())?;
    Ok(ww_content::ipfs::Node::connect(
        &url,
        std::time::Duration::from_secs(cli.timeout.max(1)),
    )?)
}

/// A spinner on stderr, hidden with -q or when stderr is not a terminal.
fn progress_bar(quiet: bool) -> indicatif::ProgressBar {
    if quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}

/// An existing store, for reading only.
fn read_store(cli: &Cli) -> anyhow::Result<Store> {
    Ok(Store::open_read_only(&store_dir(cli)?)?)
}

fn print_node(
    path: &std::path::Path,
    profile: &Profile,
    node: &ww_content::unixfs::Node,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        let v = serde_json::json!({
            "cid": node.cid.to_string(),
            "profile": profile.name,
            "path": path.display().to_string(),
            "size": node.tsize,
        });
        outln!("{v}")
    } else {
        outln!("{}", node.cid)
    }
}

/// One line on stderr for each block `store` repaired: storing verified bytes replaced a block
/// file that did not hold them.
fn report_repairs(store: &Store) {
    for cid in store.repaired() {
        errln!(
            "wwpack: repaired block {cid} in the block store {}: its file did not match its CID \
             and was replaced by verified bytes",
            printable(&store.dir().display().to_string())
        );
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Cid {
            path,
            profile,
            json,
        } => print_node(path, profile, &content::cid(path, profile)?, *json)?,
        Command::Add {
            path,
            profile,
            json,
        } => {
            let store = open_store(&cli)?;
            let node = content::add(&store, path, profile)?;
            report_repairs(&store);
            print_node(path, profile, &node, *json)?
        }
        Command::Cat {
            target,
            offset,
            length,
        } => {
            let store = read_store(&cli)?;
            let mut out = std::io::BufWriter::new(Stdout);
            content::cat(&store, target, *offset, *length, &mut out)?;
            std::io::Write::flush(&mut out).context("writing to stdout")?;
        }
        Command::Ls { target, json } => {
            let store = read_store(&cli)?;
            for e in content::ls(&store, target)? {
                if *json {
                    // Exact: JSON escapes control characters itself.
                    outln!("{}", serde_json::to_string(&e)?)?;
                } else {
                    let slash = if e.kind == "directory" { "/" } else { "" };
                    let arrow = e
                        .target
                        .map(|t| format!(" -> {}", printable(&t)))
                        .unwrap_or_default();
                    outln!("{} {} {}{slash}{arrow}", e.cid, e.size, printable(&e.name))?;
                }
            }
        }
        Command::Export { cid, output } => {
            let store = read_store(&cli)?;
            let r = content::export(&store, cid, output)?;
            if !cli.quiet {
                let to = if output.as_os_str() == "-" {
                    "stdout".to_string()
                } else {
                    printable(&output.display().to_string()).into_owned()
                };
                errln!("wrote {to}: {} blocks, {} bytes", r.blocks, r.car_bytes);
            }
        }
        Command::Import { car } => {
            let store = open_store(&cli)?;
            let r = content::import(&store, car)?;
            report_repairs(&store);
            for root in &r.roots {
                outln!("{root}")?;
            }
            if !cli.quiet {
                errln!(
                    "imported {} blocks ({} bytes), {} duplicate sections; pinned {} root(s)",
                    r.blocks,
                    r.bytes,
                    r.duplicates,
                    r.roots.len()
                );
            }
        }
        Command::Push { images, json } => {
            let config = load_config(&cli)?;
            let store = open_store(&cli)?;
            let lock_path = config.root.join(ww_image::manifest::LOCK_FILE);
            let lock = ww_image::manifest::Lock::read(&lock_path)?.with_context(|| {
                format!(
                    "no {} to push from: run `wwpack build`",
                    lock_path.display()
                )
            })?;
            let names: Vec<String> = if images.is_empty() {
                lock.images.keys().cloned().collect()
            } else {
                images.clone()
            };
            let mut items = Vec::new();
            for name in &names {
                let image = lock
                    .images
                    .get(name)
                    .with_context(|| format!("no image `{name}` in {}", lock_path.display()))?;
                items.push(ww_content::transfer::PushItem {
                    name: name.clone(),
                    root: image.root.parse()?,
                    also: image
                        .layers
                        .iter()
                        .map(|l| l.cid.parse())
                        .collect::<Result<_, _>>()?,
                });
            }
            let node = connect(&cli)?;
            let bar = progress_bar(cli.quiet);
            let counts = ww_content::transfer::push(&store, &node, &items, |c| {
                bar.set_message(format!(
                    "{} blocks ({} bytes) sent, {} skipped",
                    c.blocks_sent, c.bytes_sent, c.blocks_skipped
                ));
            })?;
            bar.finish_and_clear();
            if *json {
                let images: Vec<_> = items
                    .iter()
                    .map(|i| serde_json::json!({"name": i.name, "root": i.root.to_string()}))
                    .collect();
                outln!(
                    "{}",
                    serde_json::json!({"api": node.url(), "images": images, "counts": counts})
                )?;
            } else {
                for item in &items {
                    outln!("{}\t{}", printable(&item.name), item.root)?;
                }
                if !cli.quiet {
                    errln!(
                        "sent {} blocks ({} bytes), skipped {} blocks ({} bytes) already on {}",
                        counts.blocks_sent,
                        counts.bytes_sent,
                        counts.blocks_skipped,
                        counts.bytes_skipped,
                        node.url()
                    );
                }
            }
        }
        Command::Diff { .. } => unreachable!("`wwpack diff` is run by diff_command"),
        Command::Pull { cid } => {
            let store = open_store(&cli)?;
            let node = connect(&cli)?;
            let counts = ww_content::transfer::pull(&store, &node, cid)?;
            report_repairs(&store);
            outln!("{cid}")?;
            if !cli.quiet {
                errln!(
                    "fetched {} blocks ({} bytes), {} already here; pinned {cid}",
                    counts.blocks_sent,
                    counts.bytes_sent,
                    counts.blocks_skipped
                );
            }
        }
        Command::Gc => {
            let store = open_store(&cli)?;
            let r = content::gc(&store)?;
            outln!(
                "removed {} blocks ({} bytes), kept {}",
                r.removed,
                r.bytes_freed,
                r.kept
            )?;
            if !r.corrupt.is_empty() || r.missing > 0 {
                errln!(
                    "warning: {} pinned blocks missing, {} corrupt (kept): {}",
                    r.missing,
                    r.corrupt.len(),
                    r.corrupt
                        .iter()
                        .map(Cid::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
        }
        Command::Build {
            images,
            out_dir,
            locked,
            deny_shadowing,
            json,
        } => {
            let config = load_config(&cli)?;
            let store = open_store(&cli)?;
            let opts = BuildOptions {
                images: images.clone(),
                out_dir: out_dir.clone(),
                quiet: cli.quiet,
                locked: *locked,
                deny_shadowing: *deny_shadowing,
                lock_file: None,
            };
            let report = wwpack::build::build(&config, &opts, &store)?;
            report_repairs(&store);
            if *json {
                outln!("{}", serde_json::to_string_pretty(&report)?)?;
            } else if !cli.quiet {
                for image in &report.images {
                    outln!(
                        "{}\t{}\t{} files, {} bytes{}",
                        image.name,
                        image.root,
                        image.files,
                        image.bytes,
                        if report.up_to_date {
                            "\t(up to date)"
                        } else {
                            ""
                        }
                    )?;
                }
            }
        }
    }
    Ok(())
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

fn init_logging(quiet: bool) {
    let default = if quiet { "error" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WWPACK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
