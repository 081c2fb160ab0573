//! The sandbox's error answer: `{"success": false, "message": "..."}` with a 4xx/5xx status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, Clone, PartialEq)]
pub struct SandboxError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl SandboxError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        SandboxError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
}

impl IntoResponse for SandboxError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "success": false, "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

pub(crate) type SandboxResult<T> = Result<T, SandboxError>;
