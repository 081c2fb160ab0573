//! `/api/campaigns/clone`: a GET that creates a campaign, so it is never retried blindly.

use reqwest::Method;
use serde_json::{json, Value};

use super::query::{Op, QuerySpec, Resource, MAX_PAGE};
use super::{models, ApiError, Client, ErrorKind, Retry};

pub(crate) const CLONE_PATH: &str = "/api/campaigns/clone";

impl Client {
    /// The request body of a clone.
    pub(crate) fn clone_body(campaign_id: i64, default_caller_id: Option<&str>) -> Value {
        match default_caller_id {
            Some(caller_id) => {
                json!({ "campaign_id": campaign_id, "default_caller_id": caller_id })
            }
            None => json!({ "campaign_id": campaign_id }),
        }
    }

    /// Clones a campaign with its settings and statuses; returns the new campaign.
    ///
    /// A clone creates a campaign, so it is never re-sent blindly: after an unknown outcome
    /// the campaign listing is checked for a "[clone of] NAME" newer than every campaign seen
    /// before sending, and the request is sent again only if there is none.
    pub(crate) async fn clone_campaign(&self, body: &Value) -> Result<Value, ApiError> {
        self.check_writable("GET", CLONE_PATH)?;
        let source_id = models::read_int(&body["campaign_id"]).unwrap_or_default();
        // The campaign listing is beyond the vendor guide: without it, a clone whose outcome
        // is unknown is reported, not sent again.
        let before = self
            .page(&QuerySpec::new(Resource::Campaigns), 0, MAX_PAGE)
            .await
            .ok();
        let newest = before
            .iter()
            .flatten()
            .filter_map(|c| models::read_int(&c["id"]))
            .max()
            .unwrap_or(0);
        let clone_name = before
            .iter()
            .flatten()
            .find(|c| models::read_int(&c["id"]) == Some(source_id))
            .and_then(|c| c["name"].as_str())
            .map(|name| format!("[clone of] {name}"));
        let started = std::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self
                .mutate(Method::GET, CLONE_PATH, body, Retry::Never)
                .await
            {
                Ok(answer) => {
                    return models::single_from(answer, "campaigns")
                        .map_err(|m| ApiError::new(ErrorKind::BadResponse, "GET", CLONE_PATH, m))
                }
                Err(error) => error,
            };
            let retry_refused = error.status == Some(429) || error.kind == ErrorKind::Connect;
            let checkable = clone_name.is_some();
            let Some(wait) = self.retry_wait(started, attempt, &error) else {
                return Err(error);
            };
            if !((error.outcome_unknown() && checkable) || retry_refused) {
                return Err(error);
            }
            if error.outcome_unknown() {
                let mut spec = QuerySpec::new(Resource::Campaigns);
                spec.add_condition("id", Op::Gt, newest.to_string())
                    .map_err(|m| ApiError::new(ErrorKind::Refused, "GET", CLONE_PATH, m))?;
                let Ok(created) = self.page(&spec, 0, MAX_PAGE).await else {
                    return Err(error);
                };
                if let Some(found) = created.into_iter().find(|c| {
                    clone_name
                        .as_deref()
                        .is_some_and(|n| c["name"].as_str() == Some(n))
                }) {
                    return Ok(found);
                }
            }
            self.pause_before_retry(started, &error, wait).await;
        }
    }
}
