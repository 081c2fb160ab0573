//! Go to definition (script functions, and the functions of imported modules: a file beside
//! the script, or the stdlib's embedded source in a read-only copy) and document symbols.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_types::{DocumentSymbol, Location, Position, Range, SymbolKind, Uri};

use super::analysis::{Origin, Outline};
use super::text::{alias_before, function_line, utf16_len, Document};
use crate::files::Access;

pub(crate) fn definition(
    document: &Document,
    outline: &Outline,
    position: Position,
) -> Option<Location> {
    let (name, range) = document.word_at(position)?;
    let line = document.line(position.line);
    let head = &line[..document.byte_in_line(range.start)];
    if head.trim_end().ends_with("import \"") {
        let file = module_source(&document.origin(""), &name)?;
        return Some(Location::new(file_uri(&file)?, Range::default()));
    }
    if let Some(alias) = alias_before(head) {
        let module = outline.imports.get(alias).map_or(alias, String::as_str);
        let file = module_source(&document.origin(""), module)?;
        let source = crate::files::read_to_string(Access::own("lsp"), &file).ok()?;
        let (line, column) = function_line(&source, &name)?;
        return Some(Location::new(file_uri(&file)?, at(line, column, &name)));
    }
    if head.trim_end().ends_with('.') || !outline.functions.iter().any(|f| f.name == name) {
        return None;
    }
    let (line, column) = function_line(&document.text, &name)?;
    Some(Location::new(document.uri.clone(), at(line, column, &name)))
}

fn at(line: u32, column: u32, name: &str) -> Range {
    Range::new(
        Position::new(line, column),
        Position::new(line, column + utf16_len(name)),
    )
}

fn file_uri(path: &Path) -> Option<Uri> {
    let url = url::Url::from_file_path(path).ok()?;
    Uri::from_str(url.as_str()).ok()
}

/// The file a module's source is in: beside the script, else a read-only copy of the
/// stdlib's embedded source (written once per version of tdc). None for the modules written
/// in Rust.
fn module_source(origin: &Origin, module: &str) -> Option<PathBuf> {
    if let Some(file) = origin.module_file(module) {
        return Some(file);
    }
    let source = crate::script::engine::stdlib_source(module)?;
    let folder = dirs::cache_dir()?
        .join("tdc")
        .join(format!("stdlib-{}", env!("CARGO_PKG_VERSION")));
    let file = folder.join(module).with_extension("rhai");
    let current = crate::files::read_to_string(Access::own("lsp"), &file).ok();
    if current.as_deref() != Some(source) {
        crate::files::write_whole(Access::own("lsp"), &file, |f| {
            std::io::Write::write_all(f, source.as_bytes())
        })
        .ok()?;
        // Read-only: an edit there would change nothing tdc runs.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).ok()?;
    }
    Some(file)
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be named to build one.
fn symbol(name: &str, kind: SymbolKind, range: Range, detail: Option<String>) -> DocumentSymbol {
    DocumentSymbol {
        name: name.to_string(),
        detail,
        kind,
        tags: None,
        deprecated: None,
        range,
        selection_range: range,
        children: None,
    }
}

pub(crate) fn document_symbols(document: &Document, outline: &Outline) -> Vec<DocumentSymbol> {
    let mut symbols: Vec<(Range, DocumentSymbol)> = Vec::new();
    for f in &outline.functions {
        if let Some((line, column)) = function_line(&document.text, &f.name) {
            let range = at(line, column, &f.name);
            let detail = format!("fn {}({})", f.name, f.params.join(", "));
            symbols.push((
                range,
                symbol(&f.name, SymbolKind::FUNCTION, range, Some(detail)),
            ));
        }
    }
    for (name, line, column, constant) in &outline.declarations {
        let range = document.range(*line, *column, name.chars().count());
        let kind = match constant {
            true => SymbolKind::CONSTANT,
            false => SymbolKind::VARIABLE,
        };
        symbols.push((range, symbol(name, kind, range, None)));
    }
    symbols.sort_by_key(|(range, _)| (range.start.line, range.start.character));
    symbols.into_iter().map(|(_, s)| s).collect()
}
