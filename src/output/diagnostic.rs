//! The one renderer of script errors, shared by `run`, `check`, `eval`, the REPL and watch
//! mode:
//!
//! ```text
//! report.rhai:3:9: error: Variable not found: cdrz
//!     3 | let n = cdrz.len();
//!       |         ^
//! ```
//!
//! An API error the script did not catch is one line: `FILE:LINE:COL: error: METHOD /path:
//! STATUS message`.

use std::fmt;

use rhai::{Dynamic, EvalAltResult, Map, ParseError, Position};

use crate::script::engine::stdlib_source;
use crate::script::permissions::Powers;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Diagnostic {
    pub(crate) file: String,
    pub(crate) line: Option<usize>,
    pub(crate) column: Option<usize>,
    pub(crate) message: String,
    /// The source line to show under the message, with a caret at `column`.
    pub(crate) source_line: Option<String>,
}

impl fmt::Display for Diagnostic {
    /// Messages carry server text and record values: their control characters are shown,
    /// never sent to the terminal as they are, and a URL's password never.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::terminal::sanitize::for_terminal;
        let message = crate::config::redact_urls_in(&self.message);
        let (file, message) = (for_terminal(&self.file), for_terminal(&message));
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "{file}:{line}:{column}: error: {message}")?,
            (Some(line), None) => write!(f, "{file}:{line}: error: {message}")?,
            _ => write!(f, "{file}: error: {message}")?,
        }
        if let (Some(line), Some(text)) = (self.line, &self.source_line) {
            let (text, column) = around(text, self.column);
            let text = for_terminal(&text);
            let number = line.to_string();
            let gutter = " ".repeat(number.len().max(4));
            write!(f, "\n{number:>4} | {text}")?;
            if let Some(column) = column {
                // Tabs stay tabs so that the caret lines up under them.
                let pad: String = text
                    .chars()
                    .take(column.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                write!(f, "\n{gutter} | {pad}^")?;
            }
        }
        Ok(())
    }
}

/// At most this many characters of a line are shown: enough to point at the error, and a
/// "module" that is a secrets file on one line is not printed whole.
const SHOWN_CHARS: usize = 120;

/// The part of `line` shown around `column` (1-based), `…` where it is cut, and the column
/// within what is shown.
fn around(line: &str, column: Option<usize>) -> (String, Option<usize>) {
    let count = line.chars().count();
    if count <= SHOWN_CHARS {
        return (line.to_string(), column);
    }
    let at = column.unwrap_or(1).saturating_sub(1).min(count);
    let start = at.saturating_sub(SHOWN_CHARS / 2).min(count - SHOWN_CHARS);
    let mut shown: String = line.chars().skip(start).take(SHOWN_CHARS).collect();
    let mut column = column.map(|c| c.saturating_sub(start).max(1));
    if start > 0 {
        shown.insert(0, '…');
        column = column.map(|c| c + 1);
    }
    if start + SHOWN_CHARS < count {
        shown.push('…');
    }
    (shown, column)
}

/// The text of a source file, for showing its lines.
fn source_of(
    file: &str,
    main_file: &str,
    main_source: &str,
    powers: Option<&Powers>,
) -> Option<String> {
    if file == main_file {
        return Some(main_source.to_string());
    }
    if let Some(name) = file
        .strip_prefix("<stdlib>/")
        .and_then(|f| f.strip_suffix(".rhai"))
    {
        return stdlib_source(name).map(str::to_string);
    }
    // An imported module, read again under the powers it was imported with (it may have
    // been swapped for a link since).
    let access = crate::files::Access::bounded(powers?, "import");
    crate::files::read_to_string(access, file.as_ref()).ok()
}

fn at(
    file: &str,
    position: Position,
    message: String,
    main_file: &str,
    main_source: &str,
    with_source: bool,
    powers: Option<&Powers>,
) -> Diagnostic {
    let line = position.line();
    let source_line = if with_source {
        line.and_then(|l| {
            source_of(file, main_file, main_source, powers)
                .and_then(|s| s.lines().nth(l - 1).map(str::to_string))
        })
    } else {
        None
    };
    Diagnostic {
        file: file.to_string(),
        line,
        column: position.position(),
        message,
        source_line,
    }
}

