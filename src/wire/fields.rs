//! The field rule: which fields are numbers (the server sends them as strings, or as JSON
//! numbers) and which stay text, and phones as the twin compares them.
//!
//! Numeric fields (authoritative; the README repeats it): `id`; every field ending in `_id`
//! (`caller_user_id`, `object_type_id`, `object_id` included) except caller-id numbers
//! (`default_caller_id`, `*callerid*`); every `is_*` flag; and the names in
//! [`NUMERIC_FIELDS`]. Text fields ([`is_text_field`]) — phones, caller-id numbers and names,
//! `src`, `dst`, zip, identifiers, card digits — stay text even when they arrive as JSON
//! numbers; everything else (names, addresses, times) is kept as sent.

/// Counters, durations, timeouts, ratios, limits, weights, amounts and codes.
pub(crate) const NUMERIC_FIELDS: [&str; 47] = [
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

/// A phone as its digits, without a leading international `00`, so that `+44 7700-001234`
/// and `0044 7700 001234` compare equal: how the twin matches phone filters and duplicates,
/// as a dialer that knows no regions would. A national `07700 900101` stays `07700900101`;
/// scripts' `normalize_phone` reads numbers into E.164 instead ([`crate::phone::to_e164`]).
pub(crate) fn phone_digits(phone: &str) -> String {
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

/// An integer as real tenants send one: a JSON integer, or text holding one (`35`, `"35"`,
/// `" 35 "`). A float is one only when it has no fraction (`35.0`, as some encoders write
/// integers); a fraction, a boolean or anything else is not an integer, and nothing is
/// truncated or guessed.
pub(crate) fn read_int(value: &serde_json::Value) -> Option<i64> {
    use serde_json::Value;
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(whole)),
        Value::String(s) => int_of_text(s),
        _ => None,
    }
}

/// Text holding an integer, by [`read_int`]'s rule.
pub(crate) fn int_of_text(text: &str) -> Option<i64> {
    match read_numeric_text(text) {
        NumericText::Int(n) => Some(n),
        NumericText::Float(f) => whole(f),
        NumericText::Empty | NumericText::Text => None,
    }
}

/// A float as an integer when it is one exactly (and in range).
pub(crate) fn whole(f: f64) -> Option<i64> {
    // 2^63 itself is out of range, and is the first float past i64::MAX.
    (f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63)).then_some(f as i64)
}

/// A number sent as a JSON number or as text holding one.
pub(crate) fn read_float(value: &serde_json::Value) -> Option<f64> {
    use serde_json::Value;
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => float_of_text(s),
        _ => None,
    }
}

/// Text holding a number, by [`read_float`]'s rule.
pub(crate) fn float_of_text(text: &str) -> Option<f64> {
    match read_numeric_text(text) {
        NumericText::Int(n) => Some(n as f64),
        NumericText::Float(f) => Some(f),
        NumericText::Empty | NumericText::Text => None,
    }
}

/// Numeric fields that hold fractions: amounts and coordinates.
pub(crate) const FLOAT_FIELDS: [&str; 4] = ["purchase_amount", "loan_amount", "lat", "lng"];

/// Fields that hold a date without a time of day.
pub(crate) const DATE_FIELDS: [&str; 2] = ["birthdate", "purchase_date"];

/// Whether a field holds a time (`YYYY-MM-DD HH:MM:SS`): every `*_at`.
pub(crate) fn is_time_field(name: &str) -> bool {
    name.ends_with("_at")
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_are_read_as_tenants_send_them_and_never_truncated() {
        for (sent, read) in [
            (json!(35), Some(35)),
            (json!("35"), Some(35)),
            (json!(" 35 "), Some(35)),
            (json!(-4), Some(-4)),
            (json!(35.0), Some(35)),
            (json!("35.0"), Some(35)),
            (json!(35.7), None),
            (json!("35.7"), None),
            (json!(true), None),
            (json!(1e30), None),
            (json!(u64::MAX), None),
            (json!(""), None),
            (json!("n/a"), None),
            (json!(null), None),
        ] {
            assert_eq!(read_int(&sent), read, "{sent}");
        }
        assert_eq!(read_float(&json!("1.5")), Some(1.5));
        assert_eq!(read_float(&json!(2)), Some(2.0));
        assert_eq!(read_float(&json!(false)), None);
    }
}
