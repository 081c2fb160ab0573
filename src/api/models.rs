//! The dialer's records as the client hands them on: which fields are numbers (the server
//! sends them as strings), and how list answers are enveloped.
//!
//! Numeric fields (authoritative; the README repeats it): `id`; every field ending in `_id`
//! (`caller_user_id`, `object_type_id`, `object_id` included) except caller-id numbers
//! (`default_caller_id`, `*callerid*`); every `is_*` flag; and the names in
//! [`NUMERIC_FIELDS`]. Text fields ([`is_text_field`]) — phones, caller-id numbers and names,
//! `src`, `dst`, zip, identifiers, card digits — stay text even when they arrive as JSON
//! numbers; everything else (names, addresses, times) is kept as sent.

use serde_json::Value;

/// Counters, durations, timeouts, ratios, limits, weights, amounts and codes.
pub const NUMERIC_FIELDS: [&str; 47] = [
    "weight",
    "lat",
    "lng",
    "calls_count",
    "call_duration",
    "bill_duration",
    "call_bill_duration",
    "duration",
    "q850",
    "has_recording",
    "purchase_amount",
    "loan_amount",
    "default_weight",
    "auto_dial",
    "auto_dial_delay",
    "feedback_timeout",
    "feedback_default_status",
    "default_permanent_expiration_days",
    "predictive_call_ratio",
    "predictive_call_timeout",
    "default_busy_status",
    "default_voice_mail_status",
    "default_fax_status",
    "default_timeout_status",
    "default_not_exists_status",
    "default_error_status",
    "default_answer_status",
    "default_direct_dial_status",
    "predictive_fallback_action_timeout",
    "remote_call_screen_enabled",
    "predictive_ringing_preservation_ratio",
    "predictive_preservation_min_ringing_duration",
    "highest_priority_weight",
    "highest_priority_weight_ratio_level",
    "permanent_callback_keepalive",
    "permanent_agent_offline_keepalive",
    "permanent_daily_limit",
    "permanent_total_limit",
    "permanent_expiration_active",
    "available_agent_search_timeout",
    "min_weight",
    "redial_limit",
    "hide_voicemail_for_no_ratio_permanents",
    "voicemail_button_hide_timeout",
    "end_call_show_timeout",
    "notify_user_about_online_lead",
    "amd_max_duration",
];

/// A phone as digits only, without a leading international `00`, so that `+44 7700-001234`
/// and `0044 7700 001234` compare equal. Shared by the client, scripts and the sandbox.
pub fn normalize_phone(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix("00") {
        Some(rest) => rest.to_string(),
        None => digits,
    }
}

/// Whether a field holds a number, whatever type the server sent it as.
pub fn is_numeric_field(name: &str) -> bool {
    if name.contains("callerid") || name == "default_caller_id" {
        return false;
    }
    name == "id"
        || name.ends_with("_id")
        || name.starts_with("is_")
        || name == "amd_enabled"
        || name == "show_phone_symbols"
        || name == "voice_mail_button_status"
        || name == "override_dropped_call_action"
        || NUMERIC_FIELDS.contains(&name)
}

/// Whether a field is text even when the server sends a JSON number: phones (`dst` keeps its
/// leading zeros), caller-id numbers and names, identifiers, zip codes and card digits.
pub fn is_text_field(name: &str) -> bool {
    !is_numeric_field(name)
        && [
            "phone",
            "caller",
            "zip",
            "identifier",
            "digits",
            "src",
            "dst",
        ]
        .iter()
        .any(|part| name.contains(part))
}

/// What a numeric field's string holds: an integer, a float, or nothing (empty text).
pub enum NumericText {
    Int(i64),
    Float(f64),
    Empty,
    /// Not a number after all: kept as text rather than lost.
    Text,
}

pub fn read_numeric_text(text: &str) -> NumericText {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return NumericText::Empty;
    }
    if let Ok(n) = trimmed.parse::<i64>() {
        return NumericText::Int(n);
    }
    match trimmed.parse::<f64>() {
        Ok(f) if f.is_finite() => NumericText::Float(f),
        _ => NumericText::Text,
    }
}

/// The records of a list answer: a bare array, `{"<envelope>": [...]}`, or an object whose
/// only array is the list (the real dialer's envelopes are not all documented).
pub fn list_from(value: Value, envelope: &str) -> Result<Vec<Value>, String> {
    match value {
        Value::Array(items) => Ok(items),
        Value::Object(mut map) => {
            for key in [envelope, "data", "items", "results"] {
                if let Some(Value::Array(items)) = map.remove(key) {
                    return Ok(items);
                }
            }
            let mut arrays = map.into_iter().filter_map(|(_, v)| match v {
                Value::Array(items) => Some(items),
                _ => None,
            });
            match (arrays.next(), arrays.next()) {
                (Some(items), None) => Ok(items),
                _ => Err(format!(
                    "expected a list of {envelope}, as an array or {{\"{envelope}\": [...]}}"
                )),
            }
        }
        other => Err(format!(
            "expected a list of {envelope}, got {}",
            kind_of(&other)
        )),
    }
}

/// The map of a mass-assign answer, keyed by campaign-lead id: `{"leads": {...}}` or the bare
/// map; an empty array (what PHP sends for an empty map) is an empty map.
pub fn keyed_map_from(
    value: Value,
    envelope: &str,
) -> Result<serde_json::Map<String, Value>, String> {
    match value {
        Value::Object(mut map) => match map.remove(envelope) {
            Some(Value::Object(inner)) => Ok(inner),
            Some(Value::Array(items)) if items.is_empty() => Ok(serde_json::Map::new()),
            Some(other) => Err(format!(
                "expected \"{envelope}\" to be a map keyed by id, got {}",
                kind_of(&other)
            )),
            None => Ok(map),
        },
        Value::Array(items) if items.is_empty() => Ok(serde_json::Map::new()),
        other => Err(format!(
            "expected a map keyed by id, got {}",
            kind_of(&other)
        )),
    }
}

/// The one record of an answer such as clone's `{"campaigns": [{...}]}`.
pub fn single_from(value: Value, envelope: &str) -> Result<Value, String> {
    match value {
        Value::Object(ref map) if map.contains_key("id") => Ok(value),
        other => list_from(other, envelope)?
            .into_iter()
            .next()
            .ok_or_else(|| format!("expected one record in \"{envelope}\", got none")),
    }
}

/// An integer sent as a number or a numeric string.
pub fn read_int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub fn kind_of(value: &Value) -> &'static str {
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
