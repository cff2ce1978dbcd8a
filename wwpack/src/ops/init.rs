//! `wwpack init [DIR]`: a new project that `wwpack build` and `ww run` boot at once: a
//! `wwpack.toml` with one image (`default` = layer `base` + layer `app`), `layers/base/etc/motd`,
//! and a guests workspace with one pid0 guest, `app`, that uses the guest SDK (it prints the
//! motd, grafts its membrane, asks the host to echo, prints its session's epoch). The guests'
//! `Cargo.lock` is made here, from the SDK's own lock (so the versions are those the SDK was
//! tested with), since `wwpack build` builds guests `--locked`.
//!
//! The SDK is not on crates.io: `guests/sdk` is a link to it (`--sdk DIR`, or the `guests/sdk`
//! of the checkout this wwpack was built from), and `guests/stem`, `guests/capnp` to the crates
//! it depends on, excluded from the workspace, so the wasm does not depend on where they live. DIR must be empty or not exist; nothing is
//! written when a check fails, and the files are written into a temporary directory beside DIR
//! and moved into place at the end (renamed as DIR, or its entries moved into an empty DIR).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::cli::{errln, outln, Globals};

mod template;

/// The SDK of the checkout this wwpack was built from.
pub fn default_sdk() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../guests/sdk")
}

/// Makes the project in `dir` (see the module docs); with `json`, prints one JSON object: the
/// project's directory, the SDK it links to, and the paths made in it.
pub fn run(g: &Globals, dir: &Path, sdk: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let sdk = sdk.map(Path::to_path_buf).unwrap_or_else(default_sdk);
    let sdk = sdk.canonicalize().with_context(|| {
        format!(
            "no guest SDK at {}: give --sdk DIR, the guests/sdk directory of a wwpack checkout",
            sdk.display()
        )
    })?;
    anyhow::ensure!(
        sdk.join("Cargo.toml").is_file(),
        "{} is not the guest SDK (it has no Cargo.toml): give --sdk DIR, the guests/sdk \
         directory of a wwpack checkout",
        sdk.display()
    );
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).with_context(|| {
            format!("{} is not a directory to make a project in", dir.display())
        })?;
        if let Some(entry) = entries.next() {
            anyhow::bail!(
                "{} is not empty (it has {}): wwpack init makes a project in an empty or new \
                 directory",
                dir.display(),
                entry?.file_name().to_string_lossy()
            );
        }
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let temp = tempfile::Builder::new()
        .prefix(".wwpack-init-")
        .tempdir_in(&parent)
        .with_context(|| format!("making a temporary directory in {}", parent.display()))?;
    let mut made: Vec<String> = Vec::new();
    for (path, text) in template::files() {
        made.push(path.to_string());
        let file = temp.path().join(path);
        if let Some(up) = file.parent() {
            std::fs::create_dir_all(up).with_context(|| format!("creating {}", up.display()))?;
        }
        std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
    }
    made.extend(link_sdk(&temp.path().join("guests"), &sdk)?);
    lock_guests(temp.path(), &sdk)?;
    made.push("guests/Cargo.lock".to_string());
    made.sort();
    if dir.exists() {
        // An empty directory (perhaps the current one): the files move into it.
        for entry in std::fs::read_dir(temp.path())? {
            let entry = entry?;
            std::fs::rename(entry.path(), dir.join(entry.file_name()))
                .with_context(|| format!("moving the new project into {}", dir.display()))?;
        }
    } else {
        let made = temp.keep();
        std::fs::rename(&made, dir)
            .with_context(|| format!("moving the new project to {}", dir.display()))?;
    }
    if json {
        return outln!(
            "{}",
            serde_json::json!({
                "dir": dir.display().to_string(),
                "sdk": sdk.display().to_string(),
                "image": "default",
                "files": made,
            })
        );
    }
    if !g.quiet {
        errln!(
            "made a project in {}: `wwpack build` there, then `ww run {}`",
            dir.display(),
            dir.join("target/wwpack/images/default").display()
        );
    }
    Ok(())
}

/// Links `guests/sdk` to the SDK and `guests/stem`, `guests/capnp` to the crates beside it that
/// it depends on by `../stem`, `../capnp` (as the SDK's own workspace does); returns the links'
/// paths in the project.
fn link_sdk(guests: &Path, sdk: &Path) -> anyhow::Result<Vec<String>> {
    let beside = sdk.parent().unwrap_or(sdk);
    let mut links = Vec::new();
    for (name, target) in [
        ("sdk", sdk.to_path_buf()),
        ("stem", beside.join("stem")),
        ("capnp", beside.join("capnp")),
    ] {
        let target = target.canonicalize().with_context(|| {
            format!(
                "the guest SDK at {} needs {} beside it",
                sdk.display(),
                target.display()
            )
        })?;
        std::os::unix::fs::symlink(&target, guests.join(name)).with_context(|| {
            format!(
                "linking {} to {}",
                guests.join(name).display(),
                target.display()
            )
        })?;
        links.push(format!("guests/{name}"));
    }
    Ok(links)
}

/// Writes `guests/Cargo.lock`: the SDK's workspace lock, narrowed to this workspace by cargo
/// (offline first: every crate it needs is the SDK's, already fetched when wwpack was built).
fn lock_guests(project: &Path, sdk: &Path) -> anyhow::Result<()> {
    let guests = project.join("guests");
    let seed = sdk.join("../Cargo.lock");
    if seed.is_file() {
        std::fs::copy(&seed, guests.join("Cargo.lock"))
            .with_context(|| format!("copying {}", seed.display()))?;
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let update = |offline: bool| {
        let mut cmd = Command::new(&cargo);
        cmd.args(["update", "--workspace", "--quiet"])
            .current_dir(&guests)
            .env_remove("CARGO_TARGET_DIR");
        if offline {
            cmd.arg("--offline");
        }
        cmd.output()
    };
    let out = update(true).context("running cargo")?;
    if out.status.success() {
        return Ok(());
    }
    let out = update(false).context("running cargo")?;
    anyhow::ensure!(
        out.status.success(),
        "cargo could not make the guests' Cargo.lock: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}
