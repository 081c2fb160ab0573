//! Answer bodies straight into Rhai values, in one pass: no intermediate `serde_json::Value`.
//! The numeric-string rule of `api::models` is applied as each field is read. Pages are
//! converted in the tasks that fetch them, so conversion runs beside the script.

use std::fmt;

use rhai::{Array, Dynamic, Map};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::api::models::{is_numeric_field, read_numeric_text, NumericText};

/// Deserializes one value; `numeric` / `text` say what its key demands.
#[derive(Clone, Copy)]
struct Field {
    numeric: bool,
    text: bool,
}

const PLAIN: Field = Field {
    numeric: false,
    text: false,
};

fn field_for(key: &str) -> Field {
    let numeric = is_numeric_field(key);
    Field {
        numeric,
        text: !numeric && super::convert::is_text_field(key),
    }
}

impl<'de> DeserializeSeed<'de> for Field {
    type Value = Dynamic;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Dynamic, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Field {
    type Value = Dynamic;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Dynamic, E> {
        Ok(Dynamic::UNIT)
    }

    fn visit_none<E>(self) -> Result<Dynamic, E> {
        Ok(Dynamic::UNIT)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Dynamic, E> {
        Ok(Dynamic::from_bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Dynamic, E> {
        Ok(if self.text {
            Dynamic::from(v.to_string())
        } else {
            Dynamic::from_int(v)
        })
    }

    fn visit_u64<E>(self, v: u64) -> Result<Dynamic, E> {
        if self.text {
            return Ok(Dynamic::from(v.to_string()));
        }
        Ok(i64::try_from(v).map_or_else(|_| Dynamic::from_float(v as f64), Dynamic::from_int))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Dynamic, E> {
        Ok(if self.text {
            Dynamic::from(v.to_string())
        } else {
            Dynamic::from_float(v)
        })
    }

    fn visit_str<E>(self, v: &str) -> Result<Dynamic, E> {
        if self.numeric {
            return Ok(match read_numeric_text(v) {
                NumericText::Int(i) => Dynamic::from_int(i),
                NumericText::Float(f) => Dynamic::from_float(f),
                NumericText::Empty => Dynamic::UNIT,
                NumericText::Text => Dynamic::from(v.to_string()),
            });
        }
        Ok(Dynamic::from(v.to_string()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Dynamic, E> {
        if self.numeric {
            return self.visit_str(&v);
        }
        Ok(Dynamic::from(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Dynamic, A::Error> {
        let mut array = Array::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(PLAIN)? {
            array.push(item);
        }
        Ok(Dynamic::from_array(array))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Dynamic, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<std::borrow::Cow<'de, str>>()? {
            let value = access.next_value_seed(field_for(&key))?;
            map.insert(key.as_ref().into(), value);
        }
        Ok(Dynamic::from_map(map))
    }
}

/// Parses JSON text into a Rhai value, applying the numeric-string rule.
pub fn parse(bytes: &[u8]) -> Result<Dynamic, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = PLAIN.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// The records of a list answer already parsed: a bare array, `{"<envelope>": [...]}`, or an
/// object whose only array is the list (as `api::models::list_from`).
pub fn records(value: Dynamic, envelope: &str) -> Result<Array, String> {
    if value.is_array() {
        return Ok(value.cast::<Array>());
    }
    if let Some(mut map) = value.clone().try_cast::<Map>() {
        for key in [envelope, "data", "items", "results"] {
            if let Some(list) = map.remove(key).filter(Dynamic::is_array) {
                return Ok(list.cast::<Array>());
            }
        }
        let mut arrays = map.into_iter().filter(|(_, v)| v.is_array());
        if let (Some((_, only)), None) = (arrays.next(), arrays.next()) {
            return Ok(only.cast::<Array>());
        }
    }
    Err(format!(
        "expected a list of {envelope}, as an array or {{\"{envelope}\": [...]}}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn agrees_with_the_value_path() {
        let value = json!({"cdrs": [{"id": "7", "q850": "16", "bill_duration": "", "dst": 447700001234u64,
                                     "status": "NORMAL_CLEARING", "nested": {"is_active": "1"}, "ratio": "2.5"}]});
        let bytes = serde_json::to_vec(&value).unwrap();
        let fast = parse(&bytes).unwrap();
        let slow = crate::script::json_to_dynamic(value);
        assert_eq!(fast.to_string(), slow.to_string());
        let rows = records(fast, "cdrs").unwrap();
        let row = rows[0].clone().cast::<Map>();
        assert_eq!(row["id"].as_int().unwrap(), 7);
        assert_eq!(row["dst"].clone().into_string().unwrap(), "447700001234");
        assert!(row["bill_duration"].is_unit());
        assert!(records(parse(b"{\"message\": \"x\"}").unwrap(), "cdrs").is_err());
        assert!(parse(b"[1, 2").is_err());
    }
}
