//! `--jq FILTER`: a jq filter applied to a result, with jaq's crates (no jq install needed).
//! Each output is written as jq writes it: indented JSON, one value after another.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{data, unwrap_valr, Compiler, Ctx, Vars};
use jaq_json::Val;

/// A compiled filter.
pub struct Jq {
    filter: jaq_core::Filter<data::JustLut<Val>>,
}

/// A `--jq` filter that does not parse, compile or run; the message starts with `--jq`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JqError(String);

impl Jq {
    pub fn compile(code: &str) -> Result<Jq, JqError> {
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
            .map_err(|errors| JqError(format!("--jq: cannot parse '{code}': {errors:?}")))?;
        let filter = Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errors| JqError(format!("--jq: cannot compile '{code}': {errors:?}")))?;
        Ok(Jq { filter })
    }

    /// The filter's outputs for one JSON input, each as jq prints it.
    pub fn run(&self, input: &serde_json::Value) -> Result<Vec<String>, JqError> {
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
        assert!(Jq::compile(".[").is_err());
    }
}
