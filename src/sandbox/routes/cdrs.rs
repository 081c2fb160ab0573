//! `GET /api/cdrs` -> `{"cdrs": [...]}`, paged with `limit=N;OFFSET`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::query_pairs;
use crate::sandbox::dataset::{write_page, CALL_FIELDS, CDR_FIELDS, CDR_TIME_FIELDS};
use crate::sandbox::error::{SandboxError, SandboxResult};
use crate::sandbox::listing::{Listing, Paging};
use crate::sandbox::AppState;

/// Lists CDRs or calls (`as_call`) as the answer body `{"cdrs": [...]}` / `{"calls": [...]}`,
/// built off the async workers.
pub(crate) async fn page(
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
        let rows = listing.select(&cdrs, |cdr, field| cdr.field_value(field, as_call));
        // About 26 bytes of JSON a column (700 for a CDR with all 27): room without growing.
        let mut body = Vec::with_capacity(rows.len() * 40 * columns.len() + 16);
        write_page(&mut body, resource, &rows, &columns, as_call, &base);
        body
    })
    .await
    .map_err(|e| SandboxError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
) -> SandboxResult<Response> {
    page(state, &uri, &headers, false).await
}

/// The sandbox's URL as the client reached it (links in answers point there).
pub(crate) fn own_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}
