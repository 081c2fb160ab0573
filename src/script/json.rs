//! `to_json` and `parse_json`.

use super::RhaiResultOf;
use rhai::plugin::*;
use rhai::Dynamic;

use super::{dynamic_to_json, json_to_dynamic, script_error};

#[export_module]
pub mod json_api {
    use super::*;

    /// A value as compact JSON text.
    ///
    /// ```rhai
    /// print(to_json(#{ id: 16, tags: ["a"] }));   // {"id":16,"tags":["a"]}
    /// ```
    #[rhai_fn(return_raw)]
    pub fn to_json(value: Dynamic) -> RhaiResultOf<String> {
        let json = dynamic_to_json(&value).map_err(|e| script_error(format!("to_json: {e}")))?;
        Ok(json.to_string())
    }

    /// A value as JSON text, indented when `pretty` is true.
    ///
    /// ```rhai
    /// print(to_json(td.campaign(12), true));
    /// ```
    #[rhai_fn(name = "to_json", return_raw)]
    pub fn to_json_pretty(value: Dynamic, pretty: bool) -> RhaiResultOf<String> {
        let json = dynamic_to_json(&value).map_err(|e| script_error(format!("to_json: {e}")))?;
        Ok(if pretty {
            serde_json::to_string_pretty(&json).unwrap_or_default()
        } else {
            json.to_string()
        })
    }

    /// Parses JSON text (numeric-string rule applied, as for dialer answers).
    ///
    /// ```rhai
    /// let c = parse_json(`{"id": "16", "phone": "447700001234"}`);
    /// print(c.id + 1);   // 17
    /// ```
    #[rhai_fn(return_raw)]
    pub fn parse_json(text: &str) -> RhaiResultOf<Dynamic> {
        serde_json::from_str(text)
            .map(json_to_dynamic)
            .map_err(|e| script_error(format!("parse_json: {e}")))
    }
}
