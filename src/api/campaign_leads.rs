//! Mass-assign, update-campaign-leads and move-to-campaign.

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::query::{Op, QuerySpec, Resource, MAX_PAGE};
use super::{models, ApiError, Client, ErrorKind, Retry};

pub(crate) const MASS_ASSIGN_PATH: &str = "/api/campaign-leads/mass-assign";
pub(crate) const UPDATE_PATH: &str = "/api/campaign-leads/update-campaign-leads";
pub(crate) const MOVE_PATH: &str = "/api/campaign-leads/move-to-campaign";

fn bad(path: &str) -> impl Fn(models::ShapeError) -> ApiError + '_ {
    move |message| ApiError::new(ErrorKind::BadResponse, "PUT", path, message)
}

impl Client {
    pub(crate) fn mass_assign_body(
        conditions: Value,
        campaign_id: i64,
        remove_from_others: bool,
    ) -> Value {
        json!({
            "where": conditions,
            "campaign_id": campaign_id,
            "remove_from_others": remove_from_others,
        })
    }

    /// Assigns the leads `where` selects to a campaign. Returns campaign-lead id -> lead.
    /// Repeating it changes nothing more, so it is retried.
    pub(crate) async fn mass_assign(&self, body: &Value) -> Result<Map<String, Value>, ApiError> {
        let answer = self
            .mutate(Method::PUT, MASS_ASSIGN_PATH, body, Retry::Safe)
            .await?;
        models::keyed_map_from(answer, "leads").map_err(bad(MASS_ASSIGN_PATH))
    }

    pub(crate) fn update_body(campaign_lead_ids: Vec<Value>, update: Value) -> Value {
        json!({ "where": { "id": campaign_lead_ids }, "update": update })
    }

    /// Updates campaign leads and their leads; returns the updated campaign leads.
    pub(crate) async fn update_campaign_leads(&self, body: &Value) -> Result<Vec<Value>, ApiError> {
        let answer = self
            .mutate(Method::PUT, UPDATE_PATH, body, Retry::Safe)
            .await?;
        models::list_from(answer, "campaignLeads").map_err(bad(UPDATE_PATH))
    }

    pub(crate) fn move_body(
        lead_ids: Vec<Value>,
        source: i64,
        destination: i64,
        preserve: bool,
    ) -> Value {
        json!({
            "id": lead_ids,
            "source_campaign_id": source,
            "destination_campaign_id": destination,
            "with_preserve_data": preserve,
        })
    }

    /// Moves leads between campaigns; returns their campaign leads in the destination.
    ///
    /// A move is not idempotent, so it is never re-sent blindly: after an unknown outcome the
    /// leads' campaign leads are looked up, leads already in the destination (and out of the
    /// source) count as moved, and only the others are sent again.
    pub(crate) async fn move_to_campaign(&self, body: &Value) -> Result<Vec<Value>, ApiError> {
        let (source, destination) = (
            body["source_campaign_id"].as_i64().unwrap_or_default(),
            body["destination_campaign_id"].as_i64().unwrap_or_default(),
        );
        let mut body = body.clone();
        let mut moved = Vec::new();
        let started = std::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self
                .mutate(Method::PUT, MOVE_PATH, &body, Retry::Never)
                .await
            {
                Ok(answer) => {
                    moved.extend(
                        models::list_from(answer, "campaignLeads").map_err(bad(MOVE_PATH))?,
                    );
                    return Ok(moved);
                }
                Err(error) => error,
            };
            let retry_refused = error.status == Some(429) || error.kind == ErrorKind::Connect;
            let Some(wait) = self.retry_wait(started, attempt, &error) else {
                return Err(error);
            };
            if !(error.outcome_unknown() || retry_refused) {
                return Err(error);
            }
            if error.outcome_unknown() {
                let mut remaining = Vec::new();
                for lead_id in body["id"].as_array().cloned().unwrap_or_default() {
                    // Without the campaign-lead listing the outcome cannot be checked.
                    let Ok(campaign_leads) = self.campaign_leads_of(&lead_id).await else {
                        return Err(error);
                    };
                    let campaign_of = |cl: &Value| models::read_int(&cl["campaign_id"]);
                    let in_source = campaign_leads
                        .iter()
                        .any(|cl| campaign_of(cl) == Some(source));
                    match campaign_leads
                        .into_iter()
                        .find(|cl| campaign_of(cl) == Some(destination))
                    {
                        Some(cl) if !in_source => moved.push(cl),
                        _ => remaining.push(lead_id),
                    }
                }
                if remaining.is_empty() {
                    return Ok(moved);
                }
                body["id"] = Value::Array(remaining);
            }
            self.pause_before_retry(started, &error, wait).await;
        }
    }

    /// Every campaign lead of one lead.
    async fn campaign_leads_of(&self, lead_id: &Value) -> Result<Vec<Value>, ApiError> {
        let mut spec = QuerySpec::new(Resource::CampaignLeads);
        let id = models::read_int(lead_id).unwrap_or_default();
        spec.add_condition("lead_id", Op::Eq, id.to_string())
            .map_err(|m| {
                ApiError::new(ErrorKind::Refused, "GET", Resource::CampaignLeads.path(), m)
            })?;
        self.page(&spec, 0, MAX_PAGE).await
    }
}
