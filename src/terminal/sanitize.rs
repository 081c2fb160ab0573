//! Text from a server or a record on its way to a terminal: control characters are shown,
//! not obeyed. An escape sequence in a lead's name or an error message could otherwise set
//! the window title, clear the screen or write the clipboard (OSC 52). Newlines and tabs stay;
//! every other C0 and C1 control and DEL becomes visible text (`\e` for ESC, `\xNN` for the
//! rest). JSON output needs none of this: JSON escapes controls itself.

use std::borrow::Cow;

fn is_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || c == '\u{7f}'
}

/// `text` with its control characters made visible.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\u{1b}' => out.push_str("\\e"),
            c if is_control(c) => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
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
}
