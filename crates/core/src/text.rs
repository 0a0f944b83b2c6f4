//! Text from outside — a model's answer, an exception message it chose, a server's error —
//! made safe for one line of a log or a report: control characters and the Unicode controls
//! that reorder or hide text are written as escapes, so such text cannot start a new line,
//! move the cursor, colour the terminal or forge a line of its own.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must be escaped: C0 and C1 controls, DEL, and the bidirectional and
/// zero-width formatting characters.
fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// `s` with every control character escaped: `\n`, `\r`, `\t`, `\0`, else `\xNN` (below
/// U+0100) or `\u{NNNN}`. Borrowed when there is nothing to escape.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if is_control(c) && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_control(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_escapes_and_plain_text_is_borrowed() {
        assert!(matches!(escape_controls("plain — text"), Cow::Borrowed(_)));
        assert_eq!(
            escape_controls("a\nb\r\tc\0\x1b[31mred\x7f"),
            "a\\nb\\r\\tc\\0\\x1b[31mred\\x7f"
        );
        assert_eq!(escape_controls("x\u{202e}y\u{85}"), "x\\u{202e}y\\x85");
        assert_eq!(escape_controls("\u{061c}"), "\\u{061c}");
        // Nothing printable survives as a line break.
        assert!(!escape_controls("l1\u{2028}l2\u{0b}l3").contains(['\n', '\u{2028}', '\u{0b}']));
    }
}
