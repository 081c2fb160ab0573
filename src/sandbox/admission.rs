//! What the twin lets in, so that slow or numerous clients cannot starve the others: at most
//! [`MAX_CONNECTIONS_PER_ADDRESS`] connections from one address (more are closed as they are
//! accepted), and a request's body must arrive whole within [`BODY_TIMEOUT`] of its headers
//! (hyper's header time-out covers the headers), or the request is answered 408 and its
//! connection closed. Together a request holds its connection at most
//! `HEADER_TIMEOUT + BODY_TIMEOUT` before it is served.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::SandboxError;

/// The most connections one client address holds at once: a client that opens hundreds (or
/// drips hundreds of bodies) keeps most of the twin's slots free for others.
pub(crate) const MAX_CONNECTIONS_PER_ADDRESS: usize = 128;

/// How long a request's body may take to arrive once its headers have.
pub(crate) const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request body read: ten times a chunk of leads at its largest.
pub(crate) const MAX_REQUEST_BODY: usize = 16 * 1024 * 1024;

/// The connections open from each client address.
#[derive(Default)]
pub(crate) struct PerAddress {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in its address's count, given back when it drops.
pub(crate) struct AddressSlot {
    address: IpAddr,
    counts: Arc<PerAddress>,
}

impl PerAddress {
    /// A place for one more connection from `address`, or `None` when it holds its share.
    pub(crate) fn admit(self: &Arc<Self>, address: IpAddr) -> Option<AddressSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(address).or_default();
        if *count >= MAX_CONNECTIONS_PER_ADDRESS {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            address,
            counts: self.clone(),
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.counts.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// A request's whole body, read within [`BODY_TIMEOUT`] and [`MAX_REQUEST_BODY`]; or the
/// answer that ends the request (and its connection) instead.
pub(crate) async fn read_body(body: Body) -> Result<Bytes, Response> {
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_REQUEST_BODY)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(closing(SandboxError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request's body could not be read whole (at most {} MiB)",
                MAX_REQUEST_BODY >> 20
            ),
        ))),
        Err(_) => Err(closing(SandboxError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request's body did not arrive within {} s",
                BODY_TIMEOUT.as_secs()
            ),
        ))),
    }
}

/// An answer after which the connection is closed: the rest of its request is never read.
fn closing(error: SandboxError) -> Response {
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
