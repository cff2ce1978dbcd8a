//! Text that came from outside (names in images, targets of symlinks, a node's answers) made
//! safe to print: control characters, which could drive a terminal, are shown as `\xNN`, as git
//! quotes paths, and the invisible characters that reorder or break lines (bidirectional
//! overrides and isolates, the line and paragraph separators) as `\u{NNNN}`. Every text output
//! and every message that quotes such a name goes through [`printable`].

use std::borrow::Cow;

/// `s` with its control characters (but tab) shown as `\xNN`; borrowed when there are none.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        if ch.is_control() && ch != '\t' {
            out.push_str(&format!("\\x{:02x}", ch as u32));
        } else if needs_escape(ch) {
            out.push_str(&format!("\\u{{{:04x}}}", ch as u32));
        } else {
            out.push(ch);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(ch: char) -> bool {
    (ch.is_control() && ch != '\t')
        || matches!(ch, '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `secs` seconds since the Unix epoch as RFC 3339 in UTC, e.g. `2026-12-01T17:30:05Z`
/// (Howard Hinnant's `civil_from_days`); what `ww cache ls` shows and an OCI config's
/// `created` holds.
pub fn rfc3339_utc(secs: i64) -> String {
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert!(matches!(printable("bin/main.wasm"), Cow::Borrowed(_)));
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\x1b[2Jb");
        assert_eq!(
            printable("tab\there\nnl\r\u{7f}"),
            "tab\there\\x0anl\\x0d\\x7f"
        );
        assert_eq!(printable("caf\u{e9} \u{9b}"), "caf\u{e9} \\x9b");
        assert_eq!(printable("a\u{202e}b\u{2028}c"), "a\\u{202e}b\\u{2028}c");
    }
}
