//! Text from a server or a record on its way to a terminal: control characters are shown,
//! not obeyed. An escape sequence in a lead's name or an error message could otherwise set
//! the window title, clear the screen or write the clipboard (OSC 52). Newlines and tabs stay;
//! every other C0 and C1 control (U+009B is CSI to many terminals) and DEL becomes visible
//! text (`\e` for ESC, `\xNN` for the rest), and so do the bidirectional overrides and
//! isolates (`\u{202e}`), which make text read in an order other than the one it has. Text
//! meant as one line (a server's message in an error line, a table's header) shows its
//! newlines as `\n` too, so that it cannot forge a line of its own (`tdc: …`). JSON escapes
//! C0 controls itself but writes C1 controls and bidirectional marks as they are: on a terminal
//! those are written as JSON's own `\uXXXX` escapes, so the JSON stays valid.

use std::borrow::Cow;

fn is_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || c == '\u{7f}' || is_bidi_control(c)
}

/// The embeddings and overrides (U+202A–U+202E) and the isolates (U+2066–U+2069).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with its control characters made visible.
pub(crate) fn for_terminal(text: &str) -> Cow<'_, str> {
    escaped(text, is_control)
}

/// `text` made visible as [`for_terminal`] makes it, on one line: newlines shown as `\n`.
pub(crate) fn for_one_line(text: &str) -> Cow<'_, str> {
    escaped(text, |c| c == '\n' || is_control(c))
}

/// JSON text on its way to a terminal: the C1 controls and bidirectional marks JSON leaves
/// raw become `\uXXXX` escapes (JSON has no other place for them than inside strings).
pub(crate) fn json_for_terminal(json: &str) -> Cow<'_, str> {
    let raw = |c: char| matches!(c, '\u{80}'..='\u{9f}') || is_bidi_control(c);
    if !json.chars().any(raw) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if raw(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn escaped(text: &str, shown_escaped: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&shown_escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !shown_escaped(c) => out.push(c),
            '\u{1b}' => out.push_str("\\e"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_shown_not_obeyed() {
        assert!(matches!(for_terminal("Alfred\tSmith\n"), Cow::Borrowed(_)));
        assert_eq!(
            for_terminal("\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}]52;c;ZXZpbA==\u{7}x"),
            "\\e]0;owned\\x07\\e[2J\\e]52;c;ZXZpbA==\\x07x"
        );
        assert_eq!(for_terminal("a\u{9b}31mb\u{7f}"), "a\\x9b31mb\\x7f");
        assert_eq!(for_terminal("é😀\r"), "é😀\\x0d");
    }

    #[test]
    fn c1_controls_and_bidi_overrides_are_shown() {
        assert_eq!(for_terminal("\u{9b}2J\u{85}"), "\\x9b2J\\x85");
        assert_eq!(
            for_terminal("invoice\u{202e}fdp.exe\u{2066}x\u{2069}"),
            "invoice\\u{202e}fdp.exe\\u{2066}x\\u{2069}"
        );
        // Right-to-left text itself is text, not a control.
        assert!(matches!(for_terminal("שלום"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_for_a_terminal_escapes_what_json_leaves_raw_and_stays_json() {
        let json = serde_json::json!({ "name": "a\u{9b}2J\u{202e}b" }).to_string();
        let shown = json_for_terminal(&json);
        assert_eq!(shown, r#"{"name":"a\u009b2J\u202eb"}"#);
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back["name"], "a\u{9b}2J\u{202e}b");
        assert!(matches!(
            json_for_terminal(r#"{"a":"é"}"#),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn one_line_text_shows_its_newlines() {
        assert_eq!(for_one_line("bad\ntdc: ok\r\n"), "bad\\ntdc: ok\\x0d\\n");
        assert_eq!(for_terminal("two\nlines"), "two\nlines");
        assert!(matches!(for_one_line("a\tb"), Cow::Borrowed(_)));
    }
}
