//! The line editor's helper: multi-line input by parsing, completion, signature hints and
//! highlighting.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hint, Hinter};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use super::catalog::Catalog;

pub(crate) const COMMANDS: [&str; 13] = [
    ":help", ":doc", ":vars", ":load", ":save", ":reload", ":edit", ":time", ":conn", ":dry",
    ":json", ":clear", ":quit",
];

const KEYWORDS: [&str; 24] = [
    "let", "const", "fn", "if", "else", "for", "in", "while", "loop", "do", "until", "return",
    "throw", "try", "catch", "break", "continue", "import", "as", "true", "false", "switch",
    "private", "export",
];

/// What completion knows of a variable in scope.
#[derive(Debug, Clone)]
pub(crate) struct VarInfo {
    pub(crate) name: String,
    /// "Dialer", "Query", "Recording", "map", or another type name.
    pub(crate) kind: String,
    /// The keys of a map value.
    pub(crate) keys: Vec<String>,
}

/// Shared with the REPL loop, which refreshes `vars` after every entry.
#[derive(Default)]
pub(crate) struct Knowledge {
    pub(crate) vars: Vec<VarInfo>,
    /// Functions the user defined.
    pub(crate) functions: Vec<String>,
}

pub(crate) struct ReplHelper {
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) knowledge: Arc<Mutex<Knowledge>>,
    pub(crate) color: bool,
    files: FilenameCompleter,
}

impl ReplHelper {
    pub(crate) fn new(
        catalog: Arc<Catalog>,
        knowledge: Arc<Mutex<Knowledge>>,
        color: bool,
    ) -> ReplHelper {
        ReplHelper {
            catalog,
            knowledge,
            color,
            files: FilenameCompleter::new(),
        }
    }
}

/// Whether a compile error means "the input ended too early": only then does Enter continue
/// the entry. `MissingToken` is also reported for mistakes in the middle (`foo(1 2)`), so the
/// error must sit at the end of the input.
pub(crate) fn is_incomplete(input: &str, error: &rhai::ParseError) -> bool {
    use rhai::ParseErrorType as E;
    let at_end = match (error.position().line(), error.position().position()) {
        (None, _) => true,
        (Some(line), column) => {
            let lines: Vec<&str> = input.lines().collect();
            let last = lines.len().max(1);
            let trailing_blank = input.ends_with('\n');
            line > last
                || (line == last
                    && column.is_none_or(|c| c > lines.last().map_or(0, |l| l.trim_end().len())))
                || (trailing_blank && line == last + 1)
        }
    };
    match error.err_type() {
        E::UnexpectedEOF => true,
        E::MissingToken(..) => at_end,
        E::BadInput(rhai::LexError::UnterminatedString) => true,
        E::BadInput(rhai::LexError::UnexpectedInput(text)) if text.starts_with('`') => at_end,
        _ => false,
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if input.trim_start().starts_with(':') {
            return Ok(ValidationResult::Valid(None));
        }
        match rhai::Engine::new_raw().compile(input) {
            Err(error) if is_incomplete(input, &error) => Ok(ValidationResult::Incomplete),
            _ => Ok(ValidationResult::Valid(None)),
        }
    }
}

/// The start of the name that ends at `pos`: an identifier, or a module path such as
/// `cdr::kpis` (stdlib functions are completed and documented by their whole name).
fn word_start(line: &str, pos: usize) -> usize {
    let identifier_start = |end: usize| {
        line[..end]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
            .last()
            .map_or(end, |(i, _)| i)
    };
    let mut start = identifier_start(pos);
    while line[..start].ends_with("::") {
        let module = identifier_start(start - 2);
        if module == start - 2 {
            break;
        }
        start = module;
    }
    start
}

