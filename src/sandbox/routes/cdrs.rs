//! `GET /api/cdrs` -> `{"cdrs": [...]}`, paged with `limit=N;OFFSET`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::query_pairs;
use crate::sandbox::dataset::{CALL_FIELDS, CDR_FIELDS, CDR_TIME_FIELDS};
use crate::sandbox::error::{SandboxError, SandboxResult};
use crate::sandbox::listing::{Listing, Paging};
use crate::sandbox::AppState;

/// Lists CDRs or calls (`as_call`) as the answer body `{"cdrs": [...]}` / `{"calls": [...]}`,
/// built off the async workers.
pub async fn page(
    state: Arc<AppState>,
    uri: &Uri,
    headers: &HeaderMap,
    as_call: bool,
) -> SandboxResult<Response> {
    let (resource, known, paging): (_, &[&str], _) = if as_call {
        ("calls", &CALL_FIELDS, Paging::SeparateOffset)
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
    let base = own_url(headers);
    let body = tokio::task::spawn_blocking(move || {
        let cdrs = state.read_cdrs();
        let columns: Vec<&str> = match &listing.fields {
            Some(fields) => fields.iter().map(String::as_str).collect(),
            None => known.to_vec(),
        };
        let rows: Vec<_> = listing
            .select(&cdrs, |cdr, field| cdr.field_value(field, as_call))
            .into_iter()
            .map(|cdr| cdr.view(&columns, as_call, &base))
            .collect();
        let mut body = Vec::with_capacity(rows.len() * 400 + 16);
        body.extend_from_slice(format!("{{\"{resource}\":").as_bytes());
        serde_json::to_writer(&mut body, &rows)?;
        body.push(b'}');
        Ok::<_, serde_json::Error>(body)
    })
    .await;
    let internal = |e: &dyn std::fmt::Display| {
        SandboxError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    };
    let body = body.map_err(|e| internal(&e))?.map_err(|e| internal(&e))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
) -> SandboxResult<Response> {
    page(state, &uri, &headers, false).await
}

/// The sandbox's URL as the client reached it (links in answers point there).
pub fn own_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}
