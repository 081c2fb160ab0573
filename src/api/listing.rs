//! Listing pages of CDRs, calls, leads, campaign leads and campaigns: one request per page,
//! answers read as an envelope or a bare array.

use reqwest::Method;
use serde_json::Value;

use super::query::QuerySpec;
use super::scan::Weighed;
use super::{models, ApiError, Body, Client, ErrorKind, Retry};

/// The largest page body read: a page of 1,000 CDRs is about 0.7 MB, so this leaves ten
/// times the room for wide records.
pub(crate) const PAGE_BODY_CAP: usize = 8 * 1024 * 1024;

/// The most pages a stream has in flight, whatever the connection's window: at 20 ms a round
/// trip, 16 pages of 1,000 CDRs keep two cores busy reading them.
pub(crate) const MAX_PAGES_AHEAD: usize = 16;

/// The most pages a stream holds: in flight, fetched but not read yet (the probe that went
/// ahead, pages that came back out of order, pages a slow reader has not reached), and the
/// page the reader is on. Pages of 1,000 CDRs, 14 MB.
pub(crate) const MAX_PAGES_HELD: usize = MAX_PAGES_AHEAD + MAX_PAGES_AHEAD / 4;

/// The most bytes of answers a stream holds, counted as [`MAX_PAGES_HELD`] counts pages:
/// wide records fill it before the page count does (four pages at the cap).
pub(crate) const MAX_BYTES_HELD: u64 = 32 * 1024 * 1024;

impl Client {
    /// One page of a query: `rows` rows starting `fetched` rows after the query's offset.
    pub(crate) async fn page(
        &self,
        spec: &QuerySpec,
        fetched: u64,
        rows: u64,
    ) -> Result<Vec<Value>, ApiError> {
        self.page_with(
            spec,
            fetched,
            rows,
            |b| serde_json::from_slice(b),
            models::list_from,
        )
        .await
        .map(|page| page.value)
    }

    /// One page, parsed by `parse` and unwrapped from its envelope by `records`: the script
    /// host reads pages straight into its own values this way.
    pub(crate) async fn page_with<T, R>(
        &self,
        spec: &QuerySpec,
        fetched: u64,
        rows: u64,
        parse: fn(&[u8]) -> Result<T, serde_json::Error>,
        records: fn(T, &str) -> Result<Vec<R>, models::ShapeError>,
    ) -> Result<Weighed<Vec<R>>, ApiError> {
        let (answer, endpoint_path) = self.page_parsed(spec, fetched, rows, parse).await?;
        let endpoint_path = endpoint_path.as_str();
        let records = records(answer.value, spec.resource.envelope())
            .map_err(|m| ApiError::new(ErrorKind::BadResponse, "GET", endpoint_path, m))?;
        if records.len() as u64 > rows {
            return Err(ApiError::new(
                ErrorKind::BadResponse,
                "GET",
                endpoint_path,
                format!("asked for {rows} rows, got {}", records.len()),
            ));
        }
        Ok(Weighed {
            value: records,
            bytes: answer.bytes,
        })
    }

    /// One page's answer as `parse` reads it, whatever its envelope, with the endpoint's path
    /// (for errors): exports read pages straight into columns this way.
    pub(crate) async fn page_parsed<T>(
        &self,
        spec: &QuerySpec,
        fetched: u64,
        rows: u64,
        parse: fn(&[u8]) -> Result<T, serde_json::Error>,
    ) -> Result<(Weighed<T>, String), ApiError> {
        let path = spec.page_path(fetched, rows);
        let cap = PAGE_BODY_CAP.min(self.max_response_bytes());
        let bytes = self
            .send_limited(Method::GET, &path, Body::None, Retry::Safe, cap)
            .await?;
        let endpoint_path = path.split_once('?').map_or(path.as_str(), |(p, _)| p);
        let answer = super::decode_with("GET", endpoint_path, &bytes, parse)?;
        let answer = Weighed {
            value: answer,
            bytes: bytes.len() as u64,
        };
        Ok((answer, endpoint_path.to_string()))
    }
}