/// The index of the `(` that matches the `)` ending at `end` (exclusive).
fn matching_open(text: &str, close: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in text[..close].char_indices().rev() {
        match c {
            ')' | ']' | '}' => depth += 1,
            '(' | '[' | '{' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

impl ReplHelper {
    /// The host type (or map keys) of the expression before a dot.
    fn receiver_members(&self, receiver: &str) -> Vec<(String, String)> {
        let receiver = receiver.trim_end();
        let knowledge = self.knowledge.lock().unwrap_or_else(|e| e.into_inner());
        let kind = if receiver.ends_with(')') {
            matching_open(receiver, receiver.len()).and_then(|open| {
                let start = word_start(receiver, open);
                self.catalog.returns_host_type(&receiver[start..open])
            })
        } else {
            let start = word_start(receiver, receiver.len());
            let name = &receiver[start..];
            match knowledge.vars.iter().find(|v| v.name == name) {
                Some(var) if var.kind == "map" => {
                    return var.keys.iter().map(|k| (k.clone(), k.clone())).collect();
                }
                Some(var) => Some(var.kind.clone()),
                None => None,
            }
        };
        let Some(kind) = kind else {
            return Vec::new();
        };
        self.catalog
            .members_of(&kind)
            .into_iter()
            .map(|(name, f)| {
                let replacement = if f.getter {
                    name.to_string()
                } else {
                    format!("{name}(")
                };
                (f.signature(), replacement)
            })
            .collect()
    }
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        if before.trim_start().starts_with(':') && !before.contains(' ') {
            let start = before.find(':').unwrap_or(0);
            let candidates = COMMANDS
                .iter()
                .filter(|c| c.starts_with(&before[start..]))
                .map(|c| Pair {
                    display: c.to_string(),
                    replacement: format!("{c} "),
                })
                .collect();
            return Ok((start, candidates));
        }
        if before.matches('"').count() % 2 == 1
            || before.trim_start().starts_with(":load ")
            || before.trim_start().starts_with(":save ")
        {
            return self.files.complete(line, pos, ctx);
        }
        let start = word_start(line, pos);
        let prefix = &line[start..pos];
        let mut candidates: Vec<(String, String)> = if start > 0 && line[..start].ends_with('.') {
            self.receiver_members(&line[..start - 1])
        } else {
            let knowledge = self.knowledge.lock().unwrap_or_else(|e| e.into_inner());
            let mut all: Vec<(String, String)> = knowledge
                .vars
                .iter()
                .map(|v| (v.name.clone(), v.name.clone()))
                .collect();
            all.extend(
                knowledge
                    .functions
                    .iter()
                    .map(|f| (f.clone(), format!("{f}("))),
            );
            all.extend(
                self.catalog
                    .globals()
                    .into_iter()
                    .map(|(name, f)| (f.signature(), format!("{name}("))),
            );
            all.extend(KEYWORDS.iter().map(|k| (k.to_string(), k.to_string())));
            all
        };
        candidates.retain(|(_, replacement)| replacement.starts_with(prefix));
        candidates.sort_by(|a, b| a.1.cmp(&b.1));
        candidates.dedup_by(|a, b| a.1 == b.1);
        Ok((
            start,
            candidates
                .into_iter()
                .map(|(display, replacement)| Pair {
                    display,
                    replacement,
                })
                .collect(),
        ))
    }
}

/// A signature shown after the cursor; never inserted.
pub(crate) struct SignatureHint(String);

impl Hint for SignatureHint {
    fn display(&self) -> &str {
        &self.0
    }

    fn completion(&self) -> Option<&str> {
        None
    }
}

impl Hinter for ReplHelper {
    type Hint = SignatureHint;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<SignatureHint> {
        if pos < line.len() || line.trim_start().starts_with(':') {
            return None;
        }
        // The innermost unclosed call around the cursor.
        let mut depth = 0;
        let open = line.char_indices().rev().find_map(|(i, c)| {
            match c {
                ')' => depth += 1,
                '(' if depth == 0 => return Some(i),
                '(' => depth -= 1,
                _ => {}
            }
            None
        })?;
        let name = &line[word_start(line, open)..open];
        let method = line[..word_start(line, open)].ends_with('.');
        let overloads: Vec<String> = self
            .catalog
            .named(name)
            .filter(|f| f.receiver.is_some() == method)
            .map(|f| format!("{}({})", f.name, f.params.join(", ")))
            .collect();
        if overloads.is_empty() {
            return None;
        }
        Some(SignatureHint(format!("    {}", overloads.join("  |  "))))
    }
}

const RESET: &str = "\x1b[0m";

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, pos: usize) -> Cow<'l, str> {
        if !self.color {
            return Cow::Borrowed(line);
        }
        Cow::Owned(highlight_code(line, matching_bracket(line, pos)))
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(format!("\x1b[2m{hint}{RESET}"))
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, kind: CmdKind) -> bool {
        self.color && kind != CmdKind::ForcedRefresh
    }
}

