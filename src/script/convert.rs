//! JSON <-> Rhai values, applying the numeric-string rule of `api::models` on the way in:
//! `"id": "16"` becomes the INT 16, `"phone": 447700001234` becomes text. The way in is
//! [`super::fast_json`]'s, whether the JSON is text or a `serde_json::Value`.

use rhai::{Array, Dynamic, Map};
use serde_json::Value;

/// A JSON value as a Rhai value: the same converter as answer bodies
/// ([`super::fast_json`]), reading the value instead of the text.
pub fn json_to_dynamic(value: Value) -> Dynamic {
    super::fast_json::from_value(value)
}

/// A scalar as the text the filter grammar and query strings carry: booleans as `1`/`0`,
/// numbers and text as written. `None` for `()`, arrays, maps and other types.
pub(crate) fn scalar_text(value: &Dynamic) -> Option<String> {
    if let Ok(b) = value.as_bool() {
        return Some(if b { "1" } else { "0" }.to_string());
    }
    (value.is_int() || value.is_float() || value.is_string() || value.is_char())
        .then(|| value.to_string())
}

/// A Rhai value JSON has no form for: a function pointer, an infinite float, or values
/// nested deeper than JSON text is read ([`MAX_JSON_DEPTH`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotJson {
    #[error("{0} cannot be written as JSON")]
    Type(String),
    #[error(
        "arrays and maps nested deeper than {MAX_JSON_DEPTH} levels cannot be written as JSON"
    )]
    TooDeep,
}

/// The most levels of arrays and maps written as JSON: as many as JSON text is read with
/// (serde_json's limit), so what tdc writes it can read back. Past it a value is refused
/// before anything is copied.
pub(crate) const MAX_JSON_DEPTH: usize = 127;

/// Rhai records as JSON values, for request bodies and `to_json`.
pub fn dynamic_to_json(value: &Dynamic) -> Result<Value, NotJson> {
    json_at_depth(value, 0)
}

fn json_at_depth(value: &Dynamic, depth: usize) -> Result<Value, NotJson> {
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Some(f) = value.clone().try_cast::<rhai::FLOAT>() {
        return serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| NotJson::Type(f.to_string()));
    }
    if (value.is_array() || value.is_map()) && depth >= MAX_JSON_DEPTH {
        return Err(NotJson::TooDeep);
    }
    // Read in place: a copy at each level would copy everything below it again.
    if let Some(array) = value.read_lock::<Array>() {
        return array
            .iter()
            .map(|item| json_at_depth(item, depth + 1))
            .collect::<Result<_, _>>()
            .map(Value::Array);
    }
    if let Some(map) = value.read_lock::<Map>() {
        let mut out = serde_json::Map::new();
        for (k, v) in map.iter() {
            out.insert(k.to_string(), json_at_depth(v, depth + 1)?);
        }
        return Ok(Value::Object(out));
    }
    if value.is_int() || value.is_bool() || value.is_string() || value.is_char() {
        return rhai::serde::from_dynamic::<Value>(value)
            .map_err(|e| NotJson::Type(format!("{} ({e})", value.type_name())));
    }
    if let Some(blob) = value.read_lock::<rhai::Blob>() {
        return Ok(Value::Array(
            blob.iter().copied().map(Value::from).collect(),
        ));
    }
    Err(NotJson::Type(format!("a {}", value.type_name())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_strings_become_numbers_and_text_stays_text() {
        let record = json_to_dynamic(json!({
            "id": "16", "is_active": "1", "predictive_call_ratio": "2.5",
            "phone": "447700001234", "default_caller_id": "123456789",
            "parent_id": null, "zip": 12345, "end_at": "", "q850": ""
        }));
        let map = record.cast::<Map>();
        assert_eq!(map["id"].as_int().unwrap(), 16);
        assert_eq!(map["is_active"].as_int().unwrap(), 1);
        assert_eq!(map["predictive_call_ratio"].as_float().unwrap(), 2.5);
        assert_eq!(map["phone"].clone().into_string().unwrap(), "447700001234");
        assert_eq!(
            map["default_caller_id"].clone().into_string().unwrap(),
            "123456789"
        );
        assert_eq!(map["zip"].clone().into_string().unwrap(), "12345");
        assert!(map["parent_id"].is_unit() && map["q850"].is_unit());
        assert_eq!(map["end_at"].clone().into_string().unwrap(), "");
    }

    #[test]
    fn nesting_past_the_parsers_depth_is_refused_without_copying() {
        let mut deep = Dynamic::from_array(Array::new());
        for _ in 0..MAX_JSON_DEPTH {
            deep = Dynamic::from_array(vec![deep]);
        }
        assert_eq!(dynamic_to_json(&deep), Err(NotJson::TooDeep));
        let text = dynamic_to_json(&Dynamic::from_array(vec![Dynamic::from_array(vec![])]));
        assert_eq!(text, Ok(serde_json::json!([[]])));
        // As deep as the parser reads is written, and reads back.
        let mut deepest = Dynamic::from_array(Array::new());
        for _ in 1..MAX_JSON_DEPTH {
            deepest = Dynamic::from_array(vec![deepest]);
        }
        let text = dynamic_to_json(&deepest).unwrap().to_string();
        assert!(serde_json::from_str::<Value>(&text).is_ok());
    }

    #[test]
    fn round_trip_to_json() {
        let value = json!({"a": [1, 2.5, "x", null, true], "b": {"c": "d"}});
        let back = dynamic_to_json(&json_to_dynamic(value.clone())).unwrap();
        assert_eq!(back, value);
    }
}
