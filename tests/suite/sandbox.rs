//! The sandbox dialer over real HTTP: every request of the vendor guide as written, every
//! error status, every filter operator, every fault kind, and determinism.

use crate::common;

use std::time::{Duration, Instant};

use common::{int, temp_dir, Sandbox};
use reqwest::Method;
use serde_json::{json, Value};

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(sandbox: &Sandbox) -> Api {
        Api {
            http: common::http(),
            base: sandbox.url.clone(),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        content_type: &str,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth("sandbox", Some("sandbox"));
        if let Some(body) = body {
            request = request
                .header("Content-Type", content_type)
                .body(body.to_string());
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("body");
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(Method::GET, path, None, "").await
    }

    async fn put(&self, path: &str, body: &str) -> (u16, Value) {
        self.send(Method::PUT, path, Some(body), "application/json")
            .await
    }

    async fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.send(Method::POST, path, Some(body), "application/json")
            .await
    }
}

fn message(value: &Value) -> &str {
    assert_eq!(value["success"], json!(false), "error envelope: {value}");
    value["message"].as_str().unwrap_or("")
}

const GUIDE_LEAD: &str = r#"[{"first_name":"Alfred","last_name":"Smith","phone":"447700001234","address1":"150 Albert Road","city":"London","country":"UK","original_identifier":"","support_site":null,"purchase_site":null,"purchase_date":null,"purchase_amount":null,"purchase_product_name":null,"purchase_card_name":null,"purchase_card_type":null,"purchase_card_digits":null,"email":"[email protected]","birthdate":"2000-01-23","loan_amount":null,"customFields":{"affiliate":"BZ15","deposit_date":"2022-01-23 12:50:00"}}]"#;

/// The vendor guide's literal writes, in the guide's order, each with the script call that
/// makes it: the twin accepts the literal body (below), and the client sends the same body
/// (`the_guides_literal_writes_are_what_the_client_sends`).
const GUIDE_WRITES: [(&str, &str, &str, &str); 6] = [
    (
        "POST",
        "/api/leads",
        GUIDE_LEAD,
        r#"td.add_leads([#{first_name: "Alfred", last_name: "Smith", phone: "447700001234", address1: "150 Albert Road", city: "London", country: "UK", original_identifier: "", support_site: (), purchase_site: (), purchase_date: (), purchase_amount: (), purchase_product_name: (), purchase_card_name: (), purchase_card_type: (), purchase_card_digits: (), email: "[email protected]", birthdate: "2000-01-23", loan_amount: (), customFields: #{affiliate: "BZ15", deposit_date: "2022-01-23 12:50:00"}}])"#,
    ),
    (
        "PUT",
        "/api/campaign-leads/mass-assign",
        r#"{"where":{"id":["49969"]},"campaign_id":12,"remove_from_others":false}"#,
        "td.assign([49969], 12)",
    ),
    (
        "GET",
        "/api/campaigns/clone",
        r#"{"campaign_id": 12, "default_caller_id": 123456789}"#,
        "td.clone_campaign(12, 123456789)",
    ),
    (
        "PUT",
        "/api/campaign-leads/update-campaign-leads",
        r#"{"where":{"id":[78057]},"update":{"lead":{"phone":"447700001235"},"campaignLead":{"status_id":69}}}"#,
        r#"td.update_campaign_leads([78057], #{lead: #{phone: "447700001235"}, campaignLead: #{status_id: 69}})"#,
    ),
    (
        "PUT",
        "/api/campaign-leads/mass-assign",
        r#"{"where":{"id":[1,2,3]},"campaign_id":12,"remove_from_others":true}"#,
        "td.assign([1, 2, 3], 12, true)",
    ),
    (
        "PUT",
        "/api/campaign-leads/move-to-campaign",
        r#"{"id":["49969"],"source_campaign_id":12,"with_preserve_data":true,"destination_campaign_id":13}"#,
        "td.move_to_campaign([49969], 12, 13, true)",
    ),
];

