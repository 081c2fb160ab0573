//! What the server knows of a script without running it: the compile error `tdc check`
//! reports, and what a reading of the syntax tree finds — calls to functions and methods tdc
//! does not have, wrong argument counts (as written: a receiver before the dot is not one) for
//! tdc's own functions and those of imported modules, filter fields a resource does not have,
//! imports of modules that do not exist — and the outline completion, hover and
//! definitions use (imports, variables and the types of their values, script functions).
//!
//! Only the compiler is used: nothing here runs a script or reaches a dialer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rhai::{Engine, EvalAltResult, Expr, FnCallExpr, Position, Scope, Stmt, AST};

use crate::output::diagnostic;
use crate::repl::catalog::{Catalog, HOST_TYPES};
use crate::script::engine::{compile_engine, native_stdlib, stdlib_source};
use crate::script::evaluation::Evaluation;

/// Functions the parser handles itself: they are never registered, yet always there.
const KEYWORD_FUNCTIONS: [&str; 10] = [
    "print",
    "debug",
    "type_of",
    "Fn",
    "call",
    "curry",
    "eval",
    "is_def_var",
    "is_def_fn",
    "is_shared",
];

/// Lines blanked, one per compile error, before the rest of a script that does not compile is
/// read anyway: the first error is the one `tdc check` reports, the others follow from it.
const RECOVERY_ATTEMPTS: usize = 8;

/// The compiler and what it knows of tdc's functions, built once per server.
pub(crate) struct Tools {
    pub(crate) engine: Engine,
    pub(crate) catalog: std::sync::Arc<Catalog>,
    /// Every registered function, Rhai's own included.
    known: BTreeSet<String>,
    /// Rhai's own functions: tdc's argument counts are not checked against these names, which
    /// Rhai may overload with any count.
    standard: BTreeSet<String>,
}

fn function_names(engine: &Engine) -> BTreeSet<String> {
    engine
        .gen_fn_signatures(true)
        .iter()
        .filter_map(|signature| signature.split_once('(').map(|(name, _)| name.trim()))
        .map(|name| name.strip_prefix("get$").unwrap_or(name).to_string())
        .collect()
}

impl Tools {
    pub(crate) fn new() -> Tools {
        let engine = compile_engine();
        Tools {
            catalog: std::sync::Arc::new(Catalog::from_engine(&engine)),
            known: function_names(&engine),
            standard: function_names(&Engine::new()),
            engine,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Severity {
    Error,
    Warning,
}

/// One problem, at a 1-based line and character column, `width` characters long.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) width: usize,
    pub(crate) message: String,
    pub(crate) severity: Severity,
}

/// What a value is known to be: one of tdc's types and, for a query, the `td` method that
/// started it (`cdrs`), which names its fields.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Inferred {
    pub(crate) type_name: String,
    pub(crate) resource: Option<String>,
}

/// A function the script defines.
#[derive(Debug, Clone)]
pub(crate) struct ScriptFunction {
    pub(crate) name: String,
    pub(crate) params: Vec<String>,
    pub(crate) doc: String,
}

/// The parts of a script the editor features read.
#[derive(Debug, Default)]
pub(crate) struct Outline {
    /// Alias to module path (`import "cdr" as stats;` maps `stats` to `cdr`).
    pub(crate) imports: BTreeMap<String, String>,
    /// Every variable the script declares, with what its value is known to be (last
    /// declaration wins; scopes are not told apart).
    pub(crate) variables: BTreeMap<String, Option<Inferred>>,
    pub(crate) functions: Vec<ScriptFunction>,
    /// Top-level `let` and `const` declarations, at 1-based lines and columns.
    pub(crate) declarations: Vec<(String, usize, usize, bool)>,
}

/// Where a script lives: its name in messages, and the folder its imports resolve from.
pub(crate) struct Origin<'a> {
    pub(crate) name: &'a str,
    pub(crate) path: Option<&'a Path>,
}

impl Origin<'_> {
    fn folder(&self) -> Option<&Path> {
        self.path.and_then(Path::parent)
    }

    /// The file `import "path"` reads, if one beside the script has that name (and is not
    /// the script itself: `scripts/dedupe.rhai` imports the stdlib's "dedupe").
    pub(crate) fn module_file(&self, module: &str) -> Option<PathBuf> {
        let file = self.folder()?.join(module).with_extension("rhai");
        let is_self = self.path.is_some_and(|p| p == file);
        (file.is_file() && !is_self).then_some(file)
    }
}

