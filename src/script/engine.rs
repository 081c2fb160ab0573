//! The one place the Rhai engine is built: limits, interruption, types and bindings, and
//! module resolution (the script's own folder first, then the `stdlib/` embedded in the binary).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rhai::{
    exported_module, Dynamic, Engine, EvalAltResult, Module, ModuleResolver, Position, Scope,
};

use crate::terminal::sink::outln;

type SharedModule = Arc<Module>;

use super::aggregate::aggregate_api;
use super::assert::assert_api;
use super::chart::chart_api;
use super::csv::csv_api;
use super::dialer::{
    campaign_leads_api, campaigns_api, dialer_api, leads_api, listings_api, raw_api,
    recordings_api, HostTag,
};
use super::env::env_api;
use super::follow::follow_api;
use super::json::json_api;
use super::notify::notify_api;
use super::phone::phone_api;
use super::query::query_api;
use super::recording::recording_api;
use super::time::time_api;
use super::{script_error, Dialer, Follow, Host, Query, Recording};

include!(concat!(env!("OUT_DIR"), "/stdlib.rs"));

/// Limits: expression and call depth only. Loops over a million records are normal here, so
/// there is no operation, string or array limit.
const MAX_EXPR_DEPTH: usize = 256;
const MAX_FUNCTION_EXPR_DEPTH: usize = 128;
/// Python's default recursion limit; safe on [`SCRIPT_STACK`] in debug builds too.
const MAX_CALL_LEVELS: usize = 1000;

/// The files a run loaded (the script's imports), for watch mode.
pub(crate) type LoadedFiles = Arc<Mutex<BTreeSet<PathBuf>>>;

/// The source of an embedded stdlib module.
pub(crate) fn stdlib_source(name: &str) -> Option<&'static str> {
    STDLIB.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Names of the embedded stdlib modules written in Rhai.
pub(crate) fn stdlib_names() -> impl Iterator<Item = &'static str> {
    STDLIB.iter().map(|(name, _)| *name)
}

/// The stdlib modules written in Rust: their functions read the arrays they are given in
/// place, where a Rhai function would copy them.
pub(crate) const NATIVE_STDLIB: [&str; 1] = ["cdr"];

/// A stdlib module written in Rust, by name.
pub(crate) fn native_stdlib(name: &str) -> Option<SharedModule> {
    static CDR: std::sync::OnceLock<SharedModule> = std::sync::OnceLock::new();
    match name {
        "cdr" => Some(
            CDR.get_or_init(|| exported_module!(crate::script::cdr::cdr_api).into())
                .clone(),
        ),
        _ => None,
    }
}

/// Resolves `import "x"`: `x.rhai` beside the script (or the importing module), else the
/// embedded `stdlib/x.rhai`.
struct Resolver {
    base: PathBuf,
    loaded: LoadedFiles,
    /// The host's powers: modules are read as the script's files are.
    powers: super::permissions::Powers,
    /// Files being imported right now, outermost first: an import cycle is an error.
    loading: Mutex<Vec<PathBuf>>,
    embedded: Mutex<HashMap<String, SharedModule>>,
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

impl Resolver {
    fn load_file(
        &self,
        engine: &Engine,
        file: &Path,
        pos: Position,
    ) -> Result<SharedModule, Box<EvalAltResult>> {
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(file.to_path_buf());
        let name = file.display().to_string();
        // A module is read as a script's file is: a link out of the allowed folders (to
        // another user's code, or to /proc/self/environ to be quoted in an error) is refused.
        let access = crate::files::Access::bounded(&self.powers, "import");
        // A module that cannot be read is the importing line's error, not one inside it.
        let source = crate::files::read_to_string(access, file).map_err(|e| {
            let mut error: Box<EvalAltResult> = e.into();
            error.set_position(pos);
            error
        })?;
        let mut ast = engine
            .compile(without_shebang(source))
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(name.clone(), e.into(), pos)))?;
        ast.set_source(name.clone());
        let module = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(name, e, pos)))?;
        Ok(module.into())
    }
}