/// A compile error. A missing `;` is shown where it belongs, at the end of the statement that
/// lacks it, not at the start of the next one (which is where the parser notices).
pub(crate) fn from_parse_error(error: &ParseError, file: &str, source: &str) -> Diagnostic {
    let position = match error.err_type() {
        rhai::ParseErrorType::MissingToken(token, _) if token == ";" => {
            end_of_previous_code(source, error.position()).unwrap_or(error.position())
        }
        _ => error.position(),
    };
    let mut message = error.err_type().to_string();
    if let Some((cut, _)) = message.char_indices().nth(SHOWN_CHARS) {
        message.truncate(cut);
        message.push('…');
    }
    at(file, position, message, file, source, true, None)
}

/// The code of a line without its `//` comment (one outside quotes).
fn without_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q && previous != '\\' => quote = None,
            Some(_) => {}
            None if c == '"' || c == '`' || c == '\'' => quote = Some(c),
            None if c == '/' && previous == '/' => return &line[..i - 1],
            None => {}
        }
        previous = c;
    }
    line
}

/// Just after the last code before `position`, skipping blank lines and comments.
fn end_of_previous_code(source: &str, position: Position) -> Option<Position> {
    let lines: Vec<&str> = source.lines().collect();
    let mut index = position.line()?.checked_sub(1)?;
    let mut before = position.position().unwrap_or(1).saturating_sub(1);
    loop {
        let line = lines.get(index)?;
        let head: String = line.chars().take(before).collect();
        let code = without_comment(&head).trim_end();
        if !code.is_empty() {
            let line = u16::try_from(index + 1).ok()?;
            let column = u16::try_from(code.chars().count() + 1).ok()?;
            return Some(Position::new(line, column));
        }
        index = index.checked_sub(1)?;
        before = usize::MAX;
    }
}

/// Whether a thrown value is the map of an API error.
pub(crate) fn api_error_text(value: &Dynamic) -> Option<String> {
    let map = value.read_lock::<Map>()?;
    let endpoint = map.get("endpoint")?.to_string();
    let message = map.get("message")?.to_string();
    Some(match map.get("status").and_then(|s| s.as_int().ok()) {
        Some(status) => format!("{endpoint}: {status} {message}"),
        None => format!("{endpoint}: {message}"),
    })
}

/// A runtime error, located in the innermost file and function it happened in.
/// Lines of imported modules are shown when `powers` still allow reading them.
pub(crate) fn from_eval_error(
    error: &EvalAltResult,
    file: &str,
    source: &str,
    powers: &Powers,
) -> Diagnostic {
    let mut current = error;
    let mut current_file = file.to_string();
    let mut outer_position = error.position();
    loop {
        match current {
            EvalAltResult::ErrorInFunctionCall(_, function_source, inner, position) => {
                if !function_source.is_empty() {
                    current_file = function_source.clone();
                }
                if !position.is_none() && outer_position.is_none() {
                    outer_position = *position;
                }
                current = inner;
            }
            EvalAltResult::ErrorInModule(module_file, inner, _) => {
                if !module_file.is_empty() {
                    current_file = module_file.clone();
                }
                current = inner;
            }
            _ => break,
        }
    }
    let position = if current.position().is_none() {
        outer_position
    } else {
        current.position()
    };
    let (message, with_source) = message_of(current);
    at(
        &current_file,
        position,
        message,
        file,
        source,
        with_source,
        Some(powers),
    )
}

/// What went wrong, without where: an API error as `GET /api/cdrs: 503 …`, anything else as
/// Rhai says it. For an error met where no script line applies (a result being printed).
pub(crate) fn error_message(mut error: &EvalAltResult) -> String {
    while let EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
    | EvalAltResult::ErrorInModule(_, inner, _) = error
    {
        error = inner;
    }
    message_of(error).0
}

