//! `GET /api/calls/` -> `{"calls": [...]}` (paged with `limit` and `offset`) and
//! `GET /api/calls/{id}/record` -> the recording as FLAC.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, Uri};
use axum::response::{IntoResponse, Response};

use super::cdrs::page;
use crate::sandbox::dataset::CALL_ID_OFFSET;
use crate::sandbox::error::{SandboxError, SandboxResult};
use crate::sandbox::recording;
use crate::sandbox::AppState;

pub async fn list(State(state): State<Arc<AppState>>, uri: Uri) -> SandboxResult<Response> {
    page(state, &uri, true).await
}

pub async fn record(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> SandboxResult<Response> {
    let call_id: i64 = id
        .parse()
        .map_err(|_| SandboxError::bad_request(format!("call id '{id}' is not a number")))?;
    let index = call_id - CALL_ID_OFFSET - 1;
    let cdr = usize::try_from(index)
        .ok()
        .and_then(|i| state.cdrs.get(i))
        .ok_or_else(|| SandboxError::not_found(format!("call {call_id} does not exist")))?;
    if !cdr.has_recording() {
        return Err(SandboxError::not_found(format!(
            "call {call_id} has no recording (it was not answered)"
        )));
    }
    let seconds = cdr.bill_duration as u32;
    let bytes = tokio::task::spawn_blocking(move || recording::encode(call_id, seconds))
        .await
        .map_err(|e| {
            SandboxError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        })?
        .map_err(|e| SandboxError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e))?;
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
