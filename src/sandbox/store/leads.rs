//! Leads: their fields, how the dialer shows them, and `POST /api/leads`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::*;

/// The lead fields a client may send (the vendor guide's list), in output order.
pub(crate) const LEAD_FIELDS: [&str; 23] = [
    "first_name",
    "last_name",
    "phone",
    "phone2",
    "address1",
    "address2",
    "country",
    "state",
    "city",
    "zip",
    "timezone",
    "original_identifier",
    "support_site",
    "purchase_site",
    "purchase_date",
    "purchase_amount",
    "purchase_product_name",
    "purchase_card_name",
    "purchase_card_type",
    "purchase_card_digits",
    "email",
    "birthdate",
    "loan_amount",
];

/// Fields of a lead that the server sets.
pub(crate) const LEAD_SERVER_FIELDS: [&str; 5] = [
    "id",
    "phone_normalized",
    "phone_normalized2",
    "created_at",
    "updated_at",
];

/// The most leads one `POST /api/leads` may carry.
pub(crate) const MAX_LEADS_PER_REQUEST: usize = 1000;

/// Lead fields a real tenant's import may carry beside [`LEAD_FIELDS`]: accepted, and ignored
/// (the dialer works out the normalized phones and the position itself).
pub(crate) const LEAD_DERIVED_FIELDS: [&str; 4] =
    ["phone_normalized", "phone_normalized2", "lat", "lng"];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Lead {
    pub(crate) id: i64,
    /// One slot per entry of [`LEAD_FIELDS`].
    pub(crate) fields: Vec<Option<String>>,
    pub(crate) custom_fields: Map<String, Value>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

/// A lead as the dialer sends it: `id`, every field of [`LEAD_FIELDS`] (text or null),
/// `phone_normalized`, `customFields`, and the times. Serialized field by field, without a
/// JSON tree in between: an import's answers carry every field of every lead inserted.
pub(crate) struct LeadView<'a>(pub(crate) &'a Lead);

impl Serialize for LeadView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let lead = self.0;
        let mut map = serializer.serialize_map(Some(LEAD_FIELDS.len() + 6))?;
        map.serialize_entry("id", itoa::Buffer::new().format(lead.id))?;
        for (name, value) in LEAD_FIELDS.iter().zip(&lead.fields) {
            map.serialize_entry(name, value)?;
        }
        map.serialize_entry("phone_normalized", &lead.phone_normalized())?;
        map.serialize_entry("phone_normalized2", &lead.phone_normalized2())?;
        map.serialize_entry("customFields", &lead.custom_fields)?;
        for (name, t) in [
            ("created_at", lead.created_at),
            ("updated_at", lead.updated_at),
        ] {
            match crate::time::stamp(t) {
                Some(stamp) => map.serialize_entry(name, stamp.as_str())?,
                None => map.serialize_entry(name, "")?,
            }
        }
        map.end()
    }
}

pub(super) fn lead_field_index(name: &str) -> Option<usize> {
    LEAD_FIELDS.iter().position(|f| *f == name)
}

/// Leads of a state file written before a field was added have fewer slots: pads them.
pub(super) fn pad_fields(lead: &mut Lead) {
    lead.fields.resize(LEAD_FIELDS.len(), None);
}

impl Lead {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        lead_field_index(name).and_then(|i| self.fields[i].as_deref())
    }

    pub(crate) fn phone_normalized(&self) -> String {
        phone_digits(self.get("phone").unwrap_or(""))
    }

    pub(crate) fn phone_normalized2(&self) -> String {
        phone_digits(self.get("phone2").unwrap_or(""))
    }

    pub(crate) fn field_value(&self, name: &str) -> FieldValue<'_> {
        use std::borrow::Cow;
        match name {
            "id" => FieldValue::Int(self.id),
            "created_at" => FieldValue::Time(self.created_at),
            "updated_at" => FieldValue::Time(self.updated_at),
            "phone_normalized" => FieldValue::Text(Cow::Owned(self.phone_normalized())),
            "phone_normalized2" => FieldValue::Text(Cow::Owned(self.phone_normalized2())),
            _ => match self.get(name) {
                Some(text) => FieldValue::Text(Cow::Borrowed(text)),
                None => FieldValue::Null,
            },
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        serde_json::to_value(LeadView(self)).unwrap_or(Value::Null)
    }

    /// The short form mass-assign answers with (as in the vendor guide).
    pub(super) fn summary_json(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "first_name": self.get("first_name"),
            "last_name": self.get("last_name"),
            "phone": self.get("phone"),
            "phone_normalized": self.phone_normalized(),
            "original_identifier": self.get("original_identifier"),
        })
    }

    /// Applies client-sent fields, validated first by [`validate_lead_fields`].
    pub(super) fn apply(&mut self, fields: &Map<String, Value>) {
        for (key, value) in fields {
            if key == "customFields" {
                if let Value::Object(custom) = value {
                    for (k, v) in custom {
                        self.custom_fields.insert(k.clone(), v.clone());
                    }
                }
            } else if let Some(index) = lead_field_index(key) {
                self.fields[index] = scalar_text(value).flatten();
            }
        }
    }
}

