//! Mass-assign, update-campaign-leads, move-to-campaign, and the campaign-lead listing
//! `GET /api/campaign-leads/{field}/{value}/...` -> `{"campaignLeads": [...]}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use axum::Json;
use serde_json::{json, Value};

use super::leads::select_fields;
use super::{json_body, listing_pairs};
use crate::sandbox::error::SandboxResult;
use crate::sandbox::listing::{Listing, Paging};
use crate::sandbox::store::{CampaignLead, CAMPAIGN_LEAD_FIELDS};
use crate::sandbox::AppState;

pub(crate) async fn mass_assign(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> SandboxResult<Json<Value>> {
    let body = json_body(&body)?;
    let assigned = state.mutate(|store| store.mass_assign(&body))?;
    Ok(Json(json!({ "leads": assigned })))
}

pub(crate) async fn update(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> SandboxResult<Json<Value>> {
    let body = json_body(&body)?;
    let updated = state.mutate(|store| store.update_campaign_leads(&body))?;
    Ok(Json(json!({ "campaignLeads": updated })))
}

pub(crate) async fn move_to_campaign(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> SandboxResult<Json<Value>> {
    let body = json_body(&body)?;
    let moved = state.mutate(|store| store.move_to_campaign(&body))?;
    Ok(Json(json!({ "campaignLeads": moved })))
}

pub(crate) async fn search(
    State(state): State<Arc<AppState>>,
    uri: Uri,
) -> SandboxResult<Json<Value>> {
    let pairs = listing_pairs(&uri, "/api/campaign-leads")?;
    let listing = Listing::from_pairs(
        &pairs,
        "campaign leads",
        &CAMPAIGN_LEAD_FIELDS,
        &["created_at", "updated_at"],
        Paging::LimitWithOffset,
    )?;
    let store = state.read();
    let all: Vec<&CampaignLead> = store.campaign_leads.values().collect();
    let page = listing.select(&all, |cl, field| cl.field_value(field, &store));
    let rows = page
        .into_iter()
        .map(|cl| select_fields(store.campaign_lead_json(cl), listing.fields.as_deref()))
        .collect::<Vec<_>>();
    Ok(Json(json!({ "campaignLeads": rows })))
}
