//! Lines ww writes to its stderr outside `tracing`: its own final error, what `--follow` does,
//! and the output of `svc/` services. With `--json-log` they are JSON objects shaped like
//! tracing's JSON events (`level`, `target`, `fields`), so that every line of the log parses.
//! Plain lines have the prefix of ww's log (`ww: error: ...`, `ww: warning: ...`), its level
//! word coloured when stderr gets colour (`--color`, [`ww_clidocs::color`]); with `-q` only
//! errors are written (and services' own lines, which are the image's output, not ww's).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::Level;

static JSON: AtomicBool = AtomicBool::new(false);
static QUIET: AtomicBool = AtomicBool::new(false);

/// Makes the lines JSON (`ww --json-log`).
pub fn set_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

/// Leaves out every line but errors (`ww -q`); no progress bar is drawn then either.
pub fn set_quiet(on: bool) {
    QUIET.store(on, Ordering::Relaxed);
}

/// Whether only errors are written (`ww -q`).
pub fn is_quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Whether plain lines get colour.
fn color() -> bool {
    ww_clidocs::color::enabled(ww_clidocs::color::Stream::Stderr)
}

/// Whether the lines are JSON (no progress bar is drawn then).
pub fn is_json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// ww's final error: `ww: error: …`, or an `ERROR` event of target `ww`.
pub fn error(message: &str) {
    write(&format_error(
        message,
        JSON.load(Ordering::Relaxed),
        color(),
    ));
}

/// One line of a service's output: `[svc/a] …`, or an `INFO` event of target `ww::services`
/// with the service in `fields.service`.
pub fn service(name: &str, line: &str) {
    write(&format_service(name, line, JSON.load(Ordering::Relaxed)));
}

/// A line of `ww run --follow` about what it follows: `ww: …` (`ww: warning: …` when `warn`),
/// or an `INFO` (`WARN`) event of target `ww::follow` whose fields are `message` and `fields`.
pub fn follow(warn: bool, message: &str, fields: serde_json::Value) {
    if is_quiet() {
        return;
    }
    write(&format_follow(
        warn,
        message,
        fields,
        JSON.load(Ordering::Relaxed),
        color(),
    ));
}

fn format_follow(
    warn: bool,
    message: &str,
    fields: serde_json::Value,
    json: bool,
    color: bool,
) -> String {
    if json {
        let mut all = serde_json::Map::new();
        all.insert("message".into(), message.into());
        if let serde_json::Value::Object(fields) = fields {
            all.extend(fields);
        }
        serde_json::json!({
            "level": if warn { "WARN" } else { "INFO" },
            "target": "ww::follow",
            "fields": all,
        })
        .to_string()
    } else {
        let prefix = if warn {
            format!("ww: {} ", ww_clidocs::log::level_word(Level::WARN, color))
        } else {
            "ww: ".to_string()
        };
        plain(&prefix, message)
    }
}

/// `prefix` and `message`, whose names from images have their control characters shown as
/// `\xNN`, line by line (a message may span lines).
fn plain(prefix: &str, message: &str) -> String {
    let lines: Vec<_> = message
        .split('\n')
        .map(ww_content::text::printable)
        .collect();
    format!("{prefix}{}", lines.join("\n"))
}

fn format_error(message: &str, json: bool, color: bool) -> String {
    if json {
        serde_json::json!({
            "level": "ERROR",
            "target": "ww",
            "fields": {"message": message},
        })
        .to_string()
    } else {
        let word = ww_clidocs::log::level_word(Level::ERROR, color);
        plain(&format!("ww: {word} "), message)
    }
}

fn format_service(name: &str, line: &str, json: bool) -> String {
    if json {
        serde_json::json!({
            "level": "INFO",
            "target": "ww::services",
            "fields": {"service": name, "message": line},
        })
        .to_string()
    } else {
        // The name comes from the image, the line from the service: neither may drive the
        // terminal or forge a line of ww's.
        use ww_content::text::printable;
        format!("[{}] {}", printable(name), printable(line))
    }
}

fn write(line: &str) {
    let mut stderr = std::io::stderr().lock();
    // Nothing sensible to do when ww's own stderr is gone.
    let _ = writeln!(stderr, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_json_lines() {
        assert_eq!(format_service("svc/a", "hi", false), "[svc/a] hi");
        assert_eq!(
            format_service("svc/\u{1b}]0;x", "a\rww: error: fake", false),
            "[svc/\\x1b]0;x] a\\x0dww: error: fake"
        );
        assert_eq!(format_error("boom", false, false), "ww: error: boom");
        assert_eq!(
            format_error("boom", false, true),
            "ww: \x1b[1;31merror:\x1b[0m boom"
        );
        assert_eq!(
            format_error("`a\u{1b}[2J`\n  two", false, false),
            "ww: error: `a\\x1b[2J`\n  two"
        );
        let v: serde_json::Value =
            serde_json::from_str(&format_service("svc/a", "say \"hi\"", true)).unwrap();
        assert_eq!(v["fields"]["service"], "svc/a");
        assert_eq!(v["fields"]["message"], "say \"hi\"");
        assert_eq!(v["target"], "ww::services");
        assert_eq!(
            format_follow(true, "v3 skipped", serde_json::json!({}), false, false),
            "ww: warning: v3 skipped"
        );
        let v: serde_json::Value = serde_json::from_str(&format_follow(
            false,
            "upgraded",
            serde_json::json!({"epoch": 2}),
            true,
            true,
        ))
        .unwrap();
        assert_eq!(
            (v["level"].as_str(), v["fields"]["epoch"].as_u64()),
            (Some("INFO"), Some(2))
        );
        let v: serde_json::Value = serde_json::from_str(&format_error("boom", true, true)).unwrap();
        assert_eq!(
            (v["level"].as_str(), v["fields"]["message"].as_str()),
            (Some("ERROR"), Some("boom"))
        );
    }
}
