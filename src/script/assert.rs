//! Assertions for `tdc test` (and any script): `assert`, `assert_eq`, `assert_ne`. A failing
//! `assert_eq` of maps or arrays names each field or position that differs, with both values,
//! as pytest does; the error carries the caller's file:line like any script error. And
//! `check_options`, so that a script function's options are checked as the bindings' are.

use rhai::plugin::*;
use rhai::{Array, Dynamic};
use serde_json::Value;

use super::{dynamic_to_json, script_error, RhaiResultOf};

fn json_of(value: &Dynamic) -> Value {
    dynamic_to_json(value).unwrap_or_else(|_| Value::String(value.to_string()))
}

fn shown(value: Option<&Value>) -> String {
    match value {
        None => "(missing)".to_string(),
        Some(value) => value.to_string(),
    }
}

/// The places where `left` and `right` differ, as `path: left != right` lines.
fn differences(path: &str, left: &Value, right: &Value, out: &mut Vec<String>) {
    let at = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => {
            for (key, value) in l {
                match r.get(key) {
                    Some(other) => differences(&at(key), value, other, out),
                    None => out.push(format!("{}: {} != (missing)", at(key), value)),
                }
            }
            for (key, value) in r.iter().filter(|(k, _)| !l.contains_key(*k)) {
                out.push(format!("{}: (missing) != {}", at(key), value));
            }
        }
        (Value::Array(l), Value::Array(r)) => {
            for i in 0..l.len().max(r.len()) {
                let key = format!("[{i}]");
                let place = format!("{path}{key}");
                match (l.get(i), r.get(i)) {
                    (Some(a), Some(b)) => differences(&place, a, b, out),
                    (a, b) => out.push(format!("{place}: {} != {}", shown(a), shown(b))),
                }
            }
        }
        (l, r) if l != r => {
            let place = if path.is_empty() { "value" } else { path };
            out.push(format!("{place}: {l} != {r}"));
        }
        _ => {}
    }
}

#[export_module]
pub mod assert_api {
    /// Fails the test (or script) unless `condition` is true.
    ///
    /// ```rhai
    /// assert(td.campaigns().len() > 0);
    /// ```
    #[rhai_fn(name = "assert", return_raw)]
    pub fn assert_true(condition: bool) -> RhaiResultOf<()> {
        if condition {
            Ok(())
        } else {
            Err(script_error("assertion failed"))
        }
    }

    /// Fails with `message` unless `condition` is true.
    ///
    /// ```rhai
    /// let k = #{ asr: 40.0 };
    /// assert(k.asr > 0.0, `ASR is ${k.asr}`);
    /// ```
    #[rhai_fn(name = "assert", return_raw)]
    pub fn assert_message(condition: bool, message: Dynamic) -> RhaiResultOf<()> {
        if condition {
            Ok(())
        } else {
            Err(script_error(format!("assertion failed: {message}")))
        }
    }

    /// Fails unless `actual` equals `expected`; maps and arrays are compared field by field
    /// and the message names every difference (`b: 2 != 3`).
    ///
    /// ```rhai
    /// assert_eq(#{ a: 1, b: 2 }, #{ a: 1, b: 2 });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn assert_eq(actual: Dynamic, expected: Dynamic) -> RhaiResultOf<()> {
        let (left, right) = (json_of(&actual), json_of(&expected));
        if left == right {
            return Ok(());
        }
        let mut found = Vec::new();
        differences("", &left, &right, &mut found);
        Err(script_error(format!(
            "assert_eq failed (actual != expected): {}",
            found.join("; ")
        )))
    }

    /// Fails if `actual` equals `unexpected`.
    ///
    /// ```rhai
    /// assert_ne(td.campaign(12).name, "");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn assert_ne(actual: Dynamic, unexpected: Dynamic) -> RhaiResultOf<()> {
        if json_of(&actual) == json_of(&unexpected) {
            Err(script_error(format!(
                "assert_ne failed: both are {}",
                json_of(&actual)
            )))
        } else {
            Ok(())
        }
    }

    /// Fails unless `options` is a map whose keys are all among `valid`; the error names the
    /// function (`what`), the unknown key and the valid ones, as the bindings' errors do.
    ///
    /// ```rhai
    /// fn report(options) {
    ///     check_options("report", options, ["campaign", "since"]);
    ///     options.campaign ?? 12
    /// }
    /// report(#{ campaign: 14 });   // report(#{ campgain: 14 }) fails: unknown option 'campgain'
    /// ```
    #[rhai_fn(return_raw)]
    pub fn check_options(what: &str, options: Dynamic, valid: Array) -> RhaiResultOf<()> {
        let valid: Vec<String> = valid.iter().map(|key| key.to_string()).collect();
        let Some(options) = options.read_lock::<rhai::Map>() else {
            return Err(script_error(format!(
                "{what}: options are a map such as #{{ {}: … }}, not {}",
                valid.first().map_or("key", String::as_str),
                options.type_name()
            )));
        };
        match options
            .keys()
            .find(|key| !valid.iter().any(|v| v == key.as_str()))
        {
            Some(key) => Err(script_error(format!(
                "{what}: unknown option '{key}' ({})",
                valid.join(", ")
            ))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn differences_name_each_field() {
        let mut out = Vec::new();
        super::differences(
            "",
            &json!({"a": 1, "b": 2, "c": [1, 2], "d": 1}),
            &json!({"a": 1, "b": 3, "c": [1], "e": 2}),
            &mut out,
        );
        assert_eq!(
            out,
            vec![
                "b: 2 != 3",
                "c[1]: 2 != (missing)",
                "d: 1 != (missing)",
                "e: (missing) != 2"
            ]
        );
    }
}
