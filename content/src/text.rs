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
