//! `POST /api/leads` (add) and `GET /api/leads/{field}/{value}/...` (search).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{json_body, listing_pairs};
use crate::sandbox::error::{SandboxError, SandboxResult};
use crate::sandbox::listing::{Listing, Paging};
use crate::sandbox::store::{Lead, LeadView, LEAD_FIELDS, LEAD_SERVER_FIELDS};
use crate::sandbox::AppState;

pub(crate) async fn add(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> SandboxResult<Response> {
    let body = json_body(&body)?;
    // Copies of the inserted leads are written out after the store's lock is released, so
    // that concurrent imports do not queue behind each other's answers.
    let inserted: Vec<Lead> = state.mutate(|store| {
        let ids = store.add_leads(&body)?;
        Ok(ids.iter().map(|id| store.leads[id].clone()).collect())
    })?;
    #[derive(serde::Serialize)]
    struct Answer<'a> {
        leads: Vec<LeadView<'a>>,
    }
    let leads = inserted.iter().map(LeadView).collect();
    let answer = serde_json::to_vec(&Answer { leads })
        .map_err(|e| SandboxError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], answer).into_response())
}

pub(crate) async fn search(
    State(state): State<Arc<AppState>>,
    uri: Uri,
) -> SandboxResult<Json<Value>> {
    let pairs = listing_pairs(&uri, "/api/leads")?;
    let known: Vec<&str> = LEAD_SERVER_FIELDS
        .iter()
        .chain(&LEAD_FIELDS)
        .copied()
        .collect();
    let listing = Listing::from_pairs(
        &pairs,
        "leads",
        &known,
        &["created_at", "updated_at", "birthdate", "purchase_date"],
        Paging::LimitWithOffset,
    )?;
    let store = state.read();
    let leads: Vec<&Lead> = store.leads.values().collect();
    let page = listing.select(&leads, |lead, field| lead.field_value(field));
    let rows = page
        .into_iter()
        .map(|lead| select_fields(lead.to_json(), listing.fields.as_deref()))
        .collect::<Vec<_>>();
    Ok(Json(json!({ "leads": rows })))
}

/// Keeps only the requested columns of a record.
pub(crate) fn select_fields(record: Value, fields: Option<&[String]>) -> Value {
    match (record, fields) {
        (Value::Object(mut map), Some(fields)) => {
            let mut out = serde_json::Map::with_capacity(fields.len());
            for field in fields {
                if let Some(value) = map.remove(field) {
                    out.insert(field.clone(), value);
                }
            }
            Value::Object(out)
        }
        (record, _) => record,
    }
}
