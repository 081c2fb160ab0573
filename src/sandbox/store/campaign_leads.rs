//! Campaign leads: a lead in a campaign, and mass-assign, update-campaign-leads and
//! move-to-campaign.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::*;

/// Fields of a campaign lead in listings.
pub(crate) const CAMPAIGN_LEAD_FIELDS: [&str; 11] = [
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
pub(crate) const CAMPAIGN_LEAD_UPDATABLE: [&str; 4] =
    ["status_id", "user_id", "calls_count", "weight"];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CampaignLead {
    pub(crate) id: i64,
    pub(crate) lead_id: i64,
    pub(crate) campaign_id: i64,
    pub(crate) status_id: i64,
    pub(crate) calls_count: i64,
    pub(crate) user_id: Option<i64>,
    /// The lead's priority in the campaign (`default_weight` of the campaign at first).
    #[serde(default)]
    pub(crate) weight: i64,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) history: Vec<String>,
}

impl CampaignLead {
    pub(crate) fn field_value<'a>(&'a self, name: &str, store: &'a Store) -> FieldValue<'a> {
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

impl Store {
    pub(crate) fn next_campaign_lead_id(&self) -> i64 {
        self.campaign_leads
            .keys()
            .next_back()
            .map_or(1, |id| id + 1)
    }

    pub(crate) fn insert_campaign_lead(&mut self, cl: CampaignLead) {
        self.by_lead.entry(cl.lead_id).or_default().insert(cl.id);
        self.campaign_leads.insert(cl.id, cl);
    }

    pub(super) fn remove_campaign_lead(&mut self, id: i64) -> Option<CampaignLead> {
        let cl = self.campaign_leads.remove(&id)?;
        if let Some(set) = self.by_lead.get_mut(&cl.lead_id) {
            set.remove(&id);
        }
        Some(cl)
    }

    /// The campaign leads of one lead, in id order.
    pub(crate) fn campaign_leads_of(&self, lead_id: i64) -> Vec<&CampaignLead> {
        self.by_lead
            .get(&lead_id)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| self.campaign_leads.get(id))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn campaign_lead_in(&self, lead_id: i64, campaign_id: i64) -> Option<&CampaignLead> {
        self.campaign_leads_of(lead_id)
            .into_iter()
            .find(|cl| cl.campaign_id == campaign_id)
    }

    pub(crate) fn campaign_lead_json(&self, cl: &CampaignLead) -> Value {
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

    pub(super) fn new_campaign_lead(
        &mut self,
        lead_id: i64,
        campaign_id: i64,
        note: String,
    ) -> i64 {
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

    /// `PUT /api/campaign-leads/mass-assign`. Returns `{campaign lead id: lead summary}`.
    pub(crate) fn mass_assign(&mut self, body: &Value) -> SandboxResult<Map<String, Value>> {
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

    /// `PUT /api/campaign-leads/update-campaign-leads`.
    pub(crate) fn update_campaign_leads(&mut self, body: &Value) -> SandboxResult<Vec<Value>> {
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
                .is_none_or(|p| phone_digits(&p).is_empty())
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
    /// source campaign, when it already has a campaign lead in the destination (one of the two
    /// campaign leads, with its calls and history, would have to go, and the guide names no
    /// rule for which), or, with preserved data, when its status name is missing in the
    /// destination. Returns the moved leads' campaign leads in the destination.
    pub(crate) fn move_to_campaign(&mut self, body: &Value) -> SandboxResult<Vec<Value>> {
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
        let mut already_there = Vec::new();
        let mut refused = Vec::new();
        for &lead_id in &lead_ids {
            let Some(cl) = self.campaign_lead_in(lead_id, source_id) else {
                not_in_source.push(lead_id.to_string());
                continue;
            };
            if let Some(there) = self.campaign_lead_in(lead_id, destination_id) {
                already_there.push(format!(
                    "{lead_id} (campaign lead {} in {source_id}, {} calls; {} in {destination_id}, {} calls)",
                    cl.id, cl.calls_count, there.id, there.calls_count
                ));
            }
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
        if !already_there.is_empty() {
            return Err(SandboxError::unprocessable(format!(
                "leads already in campaign {destination_id}, moving them would drop a campaign lead and its calls: {}",
                already_there.join(", ")
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
            let id = if preserve {
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
            } else {
                self.remove_campaign_lead(cl_id);
                self.new_campaign_lead(
                    lead_id,
                    destination_id,
                    format!("moved from campaign {source_id}"),
                )
            };
            out.push(self.campaign_lead_json(&self.campaign_leads[&id]));
        }
        Ok(out)
    }
}