/// The positions of the bracket at (or just before) the cursor and its partner.
fn matching_bracket(line: &str, pos: usize) -> Option<(usize, usize)> {
    let bytes = line.as_bytes();
    let at = [pos, pos.wrapping_sub(1)]
        .into_iter()
        .find(|&i| i < bytes.len() && b"()[]{}".contains(&bytes[i]))?;
    let (open, close, forward) = match bytes[at] {
        b'(' => (b'(', b')', true),
        b'[' => (b'[', b']', true),
        b'{' => (b'{', b'}', true),
        b')' => (b'(', b')', false),
        b']' => (b'[', b']', false),
        _ => (b'{', b'}', false),
    };
    let mut depth = 0i32;
    let indices: Box<dyn Iterator<Item = usize>> = if forward {
        Box::new(at..bytes.len())
    } else {
        Box::new((0..=at).rev())
    };
    for i in indices {
        if bytes[i] == open {
            depth += if forward { 1 } else { -1 };
        } else if bytes[i] == close {
            depth += if forward { -1 } else { 1 };
        }
        if depth == 0 {
            return Some((at, i));
        }
    }
    None
}

/// Colours keywords, strings, numbers and comments, and marks a bracket pair.
pub(crate) fn highlight_code(line: &str, brackets: Option<(usize, usize)>) -> String {
    let mut out = String::with_capacity(line.len() * 2);
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if brackets.is_some_and(|(a, b)| at == a || at == b) {
            out.push_str(&format!("\x1b[1;7m{c}{RESET}"));
            i += 1;
        } else if c == '"' || c == '`' {
            let mut j = i + 1;
            while j < chars.len() && chars[j].1 != c {
                j += if chars[j].1 == '\\' { 2 } else { 1 };
            }
            let end = chars.get(j + 1).map_or(line.len(), |(p, _)| *p);
            out.push_str(&format!(
                "\x1b[32m{}{RESET}",
                &line[at..end.min(line.len())]
            ));
            i = j + 1;
        } else if c == '/' && chars.get(i + 1).is_some_and(|(_, n)| *n == '/') {
            out.push_str(&format!("\x1b[90m{}{RESET}", &line[at..]));
            break;
        } else if c.is_ascii_digit() {
            let mut j = i;
            while j < chars.len()
                && (chars[j].1.is_ascii_alphanumeric() || chars[j].1 == '.' || chars[j].1 == '_')
            {
                j += 1;
            }
            let end = chars.get(j).map_or(line.len(), |(p, _)| *p);
            out.push_str(&format!("\x1b[33m{}{RESET}", &line[at..end]));
            i = j;
        } else if c.is_alphabetic() || c == '_' {
            let mut j = i;
            while j < chars.len() && (chars[j].1.is_alphanumeric() || chars[j].1 == '_') {
                j += 1;
            }
            let end = chars.get(j).map_or(line.len(), |(p, _)| *p);
            let word = &line[at..end];
            if KEYWORDS.contains(&word) {
                out.push_str(&format!("\x1b[34m{word}{RESET}"));
            } else {
                out.push_str(word);
            }
            i = j;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

impl Helper for ReplHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn incomplete(input: &str) -> bool {
        match rhai::Engine::new_raw().compile(input) {
            Ok(_) => false,
            Err(e) => is_incomplete(input, &e),
        }
    }

    #[test]
    fn only_input_that_ended_early_continues() {
        assert!(incomplete("fn f(x) {"));
        assert!(incomplete("fn f(x) {\n  x * 2"));
        assert!(incomplete("let s = \"abc"));
        assert!(incomplete("let a = [1, 2,"));
        assert!(!incomplete("fn f(x) {\n  x * 2\n}"));
        assert!(
            !incomplete("foo(1 2)"),
            "a mistake in the middle is submitted"
        );
        assert!(!incomplete("let x = ;"));
    }

    #[test]
    fn a_module_path_is_one_name() {
        assert_eq!(word_start("let k = cdr::kp", 15), 8);
        assert_eq!(word_start("td.cdr", 6), 3);
        assert_eq!(word_start("#{a::", 5), 2);
        assert_eq!(word_start("x = ::kp", 8), 6);
    }

    #[test]
    fn brackets_match_and_code_is_coloured() {
        assert_eq!(matching_bracket("f(a(b))", 1), Some((1, 6)));
        assert_eq!(matching_bracket("f(a(b))", 7), Some((6, 1)));
        let coloured = highlight_code("let s = \"x\"; // note", None);
        assert!(
            coloured.contains("\x1b[34mlet")
                && coloured.contains("\x1b[32m\"x\"")
                && coloured.contains("\x1b[90m// note")
        );
    }
}
