//! Campaigns with their statuses, and `clone`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::*;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Status {
    pub(crate) id: i64,
    pub(crate) name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Campaign {
    pub(crate) id: i64,
    /// Every setting as the dialer sends it (strings), `name` and `description` included.
    pub(crate) settings: Map<String, Value>,
    pub(crate) statuses: Vec<Status>,
}

impl Campaign {
    pub(crate) fn name(&self) -> &str {
        self.settings
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The weight new campaign leads get.
    pub(crate) fn default_weight(&self) -> i64 {
        self.settings
            .get("default_weight")
            .and_then(read_id)
            .unwrap_or(0)
    }

    pub(crate) fn status_named(&self, name: &str) -> Option<&Status> {
        self.statuses.iter().find(|s| s.name == name)
    }

    pub(crate) fn field_value(&self, name: &str) -> FieldValue<'_> {
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

    pub(crate) fn to_json(&self) -> Value {
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
    pub(crate) fn status_name(&self, campaign_id: i64, status_id: i64) -> Option<&str> {
        self.campaigns
            .get(&campaign_id)?
            .statuses
            .iter()
            .find(|s| s.id == status_id)
            .map(|s| s.name.as_str())
    }

    pub(super) fn campaign(&self, id: i64) -> SandboxResult<&Campaign> {
        self.campaigns
            .get(&id)
            .ok_or_else(|| SandboxError::not_found(format!("campaign {id} does not exist")))
    }

    /// `/api/campaigns/clone`: copies settings and the statuses used, names the copy "[clone of] NAME".
    pub(crate) fn clone_campaign(&mut self, params: &Map<String, Value>) -> SandboxResult<Value> {
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
}
