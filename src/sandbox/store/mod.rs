//! The sandbox's mutable state — leads, campaign leads, campaigns with their statuses — and
//! the semantics of every operation that changes it. Each operation validates its whole
//! request before it changes anything, so a refused request leaves no trace.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::sandbox::error::{SandboxError, SandboxResult};
use crate::sandbox::listing::{format_time, FieldValue};
pub(crate) use crate::wire::fields::phone_digits;

mod campaign_leads;
mod campaigns;
mod leads;

use leads::{pad_fields, validate_lead_fields};

pub(crate) use campaign_leads::{CampaignLead, CAMPAIGN_LEAD_FIELDS};
pub(crate) use campaigns::{Campaign, Status};
pub(crate) use leads::{Lead, LeadView, LEAD_FIELDS, LEAD_SERVER_FIELDS};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Store {
    pub(crate) leads: BTreeMap<i64, Lead>,
    pub(crate) campaign_leads: BTreeMap<i64, CampaignLead>,
    pub(crate) campaigns: BTreeMap<i64, Campaign>,
    #[serde(skip)]
    by_lead: HashMap<i64, BTreeSet<i64>>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn id_text(id: i64) -> Value {
    Value::String(id.to_string())
}

fn optional_id_text(id: Option<i64>) -> Value {
    id.map_or(Value::Null, id_text)
}

/// Reads an id that may come as a number or a numeric string.
pub(crate) fn read_id(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a scalar as the text the dialer stores.
fn scalar_text(value: &Value) -> Option<Option<String>> {
    match value {
        Value::Null => Some(None),
        Value::String(s) => Some(Some(s.clone())),
        Value::Number(n) => Some(Some(n.to_string())),
        _ => None,
    }
}

fn read_bool(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(Value::String(s)) => matches!(s.as_str(), "1" | "true"),
        _ => false,
    }
}

fn require_object<'a>(value: &'a Value, what: &str) -> SandboxResult<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| SandboxError::unprocessable(format!("{what} must be a JSON object")))
}

fn require_id(body: &Map<String, Value>, key: &str) -> SandboxResult<i64> {
    match body.get(key) {
        None | Some(Value::Null) => Err(SandboxError::unprocessable(format!(
            "field '{key}' is required"
        ))),
        Some(value) => read_id(value).ok_or_else(|| {
            SandboxError::unprocessable(format!("field '{key}' must be an id, got {value}"))
        }),
    }
}

/// Reads a list of ids given as an array (or a single id).
fn read_id_list(value: &Value, what: &str) -> SandboxResult<Vec<i64>> {
    let bad = || SandboxError::unprocessable(format!("{what} must be an array of ids"));
    match value {
        Value::Array(items) => items.iter().map(|v| read_id(v).ok_or_else(bad)).collect(),
        other => read_id(other).map(|id| vec![id]).ok_or_else(bad),
    }
}

impl Store {
    /// Rebuilds the lead -> campaign leads index (after loading a saved state).
    pub(crate) fn reindex(&mut self) {
        self.leads.values_mut().for_each(pad_fields);
        self.by_lead.clear();
        let pairs: Vec<(i64, i64)> = self
            .campaign_leads
            .values()
            .map(|cl| (cl.lead_id, cl.id))
            .collect();
        for (lead_id, id) in pairs {
            self.by_lead.entry(lead_id).or_default().insert(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phones_compare_by_their_digits() {
        assert_eq!(phone_digits("+44 7700-001234"), "447700001234");
        assert_eq!(phone_digits("0044 7700 001234"), "447700001234");
        assert_eq!(phone_digits("n/a"), "");
        // Digits, not E.164: a national number keeps its trunk 0, where a script's
        // normalize_phone reads it in a region.
        assert_eq!(phone_digits("07700 900101"), "07700900101");
        let gb = crate::phone::region("GB").ok();
        assert_eq!(
            crate::phone::to_e164("07700 900101", gb).as_deref(),
            Some("447700900101")
        );
    }

    #[test]
    fn lead_validation_names_index_and_field() {
        let mut store = Store::default();
        let body = json!([{ "phone": "1" }, { "phone": "2", "favourite_colour": "red" }]);
        let err = store.add_leads(&body).unwrap_err();
        assert_eq!(err.message, "lead 1: unknown field 'favourite_colour'");
        assert!(store.leads.is_empty(), "a refused chunk inserts nothing");
        let err = store
            .add_leads(&json!([{ "first_name": "x" }]))
            .unwrap_err();
        assert!(err.message.starts_with("lead 0: field 'phone'"));
    }
}
