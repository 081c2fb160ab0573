//! The sandbox's HTTP routes, one file per endpoint group, and the request readers they share.

mod calls;
mod campaign_leads;
mod campaigns;
mod cdrs;
mod leads;
mod users;

use std::sync::Arc;

use axum::body::Bytes;
use axum::routing::{get, put};
use axum::Router;
use serde_json::Value;

use crate::sandbox::error::{SandboxError, SandboxResult};
use crate::sandbox::AppState;

pub(crate) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/leads", get(leads::search).post(leads::add))
        .route("/api/leads/", get(leads::search).post(leads::add))
        .route("/api/leads/{*filters}", get(leads::search))
        .route(
            "/api/campaign-leads/mass-assign",
            put(campaign_leads::mass_assign),
        )
        .route(
            "/api/campaign-leads/update-campaign-leads",
            put(campaign_leads::update),
        )
        .route(
            "/api/campaign-leads/move-to-campaign",
            put(campaign_leads::move_to_campaign),
        )
        .route("/api/campaign-leads", get(campaign_leads::search))
        .route("/api/campaign-leads/", get(campaign_leads::search))
        .route(
            "/api/campaign-leads/{*filters}",
            get(campaign_leads::search),
        )
        .route(
            "/api/campaigns/clone",
            get(campaigns::clone).post(campaigns::clone),
        )
        .route("/api/campaigns", get(campaigns::search))
        .route("/api/campaigns/", get(campaigns::search))
        .route("/api/campaigns/{*filters}", get(campaigns::search))
        .route("/api/cdrs", get(cdrs::list))
        .route("/api/cdrs/", get(cdrs::list))
        .route("/api/calls", get(calls::list))
        .route("/api/calls/", get(calls::list))
        .route("/api/calls/{id}/record", get(calls::record))
        .route("/api/users", get(users::users))
        .route("/api/users/", get(users::users))
        .route("/api/users/{*filters}", get(users::users))
        .route("/api/comments/{*filters}", get(users::comments))
}

/// Routes served without authentication: the public recording links of CDRs.
pub(crate) fn public_router() -> Router<Arc<AppState>> {
    Router::new().route(
        "/record/public/{id}/{token}/as/{format}",
        get(calls::public_record),
    )
}

/// Reads a JSON request body, whatever its Content-Type.
pub(crate) fn json_body(body: &Bytes) -> SandboxResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(SandboxError::bad_request("empty body: expected JSON"));
    }
    serde_json::from_slice(body)
        .map_err(|e| SandboxError::bad_request(format!("malformed JSON body: {e}")))
}

/// The decoded `key=value` pairs of a query string.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The `field/value/...` pairs of a path after `prefix`, each segment percent-decoded.
pub fn path_pairs(path: &str, prefix: &str) -> SandboxResult<Vec<(String, String)>> {
    let rest = path.strip_prefix(prefix).unwrap_or("");
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    if !segments.len().is_multiple_of(2) {
        return Err(SandboxError::bad_request(format!(
            "path filters come in field/value pairs; '{}' has no value",
            segments.last().map(String::as_str).unwrap_or("")
        )));
    }
    Ok(segments
        .chunks(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect())
}

/// Path filters followed by query parameters.
pub(crate) fn listing_pairs(
    uri: &axum::http::Uri,
    prefix: &str,
) -> SandboxResult<Vec<(String, String)>> {
    let mut pairs = path_pairs(uri.path(), prefix)?;
    pairs.extend(query_pairs(uri.query()));
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_filters_decode_in_pairs() {
        let pairs = path_pairs(
            "/api/leads/limit/500;0/created_at/2023-12-21%2013:15:11;%3E/",
            "/api/leads",
        )
        .unwrap();
        assert_eq!(
            pairs,
            vec![
                ("limit".to_string(), "500;0".to_string()),
                (
                    "created_at".to_string(),
                    "2023-12-21 13:15:11;>".to_string()
                ),
            ]
        );
        assert!(path_pairs("/api/leads/phone/", "/api/leads").is_err());
    }
}
