//! The log of `wwpack` and `ww` on stderr, and the flags that set its detail (`-q`, `-v`,
//! `--color`). Each event is one line prefixed as the binaries' own messages are
//! (`wwpack: warning: ...`, `ww: debug: ...`), its level word coloured when stderr gets colour
//! ([`crate::color`]); `ww --json-log` writes tracing's JSON events instead.
//!
//! The filter is the first of the binary's variables that is set and parses (`WWPACK_LOG` or
//! `WW_LOG`, then `RUST_LOG`; tracing's `EnvFilter` syntax), else `warn`. A flag wins over the
//! variable for the overall level: `-q` makes it `error`, `-v` `info`, `-vv` `debug`, `-vvv`
//! `trace`, while the targets the variable names keep theirs (`RUST_LOG=ww::compile=debug ww -q
//! run ...` still logs the compiled cache's debug lines).

use std::fmt;

use tracing::level_filters::LevelFilter;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use crate::color::{self, ColorChoice, Stream, Style};

/// The flags of the log and of colour, global to every verb of both binaries.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct LogArgs {
    /// Print only errors: no warnings, no summaries, no progress
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// More detail in the log on stderr: -v info, -vv debug, -vvv trace (this level wins over
    /// the log variable's; the targets it names keep theirs)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Colour: auto (a terminal, unless NO_COLOR is set or TERM is dumb; CLICOLOR_FORCE
    /// forces it), always (even into a pipe) or never
    #[arg(long, global = true, value_name = "WHEN", value_enum, hide_possible_values = true,
          default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

impl LogArgs {
    /// The overall level the flags ask for, if they ask for one.
    pub fn level(&self) -> Option<LevelFilter> {
        if self.quiet {
            return Some(LevelFilter::ERROR);
        }
        match self.verbose {
            0 => None,
            1 => Some(LevelFilter::INFO),
            2 => Some(LevelFilter::DEBUG),
            _ => Some(LevelFilter::TRACE),
        }
    }
}

/// How a binary logs.
pub struct Log<'a> {
    /// The prefix of each line: `wwpack` or `ww`.
    pub name: &'static str,
    /// The variables the filter is read from, first set one first.
    pub vars: &'a [&'a str],
    /// JSON events (`ww --json-log`) instead of prefixed lines.
    pub json: bool,
}

impl Log<'_> {
    /// Installs the log (see the module documentation).
    pub fn init(&self, flags: &LogArgs) {
        let filter = filter(self.vars, flags.level(), |name| std::env::var(name).ok());
        let log = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        if self.json {
            log.json()
                .with_current_span(false)
                .with_span_list(false)
                .init();
        } else {
            log.with_ansi(false)
                .event_format(Prefixed {
                    name: self.name,
                    color: color::enabled(Stream::Stderr),
                })
                .init();
        }
    }
}

/// The filter of the first of `vars` that is set and parses (else `warn`), its overall level
/// replaced by `level` when a flag gives one.
fn filter(
    vars: &[&str],
    level: Option<LevelFilter>,
    env: impl Fn(&str) -> Option<String>,
) -> EnvFilter {
    let filter = vars
        .iter()
        .filter_map(|name| env(name).filter(|v| !v.trim().is_empty()))
        .find_map(|value| EnvFilter::try_new(value).ok())
        .unwrap_or_else(|| EnvFilter::new("warn"));
    match level {
        Some(level) => filter.add_directive(level.into()),
        None => filter,
    }
}

/// `NAME: <level>: <fields>`, the level word coloured when `color`.
struct Prefixed {
    name: &'static str,
    color: bool,
}

impl<S, N> FormatEvent<S, N> for Prefixed
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = *event.metadata().level();
        write!(writer, "{}: {} ", self.name, level_word(level, self.color))?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// `error:`, `warning:`, `info:`, `debug:` or `trace:`, in its style when `color`.
pub fn level_word(level: Level, color: bool) -> String {
    let (word, style) = match level {
        Level::ERROR => ("error:", Style::ERROR),
        Level::WARN => ("warning:", Style::WARNING),
        Level::INFO => ("info:", Style::INFO),
        Level::DEBUG => ("debug:", Style::DEBUG),
        Level::TRACE => ("trace:", Style::TRACE),
    };
    style.paint(word, color)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn flags_set_the_overall_level_and_keep_the_targets_of_the_variable() {
        let vars = ["WW_LOG", "RUST_LOG"];
        let show =
            |level, vars_set: &[(&str, &str)]| filter(&vars, level, env(vars_set)).to_string();
        assert_eq!(show(None, &[]), "warn");
        assert_eq!(show(None, &[("RUST_LOG", "debug")]), "debug");
        assert_eq!(
            show(None, &[("WW_LOG", "info"), ("RUST_LOG", "debug")]),
            "info"
        );
        assert_eq!(
            show(None, &[("WW_LOG", "=x=y"), ("RUST_LOG", "debug")]),
            "debug"
        );
        assert_eq!(show(Some(LevelFilter::DEBUG), &[]), "debug");
        let kept = show(
            Some(LevelFilter::ERROR),
            &[("RUST_LOG", "info,ww::compile=debug")],
        );
        let mut parts: Vec<&str> = kept.split(',').collect();
        parts.sort();
        assert_eq!(parts, ["error", "ww::compile=debug"], "{kept}");
    }

    #[test]
    fn levels_from_flags() {
        let args = |quiet, verbose| LogArgs {
            quiet,
            verbose,
            color: ColorChoice::Auto,
        };
        assert_eq!(args(false, 0).level(), None);
        assert_eq!(args(true, 0).level(), Some(LevelFilter::ERROR));
        assert_eq!(args(false, 1).level(), Some(LevelFilter::INFO));
        assert_eq!(args(false, 2).level(), Some(LevelFilter::DEBUG));
        assert_eq!(args(false, 9).level(), Some(LevelFilter::TRACE));
        assert_eq!(level_word(Level::WARN, false), "warning:");
        assert_eq!(level_word(Level::ERROR, true), "\x1b[1;31merror:\x1b[0m");
    }
}
