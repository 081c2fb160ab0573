//! `GET /api/calls/` -> `{"calls": [...]}` (paged with `limit` and `offset`),
//! `GET /api/calls/{id}/record` -> the recording as FLAC, and the public link CDRs carry in
//! `public_recording_url`: `GET /record/public/{call id}/{token}/as/mp3`, served without
//! authentication, as the vendor's links are (the twin serves the same FLAC there: it has no
//! MP3 encoder).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::cdrs::page;
use crate::sandbox::dataset::{Cdr, CALL_ID_OFFSET};
use crate::sandbox::error::{SandboxError, SandboxResult};
use crate::sandbox::recording;
use crate::sandbox::AppState;

pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
) -> SandboxResult<Response> {
    page(state, &uri, &headers, true).await
}

/// The call with this id, if it exists.
fn call(state: &AppState, id: &str) -> SandboxResult<Cdr> {
    let call_id: i64 = id
        .parse()
        .map_err(|_| SandboxError::bad_request(format!("call id '{id}' is not a number")))?;
    let index = call_id - CALL_ID_OFFSET - 1;
    usize::try_from(index)
        .ok()
        .and_then(|i| state.read_cdrs().get(i).cloned())
        .ok_or_else(|| SandboxError::not_found(format!("call {call_id} does not exist")))
}

pub(crate) async fn record(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> SandboxResult<Response> {
    recording_of(call(&state, &id)?).await
}

pub(crate) async fn public_record(
    State(state): State<Arc<AppState>>,
    Path((id, token, _format)): Path<(String, String, String)>,
) -> SandboxResult<Response> {
    let cdr = call(&state, &id)?;
    if cdr.recording_token() != token {
        return Err(SandboxError::not_found("no such recording link"));
    }
    recording_of(cdr).await
}

async fn recording_of(cdr: Cdr) -> SandboxResult<Response> {
    let call_id = cdr.call_id();
    if !cdr.has_recording() {
        return Err(SandboxError::not_found(format!(
            "call {call_id} has no recording (it was not answered, or has not ended)"
        )));
    }
    let seconds = cdr.bill_duration as u32;
    let internal = |e: &dyn std::fmt::Display| {
        SandboxError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    };
    let bytes = tokio::task::spawn_blocking(move || recording::encode(call_id, seconds))
        .await
        .map_err(|e| internal(&e))?
        .map_err(|e| internal(&e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "audio/flac".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{call_id}.flac\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
