//! The `ww` command line: parses arguments and calls the runtime library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ww_runtime::run::RunOptions;

/// The Wetware runtime: boots images under wasmtime.
#[derive(Parser)]
#[command(name = "ww", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Boot bin/main.wasm of the per-file union of an image and overlays
    ///
    /// The union is per file: a later directory wins, directories merge. pid0 runs as a WASI 0.2
    /// command with stdio inherited and the union preopened read-only at `/`. ww exits with
    /// pid0's exit status; 125 when ww itself fails (bad layer, no or unbootable pid0), 134 when
    /// pid0 traps.
    #[command(
        after_help = "Example: ww run target/wwpack/images/default examples/motd-overlay -- a b"
    )]
    Run {
        /// The image directory
        image: PathBuf,
        /// Overlay directories, applied in order on top of the image
        overlays: Vec<PathBuf>,
        /// Arguments for pid0 (after `--`)
        #[arg(last = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Command::Run {
            image,
            overlays,
            args,
        } => {
            let mut layers = vec![image];
            layers.extend(overlays);
            match ww_runtime::run::run(&RunOptions { layers, args }) {
                Ok(status) => ExitCode::from(status),
                Err(err) => {
                    eprintln!("ww: error: {err}");
                    ExitCode::from(err.exit_status())
                }
            }
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WW_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
