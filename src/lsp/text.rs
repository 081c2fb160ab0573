//! An open script's text and the two ways of counting columns: the compiler's (1-based, in
//! characters) and the protocol's (0-based, in UTF-16 code units, as clients count by
//! default).

use std::path::PathBuf;

use lsp_types::{Position, Range, Uri};

use super::analysis::{is_word_char, Origin};

pub(crate) struct Document {
    pub(crate) uri: Uri,
    /// The file, for a `file:` URI: imports resolve beside it.
    pub(crate) path: Option<PathBuf>,
    /// The text as the compiler reads it (a shebang line blanked).
    pub(crate) text: String,
}

impl Document {
    pub(crate) fn new(uri: Uri, text: String) -> Document {
        let path = url::Url::parse(uri.as_str())
            .ok()
            .filter(|url| url.scheme() == "file")
            .and_then(|url| url.to_file_path().ok());
        Document {
            uri,
            path,
            text: crate::script::engine::without_shebang(text),
        }
    }

    /// The name diagnostics use: the file's path, else the URI.
    pub(crate) fn name(&self) -> String {
        match &self.path {
            Some(path) => path.display().to_string(),
            None => self.uri.as_str().to_string(),
        }
    }

    pub(crate) fn origin<'a>(&'a self, name: &'a str) -> Origin<'a> {
        Origin {
            name,
            path: self.path.as_deref(),
        }
    }

    pub(crate) fn line(&self, line: u32) -> &str {
        self.text.lines().nth(line as usize).unwrap_or("")
    }

    /// The byte offset within its line of a protocol position.
    pub(crate) fn byte_in_line(&self, position: Position) -> usize {
        byte_at_utf16(self.line(position.line), position.character)
    }

    /// The line up to a position, and the lines before it that the same expression spans
    /// (a chain continued on lines starting with `.`).
    pub(crate) fn before(&self, position: Position) -> String {
        let lines: Vec<&str> = self.text.lines().collect();
        let current = lines.get(position.line as usize).copied().unwrap_or("");
        let mut text = current[..byte_at_utf16(current, position.character)].to_string();
        let mut index = position.line as usize;
        let mut continued = text.trim_start().starts_with('.');
        while continued && index > 0 {
            index -= 1;
            let previous = lines[index];
            text = format!("{previous}\n{text}");
            continued = previous.trim_start().starts_with('.');
        }
        text
    }

    /// The word at a position and its range.
    pub(crate) fn word_at(&self, position: Position) -> Option<(String, Range)> {
        let line = self.line(position.line);
        let at = self.byte_in_line(position);
        let start = line[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_word_char(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let end = line[at..]
            .char_indices()
            .find(|(_, c)| !is_word_char(*c))
            .map_or(line.len(), |(i, _)| at + i);
        (start < end).then(|| {
            let range = Range::new(
                Position::new(position.line, utf16_len(&line[..start])),
                Position::new(position.line, utf16_len(&line[..end])),
            );
            (line[start..end].to_string(), range)
        })
    }

    /// The range of `width` characters at a compiler line and column (both 1-based).
    pub(crate) fn range(&self, line: usize, column: usize, width: usize) -> Range {
        let index = line.saturating_sub(1);
        let text = self.text.lines().nth(index).unwrap_or("");
        let start = column.saturating_sub(1);
        let utf16_at = |chars: usize| -> u32 {
            text.chars().take(chars).map(char::len_utf16).sum::<usize>() as u32
        };
        let line = index as u32;
        Range::new(
            Position::new(line, utf16_at(start)),
            Position::new(line, utf16_at(start + width.max(1))),
        )
    }
}

pub(crate) fn utf16_len(text: &str) -> u32 {
    text.encode_utf16().count() as u32
}

fn byte_at_utf16(line: &str, character: u32) -> usize {
    let mut units = 0u32;
    for (i, c) in line.char_indices() {
        if units >= character {
            return i;
        }
        units += c.len_utf16() as u32;
    }
    line.len()
}

/// The 1-based line of `fn name(` in a source, if it defines one.
pub(crate) fn function_line(source: &str, name: &str) -> Option<(u32, u32)> {
    source.lines().enumerate().find_map(|(index, line)| {
        let code = line.trim_start();
        let code_start = line.len() - code.len();
        let rest = code
            .strip_prefix("private ")
            .map(str::trim_start)
            .unwrap_or(code);
        let after_fn = rest.strip_prefix("fn ")?.trim_start();
        let after_name = after_fn.strip_prefix(name)?;
        if !after_name.trim_start().starts_with('(') {
            return None;
        }
        let column = line.len() - after_fn.len();
        debug_assert!(column >= code_start);
        Some((index as u32, utf16_len(&line[..column])))
    })
}

/// The module alias a line ends in before `::` (`cdr` of `let k = cdr::`), if it does.
pub(crate) fn alias_before(head: &str) -> Option<&str> {
    let alias_head = head.strip_suffix("::")?;
    let start = alias_head
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word_char(*c))
        .last()
        .map_or(alias_head.len(), |(i, _)| i);
    Some(&alias_head[start..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn columns_count_utf16_units_for_the_protocol() {
        let doc = Document::new(
            Uri::from_str("file:///tmp/a.rhai").unwrap(),
            "let é = \"😀\"; foo(1);\n".into(),
        );
        // `foo` is at character column 14 (1-based); 😀 takes two UTF-16 units.
        let range = doc.range(1, 14, 3);
        assert_eq!((range.start.character, range.end.character), (14, 17));
        let (word, _) = doc.word_at(Position::new(0, 15)).unwrap();
        assert_eq!(word, "foo");
        assert_eq!(
            doc.path.as_deref(),
            Some(std::path::Path::new("/tmp/a.rhai"))
        );
    }

    #[test]
    fn functions_are_found_by_their_definition() {
        let source = "let x = 1;\n  private fn helper(a) {}\nfn helpers() {}\n";
        assert_eq!(function_line(source, "helper"), Some((1, 13)));
        assert_eq!(function_line(source, "helpers"), Some((2, 3)));
        assert_eq!(function_line(source, "missing"), None);
    }
}
