//! JSON: `to_json`, `parse_json`, JSON files (`read_json`, `write_json`), and a value's
//! stable `fingerprint` (over its canonical JSON).

use super::RhaiResultOf;
use rhai::plugin::*;
use rhai::Dynamic;

use std::path::Path;

use super::{dynamic_to_json, io_error, json_to_dynamic, script_error};
use crate::files::{self, Access};

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

    /// Reads a JSON file (numeric-string rule applied, as for dialer answers).
    ///
    /// ```rhai
    /// let saved = read_json("campaigns.json");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn read_json(ctx: NativeCallContext, path: &str) -> RhaiResultOf<Dynamic> {
        let powers = super::super::powers_of(&ctx);
        let text = files::read_to_string(Access::bounded(&powers, "read_json"), Path::new(path))?;
        serde_json::from_str(&text)
            .map(json_to_dynamic)
            .map_err(|e| io_error("read_json", path, e))
    }

    /// Writes a value to a file as indented JSON.
    ///
    /// ```rhai
    /// write_json(td.campaigns(), "campaigns.json");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn write_json(ctx: NativeCallContext, value: Dynamic, path: &str) -> RhaiResultOf<()> {
        let powers = super::super::powers_of(&ctx);
        let json = dynamic_to_json(&value).map_err(|e| script_error(format!("write_json: {e}")))?;
        let text = serde_json::to_string_pretty(&json).unwrap_or_default() + "\n";
        files::write_whole(
            Access::bounded(&powers, "write_json"),
            Path::new(path),
            |file| std::io::Write::write_all(file, text.as_bytes()),
        )?;
        Ok(())
    }

    /// A stable fingerprint of a value (16 hex digits): the same content gives the same text
    /// on every run and machine. Map keys are compared in order, so field order does not matter.
    ///
    /// ```rhai
    /// let id = "csv-" + fingerprint(#{ phone: "447700001234", last_name: "Smith" });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn fingerprint(value: Dynamic) -> RhaiResultOf<String> {
        let json =
            dynamic_to_json(&value).map_err(|e| script_error(format!("fingerprint: {e}")))?;
        // Over the canonical JSON text (Rhai maps keep their keys sorted).
        Ok(format!(
            "{:016x}",
            crate::api::journal::fingerprint(&json.to_string())
        ))
    }
}
