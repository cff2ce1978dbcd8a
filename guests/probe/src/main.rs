//! `probe`: the end-to-end tests' guest. Its first argument selects one behaviour:
//!
//! | arguments     | behaviour                                                             |
//! | ------------- | --------------------------------------------------------------------- |
//! | `exit N`      | exit with status N                                                    |
//! | `stdout N`    | write N bytes `x` to stdout, exit 0                                   |
//! | `stderr N`    | write N bytes `x` to stderr, exit 0                                   |
//! | `cat`         | copy stdin to stdout until end of stream, exit 0                      |
//! | `nest`        | run the embedded child-echo, relay its output, print `child exited with status N` |
//! | `host`        | print `id <peer-id>`, `addrs <n>`, `peer <id> <addr,...>` per boot peer, `connect: <error>` |
//! | `trap`        | execute `unreachable`                                                 |
//! | `echo-many N` | make N concurrent echo calls, print `matched M/N`                     |
//! | `alloc MIB`   | allocate and touch MIB MiB, print `allocated MIB MiB (...)`, exit 0     |
//! | `spin`        | print `spinning`, then compute forever without calling the host       |
//! | `hold MIB`    | allocate and touch MIB MiB, print `holding MIB MiB`, wait for stdin to end, exit 0 |
//! | `spawn N [MIB]` | start N children of itself running `hold MIB` (default 0), report, let them go, start one more (see `spawn`) |
//! | `epoch [FILE ...]` | print `FILE: <content>` per FILE, `epoch N`, wait for the epoch to end, print `epoch N ended`, `host: <error>` (see `epoch`) |
//! | `env`         | print the environment, one `NAME=VALUE` per line, exit 0             |
//!
//! Without arguments (a `svc/` service gets none), the words of `$PROBE_ARGS` are taken instead,
//! so a service's image picks its behaviour in its `etc/environment`.
//!
//! Anything else prints the problem and the usage on stderr and exits 2. Only `nest`, `host`,
//! `echo-many`, `spawn` and `epoch` open the RPC connection; used as a child itself, `nest` is the
//! nested-RPC test. `spawn` reads its own wasm from the path in `argv[0]` (pid0's
//! `/bin/main.wasm`), so it runs as pid0 of the probe image.

#![forbid(unsafe_code)]

mod behaviour;
mod epoch;
mod limits;
mod rpc;
mod spawn;
mod stdio;

use std::process::ExitCode;

use wetware_guest::Error;

use crate::behaviour::{Behaviour, USAGE};

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        if let Ok(words) = std::env::var("PROBE_ARGS") {
            args = words.split_whitespace().map(str::to_string).collect();
        }
    }
    let behaviour = match behaviour::parse(&args) {
        Ok(behaviour) => behaviour,
        Err(message) => {
            eprintln!("probe: {message}\n{USAGE}");
            return wetware_guest::exit::exit(2);
        }
    };
    if behaviour == Behaviour::Trap {
        trap();
    }
    wetware_guest::run("probe", run(behaviour))
}

async fn run(behaviour: Behaviour) -> Result<u8, Error> {
    match behaviour {
        Behaviour::Exit(status) => Ok(status),
        Behaviour::Stdout(count) => stdio::flood(wetware_guest::stdio::stdout(), count).await,
        Behaviour::Stderr(count) => stdio::flood(wetware_guest::stdio::stderr(), count).await,
        Behaviour::Cat => stdio::cat().await,
        Behaviour::Nest => rpc::nest().await,
        Behaviour::Host => rpc::host().await,
        Behaviour::EchoMany(count) => rpc::echo_many(count).await,
        Behaviour::Alloc(mib) => limits::alloc(mib).await,
        Behaviour::Spin => limits::spin().await,
        Behaviour::Hold(mib) => limits::hold(mib).await,
        Behaviour::Spawn { count, mib } => spawn::spawn(count, mib).await,
        Behaviour::Epoch(files) => epoch::epoch(&files).await,
        Behaviour::Env => {
            for (name, value) in std::env::vars() {
                println!("{name}={value}");
            }
            Ok(0)
        }
        Behaviour::Trap => {
            trap();
        }
    }
}

/// Executes the wasm `unreachable` instruction.
fn trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}
