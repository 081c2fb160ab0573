//! Completion: module names in `import "…"`, a module's functions after `alias::`, a query's
//! fields in `.where("…"`, and everything the REPL completes (`td.` and the methods of tdc's
//! types, variables, functions, keywords) from the REPL's own completer.

use std::sync::{Arc, Mutex};

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionTextEdit, Documentation, MarkupContent,
    MarkupKind, Position, Range, TextEdit,
};
use rustyline::completion::Completer;

use super::analysis::{is_word_char, module_functions, resource_fields, Outline, Tools};
use super::text::{alias_before, utf16_len, Document};
use crate::repl::helper::{Knowledge, ReplHelper, VarInfo};

pub(crate) fn complete(
    tools: &Arc<Tools>,
    document: &Document,
    outline: &Outline,
    position: Position,
) -> Vec<CompletionItem> {
    let before = document.before(position);
    let word_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word_char(*c))
        .last()
        .map_or(before.len(), |(i, _)| i);
    let (head, word) = before.split_at(word_start);
    let line_start = position.character.saturating_sub(utf16_len(word));
    let replace = Range::new(Position::new(position.line, line_start), position);
    let name = document.name();
    let origin = document.origin(&name);

    if in_string(&before) {
        if let Some(module_head) = head.strip_suffix('"') {
            if module_head.trim_end().ends_with("import") {
                return modules(document, word, replace);
            }
            if let Some(resource) = where_resource(module_head, outline) {
                let Some((fields, _)) = resource_fields(&resource) else {
                    return Vec::new();
                };
                return fields
                    .into_iter()
                    .filter(|f| f.starts_with(word))
                    .map(|f| item(f, CompletionItemKind::FIELD, replace, None, None))
                    .collect();
            }
        }
        return Vec::new();
    }

    if let Some(alias) = alias_before(head) {
        let module = outline.imports.get(alias).map_or(alias, String::as_str);
        let Some(functions) = module_functions(tools, module, &origin) else {
            return Vec::new();
        };
        return functions
            .keys()
            .filter(|f| f.starts_with(word))
            .map(|f| {
                let qualified = format!("{module}::{f}");
                let doc = tools.catalog.named(&qualified).next();
                item(
                    f,
                    CompletionItemKind::FUNCTION,
                    replace,
                    doc.map(|d| d.signature()),
                    doc.map(|d| d.doc.clone()),
                )
            })
            .collect();
    }

    repl_completions(tools, outline, &before, replace)
}

/// Whether the text ends inside a string literal.
fn in_string(text: &str) -> bool {
    let line = text.rsplit('\n').next().unwrap_or(text);
    let mut open = false;
    let mut escaped = false;
    for c in line.chars() {
        match c {
            '\\' if open && !escaped => {
                escaped = true;
                continue;
            }
            '"' if !escaped => open = !open,
            _ => {}
        }
        escaped = false;
    }
    open
}

/// The resource of the query a `.where(` ending `text` filters, if known.
fn where_resource(text: &str, outline: &Outline) -> Option<String> {
    let receiver = text
        .trim_end()
        .strip_suffix('(')?
        .trim_end()
        .strip_suffix("where")?
        .trim_end()
        .strip_suffix('.')?;
    // The last query-starting method in the chain names the resource; else the variable the
    // chain starts from does.
    let mut best: Option<(usize, &str)> = None;
    for resource in ["cdrs", "calls", "leads", "campaign_leads"] {
        if let Some(at) = receiver.rfind(&format!(".{resource}(")) {
            if best.is_none_or(|(b, _)| at > b) {
                best = Some((at, resource));
            }
        }
    }
    if let Some((_, resource)) = best {
        return Some(resource.to_string());
    }
    let root = chain_root(receiver);
    outline
        .variables
        .get(root)
        .cloned()
        .flatten()
        .and_then(|inferred| inferred.resource)
}

/// The variable a chain of calls ending `text` starts from (`q` in `let n = q.limit(3)`).
fn chain_root(text: &str) -> &str {
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices().rev() {
        match c {
            ')' | ']' => depth += 1,
            '(' | '[' if depth > 0 => depth -= 1,
            _ if depth > 0 || is_word_char(c) || c == '.' => {}
            // A chain continued on the next line: `q\n    .limit(3)`.
            _ if c.is_whitespace() && text[i..].trim_start().starts_with('.') => {}
            _ => {
                start = i + c.len_utf8();
                break;
            }
        }
    }
    let chain = text[start..].trim_start();
    let end = chain
        .find(|c: char| !is_word_char(c))
        .unwrap_or(chain.len());
    &chain[..end]
}

