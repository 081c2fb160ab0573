//! JSON <-> Rhai values, applying the numeric-string rule of `api::models` on the way in:
//! `"id": "16"` becomes the INT 16, `"phone": 447700001234` becomes text.

use rhai::{Array, Dynamic, Map};
use serde_json::Value;

use crate::api::models::{is_numeric_field, is_text_field, read_numeric_text, NumericText};

/// A JSON value as a Rhai value.
pub fn json_to_dynamic(value: Value) -> Dynamic {
    convert(value, None)
}

fn number(n: &serde_json::Number) -> Dynamic {
    match n.as_i64() {
        Some(i) => Dynamic::from_int(i),
        None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
    }
}

fn convert(value: Value, key: Option<&str>) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(b),
        Value::Number(n) => match key {
            Some(k) if is_text_field(k) => Dynamic::from(n.to_string()),
            _ => number(&n),
        },
        Value::String(s) => match key {
            Some(k) if is_numeric_field(k) => match read_numeric_text(&s) {
                NumericText::Int(i) => Dynamic::from_int(i),
                NumericText::Float(f) => Dynamic::from_float(f),
                NumericText::Empty => Dynamic::UNIT,
                NumericText::Text => Dynamic::from(s),
            },
            _ => Dynamic::from(s),
        },
        Value::Array(items) => {
            let array: Array = items.into_iter().map(|v| convert(v, None)).collect();
            Dynamic::from_array(array)
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let converted = convert(v, Some(&k));
                out.insert(k.into(), converted);
            }
            Dynamic::from_map(out)
        }
    }
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

/// Rhai records as JSON values, for request bodies and `to_json`.
pub fn dynamic_to_json(value: &Dynamic) -> Result<Value, String> {
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Some(f) = value.clone().try_cast::<rhai::FLOAT>() {
        return serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| format!("{f} cannot be written as JSON"));
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
        return rhai::serde::from_dynamic::<Value>(value).map_err(|e| e.to_string());
    }
    if value.is_blob() {
        let blob = value
            .read_lock::<rhai::Blob>()
            .map(|b| b.clone())
            .unwrap_or_default();
        return Ok(Value::Array(blob.into_iter().map(Value::from).collect()));
    }
    Err(format!("a {} cannot be written as JSON", value.type_name()))
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
