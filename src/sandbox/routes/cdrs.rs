//! `GET /api/cdrs` -> `{"cdrs": [...]}`, paged with `limit=N;OFFSET`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::Json;
use serde_json::{json, Value};

use super::query_pairs;
use crate::sandbox::dataset::{CDR_FIELDS, CDR_TIME_FIELDS};
use crate::sandbox::error::SandboxResult;
use crate::sandbox::listing::{Listing, Paging};
use crate::sandbox::AppState;

/// Lists CDRs or calls (`as_call`), the page built off the async workers.
pub async fn page(state: Arc<AppState>, uri: &Uri, as_call: bool) -> SandboxResult<Vec<Value>> {
    let (resource, known, paging) = if as_call {
        (
            "calls",
            &crate::sandbox::dataset::CALL_FIELDS,
            Paging::SeparateOffset,
        )
    } else {
        ("cdrs", &CDR_FIELDS, Paging::LimitWithOffset)
    };
    let listing = Listing::from_pairs(
        &query_pairs(uri.query()),
        resource,
        known,
        &CDR_TIME_FIELDS,
        paging,
    )?;
    let rows = tokio::task::spawn_blocking(move || {
        let columns: Vec<&str> = match &listing.fields {
            Some(fields) => fields.iter().map(String::as_str).collect(),
            None => known.to_vec(),
        };
        listing
            .select(&state.cdrs, |cdr, field| cdr.field_value(field, as_call))
            .into_iter()
            .map(|cdr| cdr.to_json(&columns, as_call))
            .collect()
    })
    .await
    .unwrap_or_default();
    Ok(rows)
}

pub async fn list(State(state): State<Arc<AppState>>, uri: Uri) -> SandboxResult<Json<Value>> {
    let rows = page(state, &uri, false).await?;
    Ok(Json(json!({ "cdrs": rows })))
}
