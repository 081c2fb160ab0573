//! `GET /api/users` -> `{"users": [...]}` and `GET /api/comments/lead_id/{id}/` ->
//! `{"comments": [...]}`, the resources real integrations read beside the guide's.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::Json;
use serde_json::{json, Value};

use super::leads::select_fields;
use super::listing_pairs;
use crate::sandbox::error::{SandboxError, SandboxResult};
use crate::sandbox::listing::{Listing, Paging};
use crate::sandbox::users::{Comment, User, COMMENT_FIELDS, USER_FIELDS};
use crate::sandbox::AppState;

pub(crate) async fn users(uri: Uri) -> SandboxResult<Json<Value>> {
    let pairs = listing_pairs(&uri, "/api/users")?;
    let listing = Listing::from_pairs(&pairs, "users", &USER_FIELDS, &[], Paging::LimitWithOffset)?;
    let users = User::all();
    let rows: Vec<Value> = listing
        .select(&users, |user, field| user.field_value(field))
        .into_iter()
        .map(|user| select_fields(user.to_json(), listing.fields.as_deref()))
        .collect();
    Ok(Json(json!({ "users": rows })))
}

/// Comments are listed per lead: the path must name `lead_id` (other filters may follow).
pub(crate) async fn comments(
    State(state): State<Arc<AppState>>,
    uri: Uri,
) -> SandboxResult<Json<Value>> {
    let pairs = listing_pairs(&uri, "/api/comments")?;
    let lead_id = pairs
        .iter()
        .find(|(key, _)| key == "lead_id")
        .map(|(_, value)| value.as_str())
        .ok_or_else(|| {
            SandboxError::bad_request("comments are listed per lead: /api/comments/lead_id/{id}/")
        })?;
    let lead_id: i64 = lead_id
        .trim()
        .parse()
        .map_err(|_| SandboxError::bad_request(format!("lead_id '{lead_id}' is not a number")))?;
    let created_at = state
        .read()
        .leads
        .get(&lead_id)
        .map(|lead| lead.created_at)
        .ok_or_else(|| SandboxError::not_found(format!("lead {lead_id} does not exist")))?;
    let listing = Listing::from_pairs(
        &pairs,
        "comments",
        &COMMENT_FIELDS,
        &["created_at"],
        Paging::LimitWithOffset,
    )?;
    let featured = lead_id == crate::sandbox::dataset::GUIDE_LEAD_ID;
    let comments = Comment::of_lead(lead_id, created_at, featured);
    let rows: Vec<Value> = listing
        .select(&comments, |comment, field| comment.field_value(field))
        .into_iter()
        .map(|comment| select_fields(comment.to_json(), listing.fields.as_deref()))
        .collect();
    Ok(Json(json!({ "comments": rows })))
}