/// Checks a script's source: compiles it and reads what compiled. The one entry every
/// diagnostic comes from; it never runs the script.
pub(crate) fn check_source(
    tools: &Tools,
    source: &str,
    origin: &Origin,
) -> (Vec<Finding>, Outline) {
    let mut findings = Vec::new();
    // Compiled the one way every script is (never run): the same diagnostic as `tdc check`.
    let compiled = Evaluation::compile_in(
        &tools.engine,
        &Scope::new(),
        origin.name,
        source.to_string(),
    );
    let ast = match compiled {
        Ok(evaluation) => Some(evaluation.into_ast()),
        Err(shown) => {
            let at = match (shown.line, shown.column) {
                (Some(line), column) if line > 0 => Position::new(
                    u16::try_from(line).unwrap_or(u16::MAX),
                    u16::try_from(column.unwrap_or(0)).unwrap_or(u16::MAX),
                ),
                _ => Position::NONE,
            };
            findings.push(finding(
                source,
                shown.line,
                shown.column,
                shown.message,
                Severity::Error,
            ));
            recover(&tools.engine, source, at)
        }
    };
    let Some(ast) = ast else {
        return (findings, Outline::default());
    };
    let mut reader = Reader::new(tools, &ast, source, origin);
    reader.read(&ast);
    findings.append(&mut reader.findings);
    (findings, reader.outline)
}

/// The outline alone, for a request on a script that may not compile.
pub(crate) fn outline(tools: &Tools, source: &str, origin: &Origin) -> Outline {
    check_source(tools, source, origin).1
}

/// The syntax tree of a script that does not compile, with the lines of its errors blanked;
/// failing that, of the lines before its first error.
fn recover(engine: &Engine, source: &str, position: Position) -> Option<AST> {
    let lines: Vec<String> = source.lines().map(str::to_string).collect();
    blanked(engine, lines.clone(), position).or_else(|| {
        // An error blanking cannot mend (an unclosed block, a script ending mid-expression)
        // is found at the end: the lines before where it starts still compile.
        let mut before = lines;
        before.truncate(position.line()?.saturating_sub(1));
        for _ in 0..RECOVERY_ATTEMPTS {
            if let Ok(ast) = engine.compile(before.join("\n")) {
                return Some(ast);
            }
            before.pop()?;
        }
        None
    })
}

fn blanked(engine: &Engine, mut lines: Vec<String>, mut position: Position) -> Option<AST> {
    for _ in 0..RECOVERY_ATTEMPTS {
        let line = position.line()?.checked_sub(1)?;
        let blanked = lines.get_mut(line)?;
        if blanked.trim().is_empty() {
            return None;
        }
        *blanked = " ".repeat(blanked.chars().count());
        match engine.compile(lines.join("\n")) {
            Ok(ast) => return Some(ast),
            Err(error) => position = error.position(),
        }
    }
    None
}

/// A finding at a 1-based line and column, as wide as the word or string found there.
fn finding(
    source: &str,
    line: Option<usize>,
    column: Option<usize>,
    message: String,
    severity: Severity,
) -> Finding {
    let lines: Vec<&str> = source.lines().collect();
    let line = line.unwrap_or(lines.len().max(1));
    let text = lines.get(line.saturating_sub(1)).copied().unwrap_or("");
    let column = column.unwrap_or(1);
    Finding {
        line,
        column,
        width: token_width(text, column),
        message,
        severity,
    }
}

/// The width in characters of the token at a 1-based column: a word, a quoted string, or one
/// character.
pub(crate) fn token_width(line: &str, column: usize) -> usize {
    let mut chars = line.chars().skip(column.saturating_sub(1)).peekable();
    match chars.peek() {
        Some('"') => {
            let mut width = 1;
            let mut escaped = false;
            for c in chars.skip(1) {
                width += 1;
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => break,
                    _ => escaped = false,
                }
            }
            width
        }
        Some(c) if is_word_char(*c) => chars.take_while(|c| is_word_char(*c)).count(),
        _ => 1,
    }
}

pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The functions of a module a script may import, by name, with their parameter counts.
pub(crate) fn module_functions(
    tools: &Tools,
    module: &str,
    origin: &Origin,
) -> Option<BTreeMap<String, Vec<usize>>> {
    let mut functions: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    if let Some(file) = origin.module_file(module) {
        let source = crate::files::read_to_string(crate::files::Access::own("lsp"), &file).ok()?;
        let ast = tools.engine.compile(source).ok()?;
        for f in ast
            .iter_functions()
            .filter(|f| f.access != rhai::FnAccess::Private)
        {
            functions
                .entry(f.name.to_string())
                .or_default()
                .push(f.params.len());
        }
        return Some(functions);
    }
    if native_stdlib(module).is_none() && stdlib_source(module).is_none() {
        return None;
    }
    let prefix = format!("{module}::");
    for f in &tools.catalog.functions {
        if let Some(name) = f.name.strip_prefix(&prefix) {
            functions
                .entry(name.to_string())
                .or_default()
                .push(f.params.len());
        }
    }
    Some(functions)
}

/// The fields a query on a resource may filter on, and whether that list is the whole of them
/// (lead searches also take a tenant's custom fields).
pub(crate) fn resource_fields(resource: &str) -> Option<(Vec<&'static str>, bool)> {
    use crate::sandbox::dataset::{CALL_FIELDS, CDR_FIELDS};
    use crate::sandbox::store::{CAMPAIGN_LEAD_FIELDS, LEAD_FIELDS, LEAD_SERVER_FIELDS};
    match resource {
        "cdrs" => Some((CDR_FIELDS.to_vec(), true)),
        "calls" => Some((CALL_FIELDS.to_vec(), true)),
        "campaign_leads" => Some((CAMPAIGN_LEAD_FIELDS.to_vec(), true)),
        "leads" => Some(([&LEAD_SERVER_FIELDS[..], &LEAD_FIELDS[..]].concat(), false)),
        _ => None,
    }
}

struct Reader<'a> {
    tools: &'a Tools,
    source: &'a str,
    origin: &'a Origin<'a>,
    /// Names a call may use without being a registered function: the script's functions,
    /// parameters and variables (a variable may hold a function pointer).
    local_names: BTreeSet<String>,
    modules: BTreeMap<String, Option<BTreeMap<String, Vec<usize>>>>,
    outline: Outline,
    findings: Vec<Finding>,
}

impl<'a> Reader<'a> {
    fn new(tools: &'a Tools, ast: &AST, source: &'a str, origin: &'a Origin<'a>) -> Self {
        let mut local_names = BTreeSet::new();
        let mut functions = Vec::new();
        for f in ast
            .iter_functions()
            .filter(|f| !f.name.starts_with("anon$"))
        {
            local_names.insert(f.name.to_string());
            local_names.extend(f.params.iter().map(|p| p.to_string()));
            functions.push(ScriptFunction {
                name: f.name.to_string(),
                params: f.params.iter().map(|p| p.to_string()).collect(),
                doc: crate::repl::catalog::doc_text(&f.comments),
            });
        }
        let mut variables = BTreeMap::new();
        variables.insert(
            "td".to_string(),
            Some(Inferred {
                type_name: "Dialer".into(),
                resource: None,
            }),
        );
        let mut declarations = Vec::new();
        for statement in ast.statements() {
            if let Stmt::Var(x, flags, _) = statement {
                let ident = &x.0;
                declarations.push((
                    ident.name.to_string(),
                    ident.pos.line().unwrap_or(1),
                    ident.pos.position().unwrap_or(1),
                    flags.intersects(rhai::ASTFlags::CONSTANT),
                ));
            }
        }
        ast.walk(&mut |path: &[rhai::ASTNode]| {
            if let Some(rhai::ASTNode::Stmt(Stmt::Var(x, ..))) = path.last() {
                local_names.insert(x.0.name.to_string());
            }
            true
        });
        Reader {
            tools,
            source,
            origin,
            local_names,
            modules: BTreeMap::new(),
            outline: Outline {
                imports: BTreeMap::new(),
                variables,
                functions,
                declarations,
            },
            findings: Vec::new(),
        }
    }

