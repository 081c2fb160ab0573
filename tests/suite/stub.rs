//! The client against a stub server that answers with the vendor guide's literal example JSON
//! (string ids, campaign-lead-keyed maps) and with shapes the sandbox never produces (bare
//! arrays, HTML error pages, cut-off bodies). The stub records what it received.

use crate::common;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::Router;
use common::{output, tdc, temp_dir};

type Received = Arc<Mutex<Vec<String>>>;

async fn record(State(received): State<Received>, uri: Uri, body: Bytes) -> String {
    let line = format!("{} {}", uri, String::from_utf8_lossy(&body));
    received.lock().unwrap().push(line);
    String::new()
}

fn stub(received: Received) -> Router {
    let clone = include_str!("../resources/clone_response.json");
    let mass_assign = include_str!("../resources/mass_assign_response.json");
    Router::new()
        .route(
            "/api/campaigns/clone",
            get(move |state: State<Received>, uri: Uri, body: Bytes| async move {
                record(state, uri, body).await;
                ([("content-type", "application/json")], clone)
            }),
        )
        .route(
            "/api/campaign-leads/mass-assign",
            put(move |state: State<Received>, uri: Uri, body: Bytes| async move {
                record(state, uri, body).await;
                ([("content-type", "application/json")], mass_assign)
            }),
        )
        .route(
            "/api/cdrs",
            get(|| async {
                // A bare array with string numbers: the real dialer's list envelope is not documented.
                ([("content-type", "application/json")], r#"[{"id": "7", "q850": "16", "bill_duration": "42", "dst": "447700001234", "status": "NORMAL_CLEARING"}]"#)
            }),
        )
        .route("/api/calls/", get(|| async { (StatusCode::BAD_GATEWAY, [("content-type", "text/html")], "<html><body>502 Bad Gateway</body></html>").into_response() }))
        .route("/api/leads/phone/1/limit/1000;0/", get(|| async { ([("content-type", "application/json")], r#"{"leads": [{"id": "1", "phone": "1""#) }))
        .route("/api/leads/phone/2/limit/1000;0/", get(|| async { ([("content-type", "application/json")], "") }))
        .with_state(received)
}

fn start_stub() -> (String, Received, tokio::runtime::Runtime) {
    let received = Received::default();
    let (url, runtime) = common::serve(stub(received.clone()));
    (url, received, runtime)
}

/// Runs `code` against the stub, through a profile whose failing reads give up after a
/// second (a 502 is retried until the retry budget is spent).
fn eval(url: &str, code: &str) -> (i32, String, String) {
    // One home per stub: tests run in parallel, each with its own stub.
    let port = url.rsplit(':').next().unwrap_or("0");
    let home = temp_dir(&format!("stub-{port}"));
    common::write_config(
        &home,
        &format!(
            "[profiles.stub]\nurl = \"{url}\"\nuser = \"ops\"\npassword_env = \"STUB_PASSWORD\"\nretry_budget_s = 1\n"
        ),
    );
    output(
        tdc(&home)
            .args(["--profile", "stub", "eval", code])
            .env("STUB_PASSWORD", "stub-password"),
    )
}

#[test]
fn the_guides_literal_answers_read_as_numbers_and_keyed_maps() {
    let (url, received, _runtime) = start_stub();
    let (code, stdout, stderr) = eval(
        &url,
        r#"let c = td.clone_campaign(12, 123456789);
           let a = td.assign([49969], 12);
           let cdr = td.cdrs().first();
           [c.id == 16, c.is_active == 1, c.client_callerid_number, c.predictive_call_ratio + 1,
            a.keys(), a["78057"].id == 49969, a["78057"].phone,
            cdr.id, cdr.q850, cdr.bill_duration, cdr.dst]"#,
    );
    assert_eq!(code, 0, "{stderr}");
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        value,
        serde_json::json!([
            true,
            true,
            "777777777777",
            4,
            ["78057"],
            true,
            "447700001234",
            7,
            16,
            42,
            "447700001234"
        ])
    );
    let received = received.lock().unwrap();
    assert_eq!(
        received[0],
        r#"/api/campaigns/clone {"campaign_id":12,"default_caller_id":"123456789"}"#
    );
    assert_eq!(
        received[1],
        r#"/api/campaign-leads/mass-assign {"where":{"id":[49969]},"campaign_id":12,"remove_from_others":false}"#
    );
}

#[test]
fn bad_answers_are_one_clear_line() {
    let (url, _received, _runtime) = start_stub();
    let cases = [
        ("td.calls().to_array()", "GET /api/calls/: 502 bad gateway (the server answered with an HTML page)"),
        ("td.find_leads(\"phone\", \"1\")", "GET /api/leads/phone/1/limit/1000;0/: the answer's JSON is cut off"),
        ("td.find_leads(\"phone\", \"2\")", "GET /api/leads/phone/2/limit/1000;0/: the server answered with an empty body, not JSON"),
    ];
    for (code_text, expected) in cases {
        let (code, stdout, stderr) = eval(&url, code_text);
        assert_eq!(code, 1, "{code_text}: {stdout}");
        let lines = common::error_lines(&stderr);
        assert_eq!(lines.len(), 1, "{code_text}: {stderr}");
        assert!(
            lines[0].starts_with("<eval>:1:") && lines[0].contains(expected),
            "{code_text}: {stderr}"
        );
        assert!(!stderr.contains("stub-password"));
    }
}

/// A listing of pages of two rows whose fourth page (offset 6) is refused.
fn refusing_listing() -> Router {
    Router::new().route(
        "/api/cdrs",
        get(|uri: Uri| async move {
            let query = uri.query().unwrap_or_default().replace("%3B", ";");
            let offset: u64 = query
                .split(';')
                .nth(1)
                .and_then(|o| o.parse().ok())
                .unwrap_or(0);
            if offset == 6 {
                let refusal = r#"{"error": "offset 6 is refused"}"#;
                return (StatusCode::BAD_REQUEST, refusal).into_response();
            }
            let rows = format!(
                r#"{{"cdrs": [{{"id": "{}"}}, {{"id": "{}"}}]}}"#,
                offset + 1,
                offset + 2
            );
            ([("content-type", "application/json")], rows).into_response()
        }),
    )
}

#[test]
fn a_scan_that_fails_part_way_ends_with_one_clear_line() {
    let (url, _runtime) = common::serve(refusing_listing());
    let (code, stdout, stderr) = eval(
        &url,
        "let n = 0; for c in td.cdrs().page_size(2) { n += 1; } n",
    );
    assert_eq!(code, 1, "{stdout}");
    let lines = common::error_lines(&stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("GET /api/cdrs") && lines[0].contains("offset 6 is refused"),
        "{stderr}"
    );
    // Caught, the error leaves the rows read before it: whole pages, none past the refusal.
    let (code, stdout, stderr) = eval(
        &url,
        "let n = 0; try { for c in td.cdrs().page_size(2) { n += 1; } } catch (e) { print(`read ${n}`); }",
    );
    assert_eq!(code, 0, "{stderr}");
    let read: u64 = stdout
        .trim()
        .strip_prefix("read ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(read <= 6 && read.is_multiple_of(2), "{stdout}");
}