impl ModuleResolver for Resolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<SharedModule, Box<EvalAltResult>> {
        let importer = source.filter(|s| !s.starts_with('<')).map(Path::new);
        let file = importer
            .and_then(Path::parent)
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(&self.base)
            .join(path)
            .with_extension("rhai");
        // A script may share its name with the stdlib module it imports
        // (`scripts/dedupe.rhai` imports "dedupe"): a file never imports itself.
        let is_importer = importer.is_some_and(|i| same_file(i, &file));
        if file.is_file() && !is_importer {
            let canonical = file.canonicalize().unwrap_or_else(|_| file.clone());
            {
                let mut loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
                if loading.contains(&canonical) {
                    let chain: Vec<String> = loading
                        .iter()
                        .chain([&canonical])
                        .map(|p| p.display().to_string())
                        .collect();
                    let mut cycle =
                        script_error(format!("import cycle: {}", chain.join(" imports ")));
                    cycle.set_position(pos);
                    return Err(cycle);
                }
                loading.push(canonical.clone());
            }
            let result = self.load_file(engine, &file, pos);
            self.loading
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|p| p != &canonical);
            return result;
        }
        if let Some(module) = native_stdlib(path) {
            return Ok(module);
        }
        let Some(code) = stdlib_source(path) else {
            return Err(module_not_found(path, &file, pos).into());
        };
        if let Some(module) = self
            .embedded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
        {
            return Ok(module.clone());
        }
        let name = format!("<stdlib>/{path}.rhai");
        let mut ast = engine
            .compile(code)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(name.clone(), e.into(), pos)))?;
        ast.set_source(name.clone());
        let module: SharedModule = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(name, e, pos)))?
            .into();
        self.embedded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_string(), module.clone());
        Ok(module)
    }
}

/// `import "path"` found neither `file` (beside the importer) nor a stdlib module.
pub(crate) fn module_not_found(path: &str, file: &Path, pos: Position) -> EvalAltResult {
    let file = file.display();
    EvalAltResult::ErrorModuleNotFound(
        format!("{path} (no {file} and no stdlib module of that name)"),
        pos,
    )
}

/// Registers every script-visible type and function: the single list of API areas.
pub(crate) fn register_api(engine: &mut Engine) {
    engine.register_type_with_name::<Dialer>("Dialer");
    engine.register_type_with_name::<Query>("Query");
    engine.register_type_with_name::<Recording>("Recording");
    engine.register_type_with_name::<Follow>("Follow");
    engine.register_iterator_result::<Query, Dynamic>();
    engine.register_iterator_result::<Follow, Dynamic>();
    for module in [
        exported_module!(dialer_api),
        exported_module!(leads_api),
        exported_module!(campaign_leads_api),
        exported_module!(campaigns_api),
        exported_module!(listings_api),
        exported_module!(recordings_api),
        exported_module!(raw_api),
        exported_module!(query_api),
        exported_module!(follow_api),
        exported_module!(recording_api),
        exported_module!(json_api),
        exported_module!(aggregate_api),
        exported_module!(csv_api),
        exported_module!(super::table::table_api),
        exported_module!(phone_api),
        exported_module!(time_api),
        exported_module!(env_api),
        exported_module!(notify_api),
        exported_module!(chart_api),
        exported_module!(assert_api),
    ] {
        engine.register_global_module(module.into());
    }
}

fn set_limits(engine: &mut Engine) {
    engine.set_max_expr_depths(MAX_EXPR_DEPTH, MAX_FUNCTION_EXPR_DEPTH);
    engine.set_max_call_levels(MAX_CALL_LEVELS);
    // Rhai's string interner rescans its whole cache for every new string once full: a loop
    // building 100,000 distinct identifiers spent a third of its time there. Scripts here
    // make many distinct strings and few repeated ones, so nothing is interned.
    engine.set_max_strings_interned(0);
}

/// An engine that only compiles (for `tdc check`, and docs).
pub fn compile_engine() -> Engine {
    let mut engine = Engine::new();
    set_limits(&mut engine);
    register_api(&mut engine);
    engine
}

/// A script's `print`: one line on stdout, with control characters made visible when stdout
/// is a terminal (a record's value must not drive it). Written through the sink: output that
/// cannot be written stops the script (see `terminal::sink`).
fn print_line(text: &str) {
    use std::io::IsTerminal;
    // Asked once: a script may print a million lines.
    static TERMINAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *TERMINAL.get_or_init(|| std::io::stdout().is_terminal()) {
        outln!("{}", crate::terminal::sanitize::for_terminal(text));
    } else {
        outln!("{text}");
    }
}