    fn read(&mut self, ast: &AST) {
        ast.walk(&mut |path: &[rhai::ASTNode]| {
            match path.last() {
                Some(rhai::ASTNode::Stmt(Stmt::Var(x, ..))) => {
                    let inferred = self.infer(&x.1);
                    self.outline
                        .variables
                        .insert(x.0.name.to_string(), inferred);
                }
                Some(rhai::ASTNode::Stmt(Stmt::Import(x, _))) => self.import(&x.0, &x.1),
                // A call standing as a statement is a statement node of its own, not an
                // expression node: both are calls the script makes.
                Some(rhai::ASTNode::Expr(Expr::FnCall(call, position)))
                | Some(rhai::ASTNode::Stmt(Stmt::FnCall(call, position))) => {
                    self.function_call(call, *position)
                }
                Some(rhai::ASTNode::Expr(expr @ Expr::Dot(chain, ..))) => {
                    // A chain is read once, from its head: `a.b().c()` nests as
                    // `a . (b() . c())`, and the inner dot is not a chain of its own.
                    let inner = path.len() >= 2
                        && matches!(path[path.len() - 2],
                            rhai::ASTNode::Expr(Expr::Dot(outer, ..)) if std::ptr::eq(&outer.rhs, *expr));
                    if !inner {
                        let receiver = self.infer(&chain.lhs);
                        self.chain(receiver, &chain.rhs, true);
                    }
                }
                _ => {}
            }
            true
        });
    }

    fn report(&mut self, position: Position, message: String, severity: Severity) {
        self.findings.push(finding(
            self.source,
            position.line(),
            position.position(),
            message,
            severity,
        ));
    }

    /// A runtime error the script would meet, in the words `tdc run` would use.
    fn report_as_run(&mut self, error: EvalAltResult) {
        let position = error.position();
        // Nothing is read from disk for a diagnostic here: no powers.
        let powers = crate::script::permissions::Powers::default();
        let shown = diagnostic::from_eval_error(&error, self.origin.name, self.source, &powers);
        self.report(position, shown.message, Severity::Error);
    }

    fn import(&mut self, path: &Expr, alias: &rhai::Ident) {
        let Expr::StringConstant(module, position) = path else {
            return;
        };
        if !alias.name.is_empty() {
            self.outline
                .imports
                .insert(alias.name.to_string(), module.to_string());
        }
        if self.module(module).is_none() {
            let beside = self
                .origin
                .folder()
                .map(|folder| folder.join(module.as_str()).with_extension("rhai"))
                .unwrap_or_else(|| PathBuf::from(format!("{module}.rhai")));
            self.report_as_run(crate::script::engine::module_not_found(
                module, &beside, *position,
            ));
        }
    }

    fn module(&mut self, module: &str) -> Option<&BTreeMap<String, Vec<usize>>> {
        if !self.modules.contains_key(module) {
            let functions = module_functions(self.tools, module, self.origin);
            self.modules.insert(module.to_string(), functions);
        }
        self.modules.get(module).and_then(Option::as_ref)
    }

    /// The argument counts a call of tdc's own function `name` may be written with: a method
    /// call (`receiver.name(..)`, `method`) writes its first parameter before the dot, a
    /// function call writes it among the arguments. None when Rhai or the script also has a
    /// function of that name.
    fn own_arities(
        &self,
        name: &str,
        receiver: Option<&str>,
        method: bool,
    ) -> Option<(Vec<usize>, Vec<String>)> {
        if self.tools.standard.contains(name) || self.local_names.contains(name) {
            return None;
        }
        let overloads: Vec<_> = self
            .tools
            .catalog
            .named(name)
            .filter(|f| !f.getter && !f.name.contains("::"))
            .filter(|f| receiver.is_none() || f.receiver.as_deref() == receiver)
            .filter(|f| !method || f.receiver.is_some() || !f.params.is_empty())
            .collect();
        if overloads.is_empty() {
            return None;
        }
        Some((
            overloads
                .iter()
                .map(|f| f.params.len() + usize::from(f.receiver.is_some()) - usize::from(method))
                .collect(),
            overloads.iter().map(|f| f.signature()).collect(),
        ))
    }

