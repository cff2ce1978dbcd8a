//! `hello`: a WASI 0.2 command that proves an image boots.
//!
//! It prints a greeting, the arguments it was given (one per line), and `/etc/motd` read from the
//! image root that `ww` preopens read-only at `/`.
//!
//! `--exit CODE` as the first argument makes it exit with that status after printing, so tests can
//! check that `ww` passes the guest's exit status on. Rust's `std::process::exit` on WASI 0.2 can
//! only report success or failure, so any other code goes through `wasi:cli/exit.exit-with-code`
//! (WASI 0.2.12).

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

const MOTD: &str = "/etc/motd";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (status, args) = match args.split_first() {
        Some((flag, rest)) if flag == "--exit" => match rest.split_first() {
            Some((code, rest)) => match code.parse::<u8>() {
                Ok(code) => (code, rest),
                Err(_) => {
                    eprintln!("hello: --exit takes a status 0..=255, got {code:?}");
                    return ExitCode::from(2);
                }
            },
            None => {
                eprintln!("hello: --exit needs a status");
                return ExitCode::from(2);
            }
        },
        _ => (0, &args[..]),
    };

    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Hello from Wetware!");
    let _ = writeln!(out, "args: {}", args.len());
    for (i, arg) in args.iter().enumerate() {
        let _ = writeln!(out, "  [{i}] {arg}");
    }
    match std::fs::read_to_string(MOTD) {
        Ok(motd) => {
            let _ = write!(out, "{motd}");
            if !motd.ends_with('\n') {
                let _ = writeln!(out);
            }
        }
        Err(err) => {
            eprintln!("hello: cannot read {MOTD}: {err}");
            return ExitCode::from(1);
        }
    }
    let _ = out.flush();
    drop(out);
    match status {
        0 => ExitCode::SUCCESS,
        code => {
            wasip2::cli::exit::exit_with_code(code);
            // exit-with-code does not return; a host that returns anyway gets a plain failure.
            ExitCode::FAILURE
        }
    }
}
