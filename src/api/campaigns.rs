//! `/api/campaigns/clone`: a GET that creates a campaign, so it is never retried blindly.

use reqwest::Method;
use serde_json::{json, Value};

use super::{models, ApiError, Client, ErrorKind, Retry};

pub const CLONE_PATH: &str = "/api/campaigns/clone";

impl Client {
    /// The request body of a clone.
    pub fn clone_body(campaign_id: i64, default_caller_id: Option<&str>) -> Value {
        match default_caller_id {
            Some(caller_id) => {
                json!({ "campaign_id": campaign_id, "default_caller_id": caller_id })
            }
            None => json!({ "campaign_id": campaign_id }),
        }
    }

    /// Clones a campaign with its settings and statuses; returns the new campaign.
    pub async fn clone_campaign(&self, body: &Value) -> Result<Value, ApiError> {
        let answer = self
            .mutate(Method::GET, CLONE_PATH, body, Retry::Never)
            .await?;
        models::single_from(answer, "campaigns")
            .map_err(|m| ApiError::new(ErrorKind::BadResponse, "GET", CLONE_PATH, m))
    }
}
