//! How the sandbox writes numbers: as strings (`"id": "16"`, as the vendor guide shows), as
//! JSON numbers (`"call_id": 113332`, as real tenants send CDRs), or mixed per record.
//!
//! The answer is built with strings, then re-written here when another style is asked for:
//! every field the client's rule (`api::models::is_numeric_field`) calls numeric whose text
//! is a number becomes a JSON number. Text fields (`dst`, phones, caller-id numbers) stay
//! text, so `"dst": "0007281"` keeps its zeros. In `mixed`, each record (a JSON object) draws
//! its style from its `id` (or its position) and the seed, so the same data gives the same
//! answer.

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Number, Value};

use crate::sandbox::AppState;
use crate::wire::fields::is_numeric_field;

/// The environment variable that sets the style of sandboxes started without `--numbers`
/// (the embedded one included), so a whole suite can run against real tenants' shapes.
pub(crate) const NUMBERS_ENV: &str = "TDC_SANDBOX_NUMBERS";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumberStyle {
    #[default]
    Strings,
    Json,
    Mixed,
}

impl FromStr for NumberStyle {
    type Err = crate::choice::UnknownChoice;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        use NumberStyle::*;
        let choices = [("strings", Strings), ("json", Json), ("mixed", Mixed)];
        crate::choice::choose(text, "number style", &choices)
    }
}

impl NumberStyle {
    /// The style `TDC_SANDBOX_NUMBERS` names; strings when it is unset or not a style.
    pub(crate) fn from_env() -> NumberStyle {
        std::env::var(NUMBERS_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_default()
    }
}

/// Re-writes a JSON answer's numbers in the sandbox's style.
pub(crate) async fn restyle_answer(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if state.numbers == NumberStyle::Strings || !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return (parts, bytes).into_response();
    };
    let style = state.numbers;
    let seed = state.seed;
    let body = tokio::task::spawn_blocking(move || {
        restyle(&mut value, style, seed, 0);
        serde_json::to_vec(&value).unwrap_or_default()
    })
    .await
    .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    (parts, body).into_response()
}

/// Applies `style` to every record under `value`; `position` is the record's place in its
/// list (for `mixed` records without an id).
pub(crate) fn restyle(value: &mut Value, style: NumberStyle, seed: u64, position: usize) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                restyle(item, style, seed, i);
            }
        }
        Value::Object(map) => {
            let as_numbers = match style {
                NumberStyle::Strings => false,
                NumberStyle::Json => true,
                NumberStyle::Mixed => {
                    let key = map
                        .get("id")
                        .and_then(|id| id.as_str().and_then(|s| s.parse::<u64>().ok()))
                        .unwrap_or(position as u64);
                    crate::sandbox::dataset::splitmix(key ^ seed.rotate_left(17)) & 1 == 0
                }
            };
            for (key, field) in map.iter_mut() {
                match field {
                    Value::String(text) if as_numbers && is_numeric_field(key) => {
                        if let Some(number) = number_of(text) {
                            *field = Value::Number(number);
                        }
                    }
                    Value::Array(_) | Value::Object(_) => restyle(field, style, seed, 0),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn number_of(text: &str) -> Option<Number> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(n.into());
    }
    text.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .and_then(Number::from_f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_style_writes_numeric_fields_as_numbers_and_keeps_text() {
        let mut page = json!({"cdrs": [{"id": "7", "call_duration": "35", "dst": "0007281",
                                        "caller_user_id": "5", "status": "NORMAL_CLEARING",
                                        "end_at": null}]});
        restyle(&mut page, NumberStyle::Json, 1, 0);
        let cdr = &page["cdrs"][0];
        assert_eq!(cdr["id"], json!(7));
        assert_eq!(cdr["call_duration"], json!(35));
        assert_eq!(cdr["caller_user_id"], json!(5));
        assert_eq!(cdr["dst"], json!("0007281"));
        assert_eq!(cdr["end_at"], Value::Null);
    }

    #[test]
    fn mixed_style_differs_by_record_and_is_stable() {
        let records: Vec<Value> = (1..=40).map(|i| json!({"id": i.to_string()})).collect();
        let mut a = Value::Array(records.clone());
        let mut b = Value::Array(records);
        restyle(&mut a, NumberStyle::Mixed, 3, 0);
        restyle(&mut b, NumberStyle::Mixed, 3, 0);
        assert_eq!(a, b);
        let numbers = a
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["id"].is_number())
            .count();
        assert!((5..35).contains(&numbers), "{numbers} of 40");
    }
}