    fn check_count(
        &mut self,
        name: &str,
        given: usize,
        arities: &[usize],
        signatures: &[String],
        position: Position,
    ) {
        if arities.contains(&given) {
            return;
        }
        let message = format!(
            "wrong number of arguments to {name}: {given} given; {}",
            signatures.join(" or ")
        );
        self.report(position, message, Severity::Error);
    }

    fn function_call(&mut self, call: &FnCallExpr, position: Position) {
        let name = call.name.as_str();
        if call.op_token.is_some() || !name.chars().all(is_word_char) {
            return;
        }
        if !call.namespace.is_empty() {
            return self.module_call(call, position);
        }
        let known = self.tools.known.contains(name)
            || self.local_names.contains(name)
            || KEYWORD_FUNCTIONS.contains(&name);
        if !known {
            return self.report_as_run(EvalAltResult::ErrorFunctionNotFound(
                name.to_string(),
                position,
            ));
        }
        if let Some((arities, signatures)) = self.own_arities(name, None, false) {
            self.check_count(name, call.args.len(), &arities, &signatures, position);
        }
    }

    fn module_call(&mut self, call: &FnCallExpr, position: Position) {
        let alias = call.namespace.root().to_string();
        let name = call.name.to_string();
        let Some(module) = self.outline.imports.get(&alias).cloned() else {
            let message = format!("no module imported as {alias} (import \"{alias}\" as {alias};)");
            return self.report(position, message, Severity::Error);
        };
        let Some(functions) = self.module(&module).cloned() else {
            return; // The import itself is reported.
        };
        match functions.get(&name) {
            None => {
                let mut similar =
                    crate::api::query::nearest(&name, functions.keys().map(String::as_str));
                if similar.is_empty() {
                    // Short names are never near by the ratio: one character off is a typo.
                    similar = functions
                        .keys()
                        .map(String::as_str)
                        .filter(|known| strsim::levenshtein(&name, known) == 1)
                        .collect();
                }
                let hint = match similar.is_empty() {
                    true => String::new(),
                    false => format!(
                        "; did you mean {}?",
                        similar
                            .iter()
                            .map(|s| format!("{alias}::{s}()"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                let message = format!("Function not found: {alias}::{name}{hint}");
                self.report(position, message, Severity::Error);
            }
            Some(arities) if !arities.contains(&call.args.len()) => {
                let signatures: Vec<String> = self
                    .tools
                    .catalog
                    .named(&format!("{module}::{name}"))
                    .map(|f| f.signature())
                    .collect();
                let signatures = match signatures.is_empty() {
                    true => arities
                        .iter()
                        .map(|n| format!("{alias}::{name} takes {n}"))
                        .collect(),
                    false => signatures,
                };
                let qualified = format!("{alias}::{name}");
                self.check_count(&qualified, call.args.len(), arities, &signatures, position);
            }
            Some(_) => {}
        }
    }

    /// Reads the links of a chain after its receiver; reports what is wrong when `report`.
    /// Returns what the whole chain yields.
    fn chain(
        &mut self,
        mut receiver: Option<Inferred>,
        links: &Expr,
        report: bool,
    ) -> Option<Inferred> {
        let mut link = links;
        loop {
            match link {
                Expr::Dot(next, ..) => {
                    receiver = self.link(receiver, &next.lhs, report);
                    link = &next.rhs;
                }
                last => return self.link(receiver, last, report),
            }
        }
    }

    fn link(&mut self, receiver: Option<Inferred>, link: &Expr, report: bool) -> Option<Inferred> {
        let Expr::MethodCall(call, position) = link else {
            return None;
        };
        if report {
            self.method_call(receiver.as_ref(), call, *position);
        }
        let type_name = receiver.as_ref()?.type_name.as_str();
        let returns = self
            .tools
            .catalog
            .named(&call.name)
            .filter(|f| f.receiver.as_deref() == Some(type_name))
            .map(|f| f.returns.clone())
            .find(|r| HOST_TYPES.contains(&r.as_str()))?;
        let resource = match type_name {
            "Dialer" if returns == "Query" => Some(call.name.to_string()),
            "Query" => receiver.as_ref().and_then(|r| r.resource.clone()),
            _ => None,
        };
        Some(Inferred {
            type_name: returns,
            resource,
        })
    }

    fn method_call(&mut self, receiver: Option<&Inferred>, call: &FnCallExpr, position: Position) {
        let name = call.name.as_str();
        let Some(receiver) = receiver else {
            if let Some((arities, signatures)) = self.own_arities(name, None, true) {
                self.check_count(name, call.args.len(), &arities, &signatures, position);
            }
            return;
        };
        let type_name = receiver.type_name.as_str();
        let members = self.tools.catalog.members_of(type_name);
        if !members.contains_key(name)
            && !self.tools.known.contains(name)
            && !self.local_names.contains(name)
        {
            return self.report_as_run(EvalAltResult::ErrorFunctionNotFound(
                format!("{name} ({type_name})"),
                position,
            ));
        }
        if let Some((arities, signatures)) = self.own_arities(name, Some(type_name), true) {
            self.check_count(name, call.args.len(), &arities, &signatures, position);
        }
        if name == "where" && type_name == "Query" {
            if let (Some(resource), Some(Expr::StringConstant(field, at))) =
                (&receiver.resource, call.args.first())
            {
                self.filter_field(resource, field, *at);
            }
        }
    }

    fn filter_field(&mut self, resource: &str, field: &str, position: Position) {
        let Some((fields, whole)) = resource_fields(resource) else {
            return;
        };
        if !whole || fields.contains(&field) {
            return;
        }
        let similar = crate::api::query::nearest(field, fields.iter().copied());
        let hint = match similar.first() {
            Some(near) => format!("; did you mean \"{near}\"?"),
            None => String::new(),
        };
        let message = format!("{resource} have no field \"{field}\"{hint}");
        self.report(position, message, Severity::Warning);
    }

    /// What an expression yields, when it is one of tdc's types.
    fn infer(&mut self, expr: &Expr) -> Option<Inferred> {
        match expr {
            Expr::Variable(x, ..) if x.2.is_empty() => {
                self.outline.variables.get(x.1.as_str()).cloned().flatten()
            }
            Expr::FnCall(call, _) if call.namespace.is_empty() => self
                .tools
                .catalog
                .returns_host_type(&call.name)
                .map(|type_name| Inferred {
                    type_name,
                    resource: None,
                }),
            Expr::Dot(chain, ..) => {
                let receiver = self.infer(&chain.lhs);
                self.chain(receiver, &chain.rhs, false)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(source: &str) -> Vec<Finding> {
        let tools = Tools::new();
        let origin = Origin {
            name: "s.rhai",
            path: None,
        };
        check_source(&tools, source, &origin).0
    }

    #[test]
    fn a_parse_error_is_the_one_tdc_check_reports_and_the_rest_is_still_read() {
        let source = "let n = td.cdr().len();\nlet x = (1 + ;\n";
        let findings = check(source);
        let engine = compile_engine();
        let error = engine.compile(source).unwrap_err();
        let shown = diagnostic::from_parse_error(&error, "s.rhai", source);
        assert_eq!(findings[0].message, shown.message);
        assert_eq!((findings[0].line, findings[0].column), (2, 14));
        assert_eq!(findings.len(), 2, "{findings:#?}");
        assert_eq!(
            (findings[1].line, findings[1].column, findings[1].width),
            (1, 12, 3)
        );
        assert!(
            findings[1].message.contains("did you mean .cdrs()"),
            "{}",
            findings[1].message
        );
    }

    #[test]
    fn unknown_functions_counts_fields_and_modules_are_found() {
        let source = "import \"cdr\" as cdr;\nimport \"nope\" as nope;\n\
            let q = td.cdrs().where(\"q85\", 16);\nlet k = cdr::kpiz([]);\n\
            let r = frobnicate(1);\nlet c = td.cdrs(1);\nfn mine(a) { a }\nmine(1);\n\
            let n = [1].len();\nprint(q.where(\"status\", \"x\").limit(1));\n";
        let findings = check(source);
        let messages: Vec<(usize, &str)> = findings
            .iter()
            .map(|f| (f.line, f.message.as_str()))
            .collect();
        assert_eq!(findings.len(), 5, "{messages:#?}");
        assert!(
            messages[0]
                .1
                .starts_with("Module not found: nope (no nope.rhai"),
            "{messages:?}"
        );
        assert_eq!(
            messages[1],
            (3, "cdrs have no field \"q85\"; did you mean \"q850\"?")
        );
        assert_eq!(findings[1].width, 5, "the string, quotes included");
        assert_eq!(
            messages[2],
            (
                4,
                "Function not found: cdr::kpiz; did you mean cdr::kpis(), cdr::kpis_by()?"
            )
        );
        assert_eq!(
            (findings[2].column, findings[2].width),
            (14, 4),
            "the name, not the alias"
        );
        assert_eq!(messages[3].0, 5);
        assert!(messages[3].1.starts_with("Function not found: frobnicate"));
        assert_eq!(
            messages[4],
            (
                6,
                "wrong number of arguments to cdrs: 1 given; td.cdrs() -> Query"
            )
        );
    }

    #[test]
    fn the_outline_knows_variables_imports_and_functions() {
        let tools = Tools::new();
        let origin = Origin {
            name: "s.rhai",
            path: None,
        };
        let source = "import \"cdr\" as stats;\n/// Doubles.\nfn twice(x) { x * 2 }\nlet q = td.calls().limit(3);\n";
        let outline = outline(&tools, source, &origin);
        assert_eq!(
            outline.imports.get("stats").map(String::as_str),
            Some("cdr")
        );
        let q = outline.variables.get("q").cloned().flatten().unwrap();
        assert_eq!(
            (q.type_name.as_str(), q.resource.as_deref()),
            ("Query", Some("calls"))
        );
        assert_eq!(outline.functions[0].name, "twice");
        assert_eq!(outline.functions[0].doc, "Doubles.");
        assert_eq!(outline.declarations, vec![("q".to_string(), 4, 5, false)]);
    }

    #[test]
    fn the_shipped_scripts_and_stdlib_are_clean() {
        let tools = Tools::new();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut checked = 0;
        for folder in ["scripts", "stdlib", "tests/stdlib"] {
            for entry in std::fs::read_dir(root.join(folder)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|e| e != "rhai") {
                    continue;
                }
                let source =
                    crate::script::engine::without_shebang(std::fs::read_to_string(&path).unwrap());
                let name = path.display().to_string();
                let origin = Origin {
                    name: &name,
                    path: Some(&path),
                };
                let findings = check_source(&tools, &source, &origin).0;
                assert!(findings.is_empty(), "{name}: {findings:#?}");
                checked += 1;
            }
        }
        assert!(checked > 5);
    }

    #[test]
    fn the_examples_in_the_docs_are_clean() {
        let tools = Tools::new();
        let origin = Origin {
            name: "example.rhai",
            path: None,
        };
        let mut problems = Vec::new();
        let mut checked = 0;
        for f in &tools.catalog.functions {
            for example in f.doc.split("```rhai").skip(1) {
                let code = example.split("```").next().unwrap_or("");
                if tools.engine.compile(code).is_err() {
                    continue;
                }
                checked += 1;
                let findings = check_source(&tools, code, &origin).0;
                if !findings.is_empty() {
                    problems.push(format!("{}: {code}: {findings:?}", f.name));
                }
            }
        }
        assert!(checked > 100, "{checked} examples");
        assert!(problems.is_empty(), "{problems:#?}");
    }

    fn messages(source: &str, origin: &Origin) -> Vec<(usize, String)> {
        check_source(&Tools::new(), source, origin)
            .0
            .into_iter()
            .map(|f| (f.line, f.message))
            .collect()
    }

    #[test]
    fn arguments_are_counted_as_written_the_receiver_apart() {
        let origin = Origin {
            name: "s.rhai",
            path: None,
        };
        let source =
            "td.cdrs(1, 2, 3);\nlet r = td.recording();\ntd.cdrs().where(\"status\", 1, 2, 3);\n\
            normalize_phone();\nlet p = normalize_phone(1, 2, 3);\n\
            normalize_phone(\"1\");\nlet g = \"1\".normalize_phone(\"GB\");\nlet q = cdrs(td);\n\
            let h = \"1\".normalize_phone(\"GB\", 3);\n";
        let phone = "normalize_phone(phone: String) -> ? or \
            normalize_phone(phone: String, region: String) -> ?";
        let expected = vec![
            (
                1,
                "wrong number of arguments to cdrs: 3 given; td.cdrs() -> Query".to_string(),
            ),
            (
                2,
                "wrong number of arguments to recording: 0 given; \
                td.recording(call_id: INT) -> Recording"
                    .to_string(),
            ),
            (
                3,
                "wrong number of arguments to where: 4 given; \
                query.where(field: String, value: ?) -> Query or \
                query.where(field: String, op: String, value: ?) -> Query"
                    .to_string(),
            ),
            (
                4,
                format!("wrong number of arguments to normalize_phone: 0 given; {phone}"),
            ),
            (
                5,
                format!("wrong number of arguments to normalize_phone: 3 given; {phone}"),
            ),
            (
                9,
                format!("wrong number of arguments to normalize_phone: 2 given; {phone}"),
            ),
        ];
        assert_eq!(messages(source, &origin), expected);
    }

    fn with_module(name: &str, module: &str) -> PathBuf {
        let folder = std::env::temp_dir().join(format!("tdc-lsp-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("m.rhai"), module).unwrap();
        folder.join("s.rhai")
    }

    #[test]
    fn functions_of_every_module_are_checked_with_a_hint() {
        let path = with_module("modules", "fn f1() { 1 }\nfn total(a, b) { a + b }\n");
        let origin = Origin {
            name: "s.rhai",
            path: Some(&path),
        };
        let source = "import \"dedupe\" as d;\nimport \"m\" as m;\n\
            d::duplicatez(td, \"phone\");\nm::f2();\nlet t = m::totl(1, 2);\n\
            m::total(1);\nd::duplicates(td);\nm::f1();\nd::duplicates(td, \"phone\");\n";
        let expected = vec![
            (
                3,
                "Function not found: d::duplicatez; did you mean d::duplicates()?".to_string(),
            ),
            (
                4,
                "Function not found: m::f2; did you mean m::f1()?".to_string(),
            ),
            (
                5,
                "Function not found: m::totl; did you mean m::total()?".to_string(),
            ),
            (
                6,
                "wrong number of arguments to m::total: 1 given; m::total takes 2".to_string(),
            ),
            (
                7,
                "wrong number of arguments to d::duplicates: 1 given; \
                dedupe::duplicates(td, key)"
                    .to_string(),
            ),
        ];
        assert_eq!(messages(source, &origin), expected);
    }

    #[test]
    fn a_parse_error_or_a_missing_module_leaves_the_other_checks_made() {
        let path = with_module("partial", "fn f1() { 1 }\n");
        let origin = Origin {
            name: "s.rhai",
            path: Some(&path),
        };
        let kpiz = "Function not found: cdr::kpiz; did you mean cdr::kpis(), cdr::kpis_by()?";
        for (source, first) in [
            (
                "import \"cdr\" as cdr;\ncdr::kpiz([]);\nlet x = (1 +\n",
                (4, "Script is incomplete"),
            ),
            (
                "import \"cdr\" as cdr;\ncdr::kpiz([]);\nfn f() {\n",
                (4, "Expecting '}' to terminate this block"),
            ),
            (
                "import \"cdr\" as cdr;\ncdr::kpiz([]);\nlet x = (1 + ;\n",
                (3, "Unexpected ';'"),
            ),
        ] {
            let found = messages(source, &origin);
            assert_eq!(
                found,
                vec![(first.0, first.1.to_string()), (2, kpiz.to_string())],
                "{source}"
            );
        }
        let source = "import \"gone\" as g;\nimport \"cdr\" as cdr;\nimport \"m\" as m;\n\
            cdr::kpiz([]);\nm::f2();\n";
        let found = messages(source, &origin);
        let gone = path.with_file_name("gone.rhai");
        assert_eq!(
            found,
            vec![
                (
                    1,
                    format!(
                        "Module not found: gone (no {} and no stdlib module of that name)",
                        gone.display()
                    )
                ),
                (4, kpiz.to_string()),
                (
                    5,
                    "Function not found: m::f2; did you mean m::f1()?".to_string()
                ),
            ]
        );
    }
}
