//! Mass-assign, update-campaign-leads and move-to-campaign.

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::{models, ApiError, Client, ErrorKind, Retry};

pub const MASS_ASSIGN_PATH: &str = "/api/campaign-leads/mass-assign";
pub const UPDATE_PATH: &str = "/api/campaign-leads/update-campaign-leads";
pub const MOVE_PATH: &str = "/api/campaign-leads/move-to-campaign";

fn bad(path: &str) -> impl Fn(String) -> ApiError + '_ {
    move |message| ApiError::new(ErrorKind::BadResponse, "PUT", path, message)
}

impl Client {
    pub fn mass_assign_body(
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
    pub async fn mass_assign(&self, body: &Value) -> Result<Map<String, Value>, ApiError> {
        let answer = self
            .mutate(Method::PUT, MASS_ASSIGN_PATH, body, Retry::Safe)
            .await?;
        models::keyed_map_from(answer, "leads").map_err(bad(MASS_ASSIGN_PATH))
    }

    pub fn update_body(campaign_lead_ids: Vec<Value>, update: Value) -> Value {
        json!({ "where": { "id": campaign_lead_ids }, "update": update })
    }

    /// Updates campaign leads and their leads; returns the updated campaign leads.
    pub async fn update_campaign_leads(&self, body: &Value) -> Result<Vec<Value>, ApiError> {
        let answer = self
            .mutate(Method::PUT, UPDATE_PATH, body, Retry::Safe)
            .await?;
        models::list_from(answer, "campaignLeads").map_err(bad(UPDATE_PATH))
    }

    pub fn move_body(lead_ids: Vec<Value>, source: i64, destination: i64, preserve: bool) -> Value {
        json!({
            "id": lead_ids,
            "source_campaign_id": source,
            "destination_campaign_id": destination,
            "with_preserve_data": preserve,
        })
    }

    /// Moves leads between campaigns; returns their campaign leads in the destination.
    pub async fn move_to_campaign(&self, body: &Value) -> Result<Vec<Value>, ApiError> {
        let answer = self
            .mutate(Method::PUT, MOVE_PATH, body, Retry::Never)
            .await?;
        models::list_from(answer, "campaignLeads").map_err(bad(MOVE_PATH))
    }
}
