//! The files of a new project (`wwpack init`); the links to the SDK are made by `init`.

/// Each file's path in the project and its text; `sdk` is the guest SDK's directory.
pub fn files() -> Vec<(&'static str, String)> {
    vec![
        ("wwpack.toml", WWPACK_TOML.to_string()),
        (".gitignore", "target/\n".to_string()),
        ("layers/base/etc/motd", MOTD.to_string()),
        ("guests/Cargo.toml", GUESTS_TOML.to_string()),
        ("guests/app/Cargo.toml", APP_TOML.to_string()),
        ("guests/app/src/main.rs", APP_MAIN.to_string()),
    ]
}

const WWPACK_TOML: &str = r#"# The images of this project; `wwpack build` builds them and writes wwpack.lock (commit it).
[guests]
workspace = "guests"

# Static files: etc/, boot/.
[layers.base]
path = "layers/base"

# The guest `app` (guests/app) as pid0.
[layers.app]
install = { "bin/main.wasm" = "app" }

[images.default]
layers = ["base", "app"]
"#;

const MOTD: &str = "Hello from a new Wetware project (layers/base/etc/motd).\n";

const GUESTS_TOML: &str = r#"# Guests: Rust crates compiled to WASI 0.2 components (wasm32-wasip2) by `wwpack build`.
[workspace]
resolver = "2"
# sdk, stem and capnp are links to the guest SDK and the crates it depends on (made by `wwpack
# init`): inside this directory, so that cargo names them by a relative path and the wasm does
# not depend on where the SDK lives. The SDK is a member (it takes its version, edition and
# license from here); stem and capnp are path dependencies only.
members = ["app", "sdk"]
exclude = ["stem", "capnp"]

[workspace.package]
version = "0.1.0"
edition = "2021"
license = "Apache-2.0"

[profile.release]
# Small, deterministic artifacts.
codegen-units = 1
debug = false
strip = true
lto = true
opt-level = "s"
panic = "abort"
"#;

const APP_TOML: &str = r#"[package]
name = "app"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
# The guest SDK, from a wwpack checkout (not published on crates.io): guests/sdk is a link to it.
wetware-guest = { path = "../sdk" }
"#;

const APP_MAIN: &str = r#"//! `app`: this project's pid0. It prints /etc/motd of its image, grafts the membrane it gets
//! over its RPC connection, asks the host to echo a message, and prints its session's epoch.

use std::process::ExitCode;

fn main() -> ExitCode {
    wetware_guest::run("app", app())
}

async fn app() -> Result<u8, wetware_guest::Error> {
    match std::fs::read_to_string("/etc/motd") {
        Ok(motd) => print!("{motd}"),
        Err(e) => eprintln!("app: /etc/motd: {e}"),
    }
    let session = wetware_guest::connect_and_graft().await?;
    let reply = session.echo("hello from app").await?;
    println!("the host echoed: {reply}");
    println!("epoch {}", session.epoch);
    Ok(0)
}
"#;
