//! Hover and signature help, from the same `///` comments `:doc` shows: the signature, then
//! the text and its example.

use lsp_types::{
    Documentation, Hover, HoverContents, MarkupContent, MarkupKind, ParameterInformation,
    ParameterLabel, Position, SignatureHelp, SignatureInformation,
};

use super::analysis::{is_word_char, Outline, Tools};
use super::text::Document;

/// A function as hover and signature help show it.
struct Shown {
    signature: String,
    params: Vec<String>,
    doc: String,
}

/// What a name at a place in the text is: `alias::name` is a module's function, `.name` a
/// method, else a script function or one of tdc's.
fn lookup(tools: &Tools, outline: &Outline, head: &str, name: &str) -> Vec<Shown> {
    let from_catalog = |qualified: &str, method: Option<bool>| -> Vec<Shown> {
        tools
            .catalog
            .named(qualified)
            .filter(|f| method.is_none_or(|m| m == f.receiver.is_some()))
            .map(|f| Shown {
                signature: f.signature(),
                params: f.params.clone(),
                doc: f.doc.clone(),
            })
            .collect()
    };
    if let Some(alias_head) = head.strip_suffix("::") {
        let alias: String = alias_head
            .chars()
            .rev()
            .take_while(|c| is_word_char(*c))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let module = outline.imports.get(&alias).cloned().unwrap_or(alias);
        return from_catalog(&format!("{module}::{name}"), None);
    }
    let method = head.trim_end().ends_with('.');
    if !method {
        let script: Vec<Shown> = outline
            .functions
            .iter()
            .filter(|f| f.name == name)
            .map(|f| Shown {
                signature: format!("fn {}({})", f.name, f.params.join(", ")),
                params: f.params.clone(),
                doc: f.doc.clone(),
            })
            .collect();
        if !script.is_empty() {
            return script;
        }
    }
    let found = from_catalog(name, Some(method));
    match found.is_empty() {
        true => from_catalog(name, None),
        false => found,
    }
}

fn markdown(shown: &[Shown]) -> String {
    shown
        .iter()
        .map(|s| format!("```rhai\n{}\n```\n\n{}", s.signature, s.doc))
        .collect::<Vec<_>>()
        .join("\n\n---\n\n")
}

pub(crate) fn hover(
    tools: &Tools,
    document: &Document,
    outline: &Outline,
    position: Position,
) -> Option<Hover> {
    let (name, range) = document.word_at(position)?;
    let line = document.line(position.line);
    let start = document.byte_in_line(range.start);
    let shown = lookup(tools, outline, &line[..start], &name);
    if shown.is_empty() {
        return None;
    }
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: markdown(&shown),
        }),
        range: Some(range),
    })
}

pub(crate) fn signature_help(
    tools: &Tools,
    document: &Document,
    outline: &Outline,
    position: Position,
) -> Option<SignatureHelp> {
    let before = document.before(position);
    let (open, commas) = open_call(&before)?;
    let head = &before[..open];
    let name_start = head
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word_char(*c))
        .last()
        .map(|(i, _)| i)?;
    let shown = lookup(tools, outline, &head[..name_start], &head[name_start..]);
    if shown.is_empty() {
        return None;
    }
    let active = shown
        .iter()
        .position(|s| s.params.len() > commas)
        .unwrap_or(0);
    let signatures = shown
        .into_iter()
        .map(|s| SignatureInformation {
            label: s.signature,
            documentation: Some(Documentation::MarkupContent(MarkupContent {
                kind: MarkupKind::Markdown,
                value: s.doc,
            })),
            parameters: Some(
                s.params
                    .into_iter()
                    .map(|p| ParameterInformation {
                        label: ParameterLabel::Simple(p),
                        documentation: None,
                    })
                    .collect(),
            ),
            active_parameter: None,
        })
        .collect();
    Some(SignatureHelp {
        signatures,
        active_signature: Some(active as u32),
        active_parameter: Some(commas as u32),
    })
}

/// The innermost call still open at the end of `text`: where its `(` is, and how many of its
/// arguments come before the cursor's.
fn open_call(text: &str) -> Option<(usize, usize)> {
    let mut depth = 0i32;
    let mut commas = 0;
    let mut quoted = false;
    for (i, c) in text.char_indices().rev() {
        match c {
            '"' => quoted = !quoted,
            _ if quoted => {}
            ')' | ']' | '}' => depth += 1,
            '(' if depth == 0 => return Some((i, commas)),
            '[' | '{' if depth == 0 => return None,
            '(' | '[' | '{' => depth -= 1,
            ',' if depth == 0 => commas += 1,
            ';' if depth == 0 => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_call_and_its_argument_are_found() {
        assert_eq!(open_call("td.find_leads(\"phone\", "), Some((13, 1)));
        assert_eq!(open_call("f(g(1, 2), "), Some((1, 1)));
        assert_eq!(open_call("f(\"a, b\""), Some((1, 0)));
        assert_eq!(open_call("f(1); g"), None);
    }
}
