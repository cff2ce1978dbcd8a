//! The `wwpack` command line: parses arguments and calls the verb's function in
//! [`wwpack::ops`]; the flag groups the verbs share, and their plumbing, are [`wwpack::cli`]'s.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use ww_content::cid::Cid;
use ww_content::path::ContentPath;
use ww_content::unixfs::Profile;
use wwpack::build::BuildOptions;
use wwpack::cli::args::{EarlyArgs, NodeArgs, ProjectArgs, RegistryArgs, StoreArgs};
use wwpack::cli::{Globals, LogArgs};
use wwpack::diff::SideSpec;
use wwpack::ops;

/// Reproducible, content-addressed images for Wetware.
#[derive(Parser)]
#[command(
    name = "wwpack",
    version,
    about,
    disable_help_subcommand = true,
    after_help = wwpack::cli::topics::listing()
)]
struct Cli {
    #[command(flatten)]
    log: LogArgs,

    #[command(flatten)]
    early: EarlyArgs,

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
    #[command(after_help = "Examples:
  wwpack build
  wwpack build default --locked
  wwpack build --out-dir /tmp/out --json")]
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
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print the CID of a file or directory tree, as `ipfs add -r --hidden --only-hash`; writes nothing
    #[command(after_help = "Examples:
  wwpack cid layers/base
  wwpack cid --profile unixfs-v0-2015 README.md")]
    Cid {
        /// The file or directory tree to hash (symlinks are stored, never followed)
        path: PathBuf,
        /// unixfs-v1-2025, unixfs-v0-2015 or kubo-cidv1
        #[arg(long, default_value = "unixfs-v1-2025")]
        profile: Profile,
        /// Print a JSON object instead of the CID
        #[arg(long)]
        json: bool,
    },
    /// Store a file or directory tree in the block store and pin it; prints its CID
    #[command(after_help = "Examples:
  wwpack add layers/base
  wwpack add ./site --json")]
    Add {
        /// The file or directory tree to store (symlinks are stored, never followed)
        path: PathBuf,
        /// unixfs-v1-2025, unixfs-v0-2015 or kubo-cidv1
        #[arg(long, default_value = "unixfs-v1-2025")]
        profile: Profile,
        /// Print a JSON object instead of the CID
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write a file to stdout (block store, then IPFS node; every block verified)
    #[command(after_help = "Examples:
  wwpack cat bafy.../etc/motd
  wwpack cat /ipfs/bafy.../bin/main.wasm --offset 0 --length 8 | xxd")]
    Cat {
        /// CID[/path] or /ipfs/CID[/path]
        target: ContentPath,
        /// Start at this byte
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// Write at most this many bytes
        #[arg(long)]
        length: Option<u64>,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// List a directory (block store, then IPFS node): CID, size, name (a trailing / marks directories)
    #[command(after_help = "Examples:
  wwpack ls bafy...
  wwpack ls /ipfs/bafy.../bin --json")]
    Ls {
        /// CID[/path] or /ipfs/CID[/path]
        target: ContentPath,
        /// Print JSON lines instead
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Write the DAG under a CID (block store, then IPFS node) to a CAR v1 file, or with --oci
    /// an image of wwpack.lock as an OCI image layout
    ///
    /// With --oci OUT, IMAGE is an image of wwpack.lock, its layers read from the block store:
    /// each wwpack layer becomes one layer blob, a deterministic tar (sorted, mtime from
    /// SOURCE_DATE_EPOCH or 0, owners 0, fixed modes) compressed with zstd (or gzip), and the
    /// manifest's annotations carry the image's root CID, profile and name and each layer's CID.
    /// OUT is a directory (an existing one must be empty or an OCI layout, which is replaced),
    /// or a file when it ends in `.tar`; written atomically. Prints the manifest's digest.
    #[command(after_help = "Examples:
  wwpack export bafy... -o image.car
  wwpack export --oci target/oci default
  wwpack export --oci default.tar --compression gzip --tag v1 default
  skopeo inspect oci:target/oci:default")]
    Export {
        /// The root of the DAG to write as a CAR; with --oci, an image of wwpack.lock
        #[arg(value_name = "CID|IMAGE")]
        target: String,
        /// Where to write the CAR: `-` is stdout; a regular file is replaced atomically; a
        /// FIFO or device is written in place; a symlink is followed, never replaced
        #[arg(
            short,
            long,
            value_name = "FILE.car",
            required_unless_present = "oci",
            conflicts_with = "oci"
        )]
        output: Option<PathBuf>,
        /// Write the image IMAGE as an OCI image layout to this directory (or `.tar` file)
        #[arg(long, value_name = "OUT")]
        oci: Option<PathBuf>,
        /// With --oci: how layers are compressed, zstd (tar+zstd) or gzip (tar+gzip)
        #[arg(long, value_name = "zstd|gzip", requires = "oci")]
        compression: Option<ww_oci::pack::Compression>,
        /// With --oci: the manifest's tag in the layout's index [default: the image's name]
        #[arg(long, value_name = "TAG", requires = "oci")]
        tag: Option<String>,
        /// Print a JSON object of what was written (schema: docs/json/wwpack-export.schema.json)
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Read a CAR v1 file into the block store, verifying every block, and pin its roots
    #[command(after_help = "Examples:
  wwpack import image.car
  wwpack export bafy... -o - | wwpack import --store /other /dev/stdin")]
    Import {
        /// The CAR v1 file to read (every block verified against its CID)
        #[arg(value_name = "FILE.car")]
        car: PathBuf,
        /// Print a JSON object: {"car", "roots", "blocks", "bytes", "duplicates", "car_bytes"}
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove every block of the block store that no pin reaches
    #[command(after_help = "Examples:
  wwpack gc --dry-run
  wwpack gc --json")]
    Gc {
        /// Say what would be removed (count, bytes; with --json the CIDs), removing nothing
        #[arg(long)]
        dry_run: bool,
        /// Print a JSON object, with the CIDs of the blocks removed
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The pins of the block store: list, add (fetching what is missing), remove
    #[command(after_help = "Examples:
  wwpack pin ls
  wwpack pin add bafy... --name site
  wwpack pin rm bafy...")]
    Pin {
        #[command(subcommand)]
        command: PinCommand,
    },
    /// Re-hash the block store's blocks; report corrupt and missing ones (exit 1 if any)
    ///
    /// Without CIDs: every block of the store, and every pin's DAG checked to be complete.
    /// With CIDs: every block their DAGs reach. --repair fetches the corrupt and missing
    /// blocks again from the IPFS node (every block verified) and rewrites them.
    #[command(after_help = "Examples:
  wwpack verify
  wwpack verify bafy... --repair")]
    Verify {
        /// Roots whose DAGs to verify [default: the whole store]
        cids: Vec<Cid>,
        /// Fetch corrupt and missing blocks again from the IPFS node
        #[arg(long)]
        repair: bool,
        /// Print a JSON report
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// The block store itself
    #[command(after_help = "Example:
  wwpack store stat --json")]
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Upload images (with their layers) or DAGs by CID to the IPFS node, and pin their roots
    ///
    /// With --oci REF, one image of wwpack.lock is exported as `export --oci` does and uploaded
    /// to the OCI registry REF (REGISTRY/REPO[:TAG]; the tag defaults to the image's name);
    /// blobs the registry has are not sent again, and the manifest's digest is printed.
    #[command(after_help = "Examples:
  wwpack push
  wwpack push default shell
  wwpack push --oci ghcr.io/acme/fleet:v2 default
  wwpack push --oci 127.0.0.1:5000/fleet:dev default --plain-http")]
    Push {
        /// Images of wwpack.lock, or CIDs of DAGs in the block store [default: every image];
        /// with --oci, exactly one image
        #[arg(value_name = "IMAGE|CID")]
        images: Vec<String>,
        /// Upload to this OCI registry instead of the IPFS node: REGISTRY/REPO[:TAG]
        #[arg(long, value_name = "REF")]
        oci: Option<String>,
        /// The layers' compression with --oci: zstd or gzip
        #[arg(long, value_name = "ALGO", default_value = "zstd", requires = "oci")]
        compression: ww_oci::pack::Compression,
        #[command(flatten)]
        reach: RegistryArgs,
        /// Print a JSON report
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Name images' roots: IPNS names of the IPFS node (pushing them first), or head files
    ///
    /// With --name KEY, the images (or DAGs) are pushed as `wwpack push` does and the IPNS name
    /// of the node's key KEY is pointed at each root; `ww run /ipns/NAME` then boots it, and
    /// `ww run --follow /ipns/NAME` upgrades to each new one. Each line printed is
    /// `/ipns/NAME<TAB>/ipfs/CID<TAB>SEQUENCE` (the sequence number of the node's record, `-`
    /// when the node cannot show it). With --head FILE, `/ipfs/CID` is written to FILE
    /// atomically instead (no node needed). Give one --name (or --head) per image, in order.
    #[command(after_help = "Examples:
  wwpack publish default --name fleet --create-key
  wwpack publish default shell --name fleet --name fleet-shell
  wwpack publish default --head ./HEAD")]
    Publish {
        /// Images of wwpack.lock, or CIDs of DAGs in the block store
        #[arg(value_name = "IMAGE|CID", required = true)]
        images: Vec<String>,
        /// The node's key whose IPNS name points at the root; once per image, in order
        #[arg(
            long = "name",
            value_name = "KEY",
            required_unless_present = "heads",
            conflicts_with = "heads"
        )]
        names: Vec<String>,
        /// Make each key on the node first if it has none of that name
        #[arg(long, requires = "names")]
        create_key: bool,
        /// Write /ipfs/CID to this head file instead (atomically); once per image, in order
        #[arg(long = "head", value_name = "FILE")]
        heads: Vec<std::path::PathBuf>,
        /// Print a JSON object: {"api", "published": [{"target", "key", "name", "value",
        /// "sequence"}], "counts"} (with --head: {"published": [{"target", "head", "value"}]})
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Fetch a DAG from the IPFS node (or an image from an OCI registry) into the block store,
    /// every block verified, and pin it
    ///
    /// With --oci REF the image's manifest and blobs come from the registry (every digest
    /// verified), its layers are unpacked in order into their union (absolute paths, `..`,
    /// links out of the tree, hard links and devices refused) and imported, and its root is
    /// pinned only when it is the CID the manifest's annotation promises; the root is printed.
    #[command(after_help = "Examples:
  wwpack pull bafybeigxuoa5q3bh36wxuex2ijt7s2gxc5fh7uhzowypfnokoobaewflfe
  wwpack pull --oci ghcr.io/acme/fleet:v2
  wwpack pull --oci 127.0.0.1:5000/fleet@sha256:... --plain-http")]
    Pull {
        /// The DAG's root on the IPFS node
        #[arg(required_unless_present = "oci", conflicts_with = "oci")]
        cid: Option<Cid>,
        /// An image in an OCI registry: REGISTRY/REPO[:TAG|@DIGEST]
        #[arg(long, value_name = "REF")]
        oci: Option<String>,
        #[command(flatten)]
        reach: RegistryArgs,
        /// Print a JSON object of what was fetched (schema: docs/json/wwpack-pull.schema.json)
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Show what changed between two versions of images, path by path and inside files
    ///
    /// Each side is a wwpack.lock (FILE, or FILE:IMAGE for one image of it), a directory with
    /// wwpack.toml and wwpack.lock (that lock), an image directory, a CID[/path] (block store,
    /// then IPFS node), or --git REV[:IMAGE] (the lock committed at REV). Sides are taken in the
    /// order given. With one side, B is a fresh build of the working tree (into
    /// target/wwpack/worktree; wwpack.lock is left alone); with none, A is the committed
    /// wwpack.lock (at git HEAD, or the file outside a repository). Details: docs/diff.md.
    ///
    /// Many files added or removed under one directory show as one line (JSON lists every
    /// path). With -q, as diff(1)'s, only `A and B differ` is printed (nothing when identical).
    ///
    /// Exit status as diff(1): 0 identical, 1 different, 2 trouble.
    #[command(after_help = "Examples:
  wwpack diff
  wwpack diff --git main
  wwpack diff -q --git main || echo 'the images changed'
  wwpack diff --git main --format markdown > comment.md
  wwpack diff old/wwpack.lock:default wwpack.lock:default")]
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
        /// Compare only this image of sides that have several (locks, --git, the working tree)
        #[arg(long, value_name = "NAME")]
        image: Option<String>,
        /// Largest text file shown as a unified diff, in bytes
        #[arg(long, value_name = "BYTES", default_value_t = wwpack::diff::content::DEFAULT_TEXT_LIMIT)]
        text_limit: u64,
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Make a new project: wwpack.toml, a base layer and a guests workspace with one pid0
    ///
    /// The pid0 guest `app` uses the guest SDK (by path: --sdk DIR, or the guests/sdk of the
    /// checkout this wwpack was built from). DIR must be empty or not exist. `wwpack build`
    /// there builds the image `default`, and `ww run` boots it.
    #[command(after_help = "Examples:
  wwpack init hello-ww && cd hello-ww && wwpack build && ww run target/wwpack/images/default
  wwpack init --sdk ~/src/wwpack/guests/sdk")]
    Init {
        /// Where to make the project [default: the current directory, which must be empty]
        dir: Option<PathBuf>,
        /// The guest SDK's directory (guests/sdk of a wwpack checkout)
        #[arg(long, value_name = "DIR")]
        sdk: Option<PathBuf>,
        /// Print a JSON object: {"dir", "sdk", "image", "files"}
        #[arg(long)]
        json: bool,
    },
    /// Print the shell completion script of wwpack
    ///
    /// Load it in the running shell, or install it where the shell looks for completions.
    #[command(after_help = "Examples:
  source <(wwpack completions bash)
  wwpack completions zsh > ~/.zfunc/_wwpack
  wwpack completions fish > ~/.config/fish/completions/wwpack.fish")]
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: ww_clidocs::Shell,
    },
    /// Write the man pages of wwpack and of each verb into a directory
    ///
    /// One page per command (wwpack.1, wwpack-build.1, wwpack-pin-add.1, ...), made from the
    /// same definitions as --help. Nothing installs them: put DIR in MANPATH, or copy the pages
    /// to a man1 directory.
    #[command(after_help = "Examples:
  wwpack man target/man && MANPATH=target/man man wwpack-build
  sudo wwpack man /usr/local/share/man/man1")]
    Man {
        /// Where the pages go (created if missing)
        dir: PathBuf,
    },
    /// Print the long help of a verb, or of a topic: profiles, store, config
    #[command(after_help = "Examples:
  wwpack help profiles
  wwpack help config
  wwpack help pin add")]
    Help {
        /// A topic (profiles, store, config), or a verb and its sub-verbs [default: wwpack's
        /// own help]
        #[arg(value_name = "TOPIC|VERB")]
        words: Vec<String>,
    },
}

#[derive(Subcommand)]
enum PinCommand {
    /// List the pins: CID and label
    #[command(after_help = "Example:\n  wwpack pin ls --json")]
    Ls {
        /// Print JSON lines instead
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Pin a CID, first fetching what the store lacks of its DAG from the IPFS node (verified)
    #[command(after_help = "Example:\n  wwpack pin add bafy... --name site")]
    Add {
        /// The root of the DAG to pin
        cid: Cid,
        /// The pin's label [default: the label it has, if already pinned]
        #[arg(long, value_name = "LABEL")]
        name: Option<String>,
        /// Print a JSON object instead of the CID
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Unpin a CID (an error if it is not pinned); its blocks go at the next gc
    #[command(after_help = "Example:\n  wwpack pin rm bafy... && wwpack gc")]
    Rm {
        /// The pinned root to unpin
        cid: Cid,
        /// Print a JSON object: {"cid", "label"}
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// The store's directory, blocks, bytes and pins
    #[command(after_help = "Example:\n  wwpack store stat --json")]
    Stat {
        /// Print a JSON object
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn main() -> ExitCode {
    let matches = ww_clidocs::parse(Cli::command());
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => ww_clidocs::exit(&e),
    };
    ww_clidocs::color::set(cli.log.color);
    wwpack::cli::init_logging(&cli.log);
    // `wwpack diff` reports trouble as diff(1) does: 2, since 1 means "different".
    let failure = match cli.command {
        Command::Diff { .. } => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    };
    let specs = match matches.subcommand() {
        Some(("diff", sub)) => side_specs(sub),
        _ => Vec::new(),
    };
    match run(cli, specs) {
        Ok(code) => code,
        Err(err) if wwpack::cli::report_error(&err) => failure,
        Err(_) => ExitCode::SUCCESS,
    }
}

/// The sides of `wwpack diff` in the order given, positional and `--git` alike.
fn side_specs(sub: &clap::ArgMatches) -> Vec<SideSpec> {
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
    specs.into_iter().map(|(_, spec)| spec).collect()
}

/// `wwpack help [TOPIC | VERB...]`: a topic's text, or the verb's long help as `--help` gives
/// it.
fn help(words: &[String]) -> anyhow::Result<()> {
    use ww_clidocs::color::Stream;
    if let [word] = words {
        if let Some(topic) = wwpack::cli::topics::find(word) {
            ww_clidocs::write_styled(&topic.text.into(), Stream::Stdout)
                .map_err(|e| anyhow::anyhow!("writing to stdout: {e}"))?;
            return Ok(());
        }
    }
    let mut cmd = Cli::command();
    let mut at = &cmd;
    for word in words {
        at = at.find_subcommand(word).ok_or_else(|| {
            let verbs: Vec<&str> = at
                .get_subcommands()
                .map(|c| c.get_name())
                .filter(|name| *name != "help")
                .collect();
            let topics: Vec<&str> = wwpack::cli::topics::TOPICS.iter().map(|t| t.name).collect();
            anyhow::anyhow!(
                "no help topic or verb `{word}`: the topics are {}, the verbs {}",
                topics.join(", "),
                verbs.join(", ")
            )
        })?;
    }
    cmd = cmd.color(clap::ColorChoice::Never);
    let args = std::iter::once("wwpack")
        .chain(words.iter().map(String::as_str))
        .chain(["--help"]);
    match cmd.try_get_matches_from(args) {
        Err(e) => ww_clidocs::exit(&e),
        Ok(_) => unreachable!("--help always ends the parse"),
    }
}

fn run(cli: Cli, diff_sides: Vec<SideSpec>) -> anyhow::Result<ExitCode> {
    let g = Globals::new(&cli.log, cli.early);
    match cli.command {
        Command::Build {
            images,
            out_dir,
            locked,
            deny_shadowing,
            json,
            project,
            store,
        } => {
            let opts = BuildOptions {
                images,
                out_dir,
                locked,
                deny_shadowing,
                ..BuildOptions::default()
            };
            ops::build::run(&g.project(project).store(store), opts, json)?
        }
        Command::Cid {
            path,
            profile,
            json,
        } => ops::content::run_cid(&path, &profile, json)?,
        Command::Add {
            path,
            profile,
            json,
            store,
        } => ops::content::run_add(&g.store(store), &path, &profile, json)?,
        Command::Cat {
            target,
            offset,
            length,
            store,
            node,
        } => ops::content::run_cat(&g.store(store).node(node), &target, offset, length)?,
        Command::Ls {
            target,
            json,
            store,
            node,
        } => ops::content::run_ls(&g.store(store).node(node), &target, json)?,
        Command::Export {
            target,
            output,
            oci,
            compression,
            tag,
            json,
            project,
            store,
            node,
        } => {
            let g = g.project(project).store(store).node(node);
            match (oci, output) {
                (Some(out), _) => ops::oci::run(
                    &g,
                    &target,
                    &out,
                    compression.unwrap_or_default(),
                    tag.as_deref(),
                    json,
                )?,
                (None, Some(output)) => {
                    // As clap parsed the CID before --oci took an image's name here.
                    let cid: Cid = target.parse().unwrap_or_else(|e| {
                        let mut cli = Cli::command();
                        cli.build();
                        let e = cli
                            .find_subcommand_mut("export")
                            .cloned()
                            .unwrap_or_default()
                            .error(
                                clap::error::ErrorKind::ValueValidation,
                                format!("invalid value '{target}' for '<CID>': {e}"),
                            );
                        ww_clidocs::exit(&e)
                    });
                    ops::content::run_export(&g, &cid, &output, json)?
                }
                (None, None) => anyhow::bail!("export: give --output FILE.car or --oci OUT"),
            }
        }
        Command::Import { car, json, store } => {
            ops::content::run_import(&g.store(store), &car, json)?
        }
        Command::Gc {
            dry_run,
            json,
            store,
        } => ops::store::run_gc(&g.store(store), dry_run, json)?,
        Command::Pin { command } => match command {
            PinCommand::Ls { json, store } => ops::pin::run_ls(&g.store(store), json)?,
            PinCommand::Add {
                cid,
                name,
                json,
                store,
                node,
            } => ops::pin::run_add(&g.store(store).node(node), &cid, name.as_deref(), json)?,
            PinCommand::Rm { cid, json, store } => ops::pin::run_rm(&g.store(store), &cid, json)?,
        },
        Command::Verify {
            cids,
            repair,
            json,
            store,
            node,
        } => ops::verify::run(&g.store(store).node(node), &cids, repair, json)?,
        Command::Store { command } => match command {
            StoreCommand::Stat { json, store } => ops::store::run_stat(&g.store(store), json)?,
        },
        Command::Push {
            images,
            oci,
            compression,
            reach,
            json,
            project,
            store,
            node,
        } => {
            let g = g.project(project).store(store).node(node);
            match oci {
                None => ops::push::run(&g, &images, json)?,
                Some(reference) => {
                    let [image] = images.as_slice() else {
                        anyhow::bail!(
                            "push --oci takes one image of wwpack.lock, not {}",
                            images.len()
                        );
                    };
                    ops::registry::run_push(&g, &reference, image, compression, reach.into(), json)?
                }
            }
        }
        Command::Publish {
            images,
            names,
            create_key,
            heads,
            json,
            project,
            store,
            node,
        } => {
            let to = if names.is_empty() {
                ops::publish::To::Heads(&heads)
            } else {
                ops::publish::To::Names {
                    keys: &names,
                    create: create_key,
                }
            };
            ops::publish::run(
                &g.project(project).store(store).node(node),
                &images,
                to,
                json,
            )?
        }
        Command::Pull {
            cid,
            oci,
            reach,
            json,
            store,
            node,
        } => {
            let g = g.store(store).node(node);
            match (cid, oci) {
                (_, Some(reference)) => {
                    ops::registry::run_pull(&g, &reference, reach.into(), json)?
                }
                (Some(cid), None) => ops::pull::run(&g, &cid, json)?,
                (None, None) => unreachable!("clap requires a CID or --oci"),
            }
        }
        Command::Init { dir, sdk, json } => ops::init::run(
            &g,
            dir.as_deref().unwrap_or(std::path::Path::new(".")),
            sdk.as_deref(),
            json,
        )?,
        Command::Completions { shell } => {
            ww_clidocs::completions(shell, &mut Cli::command(), &mut std::io::stdout().lock());
        }
        Command::Man { dir } => {
            let pages = ww_clidocs::man_pages(Cli::command(), &dir)
                .map_err(|e| anyhow::anyhow!("writing man pages to {}: {e}", dir.display()))?;
            if !g.quiet {
                eprintln!("wrote {} man pages to {}", pages.len(), dir.display());
            }
        }
        Command::Help { words } => help(&words)?,
        Command::Diff {
            format,
            image,
            text_limit,
            project,
            store,
            node,
            ..
        } => {
            let show = ops::diff::Show {
                format,
                color: ww_clidocs::color::enabled(ww_clidocs::color::Stream::Stdout),
                image: image.as_deref(),
                text_limit,
            };
            return ops::diff::run(
                &g.project(project).store(store).node(node),
                diff_sides,
                &show,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
