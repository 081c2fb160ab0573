//! Listing pages of CDRs, calls, leads, campaign leads and campaigns: one request per page,
//! answers read as an envelope or a bare array.

use reqwest::Method;
use serde_json::Value;

use super::query::QuerySpec;
use super::{models, ApiError, Body, Client, ErrorKind, Retry};

impl Client {
    /// One page of a query: `rows` rows starting `fetched` rows after the query's offset.
    pub async fn page(
        &self,
        spec: &QuerySpec,
        fetched: u64,
        rows: u64,
    ) -> Result<Vec<Value>, ApiError> {
        let path = spec.page_path(fetched, rows);
        let answer = self
            .json(Method::GET, &path, Body::None, Retry::Safe)
            .await?;
        let endpoint_path = path.split_once('?').map_or(path.as_str(), |(p, _)| p);
        let records = models::list_from(answer, spec.resource.envelope())
            .map_err(|m| ApiError::new(ErrorKind::BadResponse, "GET", endpoint_path, m))?;
        if records.len() as u64 > rows {
            return Err(ApiError::new(
                ErrorKind::BadResponse,
                "GET",
                endpoint_path,
                format!("asked for {rows} rows, got {}", records.len()),
            ));
        }
        Ok(records)
    }
}