/// A JSON body with numbers written as text read as numbers (the guide writes ids both ways).
fn numbers_as_numbers(value: Value) -> Value {
    match value {
        Value::String(s) if s.parse::<i64>().is_ok() => json!(s.parse::<i64>().unwrap()),
        Value::Array(items) => Value::Array(items.into_iter().map(numbers_as_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, numbers_as_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Runs `tdc ARGS` on the sandbox and returns what its first stderr line starting with
/// `prefix` says after it: the request tdc sent (`-v`) or would send (`--dry-run`).
fn request_line(sandbox: &Sandbox, home: &std::path::Path, args: &[&str], prefix: &str) -> String {
    let output = common::tdc_on(sandbox, home)
        .args(args)
        .output()
        .expect("tdc");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{args:?}: {stderr}");
    stderr
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("{args:?} shows no '{prefix}' line: {stderr}"))
        .to_string()
}

#[test]
fn the_guides_literal_writes_are_what_the_client_sends() {
    let sandbox = Sandbox::start(&[]);
    let home = temp_dir("golden-writes");
    for (method, path, literal, call) in GUIDE_WRITES {
        let sent = request_line(&sandbox, &home, &["eval", "--dry-run", call], "dry-run: ");
        let (sent_method, rest) = sent.split_once(' ').unwrap();
        let (sent_path, body) = rest.split_once(' ').unwrap();
        assert_eq!((sent_method, sent_path), (method, path), "{call}");
        let sent_body: Value = serde_json::from_str(body).unwrap();
        let guide_body: Value = serde_json::from_str(literal).unwrap();
        assert_eq!(
            numbers_as_numbers(sent_body),
            numbers_as_numbers(guide_body),
            "{call} sends {body}, the guide writes {literal}"
        );
    }
}

#[tokio::test]
async fn every_guide_request_as_written_succeeds_with_the_documented_shape() {
    let sandbox = Sandbox::start(&[]);
    let api = Api::new(&sandbox);

    let [lead, assign, clone, update, remove_others, move_to] = GUIDE_WRITES.map(|w| w.2);
    let (status, body) = api.post("/api/leads", lead).await;
    assert_eq!(status, 200, "{body}");
    let lead = &body["leads"][0];
    assert!(
        lead["id"].as_str().unwrap().parse::<i64>().is_ok(),
        "id as a numeric string: {lead}"
    );
    assert_eq!(lead["customFields"]["affiliate"], "BZ15");
    assert_eq!(lead["phone_normalized"], "447700001234");

    let (status, body) = api.put("/api/campaign-leads/mass-assign", assign).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"leads": {"78057": {"id": "49969", "first_name": "Alfred", "last_name": "Smith",
            "phone": "447700001234", "phone_normalized": "447700001234", "original_identifier": ""}}})
    );

    // The guide's curl sends the clone as a form POST with a JSON body.
    let (status, body) = api
        .send(
            Method::POST,
            "/api/campaigns/clone",
            Some(clone),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let campaign = &body["campaigns"][0];
    assert_eq!(campaign["id"], "16");
    assert_eq!(campaign["name"], "[clone of] Campaign 12");
    assert_eq!(campaign["description"], "[clone of] Campaign 12");
    assert_eq!(campaign["is_active"], "1");
    assert_eq!(campaign["default_caller_id"], "123456789");
    // Campaign 12 uses 12 of the tenant's statuses; the clone uses the same ones.
    assert_eq!(campaign["statuses"].as_array().unwrap().len(), 12);

    let (status, body) = api
        .put("/api/campaign-leads/update-campaign-leads", update)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["campaignLeads"][0]["status_id"], "69");

    let (status, body) = api.get("/api/leads/phone/447700001235/").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = body["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"49969") && ids.contains(&"3"), "{ids:?}");

    let (status, body) = api
        .get("/api/leads/purchase_card_name/affiliate_bz150/")
        .await;
    assert_eq!(status, 200);
    assert!(!body["leads"].as_array().unwrap().is_empty());

    let (status, body) = api
        .put("/api/campaign-leads/mass-assign", remove_others)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["leads"].as_object().unwrap().len(), 3);
    let (_, body) = api.get("/api/campaign-leads/lead_id/3/").await;
    let campaigns: Vec<&str> = body["campaignLeads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["campaign_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        campaigns,
        ["12"],
        "lead 3's campaign lead in 13 was deleted"
    );

    let (_, before) = api.get("/api/campaign-leads/id/78057/").await;
    let calls_before = before["campaignLeads"][0]["calls_count"].clone();
    assert!(!calls_before.is_null(), "{before}");
    let (status, body) = api
        .put("/api/campaign-leads/move-to-campaign", move_to)
        .await;
    assert_eq!(status, 200, "{body}");
    let moved = &body["campaignLeads"][0];
    assert_eq!(
        (moved["id"].as_str(), moved["campaign_id"].as_str()),
        (Some("78057"), Some("13"))
    );
    assert_eq!(moved["status"], "Do Not Call");
    assert_eq!(
        moved["calls_count"], calls_before,
        "calls counter preserved"
    );
    assert!(
        moved["history"].as_array().unwrap().len() >= 3,
        "history preserved and extended"
    );

    let (status, body) = api
        .get("/api/cdrs?fields=status%3Bq850%3Bend_at&start_at=2025-01-01%2000%3A00%3A00%3B%3E&end_at=2025-01-06%2000%3A00%3A00%3B%3C&q850=0%3B%3E&order=end_at%3Basc&limit=1%3B0")
        .await;
    assert_eq!(status, 200);
    let cdr = body["cdrs"][0].as_object().unwrap();
    assert_eq!(cdr.keys().collect::<Vec<_>>(), ["status", "q850", "end_at"]);
    assert!(cdr["end_at"].as_str().unwrap().starts_with("2025-01-0"));

    let (status, body) = api
        .get("/api/calls/?start_at=2024-10-01%3B%3E&call_bill_duration=60%3B%3E")
        .await;
    assert_eq!(status, 200);
    let calls = body["calls"].as_array().unwrap();
    assert!(!calls.is_empty());
    assert!(calls.iter().all(|c| c["call_bill_duration"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .unwrap()
        > 60));
    let (_, body) = api
        .get("/api/calls/?start_at=2024-10-01%3B%3E&call_bill_duration=60%3B%3E&fields=id")
        .await;
    assert_eq!(
        body["calls"][0]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["id"]
    );

    let response = common::http()
        .get(format!("{}/api/calls/45475/record", sandbox.url))
        .basic_auth("sandbox", Some("sandbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "audio/flac");
    assert!(response.bytes().await.unwrap().starts_with(b"fLaC"));
}

#[tokio::test]
async fn recordings_are_valid_flac_as_long_as_the_billed_seconds() {
    let sandbox = Sandbox::start(&["--cdrs", "6000", "--leads", "300"]);
    let api = Api::new(&sandbox);
    let (_, body) = api
        .get("/api/calls/?id=45475&fields=call_bill_duration")
        .await;
    let billed: u64 = body["calls"][0]["call_bill_duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = common::http()
        .get(format!("{}/api/calls/45475/record", sandbox.url))
        .basic_auth("sandbox", Some("sandbox"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut reader =
        claxon::FlacReader::new(std::io::Cursor::new(bytes.to_vec())).expect("FLAC header");
    let rate = reader.streaminfo().sample_rate as u64;
    let decoded: Vec<i32> = reader
        .samples()
        .collect::<Result<_, _>>()
        .expect("valid FLAC frames");
    let decoded = decoded.len() as u64;
    assert_eq!(
        decoded,
        billed * rate,
        "decoded length matches the billed {billed} s"
    );
    // The reference decoder's integrity test, where the machine has it (CI installs it).
    let file_dir = temp_dir("flac");
    let file = file_dir.join("45475.flac");
    std::fs::write(&file, &bytes).unwrap();
    match std::process::Command::new("flac")
        .args(["-t", "-s"])
        .arg(&file)
        .status()
    {
        Ok(status) => assert!(status.success(), "flac -t rejected the recording"),
        Err(_) => assert!(
            std::env::var_os("CI").is_none(),
            "flac is not installed on CI"
        ),
    }
    let (_, unanswered) = api
        .get("/api/calls/?call_bill_duration=0&fields=id&limit=1")
        .await;
    let id = unanswered["calls"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = api.get(&format!("/api/calls/{id}/record")).await;
    assert_eq!(status, 404, "{body}");
    assert!(message(&body).contains(&id));
}

#[tokio::test]
async fn errors_have_the_documented_status_and_envelope() {
    let sandbox = Sandbox::start(&["--leads", "300", "--cdrs", "1000"]);
    let api = Api::new(&sandbox);
    let http = common::http();

    let response = http
        .get(format!("{}/api/cdrs", sandbox.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    let wrong = http
        .get(format!("{}/api/cdrs", sandbox.url))
        .basic_auth("sandbox", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let (status, body) = api.get("/api/nothing-here").await;
    assert_eq!(status, 404);
    assert_eq!(message(&body), "no such route");
    let (status, body) = api.send(Method::DELETE, "/api/leads", None, "").await;
    assert_eq!(status, 405);
    message(&body);
    let (status, body) = api.post("/api/leads", "[{\"phone\": ").await;
    assert_eq!(status, 400);
    assert!(message(&body).starts_with("malformed JSON body"), "{body}");
    let (status, body) = api.post("/api/leads", "").await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("empty body"));

    let (status, body) = api
        .post(
            "/api/leads",
            r#"{"leads": [{"phone": "1"}, {"phone": "2", "colour": "red"}]}"#,
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(message(&body), "lead 1: unknown field 'colour'");
    let (_, body) = api.get("/api/leads/phone/1/").await;
    assert_eq!(
        body["leads"],
        json!([]),
        "the refused chunk inserted nothing"
    );

    let (status, body) = api
        .put(
            "/api/campaign-leads/mass-assign",
            r#"{"where":{"id":[1]},"campaign_id":99}"#,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(message(&body), "campaign 99 does not exist");
    let (status, body) = api
        .put(
            "/api/campaign-leads/mass-assign",
            r#"{"where":{},"campaign_id":12}"#,
        )
        .await;
    assert_eq!(status, 422);
    assert!(message(&body).contains("at least one field"));

    let (status, body) = api
        .put(
            "/api/campaign-leads/update-campaign-leads",
            r#"{"where":{"id":[78057]},"update":{"campaignLead":{"status_id":20}}}"#,
        )
        .await;
    assert_eq!(
        status, 422,
        "status 20 (Appointment) is used by campaign 15 only"
    );
    assert!(message(&body).contains("status 20"));
    let (status, _) = api
        .put(
            "/api/campaign-leads/update-campaign-leads",
            r#"{"where":{"id":[1, 999999]},"update":{"lead":{"city":"x"}}}"#,
        )
        .await;
    assert_eq!(status, 404);

    let (status, body) = api.get("/api/cdrs?limit=1001;0").await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("maximum page of 1000"));
    let (status, body) = api.get("/api/cdrs?q850=0;~").await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("unknown operator '~'"));
    let (status, body) = api.get("/api/cdrs?colour=red").await;
    assert_eq!(status, 400);
    // Named, with the closest fields when there are any, and the valid list.
    assert!(
        message(&body).starts_with("unknown field 'colour' for cdrs (fields: id, call_id,"),
        "{body}"
    );
    let (_, body) = api.get("/api/cdrs?statuss=x").await;
    assert!(
        message(&body).starts_with("unknown field 'statuss' for cdrs; did you mean status"),
        "{body}"
    );
}

#[tokio::test]
async fn moving_with_preserved_data_needs_the_status_name_in_the_destination() {
    let sandbox = Sandbox::start(&["--leads", "400", "--cdrs", "5000"]);
    let api = Api::new(&sandbox);
    // Campaign 14 has no "Callback" status: find a lead of campaign 12 in that status.
    let (_, body) = api
        .get("/api/campaign-leads/campaign_id/12/status/Callback/limit/1;0/")
        .await;
    let cl = &body["campaignLeads"][0];
    let lead_id = cl["lead_id"]
        .as_str()
        .expect("a Callback lead in campaign 12");
    let request = format!(
        r#"{{"id":[{lead_id}],"source_campaign_id":12,"destination_campaign_id":14,"with_preserve_data":true}}"#
    );
    let (status, body) = api
        .put("/api/campaign-leads/move-to-campaign", &request)
        .await;
    assert_eq!(status, 422);
    assert!(
        message(&body).contains(&format!("{lead_id} ('Callback')")),
        "{body}"
    );
    let (_, after) = api
        .get(&format!("/api/campaign-leads/lead_id/{lead_id}/"))
        .await;
    assert_eq!(
        after["campaignLeads"][0]["campaign_id"], "12",
        "nothing moved"
    );

    // Without preserved data the move makes a new campaign lead in the first status.
    let request = request.replace("true", "false");
    let (status, body) = api
        .put("/api/campaign-leads/move-to-campaign", &request)
        .await;
    assert_eq!(status, 200, "{body}");
    let moved = &body["campaignLeads"][0];
    assert_eq!(moved["campaign_id"], "14");
    assert_eq!(moved["status"], "New");
    assert_eq!(moved["calls_count"], "0");
    assert_ne!(moved["id"], cl["id"]);
}

#[tokio::test]
async fn a_move_never_drops_the_campaign_lead_a_lead_already_has_in_the_destination() {
    let sandbox = Sandbox::start(&["--leads", "400", "--cdrs", "5000"]);
    let api = Api::new(&sandbox);
    let (_, body) = api
        .get("/api/campaign-leads/campaign_id/12/status/No Answer/limit/2;0/")
        .await;
    let lead_of = |i: usize| {
        body["campaignLeads"][i]["lead_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (conflicting, free) = (lead_of(0), lead_of(1));
    let assign = format!(
        r#"{{"where":{{"id":[{conflicting}]}},"campaign_id":14,"remove_from_others":false}}"#
    );
    let (status, _) = api.put("/api/campaign-leads/mass-assign", &assign).await;
    assert_eq!(status, 200);
    let campaign_leads = |lead: String| {
        let api = &api;
        async move {
            let (_, body) = api
                .get(&format!("/api/campaign-leads/lead_id/{lead}/"))
                .await;
            body["campaignLeads"].clone()
        }
    };
    let before = campaign_leads(conflicting.clone()).await;
    let free_before = campaign_leads(free.clone()).await;
    let in_campaign = |cls: &Value, campaign: &str| {
        cls.as_array()
            .unwrap()
            .iter()
            .find(|cl| cl["campaign_id"] == campaign)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let (source, target) = (in_campaign(&before, "12"), in_campaign(&before, "14"));
    assert!(int(&source["calls_count"]) > 0, "{before}");

    for preserve in [true, false] {
        let request = format!(
            r#"{{"id":[{free},{conflicting}],"source_campaign_id":12,"destination_campaign_id":14,"with_preserve_data":{preserve}}}"#
        );
        let (status, body) = api
            .put("/api/campaign-leads/move-to-campaign", &request)
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(
            message(&body),
            format!(
                "leads already in campaign 14, moving them would drop a campaign lead and its calls: {conflicting} (campaign lead {} in 12, {} calls; {} in 14, {} calls)",
                source["id"].as_str().unwrap(),
                source["calls_count"].as_str().unwrap(),
                target["id"].as_str().unwrap(),
                target["calls_count"].as_str().unwrap()
            )
        );
        assert_eq!(
            campaign_leads(conflicting.clone()).await,
            before,
            "refused whole"
        );
        assert_eq!(
            campaign_leads(free.clone()).await,
            free_before,
            "refused whole"
        );
    }
}

#[tokio::test]
async fn mass_assign_is_safe_to_repeat() {
    let sandbox = Sandbox::start(&["--leads", "300", "--cdrs", "100"]);
    let api = Api::new(&sandbox);
    let request = r#"{"where":{"id":[5]},"campaign_id":15,"remove_from_others":false}"#;
    let (_, first) = api.put("/api/campaign-leads/mass-assign", request).await;
    let (_, second) = api.put("/api/campaign-leads/mass-assign", request).await;
    assert_eq!(first, second);
    let (_, listing) = api
        .get("/api/campaign-leads/lead_id/5/campaign_id/15/")
        .await;
    assert_eq!(listing["campaignLeads"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn every_filter_operator_and_paging_rule() {
    let sandbox = Sandbox::start(&["--leads", "300", "--cdrs", "3000"]);
    let api = Api::new(&sandbox);
    let ids = |body: &Value, key: &str| -> Vec<i64> {
        body[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().parse().unwrap())
            .collect()
    };
    let cases: [(&str, Vec<i64>); 7] = [
        ("id=5", vec![5]),
        ("id=5;=", vec![5]),
        ("id=3;<", vec![1, 2]),
        ("id=2;<=", vec![1, 2]),
        ("id=2998;>", vec![2999, 3000]),
        ("id=2999;>=", vec![2999, 3000]),
        ("id=3;>|6;<", vec![4, 5]),
    ];
    for (filter, expected) in cases {
        let (status, body) = api.get(&format!("/api/cdrs?{filter}&fields=id")).await;
        assert_eq!(status, 200, "{filter}");
        assert_eq!(ids(&body, "cdrs"), expected, "{filter}");
    }
    let (_, body) = api.get("/api/cdrs?id=1;!=&limit=3;0&fields=id").await;
    assert_eq!(ids(&body, "cdrs"), [2, 3, 4]);
    let (_, body) = api.get("/api/cdrs?order=id;desc&limit=2;1&fields=id").await;
    assert_eq!(ids(&body, "cdrs"), [2999, 2998]);
    let (_, body) = api.get("/api/calls/?limit=2&offset=10&fields=id").await;
    assert_eq!(ids(&body, "calls"), [40011, 40012]);
    let (_, body) = api.get("/api/cdrs?limit=10;2995&fields=id").await;
    assert_eq!(
        ids(&body, "cdrs"),
        [2996, 2997, 2998, 2999, 3000],
        "a short last page"
    );
    let (_, body) = api.get("/api/cdrs?status=NO_ANSWER&limit=50;0").await;
    assert!(body["cdrs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "NO_ANSWER" && c["q850"] == "19"));
    let (_, body) = api.get("/api/cdrs?end_at=&fields=id;q850;end_at").await;
    let ongoing = body["cdrs"].as_array().unwrap();
    assert!(
        !ongoing.is_empty()
            && ongoing
                .iter()
                .all(|c| c["q850"] == "0" && c["end_at"].is_null())
    );
    let (_, body) = api
        .get("/api/leads/limit/2;0/created_at/2023-12-21%2013:15:11;%3E/")
        .await;
    let leads = body["leads"].as_array().unwrap();
    assert_eq!(leads.len(), 2);
    assert!(leads
        .iter()
        .all(|l| l["created_at"].as_str().unwrap() > "2023-12-21 13:15:11"));
}

#[tokio::test]
async fn the_same_seed_gives_the_same_data() {
    let a = Sandbox::start(&["--seed", "7", "--leads", "200", "--cdrs", "500"]);
    let b = Sandbox::start(&["--seed", "7", "--leads", "200", "--cdrs", "500"]);
    let c = Sandbox::start(&["--seed", "8", "--leads", "200", "--cdrs", "500"]);
    // Every field but the recording link, which names the sandbox's own address.
    let fields = tdc::internals::CDR_FIELDS
        .iter()
        .filter(|f| **f != "public_recording_url")
        .copied()
        .collect::<Vec<_>>()
        .join(";");
    let page = &format!("/api/cdrs?limit=1000;0&fields={fields}");
    let leads = "/api/leads/limit/1000;0/";
    let (pa, pb, pc) = (
        Api::new(&a).get(page).await.1,
        Api::new(&b).get(page).await.1,
        Api::new(&c).get(page).await.1,
    );
    assert_eq!(pa["cdrs"].as_array().unwrap().len(), 500);
    assert_eq!(pa, pb);
    assert_ne!(pa, pc);
    assert_eq!(
        Api::new(&a).get(leads).await.1,
        Api::new(&b).get(leads).await.1
    );
}

#[tokio::test]
async fn injected_faults_behave_as_documented() {
    let errors = Sandbox::start(&["--leads", "100", "--cdrs", "100", "--faults", "500=1.0"]);
    let (status, body) = Api::new(&errors).get("/api/cdrs").await;
    assert_eq!(status, 500);
    assert!(message(&body).contains("injected"));

    let busy = Sandbox::start(&["--leads", "100", "--cdrs", "100", "--faults", "429=1"]);
    let response = common::http()
        .get(format!("{}/api/cdrs", busy.url))
        .basic_auth("sandbox", Some("sandbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after <= 1);

    let slow = Sandbox::start(&["--leads", "100", "--cdrs", "100", "--faults", "slow=1"]);
    let started = Instant::now();
    let (status, _) = Api::new(&slow).get("/api/cdrs?limit=1").await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "slow answered in {:?}",
        started.elapsed()
    );

    // reset: the connection fails and nothing is applied; lost: applied, no answer.
    for (fault, applied) in [("reset=1", false), ("lost=1.0", true)] {
        let state_dir = temp_dir(&format!("faults-{}", &fault[..4]));
        let state = state_dir.join("state.json");
        let state_arg = state.to_str().unwrap();
        let faulty = Sandbox::start(&[
            "--leads", "100", "--cdrs", "100", "--faults", fault, "--state", state_arg,
        ]);
        let result = common::http()
            .post(format!("{}/api/leads", faulty.url))
            .basic_auth("sandbox", Some("sandbox"))
            .json(&json!([{ "phone": "449990001111", "original_identifier": "fault-test" }]))
            .send()
            .await;
        assert!(
            result.is_err(),
            "{fault}: expected no response, got {result:?}"
        );
        drop(faulty);
        let healthy = Sandbox::start(&["--state", state_arg]);
        let (_, body) = Api::new(&healthy)
            .get("/api/leads/original_identifier/fault-test/")
            .await;
        let found = body["leads"].as_array().map_or(0, Vec::len);
        assert_eq!(found, usize::from(applied), "{fault}: applied = {applied}");
    }
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let sandbox = Sandbox::start(&["--leads", "100", "--cdrs", "100", "--latency-ms", "300"]);
    let started = Instant::now();
    let (status, _) = Api::new(&sandbox).get("/api/cdrs?limit=1").await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn state_survives_a_restart_and_signals_stop_cleanly() {
    let state_dir = temp_dir("state");
    let state = state_dir.join("sandbox.json");
    let state_arg = state.to_str().unwrap();
    let first = Sandbox::start(&["--leads", "100", "--cdrs", "100", "--state", state_arg]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (status, body) = runtime.block_on(Api::new(&first).post(
        "/api/leads",
        r#"[{"phone": "441111", "original_identifier": "kept"}]"#,
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        first.signal_and_wait("TERM").code(),
        Some(0),
        "SIGTERM stops cleanly"
    );
    let second = Sandbox::start(&["--state", state_arg]);
    let (_, body) = runtime.block_on(Api::new(&second).get("/api/leads/original_identifier/kept/"));
    assert_eq!(body["leads"].as_array().unwrap().len(), 1);
    let (_, cdrs) = runtime.block_on(Api::new(&second).get("/api/cdrs?limit=1000;0"));
    assert_eq!(
        cdrs["cdrs"].as_array().unwrap().len(),
        100,
        "CDRs regenerate from the saved seed"
    );
    assert_eq!(
        second.signal_and_wait("INT").code(),
        Some(130),
        "Ctrl-C stops with 130"
    );
}

/// The figure is measured by `cargo bench --bench sandbox`; this is a generous bound.
#[tokio::test]
async fn a_million_cdrs_are_ready_quickly_and_deep_pages_are_served() {
    let started = Instant::now();
    let sandbox = Sandbox::start(&["--cdrs", "1000000", "--leads", "1000"]);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "ready after {:?}",
        started.elapsed()
    );
    let api = Api::new(&sandbox);
    let (status, body) = api.get("/api/cdrs?limit=1000;900000&fields=id").await;
    assert_eq!(status, 200);
    let rows = body["cdrs"].as_array().unwrap();
    assert_eq!(rows.len(), 1000);
    assert_eq!(rows[0]["id"], "900001");
}

#[test]
fn the_default_twin_counts_each_call_and_no_lead_with_calls_is_new() {
    let sandbox = Sandbox::start(&[]);
    let all = |what: &str, envelope: &str| {
        let mut rows = Vec::new();
        for offset in (0..).step_by(1000) {
            let page = sandbox.get_json(&format!("/api/{what}?limit=1000;{offset}"));
            let page = page[envelope].as_array().unwrap().clone();
            let done = page.len() < 1000;
            rows.extend(page);
            if done {
                break;
            }
        }
        rows
    };
    let cdrs = all("cdrs", "cdrs");
    let campaign_leads = all("campaign-leads", "campaignLeads");
    assert!(cdrs.len() >= 20_000 && campaign_leads.len() > 5_000);
    let mut calls: std::collections::HashMap<i64, i64> = Default::default();
    let mut ongoing: std::collections::HashMap<i64, i64> = Default::default();
    for cdr in &cdrs {
        let id = match &cdr["campaign_lead_id"] {
            Value::Null => 0,
            value => int(value),
        };
        if id > 0 {
            *calls.entry(id).or_default() += 1;
            if cdr["end_at"].is_null() {
                *ongoing.entry(id).or_default() += 1;
            }
        }
    }
    let mut wrong = Vec::new();
    for cl in &campaign_leads {
        let id = int(&cl["id"]);
        let made = calls.get(&id).copied().unwrap_or(0);
        if int(&cl["calls_count"]) != made {
            wrong.push(format!(
                "{id}: calls_count {} but {made} CDRs",
                cl["calls_count"]
            ));
        }
        if made > 0 && cl["status"] == "New" {
            wrong.push(format!("{id}: New with {made} calls"));
        }
        let history_calls = cl["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l.as_str().unwrap_or("").contains(" call "))
            .count() as i64;
        let ongoing = ongoing.get(&id).copied().unwrap_or(0);
        if made <= 20 && history_calls != made - ongoing {
            wrong.push(format!(
                "{id}: {history_calls} history lines for {made} calls"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} incoherent, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}

/// The vendor guide's literal read requests, each with the script call that makes it: the twin
/// answers the literal request, and the client sends the same request (the same path and
/// pairs, in any order, plus its own paging).
const GUIDE_READS: [(&str, &str, &str); 5] = [
    (
        "/api/cdrs?fields=status%3Bq850%3Bend_at&start_at=2025-01-01%2000%3A00%3A00%3B%3E&end_at=2025-01-06%2000%3A00%3A00%3B%3C&q850=0%3B%3E&order=end_at%3Basc&limit=1%3B0",
        r#"td.cdrs().fields(["status", "q850", "end_at"]).where("start_at", ">", "2025-01-01 00:00:00").where("end_at", "<", "2025-01-06 00:00:00").where("q850", ">", 0).order("end_at", "asc").limit(1).to_array()"#,
        "cdrs",
    ),
    (
        "/api/leads/phone/447700001235/",
        r#"td.find_leads("phone", "447700001235")"#,
        "leads",
    ),
    (
        "/api/leads/purchase_card_name/affiliate_bz150/",
        r#"td.find_leads("purchase_card_name", "affiliate_bz150")"#,
        "leads",
    ),
    (
        "/api/calls/?start_at=2024-10-01%3B%3E&call_bill_duration=60%3B%3E",
        r#"td.calls().where("start_at", ">", "2024-10-01").where("call_bill_duration", ">", 60).limit(5).to_array()"#,
        "calls",
    ),
    (
        "/api/calls/?start_at=2024-10-01%3B%3E&call_bill_duration=60%3B%3E&fields=id",
        r#"td.calls().where("start_at", ">", "2024-10-01").where("call_bill_duration", ">", 60).fields(["id"]).limit(5).to_array()"#,
        "calls",
    ),
];

/// A request as a path and its pairs (query pairs, or the path segments after the resource
/// for a search), decoded.
fn request_shape(request: &str) -> (String, std::collections::BTreeSet<(String, String)>) {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    let (path, query) = request.split_once('?').unwrap_or((request, ""));
    let mut pairs: std::collections::BTreeSet<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let base = match segments.as_slice() {
        ["api", resource, rest @ ..] if rest.len() >= 2 => {
            for pair in rest.chunks(2) {
                if let [k, v] = pair {
                    pairs.insert((decode(k), decode(v)));
                }
            }
            format!("/api/{resource}/")
        }
        _ => format!("/{}/", segments.join("/")),
    };
    (base, pairs)
}

#[test]
fn the_guides_literal_reads_are_what_the_client_sends_and_the_twin_answers() {
    let sandbox = Sandbox::start(&[]);
    let home = temp_dir("golden");
    for (literal, call, envelope) in GUIDE_READS {
        let answer = sandbox.get_json(literal);
        assert!(
            answer[envelope]
                .as_array()
                .is_some_and(|rows| !rows.is_empty()),
            "the twin answers {literal}: {answer}"
        );
        let code = format!("{call}.len()");
        let sent = request_line(&sandbox, &home, &["-v", "eval", &code], "tdc: > GET ");
        let ((sent_path, sent_pairs), (path, pairs)) =
            (request_shape(&sent), request_shape(literal));
        let paging = |(k, _): &&(String, String)| k == "limit" || k == "offset";
        let filters = |all: &std::collections::BTreeSet<(String, String)>| {
            all.iter()
                .filter(|p| !paging(p))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            (sent_path, filters(&sent_pairs)),
            (path, filters(&pairs)),
            "{call} sends {sent}, the guide writes {literal}"
        );
        for guide_paging in pairs.iter().filter(|p| paging(p)) {
            assert!(
                sent_pairs.contains(guide_paging),
                "{call}: {sent} lacks {guide_paging:?}"
            );
        }
    }
    // The recording: the twin serves FLAC at the guide's path, and the client asks that path.
    let output = common::tdc_on(&sandbox, &home)
        .args(["-v", "eval", "td.recording(45475).len()"])
        .output()
        .expect("tdc");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("tdc: > GET /api/calls/45475/record"),
        "{stderr}"
    );
}