fn modules(document: &Document, word: &str, replace: Range) -> Vec<CompletionItem> {
    let mut names: Vec<String> = crate::script::engine::stdlib_names()
        .chain(crate::script::engine::NATIVE_STDLIB)
        .map(str::to_string)
        .collect();
    if let Some(folder) = document.path.as_deref().and_then(std::path::Path::parent) {
        if let Ok(entries) = std::fs::read_dir(folder) {
            for entry in entries.flatten() {
                let path = entry.path();
                let is_script = path.extension().is_some_and(|e| e == "rhai");
                if is_script && Some(path.as_path()) != document.path.as_deref() {
                    if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                        names.push(stem.to_string());
                    }
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
        .iter()
        .filter(|n| n.starts_with(word))
        .map(|n| item(n, CompletionItemKind::MODULE, replace, None, None))
        .collect()
}

/// The REPL's completer, told what the script declares instead of what a session holds.
fn repl_completions(
    tools: &Arc<Tools>,
    outline: &Outline,
    before: &str,
    replace: Range,
) -> Vec<CompletionItem> {
    let vars = outline
        .variables
        .iter()
        .map(|(name, inferred)| VarInfo {
            name: name.clone(),
            kind: inferred
                .as_ref()
                .map_or_else(|| "?".to_string(), |i| i.type_name.clone()),
            keys: Vec::new(),
        })
        .collect();
    let knowledge = Knowledge {
        vars,
        functions: outline.functions.iter().map(|f| f.name.clone()).collect(),
    };
    let helper = ReplHelper::new(
        tools.catalog.clone(),
        Arc::new(Mutex::new(knowledge)),
        false,
    );
    let history = rustyline::history::DefaultHistory::new();
    let context = rustyline::Context::new(&history);
    let Ok((_, pairs)) = helper.complete(before, before.len(), &context) else {
        return Vec::new();
    };
    let member = before.trim_end_matches(is_word_char).ends_with('.');
    pairs
        .into_iter()
        .map(|pair| {
            let call = pair.replacement.ends_with('(');
            let label = pair.replacement.trim_end_matches('(');
            let doc = call
                .then(|| tools.catalog.named(label).next())
                .flatten()
                .map(|f| f.doc.clone())
                .or_else(|| {
                    outline
                        .functions
                        .iter()
                        .find(|f| f.name == label)
                        .map(|f| f.doc.clone())
                });
            let kind = match (call, member) {
                (true, true) => CompletionItemKind::METHOD,
                (true, false) => CompletionItemKind::FUNCTION,
                (false, true) => CompletionItemKind::PROPERTY,
                (false, false) if outline.variables.contains_key(label) => {
                    CompletionItemKind::VARIABLE
                }
                (false, false) => CompletionItemKind::KEYWORD,
            };
            let detail = (pair.display != label).then_some(pair.display);
            item(label, kind, replace, detail, doc)
        })
        .collect()
}

fn item(
    label: &str,
    kind: CompletionItemKind,
    replace: Range,
    detail: Option<String>,
    doc: Option<String>,
) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail,
        documentation: doc.filter(|d| !d.is_empty()).map(|value| {
            Documentation::MarkupContent(MarkupContent {
                kind: MarkupKind::Markdown,
                value,
            })
        }),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(
            replace,
            label.to_string(),
        ))),
        ..CompletionItem::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_where_receivers_are_told_apart() {
        assert!(in_string("x.where(\"st"));
        assert!(!in_string("x.where(\"status\", "));
        assert!(in_string("print(\"a \\\" b"));
        let outline = Outline::default();
        assert_eq!(
            where_resource("td.cdrs().limit(3).where(", &outline).as_deref(),
            Some("cdrs")
        );
        assert_eq!(where_resource("td.cdrs().limit(", &outline), None);
        assert_eq!(chain_root("let n = q.limit(3)"), "q");
        assert_eq!(chain_root("print(rows\n    .filter(|r| r.x > 1)"), "rows");
    }
}