/// Checks a lead object sent by a client; `at` names it in messages ("lead 3").
pub(super) fn validate_lead_fields(
    fields: &Map<String, Value>,
    at: &str,
    require_phone: bool,
) -> SandboxResult<()> {
    for (key, value) in fields {
        if key == "customFields" {
            let custom = value.as_object().ok_or_else(|| {
                SandboxError::unprocessable(format!("{at}: customFields must be an object"))
            })?;
            if let Some((k, _)) = custom.iter().find(|(_, v)| scalar_text(v).is_none()) {
                return Err(SandboxError::unprocessable(format!(
                    "{at}: custom field '{k}' must be text, a number or null"
                )));
            }
        } else if lead_field_index(key).is_none() && !LEAD_DERIVED_FIELDS.contains(&key.as_str()) {
            return Err(SandboxError::unprocessable(format!(
                "{at}: unknown field '{key}'"
            )));
        } else if scalar_text(value).is_none() {
            return Err(SandboxError::unprocessable(format!(
                "{at}: field '{key}' must be text, a number or null"
            )));
        }
    }
    if require_phone {
        let phone = fields.get("phone").and_then(scalar_text).flatten();
        if phone
            .as_deref()
            .map(phone_digits)
            .unwrap_or_default()
            .is_empty()
        {
            return Err(SandboxError::unprocessable(format!(
                "{at}: field 'phone' is required and must hold digits"
            )));
        }
    }
    Ok(())
}

impl Store {
    pub(crate) fn next_lead_id(&self) -> i64 {
        self.leads.keys().next_back().map_or(1, |id| id + 1)
    }

    /// `POST /api/leads`: a bare array or `{"leads": [...]}`. The chunk is refused whole if
    /// any lead is invalid; the ids of the inserted leads are returned in order.
    pub(crate) fn add_leads(&mut self, body: &Value) -> SandboxResult<Vec<i64>> {
        let leads = match body {
            Value::Array(items) => items,
            Value::Object(map) => match map.get("leads") {
                Some(Value::Array(items)) => items,
                _ => {
                    return Err(SandboxError::unprocessable(
                        "body must be an array of leads or {\"leads\": [...]}",
                    ))
                }
            },
            _ => {
                return Err(SandboxError::unprocessable(
                    "body must be an array of leads or {\"leads\": [...]}",
                ))
            }
        };
        if leads.len() > MAX_LEADS_PER_REQUEST {
            return Err(SandboxError::unprocessable(format!(
                "{} leads in one request; at most {MAX_LEADS_PER_REQUEST} are accepted",
                leads.len()
            )));
        }
        let mut objects = Vec::with_capacity(leads.len());
        for (index, lead) in leads.iter().enumerate() {
            let at = format!("lead {index}");
            let fields = lead
                .as_object()
                .ok_or_else(|| SandboxError::unprocessable(format!("{at}: not an object")))?;
            validate_lead_fields(fields, &at, true)?;
            objects.push(fields);
        }
        let t = now();
        let mut inserted = Vec::with_capacity(objects.len());
        for (id, fields) in (self.next_lead_id()..).zip(objects) {
            let mut lead = Lead {
                id,
                fields: vec![None; LEAD_FIELDS.len()],
                custom_fields: Map::new(),
                created_at: t,
                updated_at: t,
            };
            lead.apply(fields);
            inserted.push(id);
            self.leads.insert(id, lead);
        }
        Ok(inserted)
    }

    /// The leads a mass-assign `where` selects: every named field must match one of its
    /// values. Phones match on their normalized form.
    pub(super) fn leads_where(&self, conditions: &Map<String, Value>) -> SandboxResult<Vec<i64>> {
        if conditions.is_empty() {
            return Err(SandboxError::unprocessable(
                "where must name at least one field",
            ));
        }
        let mut wanted: Vec<(&str, Vec<String>)> = Vec::new();
        for (field, values) in conditions {
            if field != "id" && lead_field_index(field).is_none() {
                return Err(SandboxError::unprocessable(format!(
                    "where: unknown field '{field}'"
                )));
            }
            let values = match values {
                Value::Array(items) => items.clone(),
                other => vec![other.clone()],
            };
            let texts = values
                .iter()
                .map(|v| {
                    scalar_text(v).flatten().ok_or_else(|| {
                        SandboxError::unprocessable(format!(
                            "where: values of '{field}' must be text or numbers"
                        ))
                    })
                })
                .collect::<SandboxResult<Vec<_>>>()?;
            let texts = if field.starts_with("phone") {
                texts.iter().map(|t| phone_digits(t)).collect()
            } else {
                texts
            };
            wanted.push((field.as_str(), texts));
        }
        let matches = |lead: &Lead| {
            wanted.iter().all(|(field, values)| {
                let actual = match *field {
                    "id" => Some(lead.id.to_string()),
                    f if f.starts_with("phone") => lead.get(f).map(phone_digits),
                    f => lead.get(f).map(str::to_string),
                };
                actual.is_some_and(|a| values.contains(&a))
            })
        };
        let ids = match wanted.iter().find(|(f, _)| *f == "id") {
            Some((_, values)) => values
                .iter()
                .filter_map(|v| v.parse::<i64>().ok())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .filter(|id| self.leads.get(id).is_some_and(matches))
                .collect(),
            None => self
                .leads
                .values()
                .filter(|lead| matches(lead))
                .map(|lead| lead.id)
                .collect(),
        };
        Ok(ids)
    }
}
