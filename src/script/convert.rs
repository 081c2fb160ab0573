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
pub fn scalar_text(value: &Dynamic) -> Option<String> {
    if let Ok(b) = value.as_bool() {
        return Some(if b { "1" } else { "0" }.to_string());
    }
    (value.is_int() || value.is_float() || value.is_string() || value.is_char())
        .then(|| value.to_string())
}

/// A Rhai value JSON has no form for (a function pointer, an infinite float).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} cannot be written as JSON")]
pub struct NotJson(String);

/// Rhai records as JSON values, for request bodies and `to_json`.
pub fn dynamic_to_json(value: &Dynamic) -> Result<Value, NotJson> {
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Some(f) = value.clone().try_cast::<rhai::FLOAT>() {
        return serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| NotJson(f.to_string()));
    }
    if value.is_array() {
        let array = value
            .read_lock::<Array>()
            .map(|a| a.clone())
            .unwrap_or_default();
        return array
            .iter()
            .map(dynamic_to_json)
            .collect::<Result<_, _>>()
            .map(Value::Array);
    }
    if value.is_map() {
        let map = value
            .read_lock::<Map>()
            .map(|m| m.clone())
            .unwrap_or_default();
        let mut out = serde_json::Map::new();
        for (k, v) in map.iter() {
            out.insert(k.to_string(), dynamic_to_json(v)?);
        }
        return Ok(Value::Object(out));
    }
    if value.is_int() || value.is_bool() || value.is_string() || value.is_char() {
        return rhai::serde::from_dynamic::<Value>(value)
            .map_err(|e| NotJson(format!("{} ({e})", value.type_name())));
    }
    if value.is_blob() {
        let blob = value
            .read_lock::<rhai::Blob>()
            .map(|b| b.clone())
            .unwrap_or_default();
        return Ok(Value::Array(blob.into_iter().map(Value::from).collect()));
    }
    Err(NotJson(format!("a {}", value.type_name())))
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
    fn round_trip_to_json() {
        let value = json!({"a": [1, 2.5, "x", null, true], "b": {"c": "d"}});
        let back = dynamic_to_json(&json_to_dynamic(value.clone())).unwrap();
        assert_eq!(back, value);
    }
}
