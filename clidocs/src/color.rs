//! Whether a stream gets colour: the one decision behind every coloured line of `wwpack` and
//! `ww` (clap's help and errors, the log, `wwpack: error: ...`, `wwpack diff`'s text).
//!
//! `--color always` colours even into a pipe and `--color never` never does. `--color auto`
//! (the default) colours a stream only when `NO_COLOR` is unset or empty and either
//! `CLICOLOR_FORCE` is set to something other than `0`, or the stream is a terminal and `TERM`
//! is not `dumb`. The binaries [`set`] the choice once, before anything is written (from
//! [`scan`] of the raw arguments, so that clap's own errors follow it too).

use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};

/// `--color WHEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// A stream the binaries write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

static CHOICE: AtomicU8 = AtomicU8::new(0);

/// Makes `choice` the decision of [`enabled`] for the rest of the process.
pub fn set(choice: ColorChoice) {
    CHOICE.store(choice as u8, Ordering::Relaxed);
}

/// The choice [`set`] last (`auto` before any).
pub fn choice() -> ColorChoice {
    match CHOICE.load(Ordering::Relaxed) {
        1 => ColorChoice::Always,
        2 => ColorChoice::Never,
        _ => ColorChoice::Auto,
    }
}

/// Whether `stream` gets colour, by the rules of the module documentation.
pub fn enabled(stream: Stream) -> bool {
    let terminal = match stream {
        Stream::Stdout => std::io::stdout().is_terminal(),
        Stream::Stderr => std::io::stderr().is_terminal(),
    };
    decide(choice(), terminal, |name| std::env::var_os(name))
}

/// The rules of the module documentation, on a stream that is (or not) a terminal and an
/// environment read through `env`.
pub fn decide(choice: ColorChoice, terminal: bool, env: impl Fn(&str) -> Option<OsString>) -> bool {
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if set("NO_COLOR").is_some() {
                return false;
            }
            if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                return true;
            }
            terminal && set("TERM").is_none_or(|term| term != "dumb")
        }
    }
}

/// The `--color` of a raw command line (its last one before `--`; `auto` when there is none
/// or its value is not one of the three, which clap then reports), for what is written before
/// clap has parsed it: clap's own help and errors.
pub fn scan<I, S>(args: I) -> ColorChoice
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut found = ColorChoice::Auto;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let Some(arg) = arg.as_ref().to_str() else {
            continue;
        };
        let value = match arg {
            "--" => break,
            "--color" => args
                .next()
                .and_then(|v| v.as_ref().to_str().map(str::to_owned)),
            _ => arg.strip_prefix("--color=").map(str::to_owned),
        };
        if let Some(value) = value {
            found = match value.as_str() {
                "always" => ColorChoice::Always,
                "never" => ColorChoice::Never,
                _ => ColorChoice::Auto,
            };
        }
    }
    found
}

/// An SGR style: `paint` wraps text in it when colour is on.
#[derive(Debug, Clone, Copy)]
pub struct Style(&'static str);

impl Style {
    pub const ERROR: Style = Style("1;31");
    pub const WARNING: Style = Style("1;33");
    pub const INFO: Style = Style("1;32");
    pub const DEBUG: Style = Style("1;34");
    pub const TRACE: Style = Style("1;35");

    /// `text` in this style when `on`, else `text` as it is.
    pub fn paint(self, text: &str, on: bool) -> String {
        if on {
            format!("\x1b[{}m{text}\x1b[0m", self.0)
        } else {
            text.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn auto_follows_the_terminal_no_color_term_and_clicolor_force() {
        use ColorChoice::*;
        assert!(decide(Auto, true, env(&[("TERM", "xterm")])));
        assert!(decide(Auto, true, env(&[])));
        assert!(!decide(Auto, false, env(&[("TERM", "xterm")])));
        assert!(!decide(Auto, true, env(&[("NO_COLOR", "1")])));
        assert!(decide(Auto, true, env(&[("NO_COLOR", "")])));
        assert!(!decide(Auto, true, env(&[("TERM", "dumb")])));
        assert!(decide(Auto, false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(!decide(Auto, false, env(&[("CLICOLOR_FORCE", "0")])));
        assert!(!decide(
            Auto,
            false,
            env(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")])
        ));
        assert!(decide(
            Always,
            false,
            env(&[("NO_COLOR", "1"), ("TERM", "dumb")])
        ));
        assert!(!decide(Never, true, env(&[("CLICOLOR_FORCE", "1")])));
    }

    #[test]
    fn scan_finds_the_last_color_before_the_separator() {
        assert_eq!(scan(["ww", "run", "x"]), ColorChoice::Auto);
        assert_eq!(
            scan(["ww", "--color", "always", "run"]),
            ColorChoice::Always
        );
        assert_eq!(
            scan(["ww", "--color=always", "run", "--color=never"]),
            ColorChoice::Never
        );
        assert_eq!(
            scan(["ww", "run", "--color", "never", "--", "--color=always"]),
            ColorChoice::Never
        );
        assert_eq!(scan(["ww", "--color", "pink"]), ColorChoice::Auto);
    }
}