/// The message of the innermost error, and whether its source line helps to read it.
fn message_of(error: &EvalAltResult) -> (String, bool) {
    match error {
        EvalAltResult::ErrorRuntime(value, _) => match api_error_text(value) {
            Some(text) => (text, false),
            None => (
                value
                    .clone()
                    .into_string()
                    .unwrap_or_else(|_| format!("uncaught error: {value}")),
                true,
            ),
        },
        EvalAltResult::ErrorTerminated(..) => ("interrupted".to_string(), false),
        EvalAltResult::ErrorFunctionNotFound(signature, _) => {
            // `cdr (Dialer)`: the name, then the argument types.
            let (name, types) = signature
                .split_once(' ')
                .map_or((signature.as_str(), ""), |(n, t)| (n, t));
            let receiver = types
                .trim_start_matches('(')
                .split([',', ')'])
                .next()
                .map(str::trim)
                .filter(|t| ["Dialer", "Query", "Recording"].contains(t));
            let similar = crate::script::engine::similar_functions(name, receiver);
            let hint = if similar.is_empty() {
                String::new()
            } else {
                format!("; did you mean {}?", similar.join(", "))
            };
            (format!("Function not found: {signature}{hint}"), true)
        }
        EvalAltResult::ErrorParsing(parse, _) => (parse.to_string(), true),
        other => {
            let text = other.to_string();
            let suffix = format!(" ({})", other.position());
            let bare = text.strip_suffix(&suffix).unwrap_or(&text).to_string();
            (bare, true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_is_shown_around_its_column_only() {
        let line = format!("{}X{}", "a".repeat(300), "b".repeat(300));
        let (shown, column) = around(&line, Some(301));
        assert_eq!(shown.chars().count(), SHOWN_CHARS + 2);
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(shown.chars().nth(column.unwrap() - 1), Some('X'));
        assert_eq!(around("short", Some(2)), ("short".to_string(), Some(2)));
    }

    #[test]
    fn renders_file_line_column_source_and_caret() {
        let d = Diagnostic {
            file: "a.rhai".into(),
            line: Some(3),
            column: Some(9),
            message: "Variable not found: cdrz".into(),
            source_line: Some("let n = cdrz.len();".into()),
        };
        assert_eq!(
            d.to_string(),
            "a.rhai:3:9: error: Variable not found: cdrz\n   3 | let n = cdrz.len();\n     |         ^"
        );
    }

    #[test]
    fn compile_errors_point_at_the_token() {
        let engine = rhai::Engine::new();
        let source = "let x = 1;\nlet y = (x + ;\n";
        let err = engine.compile(source).unwrap_err();
        let d = from_parse_error(&err, "s.rhai", source);
        assert_eq!((d.file.as_str(), d.line), ("s.rhai", Some(2)));
        assert_eq!(d.source_line.as_deref(), Some("let y = (x + ;"));
    }

    #[test]
    fn a_missing_semicolon_is_shown_where_it_belongs() {
        let engine = rhai::Engine::new();
        for (source, line, column, text) in [
            ("let a = 1\nlet b = 2;\n", 1, 10, "let a = 1"),
            (
                "for i in 0..3 {\n    let t = i   // url: \"http://x\"\n\n    print(t);\n}\n",
                2,
                14,
                "    let t = i   // url: \"http://x\"",
            ),
            (
                "let u = \"http://x\"\nprint(u);\n",
                1,
                19,
                "let u = \"http://x\"",
            ),
        ] {
            let err = engine.compile(source).unwrap_err();
            let d = from_parse_error(&err, "s.rhai", source);
            assert_eq!((d.line, d.column), (Some(line), Some(column)), "{source}");
            assert_eq!(d.source_line.as_deref(), Some(text));
            assert!(d.message.contains("';'"), "{}", d.message);
        }
    }

    #[test]
    fn runtime_errors_inside_functions_point_inside() {
        let engine = rhai::Engine::new();
        let source = "fn f(x) {\n  x.nope()\n}\nf(1);\n";
        let err = engine.run(source).unwrap_err();
        let d = from_eval_error(&err, "s.rhai", source, &Powers::default());
        assert_eq!(d.line, Some(2), "{d}");
        assert!(d.message.contains("nope"), "{d}");
    }
}
