//! `--jq FILTER`: a jq filter applied to a result, with jaq's crates (no jq install needed).
//! Each output is written as jq writes it: indented JSON, one value after another.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{data, unwrap_valr, Compiler, Ctx, Vars};
use jaq_json::Val;

/// A compiled filter.
pub(crate) struct Jq {
    filter: jaq_core::Filter<data::JustLut<Val>>,
}

/// A `--jq` filter that does not parse, compile or run; the message starts with `--jq`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct JqError(String);

impl Jq {
    pub(crate) fn compile(code: &str) -> Result<Jq, JqError> {
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs());
        let loader = Loader::new(defs);
        let arena = Arena::default();
        let modules = loader
            .load(&arena, File { code, path: () })
            .map_err(|errors| {
                let problems = errors
                    .iter()
                    .flat_map(|(_, error)| load_problems(code, error));
                JqError(format!("--jq: cannot parse '{code}': {}", first(problems)))
            })?;
        let filter = Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errors| {
                let problems = errors.iter().flat_map(|(_, undefined)| {
                    undefined.iter().map(|(name, kind)| {
                        let arity = match kind {
                            jaq_core::compile::Undefined::Filter(arity) => format!("/{arity}"),
                            _ => String::new(),
                        };
                        format!(
                            "undefined {} '{name}{arity}'{}",
                            kind.as_str(),
                            at(code, name)
                        )
                    })
                });
                JqError(format!(
                    "--jq: cannot compile '{code}': {}",
                    first(problems)
                ))
            })?;
        Ok(Jq { filter })
    }

    /// The filter's outputs for one JSON input, each as jq prints it.
    pub(crate) fn run(&self, input: &serde_json::Value) -> Result<Vec<String>, JqError> {
        let jq = |e: &dyn std::fmt::Debug| JqError(format!("--jq: {e:?}"));
        let bytes = serde_json::to_vec(input).map_err(|e| jq(&e))?;
        let input = jaq_json::read::parse_single(&bytes).map_err(|e| jq(&e))?;
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        let pretty = jaq_json::write::Pp {
            indent: Some("  ".to_string()),
            ..Default::default()
        };
        let mut out = Vec::new();
        for value in self.filter.id.run((ctx, input)).map(unwrap_valr) {
            let value = value.map_err(|e| JqError(format!("--jq: {e}")))?;
            let mut text = Vec::new();
            jaq_json::write::write(&mut text, &pretty, 0, &value).map_err(|e| jq(&e))?;
            out.push(String::from_utf8_lossy(&text).into_owned());
        }
        Ok(out)
    }
}

/// What jaq could not read, as `expected X at column N`, one entry per problem.
fn load_problems(code: &str, error: &jaq_core::load::Error<&str>) -> Vec<String> {
    use jaq_core::load::{lex, Error};
    match error {
        Error::Io(errors) => errors.iter().map(|(_, e)| e.clone()).collect(),
        Error::Lex(errors) => errors
            .iter()
            .map(|(expected, found)| {
                let what = match expected {
                    // The lexer names only these delimiters; anything else is said as it is.
                    lex::Expect::Delim(d) if !["(", "[", "{", "\""].contains(d) => {
                        format!("the end of '{d}'")
                    }
                    other => other.as_str().to_string(),
                };
                format!("{what} expected{}", at(code, found))
            })
            .collect(),
        Error::Parse(errors) => errors
            .iter()
            .map(|(expected, found)| format!("{} expected{}", expected.as_str(), at(code, found)))
            .collect(),
    }
}

/// Where `part` (a slice of `code`) starts, as ` at column N`, or ` at the end`.
fn at(code: &str, part: &str) -> String {
    let offset = (part.as_ptr() as usize).wrapping_sub(code.as_ptr() as usize);
    match offset {
        o if o >= code.len() => " at the end".to_string(),
        o => format!(" at column {}", code[..o].chars().count() + 1),
    }
}

/// The first problem, and how many more there are.
fn first(mut problems: impl Iterator<Item = String>) -> String {
    let Some(first) = problems.next() else {
        return "not a jq filter".to_string();
    };
    match problems.count() {
        0 => first,
        more => format!("{first} (and {more} more)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_run_as_jq_runs_them() {
        let jq = Jq::compile(".[].id").unwrap();
        let out = jq.run(&json!([{"id": 1}, {"id": 2}])).unwrap();
        assert_eq!(out, vec!["1", "2"]);
        let jq = Jq::compile("map(select(.q850 > 0)) | length").unwrap();
        assert_eq!(
            jq.run(&json!([{"q850": 16}, {"q850": 0}])).unwrap(),
            vec!["1"]
        );
    }

    #[test]
    fn a_filter_that_does_not_parse_or_compile_is_one_plain_line() {
        let error = |code: &str| Jq::compile(code).err().map(|e| e.to_string());
        assert_eq!(
            error(".[").as_deref(),
            Some("--jq: cannot parse '.[': closing bracket expected at the end")
        );
        assert_eq!(
            error(".a | nosuch(1)").as_deref(),
            Some("--jq: cannot compile '.a | nosuch(1)': undefined filter 'nosuch/1' at column 6")
        );
        assert_eq!(
            error("if . then 1").as_deref(),
            Some("--jq: cannot parse 'if . then 1': else or end expected at the end")
        );
    }
}
