//! The `wwpack` command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use wwpack::build::BuildOptions;
use wwpack::config::Config;

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

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build guests for wasm32-wasip2 and write each image to <out-dir>/images/<image>/
    Build {
        /// Images to build [default: all images of wwpack.toml]
        images: Vec<String>,
        /// Output directory [default: target/wwpack next to wwpack.toml]
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.quiet);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("wwpack: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = match &cli.manifest_path {
        Some(file) => Config::load(file)?,
        None => Config::discover(&std::env::current_dir().context("current directory")?)?,
    };
    match cli.command {
        Command::Build { images, out_dir } => {
            let opts = BuildOptions {
                images,
                out_dir,
                quiet: cli.quiet,
            };
            for image in wwpack::build::build(&config, &opts)? {
                if !cli.quiet {
                    println!(
                        "{}\t{}\t{} files, {} bytes",
                        image.name,
                        image.dir.display(),
                        image.files,
                        image.bytes
                    );
                }
            }
        }
    }
    Ok(())
}

fn init_logging(quiet: bool) {
    let default = if quiet { "error" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WWPACK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
