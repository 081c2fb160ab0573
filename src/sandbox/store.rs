//! The sandbox's mutable state — leads, campaign leads, campaigns with their statuses — and
//! the semantics of every operation that changes it. Each operation validates its whole
//! request before it changes anything, so a refused request leaves no trace.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub use crate::api::models::normalize_phone;
use crate::sandbox::error::{SandboxError, SandboxResult};
use crate::sandbox::listing::{format_time, FieldValue};

/// The lead fields a client may send (the vendor guide's list), in output order.
pub const LEAD_FIELDS: [&str; 23] = [
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
pub const LEAD_SERVER_FIELDS: [&str; 5] = [
    "id",
    "phone_normalized",
    "phone_normalized2",
    "created_at",
    "updated_at",
];

/// The most leads one `POST /api/leads` may carry.
pub const MAX_LEADS_PER_REQUEST: usize = 1000;

/// Fields of a campaign lead in listings.
pub const CAMPAIGN_LEAD_FIELDS: [&str; 11] = [
    "id",
    "lead_id",
    "campaign_id",
    "status_id",
    "status",
    "calls_count",
    "user_id",
    "weight",
    "created_at",
    "updated_at",
    "history",
];

/// Campaign-lead fields that `update-campaign-leads` may change.
pub const CAMPAIGN_LEAD_UPDATABLE: [&str; 4] = ["status_id", "user_id", "calls_count", "weight"];

/// Lead fields a real tenant's import may carry beside [`LEAD_FIELDS`]: accepted, and ignored
/// (the dialer works out the normalized phones and the position itself).
pub const LEAD_DERIVED_FIELDS: [&str; 4] = ["phone_normalized", "phone_normalized2", "lat", "lng"];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lead {
    pub id: i64,
    /// One slot per entry of [`LEAD_FIELDS`].
    pub fields: Vec<Option<String>>,
    pub custom_fields: Map<String, Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A lead as the dialer sends it: `id`, every field of [`LEAD_FIELDS`] (text or null),
/// `phone_normalized`, `customFields`, and the times. Serialized field by field, without a
/// JSON tree in between: an import's answers carry every field of every lead inserted.
pub struct LeadView<'a>(pub &'a Lead);

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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignLead {
    pub id: i64,
    pub lead_id: i64,
    pub campaign_id: i64,
    pub status_id: i64,
    pub calls_count: i64,
    pub user_id: Option<i64>,
    /// The lead's priority in the campaign (`default_weight` of the campaign at first).
    #[serde(default)]
    pub weight: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub history: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Campaign {
    pub id: i64,
    /// Every setting as the dialer sends it (strings), `name` and `description` included.
    pub settings: Map<String, Value>,
    pub statuses: Vec<Status>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Store {
    pub leads: BTreeMap<i64, Lead>,
    pub campaign_leads: BTreeMap<i64, CampaignLead>,
    pub campaigns: BTreeMap<i64, Campaign>,
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
pub fn read_id(value: &Value) -> Option<i64> {
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

fn lead_field_index(name: &str) -> Option<usize> {
    LEAD_FIELDS.iter().position(|f| *f == name)
}

/// Leads of a state file written before a field was added have fewer slots: pads them.
fn pad_fields(lead: &mut Lead) {
    lead.fields.resize(LEAD_FIELDS.len(), None);
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

impl Lead {
    pub fn get(&self, name: &str) -> Option<&str> {
        lead_field_index(name).and_then(|i| self.fields[i].as_deref())
    }

    pub fn phone_normalized(&self) -> String {
        normalize_phone(self.get("phone").unwrap_or(""))
    }

    pub fn phone_normalized2(&self) -> String {
        normalize_phone(self.get("phone2").unwrap_or(""))
    }

    pub fn field_value(&self, name: &str) -> FieldValue<'_> {
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

    pub fn to_json(&self) -> Value {
        serde_json::to_value(LeadView(self)).unwrap_or(Value::Null)
    }

    /// The short form mass-assign answers with (as in the vendor guide).
    fn summary_json(&self) -> Value {
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
    fn apply(&mut self, fields: &Map<String, Value>) {
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
fn validate_lead_fields(
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
            .map(normalize_phone)
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

impl CampaignLead {
    pub fn field_value<'a>(&'a self, name: &str, store: &'a Store) -> FieldValue<'a> {
        use std::borrow::Cow;
        match name {
            "id" => FieldValue::Int(self.id),
            "lead_id" => FieldValue::Int(self.lead_id),
            "campaign_id" => FieldValue::Int(self.campaign_id),
            "status_id" => FieldValue::Int(self.status_id),
            "calls_count" => FieldValue::Int(self.calls_count),
            "user_id" => self.user_id.map_or(FieldValue::Null, FieldValue::Int),
            "weight" => FieldValue::Int(self.weight),
            "created_at" => FieldValue::Time(self.created_at),
            "updated_at" => FieldValue::Time(self.updated_at),
            "status" => store
                .status_name(self.campaign_id, self.status_id)
                .map_or(FieldValue::Null, |n| FieldValue::Text(Cow::Borrowed(n))),
            _ => FieldValue::Null,
        }
    }
}

impl Campaign {
    pub fn name(&self) -> &str {
        self.settings
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The weight new campaign leads get.
    pub fn default_weight(&self) -> i64 {
        self.settings
            .get("default_weight")
            .and_then(read_id)
            .unwrap_or(0)
    }

    pub fn status_named(&self, name: &str) -> Option<&Status> {
        self.statuses.iter().find(|s| s.name == name)
    }

    pub fn field_value(&self, name: &str) -> FieldValue<'_> {
        use std::borrow::Cow;
        match name {
            "id" => FieldValue::Int(self.id),
            _ => match self.settings.get(name) {
                Some(Value::String(s)) => FieldValue::Text(Cow::Borrowed(s)),
                Some(Value::Null) | None => FieldValue::Null,
                Some(other) => FieldValue::Text(Cow::Owned(other.to_string())),
            },
        }
    }

    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), id_text(self.id));
        out.extend(self.settings.clone());
        let statuses = self
            .statuses
            .iter()
            .map(|s| json!({ "id": s.id.to_string(), "name": s.name }))
            .collect();
        out.insert("statuses".into(), Value::Array(statuses));
        Value::Object(out)
    }
}

impl Store {
    /// Rebuilds the lead -> campaign leads index (after loading a saved state).
    pub fn reindex(&mut self) {
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

    pub fn next_lead_id(&self) -> i64 {
        self.leads.keys().next_back().map_or(1, |id| id + 1)
    }

    pub fn next_campaign_lead_id(&self) -> i64 {
        self.campaign_leads
            .keys()
            .next_back()
            .map_or(1, |id| id + 1)
    }

    pub fn insert_campaign_lead(&mut self, cl: CampaignLead) {
        self.by_lead.entry(cl.lead_id).or_default().insert(cl.id);
        self.campaign_leads.insert(cl.id, cl);
    }

    fn remove_campaign_lead(&mut self, id: i64) -> Option<CampaignLead> {
        let cl = self.campaign_leads.remove(&id)?;
        if let Some(set) = self.by_lead.get_mut(&cl.lead_id) {
            set.remove(&id);
        }
        Some(cl)
    }

    /// The campaign leads of one lead, in id order.
    pub fn campaign_leads_of(&self, lead_id: i64) -> Vec<&CampaignLead> {
        self.by_lead
            .get(&lead_id)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| self.campaign_leads.get(id))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn campaign_lead_in(&self, lead_id: i64, campaign_id: i64) -> Option<&CampaignLead> {
        self.campaign_leads_of(lead_id)
            .into_iter()
            .find(|cl| cl.campaign_id == campaign_id)
    }

    pub fn status_name(&self, campaign_id: i64, status_id: i64) -> Option<&str> {
        self.campaigns
            .get(&campaign_id)?
            .statuses
            .iter()
            .find(|s| s.id == status_id)
            .map(|s| s.name.as_str())
    }

    fn campaign(&self, id: i64) -> SandboxResult<&Campaign> {
        self.campaigns
            .get(&id)
            .ok_or_else(|| SandboxError::not_found(format!("campaign {id} does not exist")))
    }

    pub fn campaign_lead_json(&self, cl: &CampaignLead) -> Value {
        json!({
            "id": cl.id.to_string(),
            "lead_id": cl.lead_id.to_string(),
            "campaign_id": cl.campaign_id.to_string(),
            "status_id": cl.status_id.to_string(),
            "status": self.status_name(cl.campaign_id, cl.status_id),
            "calls_count": cl.calls_count.to_string(),
            "user_id": optional_id_text(cl.user_id),
            "weight": cl.weight.to_string(),
            "created_at": format_time(cl.created_at),
            "updated_at": format_time(cl.updated_at),
            "history": cl.history,
        })
    }

    fn new_campaign_lead(&mut self, lead_id: i64, campaign_id: i64, note: String) -> i64 {
        let campaign = self.campaigns.get(&campaign_id);
        let status_id = campaign
            .and_then(|c| c.statuses.first())
            .map_or(0, |s| s.id);
        let weight = campaign.map_or(0, Campaign::default_weight);
        let id = self.next_campaign_lead_id();
        let t = now();
        self.insert_campaign_lead(CampaignLead {
            id,
            lead_id,
            campaign_id,
            status_id,
            calls_count: 0,
            user_id: None,
            weight,
            created_at: t,
            updated_at: t,
            history: vec![format!("{} {note}", format_time(t))],
        });
        id
    }

    /// `POST /api/leads`: a bare array or `{"leads": [...]}`. The chunk is refused whole if
    /// any lead is invalid; the ids of the inserted leads are returned in order.
    pub fn add_leads(&mut self, body: &Value) -> SandboxResult<Vec<i64>> {
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
    fn leads_where(&self, conditions: &Map<String, Value>) -> SandboxResult<Vec<i64>> {
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
                texts.iter().map(|t| normalize_phone(t)).collect()
            } else {
                texts
            };
            wanted.push((field.as_str(), texts));
        }
        let matches = |lead: &Lead| {
            wanted.iter().all(|(field, values)| {
                let actual = match *field {
                    "id" => Some(lead.id.to_string()),
                    f if f.starts_with("phone") => lead.get(f).map(normalize_phone),
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

    /// `PUT /api/campaign-leads/mass-assign`. Returns `{campaign lead id: lead summary}`.
    pub fn mass_assign(&mut self, body: &Value) -> SandboxResult<Map<String, Value>> {
        let body = require_object(body, "body")?;
        let campaign_id = require_id(body, "campaign_id")?;
        self.campaign(campaign_id)?;
        let remove_from_others = read_bool(body.get("remove_from_others"));
        let conditions = body
            .get("where")
            .ok_or_else(|| SandboxError::unprocessable("field 'where' is required"))?;
        let conditions = require_object(conditions, "where")?;
        let lead_ids = self.leads_where(conditions)?;
        let mut out = Map::new();
        for lead_id in lead_ids {
            let id = match self.campaign_lead_in(lead_id, campaign_id) {
                Some(existing) => existing.id,
                None => self.new_campaign_lead(
                    lead_id,
                    campaign_id,
                    format!("assigned to campaign {campaign_id}"),
                ),
            };
            if remove_from_others {
                let others: Vec<i64> = self
                    .campaign_leads_of(lead_id)
                    .iter()
                    .filter(|cl| cl.campaign_id != campaign_id)
                    .map(|cl| cl.id)
                    .collect();
                for other in others {
                    self.remove_campaign_lead(other);
                }
            }
            out.insert(id.to_string(), self.leads[&lead_id].summary_json());
        }
        Ok(out)
    }

    /// `/api/campaigns/clone`: copies settings and the statuses used, names the copy "[clone of] NAME".
    pub fn clone_campaign(&mut self, params: &Map<String, Value>) -> SandboxResult<Value> {
        let source_id = require_id(params, "campaign_id")?;
        let source = self.campaign(source_id)?.clone();
        let caller_id = match params.get("default_caller_id") {
            None | Some(Value::Null) => None,
            Some(value) => Some(scalar_text(value).flatten().ok_or_else(|| {
                SandboxError::unprocessable("field 'default_caller_id' must be a number or text")
            })?),
        };
        let id = self.campaigns.keys().next_back().map_or(1, |id| id + 1);
        let mut settings = source.settings.clone();
        let name = format!("[clone of] {}", source.name());
        settings.insert("name".into(), name.clone().into());
        settings.insert("description".into(), name.into());
        settings.insert("parent_id".into(), Value::Null);
        let t = format_time(now());
        settings.insert("created_at".into(), t.clone().into());
        settings.insert("updated_at".into(), t.into());
        if let Some(caller_id) = caller_id {
            settings.insert("default_caller_id".into(), caller_id.into());
        }
        // Statuses are the tenant's, shared by campaigns: the copy uses the same ones.
        let campaign = Campaign {
            id,
            settings,
            statuses: source.statuses,
        };
        let out = campaign.to_json();
        self.campaigns.insert(id, campaign);
        Ok(out)
    }

    /// `PUT /api/campaign-leads/update-campaign-leads`.
    pub fn update_campaign_leads(&mut self, body: &Value) -> SandboxResult<Vec<Value>> {
        let body = require_object(body, "body")?;
        let conditions = body
            .get("where")
            .ok_or_else(|| SandboxError::unprocessable("field 'where' is required"))?;
        let conditions = require_object(conditions, "where")?;
        if let Some(key) = conditions.keys().find(|k| *k != "id") {
            return Err(SandboxError::unprocessable(format!(
                "where: unknown field '{key}' (campaign leads are selected by id)"
            )));
        }
        let ids = read_id_list(
            conditions
                .get("id")
                .ok_or_else(|| SandboxError::unprocessable("where.id is required"))?,
            "where.id",
        )?;
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !self.campaign_leads.contains_key(id))
            .map(i64::to_string)
            .collect();
        if !missing.is_empty() {
            return Err(SandboxError::not_found(format!(
                "campaign leads not found: {}",
                missing.join(", ")
            )));
        }
        let empty = Map::new();
        let update = match body.get("update") {
            Some(update) => require_object(update, "update")?,
            None => return Err(SandboxError::unprocessable("field 'update' is required")),
        };
        if let Some(key) = update.keys().find(|k| *k != "lead" && *k != "campaignLead") {
            return Err(SandboxError::unprocessable(format!(
                "update: unknown part '{key}' (use lead and campaignLead)"
            )));
        }
        let lead_update = match update.get("lead") {
            Some(v) => require_object(v, "update.lead")?,
            None => &empty,
        };
        validate_lead_fields(lead_update, "update.lead", false)?;
        if let Some(phone) = lead_update.get("phone") {
            if scalar_text(phone)
                .flatten()
                .is_none_or(|p| normalize_phone(&p).is_empty())
            {
                return Err(SandboxError::unprocessable(
                    "update.lead: field 'phone' must hold digits",
                ));
            }
        }
        let cl_update = match update.get("campaignLead") {
            Some(v) => require_object(v, "update.campaignLead")?,
            None => &empty,
        };
        let mut cl_values: Vec<(&str, Option<i64>)> = Vec::new();
        for (key, value) in cl_update {
            let Some(field) = CAMPAIGN_LEAD_UPDATABLE.iter().find(|f| *f == key) else {
                return Err(SandboxError::unprocessable(format!(
                    "update.campaignLead: unknown field '{key}'"
                )));
            };
            let number = match value {
                Value::Null if *field == "user_id" => None,
                v => Some(read_id(v).ok_or_else(|| {
                    SandboxError::unprocessable(format!(
                        "update.campaignLead: field '{key}' must be a number"
                    ))
                })?),
            };
            cl_values.push((field, number));
        }
        if let Some((_, Some(status_id))) = cl_values.iter().find(|(f, _)| *f == "status_id") {
            let foreign: Vec<String> = ids
                .iter()
                .filter(|id| {
                    let cl = &self.campaign_leads[id];
                    self.status_name(cl.campaign_id, *status_id).is_none()
                })
                .map(i64::to_string)
                .collect();
            if !foreign.is_empty() {
                return Err(SandboxError::unprocessable(format!(
                    "status {status_id} does not belong to the campaign of campaign leads {}",
                    foreign.join(", ")
                )));
            }
        }
        let t = now();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let lead_id = self.campaign_leads[&id].lead_id;
            if !lead_update.is_empty() {
                if let Some(lead) = self.leads.get_mut(&lead_id) {
                    lead.apply(lead_update);
                    lead.updated_at = t;
                }
            }
            if let Some(cl) = self.campaign_leads.get_mut(&id) {
                for (field, value) in &cl_values {
                    match *field {
                        "status_id" => cl.status_id = value.unwrap_or(cl.status_id),
                        "calls_count" => cl.calls_count = value.unwrap_or(cl.calls_count),
                        "weight" => cl.weight = value.unwrap_or(cl.weight),
                        _ => cl.user_id = *value,
                    }
                }
                if !cl_values.is_empty() || !lead_update.is_empty() {
                    cl.updated_at = t;
                    cl.history.push(format!("{} updated", format_time(t)));
                }
            }
            out.push(self.campaign_lead_json(&self.campaign_leads[&id]));
        }
        Ok(out)
    }

    /// `PUT /api/campaign-leads/move-to-campaign`. Refused whole when a lead is not in the
    /// source campaign or, with preserved data, when its status name is missing in the
    /// destination.
    pub fn move_to_campaign(&mut self, body: &Value) -> SandboxResult<Vec<Value>> {
        let body = require_object(body, "body")?;
        let lead_ids = read_id_list(
            body.get("id")
                .ok_or_else(|| SandboxError::unprocessable("field 'id' is required"))?,
            "id",
        )?;
        let source_id = require_id(body, "source_campaign_id")?;
        let destination_id = require_id(body, "destination_campaign_id")?;
        let preserve = read_bool(body.get("with_preserve_data"));
        self.campaign(source_id)?;
        let destination = self.campaign(destination_id)?.clone();
        if source_id == destination_id {
            return Err(SandboxError::unprocessable(
                "source and destination campaign are the same",
            ));
        }
        let mut moves = Vec::with_capacity(lead_ids.len());
        let mut not_in_source = Vec::new();
        let mut refused = Vec::new();
        for &lead_id in &lead_ids {
            let Some(cl) = self.campaign_lead_in(lead_id, source_id) else {
                not_in_source.push(lead_id.to_string());
                continue;
            };
            let status = self.status_name(source_id, cl.status_id).unwrap_or("");
            let mapped = destination.status_named(status).map(|s| s.id);
            if preserve && mapped.is_none() {
                refused.push(format!("{lead_id} ('{status}')"));
            }
            moves.push((lead_id, cl.id, mapped));
        }
        if !not_in_source.is_empty() {
            return Err(SandboxError::unprocessable(format!(
                "leads not in campaign {source_id}: {}",
                not_in_source.join(", ")
            )));
        }
        if !refused.is_empty() {
            return Err(SandboxError::unprocessable(format!(
                "status names missing in campaign {destination_id}, moving with preserved data refused for leads: {}",
                refused.join(", ")
            )));
        }
        let t = now();
        let mut out = Vec::with_capacity(moves.len());
        for (lead_id, cl_id, mapped_status) in moves {
            let existing = self
                .campaign_lead_in(lead_id, destination_id)
                .map(|cl| cl.id);
            let id = match (existing, preserve) {
                (Some(existing), _) => {
                    self.remove_campaign_lead(cl_id);
                    existing
                }
                (None, true) => {
                    let cl = self
                        .campaign_leads
                        .get_mut(&cl_id)
                        .expect("campaign lead checked above");
                    cl.campaign_id = destination_id;
                    cl.status_id = mapped_status.unwrap_or(cl.status_id);
                    cl.updated_at = t;
                    cl.history.push(format!(
                        "{} moved from campaign {source_id} to {destination_id} with preserved data",
                        format_time(t)
                    ));
                    cl_id
                }
                (None, false) => {
                    self.remove_campaign_lead(cl_id);
                    self.new_campaign_lead(
                        lead_id,
                        destination_id,
                        format!("moved from campaign {source_id}"),
                    )
                }
            };
            out.push(self.campaign_lead_json(&self.campaign_leads[&id]));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_normalize_to_digits() {
        assert_eq!(normalize_phone("+44 7700-001234"), "447700001234");
        assert_eq!(normalize_phone("0044 7700 001234"), "447700001234");
        assert_eq!(normalize_phone("n/a"), "");
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
