//! What the REPL knows about script functions, read from the engine's metadata (which comes
//! from the `///` comments of the bindings): names, signatures, docs, and which type a method
//! belongs to. Help, hints, completion and `tdc defs` all come from here, never written twice.

use std::collections::BTreeMap;

/// One registered function (one overload).
#[derive(Debug, Clone)]
pub(crate) struct FnDoc {
    pub(crate) name: String,
    /// The type of the first parameter when it is one of ours (`td.name(...)`).
    pub(crate) receiver: Option<String>,
    /// Parameters after the receiver, as `name: Type`.
    pub(crate) params: Vec<String>,
    pub(crate) returns: String,
    pub(crate) doc: String,
    /// A property read (`td.url`) rather than a method call.
    pub(crate) getter: bool,
}

/// Types whose methods are completed after a dot.
pub(crate) const HOST_TYPES: [&str; 3] = ["Dialer", "Query", "Recording"];

/// Makes a Rust type as the metadata spells it readable for script users.
pub(crate) fn display_type(rust: &str) -> String {
    let mut t = rust.trim().trim_start_matches("&mut ").trim().to_string();
    for prefix in ["RhaiResultOf<", "Result<"] {
        if let Some(inner) = t.strip_prefix(prefix) {
            let inner = inner.strip_suffix('>').unwrap_or(inner);
            t = inner
                .split(", Box<EvalAltResult>")
                .next()
                .unwrap_or(inner)
                .to_string();
        }
    }
    if let Some(last) = t.rsplit("::").next() {
        t = last.to_string();
    }
    match t.as_str() {
        "&str" | "ImmutableString" | "String" => "String".into(),
        "INT" | "i64" => "INT".into(),
        "FLOAT" | "f64" => "FLOAT".into(),
        "Dynamic" => "?".into(),
        "()" | "" => "()".into(),
        "NativeCallContext" => String::new(),
        other => other.to_string(),
    }
}