/// Registered functions and methods whose names are close to `name` (for "did you mean"):
/// methods of `receiver` when the call had one (`td.cdr()` -> `cdrs`), else any function.
pub(crate) fn similar_functions(name: &str, receiver: Option<&str>) -> Vec<String> {
    let engine = compile_engine();
    let signatures = engine.gen_fn_signatures(false);
    let names: std::collections::BTreeSet<&str> = signatures
        .iter()
        .filter_map(|signature| {
            let (fn_name, rest) = signature.split_once('(')?;
            let first_type = rest
                .split([',', ')'])
                .next()
                .and_then(|p| p.split_once(':'))
                .map(|(_, t)| t.trim().trim_start_matches("&mut ").trim_start_matches('&'));
            let fits = match receiver {
                Some(receiver) => first_type == Some(receiver),
                None => true,
            };
            (fits && !fn_name.contains('$')).then_some(fn_name.trim())
        })
        .collect();
    crate::api::query::nearest(name, names)
        .into_iter()
        .map(|n| match receiver {
            Some(_) => format!(".{n}()"),
            None => format!("{n}()"),
        })
        .collect()
}

/// A script's text as the engine reads it: a first line starting with `#!` (a shebang such as
/// `#!/usr/bin/env -S tdc run`) becomes an empty line, so that line numbers stay right.
pub(crate) fn without_shebang(mut source: String) -> String {
    if source.starts_with("#!") {
        let end = source.find('\n').unwrap_or(source.len());
        source.replace_range(..end, "");
    }
    source
}

/// Reads a script file, shebang line blanked (see [`without_shebang`]); `-` is stdin.
pub(crate) fn read_script_file(path: &Path) -> std::io::Result<String> {
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        text
    } else {
        crate::files::read_to_string(crate::files::Access::own("run"), path)?
    };
    Ok(without_shebang(text))
}

/// The engine scripts run on. `base` is the folder imports are resolved from.
pub(crate) fn script_engine(host: &Arc<Host>, base: &Path, loaded: LoadedFiles) -> Engine {
    let mut engine = Engine::new();
    set_limits(&mut engine);
    register_api(&mut engine);
    engine.set_default_tag(Dynamic::from(HostTag(host.clone())));
    engine.on_print(print_line);
    let progress_host = host.clone();
    engine.on_progress(move |_| {
        (progress_host.is_interrupted() || crate::terminal::sink::is_broken())
            .then(|| Dynamic::from("interrupted"))
    });
    engine.set_module_resolver(Resolver {
        base: base.to_path_buf(),
        loaded,
        powers: host.powers().clone(),
        loading: Mutex::new(Vec::new()),
        embedded: Mutex::new(HashMap::new()),
    });
    engine
}

/// The scope every script starts with: `td`, `ARGS`, and `SCRIPT_DIR` (the script's folder,
/// for files that live beside it).
pub(crate) fn script_scope(dialer: Dialer, args: &[String], script_dir: &Path) -> Scope<'static> {
    let mut scope = Scope::new();
    scope.push_constant("td", dialer);
    scope.push_constant("SCRIPT_DIR", script_dir.display().to_string());
    let args: rhai::Array = args.iter().map(|a| Dynamic::from(a.clone())).collect();
    scope.push_constant("ARGS", args);
    scope
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_visible_function_has_a_doc_with_a_rhai_example() {
        let engine = compile_engine();
        let metadata: serde_json::Value =
            serde_json::from_str(&engine.gen_fn_metadata_to_json(false).unwrap()).unwrap();
        let functions = metadata["functions"].as_array().unwrap();
        assert!(functions.len() > 40, "the bindings are registered");
        let undocumented: Vec<String> = functions
            .iter()
            .filter(|f| {
                let docs = f["docComments"]
                    .as_array()
                    .map(|d| {
                        d.iter()
                            .filter_map(|l| l.as_str())
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    .unwrap_or_default();
                !docs.contains("```rhai")
            })
            .map(|f| f["signature"].as_str().unwrap_or("?").to_string())
            .collect();
        assert!(
            undocumented.is_empty(),
            "no Rhai example in the docs of: {undocumented:#?}"
        );
    }

    #[test]
    fn every_stdlib_module_compiles_and_documents_its_functions() {
        let engine = compile_engine();
        assert!(stdlib_names().count() > 0);
        for name in stdlib_names() {
            let source = stdlib_source(name).unwrap();
            let ast = engine
                .compile(source)
                .unwrap_or_else(|e| panic!("stdlib/{name}.rhai: {e}"));
            for function in ast
                .iter_functions()
                .filter(|f| !f.name.starts_with("anon$") && f.access != rhai::FnAccess::Private)
            {
                let docs = function.comments.join("\n");
                assert!(
                    docs.contains("```rhai"),
                    "stdlib/{name}.rhai: {} has no Rhai example",
                    function.name
                );
            }
        }
    }
}
