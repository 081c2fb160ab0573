//! Properties of the filter grammar (what the client writes, the sandbox reads back) and of
//! the JSON <-> Rhai conversion.

use proptest::prelude::*;
use serde_json::Value;
use tdc::internals::{dynamic_to_json, fast_json, json_to_dynamic};
use tdc::internals::{format_conditions, parse_conditions, Condition, Op, QuerySpec, Resource};

fn op() -> impl Strategy<Value = Op> {
    prop::sample::select(Op::ALL.to_vec())
}

/// Values the grammar can carry: anything without `;` or `|`.
fn value() -> impl Strategy<Value = String> {
    "[^;|]{0,20}"
}

fn field() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,12}"
}

proptest! {
    #[test]
    fn conditions_survive_a_round_trip(conditions in prop::collection::vec((op(), value()), 1..5)) {
        let conditions: Vec<Condition> = conditions.into_iter().map(|(op, value)| Condition { op, value }).collect();
        let text = format_conditions(&conditions);
        prop_assert_eq!(parse_conditions(&text).unwrap(), conditions);
    }

    #[test]
    fn parsing_never_panics(text in ".{0,40}") {
        let _ = parse_conditions(&text);
        let _ = tdc::internals::parse_limit(&text);
        let _ = tdc::internals::parse_order(&text);
    }

    #[test]
    fn what_the_client_sends_the_sandbox_reads(
        resource in prop::sample::select(vec![Resource::Cdrs, Resource::Calls, Resource::Leads, Resource::CampaignLeads]),
        filters in prop::collection::vec((field(), op(), "[^;|]{1,20}"), 1..4),
        offset in 0u64..5000,
    ) {
        let mut spec = QuerySpec::new(resource);
        for (field, op, value) in &filters {
            spec.add_condition(field, *op, value.clone()).unwrap();
        }
        let path = spec.page_path(0, 1000);
        let (path_part, query) = match path.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (path.clone(), None),
        };
        let mut pairs = tdc::internals::path_pairs(&path_part, resource.path().trim_end_matches('/')).unwrap();
        pairs.extend(tdc::internals::query_pairs(query.as_deref()));
        for (field, conditions) in &spec.conditions {
            let sent = pairs.iter().find(|(k, _)| k == field).map(|(_, v)| v.clone()).unwrap();
            prop_assert_eq!(&parse_conditions(&sent).unwrap(), conditions);
        }
        let limit = pairs.iter().find(|(k, _)| k == "limit").map(|(_, v)| v.clone()).unwrap();
        prop_assert!(limit.starts_with("1000"));
        let _ = offset;
    }
}

/// JSON values whose keys are neither numeric nor text fields (no `_id`, `src`, `zip`, …), so
/// that conversion must keep them as is.
fn plain_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e9f64..1e9)
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("note_[0-9]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn json_survives_the_trip_through_rhai(value in plain_json()) {
        let back = dynamic_to_json(&json_to_dynamic(value.clone())).unwrap();
        prop_assert_eq!(back, value);
    }

    #[test]
    fn numeric_strings_become_numbers(n in any::<i64>(), phone in "[0-9]{6,15}") {
        let record = serde_json::json!({ "id": n.to_string(), "campaign_id": n.to_string(), "phone": phone.clone() });
        let back = dynamic_to_json(&json_to_dynamic(record)).unwrap();
        prop_assert_eq!(back["id"].as_i64(), Some(n));
        prop_assert_eq!(back["campaign_id"].as_i64(), Some(n));
        prop_assert_eq!(back["phone"].as_str(), Some(phone.as_str()));
    }

    /// A page's records read as a template of the first record's keys agree with a plain
    /// reading, whatever keys later records have, in whatever order, given twice or not.
    #[test]
    fn records_of_a_list_read_as_json_says(
        records in prop::collection::vec(
            prop::collection::vec((prop::sample::select(vec!["note_a", "note_b", "note_c", "note_d"]), plain_json()), 0..6),
            1..6,
        )
    ) {
        let text = format!("[{}]", records.iter().map(|pairs| {
            let fields: Vec<String> = pairs.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
            format!("{{{}}}", fields.join(","))
        }).collect::<Vec<_>>().join(","));
        let read = dynamic_to_json(&fast_json::parse(text.as_bytes()).unwrap()).unwrap();
        let plain: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(read, plain, "{}", text);
    }

    /// Both readings (an answer's text, a parsed value) give what the field rule says, as a
    /// plain model of the rule over `serde_json` values computes it.
    #[test]
    fn text_and_values_follow_the_field_rule(value in any_json()) {
        let text = serde_json::to_vec(&value).unwrap();
        // The value as read back from the same text (serde_json's float reading is not an
        // exact round trip, and is not what is compared here).
        let reread: Value = serde_json::from_slice(&text).unwrap();
        let expected = by_the_field_rule(&reread, None);
        let from_text = dynamic_to_json(&fast_json::parse(&text).unwrap()).unwrap();
        prop_assert_eq!(&from_text, &expected, "{}", reread);
        let from_value = dynamic_to_json(&json_to_dynamic(reread.clone())).unwrap();
        prop_assert_eq!(&from_value, &expected, "{}", reread);
    }
}

/// The field rule applied to a value under `key` (none for a list's element or the top):
/// numeric fields' text becomes a number (empty text nothing, other text stays), text fields'
/// numbers become their text, and a number too large for an integer is a float.
fn by_the_field_rule(value: &Value, key: Option<&str>) -> Value {
    use tdc::internals::{is_numeric_field, is_text_field, read_numeric_text, NumericText};
    let numeric = key.is_some_and(is_numeric_field);
    let text = key.is_some_and(is_text_field);
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), by_the_field_rule(v, Some(k))))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| by_the_field_rule(v, None)).collect())
        }
        Value::String(s) if numeric => match read_numeric_text(s) {
            NumericText::Int(n) => Value::from(n),
            NumericText::Float(f) => Value::from(f),
            NumericText::Empty => Value::Null,
            NumericText::Text => value.clone(),
        },
        Value::Number(n) if text => Value::String(match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(u)) => u.to_string(),
            (None, None) => n.as_f64().unwrap().to_string(),
        }),
        Value::Number(n) if n.as_i64().is_none() => Value::from(n.as_f64().unwrap()),
        other => other.clone(),
    }
}

/// Any JSON, with keys that are numeric fields, text fields and others, so that both readings
/// apply the field rule.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12)
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[0-9 .e+-]{0,10}".prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    let key = prop_oneof![
        Just("id".to_string()),
        Just("campaign_id".to_string()),
        Just("bill_duration".to_string()),
        Just("phone".to_string()),
        Just("dst".to_string()),
        Just("zip".to_string()),
        "[a-z_]{1,8}",
    ];
    leaf.prop_recursive(3, 32, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
