//! `GET /api/calls/{id}/record`: a call's recording (FLAC bytes).

use reqwest::Method;

use super::{ApiError, Body, Client, ErrorKind, Retry};

impl Client {
    pub(crate) async fn recording(&self, call_id: i64) -> Result<Vec<u8>, ApiError> {
        let path = format!("/api/calls/{call_id}/record");
        let bytes = self
            .send(Method::GET, &path, Body::None, Retry::Safe)
            .await?;
        if !bytes.starts_with(b"fLaC") {
            let what = if bytes.is_empty() {
                "an empty body"
            } else {
                "something that is not FLAC"
            };
            return Err(ApiError::new(
                ErrorKind::BadResponse,
                "GET",
                &path,
                format!("expected a FLAC recording, got {what}"),
            ));
        }
        Ok(bytes)
    }
}
