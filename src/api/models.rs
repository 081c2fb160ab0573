//! The dialer's records as the client hands them on: how list answers are enveloped. Which
//! fields are numbers is the wire contract's field rule ([`crate::wire::fields`]).

use serde_json::Value;

/// An answer whose shape is not what its endpoint promises; the message says what was
/// expected and what came.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShapeError(pub(crate) String);

impl ShapeError {
    /// A list answer in none of the envelopes the client knows.
    pub(crate) fn not_a_list(envelope: &str) -> ShapeError {
        ShapeError(format!(
            "expected a list of {envelope}, as an array or {{\"{envelope}\": [...]}}"
        ))
    }
}

pub(crate) use crate::wire::fields::{
    is_numeric_field, is_text_field, read_int, read_numeric_text, NumericText,
};

/// The records of a list answer, by the envelope rule ([`crate::wire::envelope`]).
pub(crate) fn list_from(value: Value, envelope: &str) -> Result<Vec<Value>, ShapeError> {
    match value {
        Value::Array(items) => Ok(items),
        Value::Object(map) => {
            let lists = map
                .into_iter()
                .filter_map(|(key, v)| match v {
                    Value::Array(items) => Some((key, items)),
                    _ => None,
                })
                .collect();
            crate::wire::envelope::pick(lists, envelope)
                .ok_or_else(|| ShapeError::not_a_list(envelope))
        }
        other => Err(ShapeError(format!(
            "expected a list of {envelope}, got {}",
            kind_of(&other)
        ))),
    }
}

/// The map of a mass-assign answer, keyed by campaign-lead id: `{"leads": {...}}` or the bare
/// map; an empty array (what PHP sends for an empty map) is an empty map.
pub(crate) fn keyed_map_from(
    value: Value,
    envelope: &str,
) -> Result<serde_json::Map<String, Value>, ShapeError> {
    match value {
        Value::Object(mut map) => match map.remove(envelope) {
            Some(Value::Object(inner)) => Ok(inner),
            Some(Value::Array(items)) if items.is_empty() => Ok(serde_json::Map::new()),
            Some(other) => Err(ShapeError(format!(
                "expected \"{envelope}\" to be a map keyed by id, got {}",
                kind_of(&other)
            ))),
            None => Ok(map),
        },
        Value::Array(items) if items.is_empty() => Ok(serde_json::Map::new()),
        other => Err(ShapeError(format!(
            "expected a map keyed by id, got {}",
            kind_of(&other)
        ))),
    }
}

/// The one record of an answer such as clone's `{"campaigns": [{...}]}`.
pub(crate) fn single_from(value: Value, envelope: &str) -> Result<Value, ShapeError> {
    match value {
        Value::Object(ref map) if map.contains_key("id") => Ok(value),
        other => list_from(other, envelope)?
            .into_iter()
            .next()
            .ok_or_else(|| ShapeError(format!("expected one record in \"{envelope}\", got none"))),
    }
}

pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_rule_follows_the_design() {
        for numeric in [
            "id",
            "campaign_id",
            "is_active",
            "q850",
            "calls_count",
            "predictive_call_ratio",
            "loan_amount",
            "caller_user_id",
            "object_type_id",
            "object_id",
            "creator_user_id",
            "weight",
        ] {
            assert!(is_numeric_field(numeric), "{numeric}");
        }
        for text in [
            "phone",
            "default_caller_id",
            "client_callerid_number",
            "zip",
            "original_identifier",
            "purchase_card_digits",
            "name",
            "start_at",
            "src",
            "dst",
            "caller_user",
            "agent_callerid_number",
            "agent_callerid_name",
            "client_callerid_name",
        ] {
            assert!(!is_numeric_field(text), "{text}");
        }
        for text in [
            "dst",
            "src",
            "client_callerid_number",
            "caller_user",
            "phone2",
        ] {
            assert!(is_text_field(text), "{text}");
        }
        assert!(!is_text_field("caller_user_id"));
    }

    #[test]
    fn envelopes_and_bare_lists_are_both_read() {
        assert_eq!(list_from(json!([1, 2]), "cdrs").unwrap().len(), 2);
        assert_eq!(list_from(json!({"cdrs": [1]}), "cdrs").unwrap().len(), 1);
        assert_eq!(
            list_from(json!({"rows": [1], "total": 5}), "cdrs")
                .unwrap()
                .len(),
            1
        );
        assert!(list_from(json!({"message": "x"}), "cdrs").is_err());
        assert_eq!(
            keyed_map_from(json!({"leads": []}), "leads").unwrap().len(),
            0
        );
        assert_eq!(
            keyed_map_from(json!({"leads": {"78057": {}}}), "leads")
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            single_from(json!({"campaigns": [{"id": "16"}]}), "campaigns").unwrap()["id"],
            "16"
        );
    }
}
