//! `/api/campaigns/clone` (GET as documented, or POST as the guide's curl sends it) and the
//! campaign listing `GET /api/campaigns/{field}/{value}/` -> `{"campaigns": [...]}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use axum::Json;
use serde_json::{json, Map, Value};

use super::leads::select_fields;
use super::{json_body, listing_pairs, query_pairs};
use crate::sandbox::error::{SandboxError, SandboxResult};
use crate::sandbox::listing::{Listing, Paging};
use crate::sandbox::store::Campaign;
use crate::sandbox::AppState;

/// Parameters come from the query string and from a JSON body, whatever the Content-Type
/// (the body wins).
pub(crate) async fn clone(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    body: Bytes,
) -> SandboxResult<Json<Value>> {
    let mut params: Map<String, Value> = query_pairs(uri.query())
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    if !body.iter().all(u8::is_ascii_whitespace) {
        match json_body(&body)? {
            Value::Object(fields) => params.extend(fields),
            _ => return Err(SandboxError::bad_request("body must be a JSON object")),
        }
    }
    let campaign = state.mutate(|store| store.clone_campaign(&params))?;
    Ok(Json(json!({ "campaigns": [campaign] })))
}

pub(crate) async fn search(
    State(state): State<Arc<AppState>>,
    uri: Uri,
) -> SandboxResult<Json<Value>> {
    let pairs = listing_pairs(&uri, "/api/campaigns")?;
    let store = state.read();
    let campaigns: Vec<&Campaign> = store.campaigns.values().collect();
    let mut known: Vec<&str> = vec!["id", "statuses"];
    if let Some(first) = campaigns.first() {
        known.extend(first.settings.keys().map(String::as_str));
    }
    let listing = Listing::from_pairs(
        &pairs,
        "campaigns",
        &known,
        &["created_at", "updated_at"],
        Paging::LimitWithOffset,
    )?;
    let page = listing.select(&campaigns, |c, field| c.field_value(field));
    let rows = page
        .into_iter()
        .map(|c| select_fields(c.to_json(), listing.fields.as_deref()))
        .collect::<Vec<_>>();
    Ok(Json(json!({ "campaigns": rows })))
}