fn clean_doc(comments: &[serde_json::Value]) -> String {
    comments
        .iter()
        .filter_map(|c| c.as_str())
        .flat_map(|c| c.lines())
        .map(|l| {
            l.trim_start()
                .trim_start_matches("///")
                .strip_prefix(' ')
                .unwrap_or_else(|| l.trim_start().trim_start_matches("///"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text of `///` comments as the parser keeps them (a script function's), leaders removed.
pub(crate) fn doc_text(comments: &[&str]) -> String {
    let comments: Vec<serde_json::Value> = comments.iter().map(|c| (*c).into()).collect();
    clean_doc(&comments)
}

#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub(crate) functions: Vec<FnDoc>,
}

impl Catalog {
    pub(crate) fn from_engine(engine: &rhai::Engine) -> Catalog {
        let json = engine.gen_fn_metadata_to_json(false).unwrap_or_default();
        let metadata: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        let mut functions = docs_of(&metadata["functions"], "");
        functions.extend(stdlib_functions(engine));
        functions.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then(a.params.len().cmp(&b.params.len()))
        });
        Catalog { functions }
    }

    pub(crate) fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a FnDoc> + 'a {
        self.functions.iter().filter(move |f| f.name == name)
    }

    /// Methods and properties of a host type, by name.
    pub(crate) fn members_of(&self, receiver: &str) -> BTreeMap<&str, &FnDoc> {
        self.functions
            .iter()
            .filter(|f| f.receiver.as_deref() == Some(receiver))
            .map(|f| (f.name.as_str(), f))
            .collect()
    }

    /// Functions called without a receiver.
    pub(crate) fn globals(&self) -> BTreeMap<&str, &FnDoc> {
        self.functions
            .iter()
            .filter(|f| f.receiver.is_none())
            .map(|f| (f.name.as_str(), f))
            .collect()
    }

    /// The type a call to `name` returns, if it is one of ours.
    pub(crate) fn returns_host_type(&self, name: &str) -> Option<String> {
        self.named(name)
            .map(|f| f.returns.clone())
            .find(|r| HOST_TYPES.contains(&r.as_str()))
    }
}

/// The functions of a metadata list (`gen_fn_metadata_to_json`), named `{prefix}name`.
fn docs_of(list: &serde_json::Value, prefix: &str) -> Vec<FnDoc> {
    let mut functions = Vec::new();
    for f in list.as_array().into_iter().flatten() {
        let Some(raw_name) = f["name"].as_str() else {
            continue;
        };
        if raw_name.starts_with("anon$") || raw_name == "to_string" || raw_name == "to_debug" {
            continue;
        }
        let (name, getter) = match raw_name.strip_prefix("get$") {
            Some(property) => (property.to_string(), true),
            None => (raw_name.to_string(), false),
        };
        let params: Vec<(String, String)> = f["params"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p["name"].as_str().unwrap_or("_").to_string(),
                    display_type(p["type"].as_str().unwrap_or("")),
                )
            })
            .filter(|(_, t)| !t.is_empty())
            .collect();
        let receiver = params
            .first()
            .map(|(_, t)| t.clone())
            .filter(|t| HOST_TYPES.contains(&t.as_str()));
        let skip = usize::from(receiver.is_some());
        functions.push(FnDoc {
            name: format!("{prefix}{name}"),
            params: params[skip..]
                .iter()
                .map(|(n, t)| format!("{n}: {t}"))
                .collect(),
            receiver,
            returns: display_type(f["returnType"].as_str().unwrap_or("")),
            doc: clean_doc(
                f["docComments"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
            ),
            getter,
        });
    }
    functions
}

/// The public functions of the embedded stdlib modules, as `module::name`, with their `///`
/// comments: `:help`, `:doc` and `tdc defs` know them as they know the bindings.
pub(crate) fn stdlib_functions(engine: &rhai::Engine) -> Vec<FnDoc> {
    let mut functions = Vec::new();
    for module in crate::script::engine::NATIVE_STDLIB {
        let Some(native) = crate::script::engine::native_stdlib(module) else {
            continue;
        };
        let mut engine = rhai::Engine::new_raw();
        engine.register_static_module(module, native);
        let json = engine.gen_fn_metadata_to_json(false).unwrap_or_default();
        let metadata: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        functions.extend(docs_of(
            &metadata["modules"][module]["functions"],
            &format!("{module}::"),
        ));
    }
    for module in crate::script::engine::stdlib_names() {
        let Some(ast) = crate::script::engine::stdlib_source(module)
            .and_then(|source| engine.compile(source).ok())
        else {
            continue;
        };
        for f in ast
            .iter_functions()
            .filter(|f| f.access != rhai::FnAccess::Private && !f.name.starts_with("anon$"))
        {
            let comments: Vec<serde_json::Value> = f
                .comments
                .iter()
                .map(|c| serde_json::Value::from(*c))
                .collect();
            functions.push(FnDoc {
                name: format!("{module}::{}", f.name),
                receiver: None,
                params: f.params.iter().map(|p| p.to_string()).collect(),
                returns: "()".into(),
                doc: clean_doc(&comments),
                getter: false,
            });
        }
    }
    functions
}

impl FnDoc {
    pub(crate) fn signature(&self) -> String {
        let prefix = match &self.receiver {
            Some(t) if t == "Dialer" => "td.".to_string(),
            Some(t) => format!("{}.", t.to_lowercase()),
            None => String::new(),
        };
        if self.getter {
            return format!("{prefix}{}: {}", self.name, self.returns);
        }
        let returns = if self.returns == "()" {
            String::new()
        } else {
            format!(" -> {}", self.returns)
        };
        format!("{prefix}{}({}){returns}", self.name, self.params.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_read_like_script_types() {
        assert_eq!(display_type("RhaiResultOf<Query>"), "Query");
        assert_eq!(display_type("Result<Array, Box<EvalAltResult>>"), "Array");
        assert_eq!(display_type("&mut Dialer"), "Dialer");
        assert_eq!(display_type("&str"), "String");
    }

    #[test]
    fn the_catalog_knows_methods_and_signatures() {
        let catalog = Catalog::from_engine(&crate::script::engine::compile_engine());
        let dialer = catalog.members_of("Dialer");
        assert!(dialer.contains_key("find_leads") && dialer.contains_key("url"));
        let find = catalog.named("find_leads").next().unwrap();
        assert_eq!(
            find.signature(),
            "td.find_leads(field: String, value: ?) -> Array"
        );
        assert!(find.doc.contains("```rhai"));
        assert_eq!(catalog.returns_host_type("cdrs").as_deref(), Some("Query"));
        assert!(catalog.members_of("Query").contains_key("where"));
        assert!(catalog.globals().contains_key("count_by"));
        let kpis = catalog
            .named("cdr::kpis")
            .next()
            .expect("the stdlib is in the catalog");
        assert_eq!(kpis.signature(), "cdr::kpis(rows: Array) -> Map");
        assert!(kpis.doc.contains("```rhai") && kpis.doc.contains("import \"cdr\""));
        let last = catalog.named("recycle::last_calls").next().unwrap();
        assert_eq!(last.signature(), "recycle::last_calls(td, campaign)");
        let undocumented: Vec<_> = catalog
            .functions
            .iter()
            .filter(|f| f.name.contains("::") && !f.doc.contains("```rhai"))
            .map(|f| f.name.clone())
            .collect();
        assert!(undocumented.is_empty(), "{undocumented:?}");
    }
}
