//! The command-line conventions `wwpack` and `ww` share, so that both speak one grammar:
//! whether a stream gets colour ([`color`], `--color`), the log and its flags ([`log`], `-q`,
//! `-v`), variables that stand in for flags ([`env_var`]), clap's own help and errors written
//! by that colour decision ([`parse`]), and shell completions and man pages made from the clap
//! definition, so that they say what `--help` says: `wwpack completions SHELL` /
//! `ww completions SHELL` print a completion script, `wwpack man DIR` / `ww man DIR` write one
//! page per command and verb (`wwpack.1`, `wwpack-build.1`, `wwpack-pin-add.1`, ...). Nothing
//! installs them; the README says where they go.

pub mod color;
pub mod log;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use clap_complete::Shell;

/// The value of the variable `name` when it is set and not empty: a flag's stand-in (`WW_STORE`
/// for `--store`), read by the binaries rather than by clap, so that a value from the
/// environment never shows in a usage line as if it had been typed, and an empty one means
/// unset.
pub fn env_var(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// Parses the process's arguments with `cmd`, first setting the colour choice from them
/// ([`color::scan`]); clap's help, version and errors are written as clap would (help to
/// stdout with status 0, errors to stderr with status 2), coloured by [`color::enabled`].
pub fn parse(cmd: clap::Command) -> clap::ArgMatches {
    let args: Vec<OsString> = std::env::args_os().collect();
    color::set(color::scan(&args));
    match cmd
        .color(clap::ColorChoice::Never)
        .try_get_matches_from(args)
    {
        Ok(matches) => matches,
        Err(e) => exit(&e),
    }
}

/// Writes clap's error (or help) `e` as [`parse`] does, and exits.
pub fn exit(e: &clap::Error) -> ! {
    let stream = if e.use_stderr() {
        color::Stream::Stderr
    } else {
        color::Stream::Stdout
    };
    let _ = write_styled(&e.render(), stream);
    std::process::exit(e.exit_code())
}

/// Writes `text` (clap's help or error) to `stream`, with its styles when that stream gets
/// colour.
pub fn write_styled(text: &clap::builder::StyledStr, stream: color::Stream) -> std::io::Result<()> {
    let text = if color::enabled(stream) {
        text.ansi().to_string()
    } else {
        text.to_string()
    };
    match stream {
        color::Stream::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()
        }
        color::Stream::Stderr => std::io::stderr().lock().write_all(text.as_bytes()),
    }
}

/// Writes the completion script of `cmd` for `shell` to `out`.
pub fn completions(shell: Shell, cmd: &mut clap::Command, out: &mut dyn Write) {
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, cmd, name, out);
}

/// Writes a man page for `cmd` and for each of its subcommands, at any depth, into `dir`
/// (created if missing); each page is written whole, then renamed into place. Returns the
/// pages written.
pub fn man_pages(cmd: clap::Command, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let mut cmd = cmd;
    cmd.build();
    page(&cmd, cmd.get_name(), dir, &mut written)?;
    Ok(written)
}

fn page(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    let named = cmd.clone().name(name.to_string());
    let mut bytes = Vec::new();
    clap_mangen::Man::new(named).render(&mut bytes)?;
    let path = dir.join(format!("{name}.1"));
    let temp = dir.join(format!(".{name}.1.tmp-{}", std::process::id()));
    std::fs::write(&temp, &bytes)?;
    std::fs::rename(&temp, &path)?;
    written.push(path);
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        page(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> clap::Command {
        clap::Command::new("demo")
            .about("A demo")
            .subcommand(
                clap::Command::new("pin")
                    .about("Pins")
                    .subcommand(clap::Command::new("add").about("Add a pin")),
            )
            .subcommand(clap::Command::new("build").about("Build it"))
    }

    #[test]
    fn one_page_per_verb_and_scripts_per_shell() {
        let dir = tempfile::tempdir().unwrap();
        let pages = man_pages(demo(), dir.path()).unwrap();
        let names: Vec<String> = pages
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["demo.1", "demo-pin.1", "demo-pin-add.1", "demo-build.1"]
        );
        let add = std::fs::read_to_string(dir.path().join("demo-pin-add.1")).unwrap();
        assert!(add.contains("Add a pin"), "{add}");
        let mut out = Vec::new();
        completions(Shell::Bash, &mut demo(), &mut out);
        let script = String::from_utf8(out).unwrap();
        assert!(
            script.contains("demo") && script.contains("build"),
            "{script}"
        );
    }
}
