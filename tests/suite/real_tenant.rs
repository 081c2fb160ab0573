//! What real tenants send and do beyond the vendor guide: their CDR payload, JSON numbers,
//! Digest authentication, refusals before the API (IP allow-list), resources the guide does
//! not show, and a dialer whose data changes while a script runs.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use common::{int, output, root, tdc, tdc_on, temp_dir, write_config, Sandbox};
use serde_json::{json, Value};

/// Ten finished calls shaped like the real tenant's payload in the evidence (integer ids, no
/// `id`, `q850`, `bill_duration` or `campaign_id`), six of them NORMAL_CLEARING, plus one
/// still ongoing (no `end_at`).
fn real_cdrs() -> Value {
    let mut rows = Vec::new();
    for n in 0..11 {
        let answered = n < 6;
        let ongoing = n == 10;
        rows.push(json!({
            "object_type_id": 4, "object_id": 0,
            "start_at": format!("2026-09-08 00:{:02}:17", n),
            "end_at": if ongoing { Value::Null } else { json!(format!("2026-09-08 00:{:02}:51", n)) },
            "src": "593990899917@did.commpeak.com", "dst": "0007281",
            "call_uuid": format!("e9a46b6f-0000-0000-0000-{n:012}"),
            "call_duration": if answered { 35 } else if ongoing { 0 } else { 12 },
            "status": if answered { "NORMAL_CLEARING" } else if ongoing { "" } else { "NO_ANSWER" },
            "call_id": 113_332 + n, "caller_user_id": 5, "caller_user": "System",
            "dst_country": "EC", "agent_callerid_name": "Agent", "agent_callerid_number": "0991",
            "client_callerid_name": "Client", "client_callerid_number": "0992",
            "client_hangup_disposition": "recv_bye",
            "public_recording_url": format!("https://tenant.example/record/public/{}/abc/as/mp3", 113_332 + n)
        }));
    }
    json!({ "cdrs": rows })
}

fn eval_at(url: &str, home: &Path, code: &str) -> (i32, String, String) {
    output(
        tdc(home)
            .args(["--url", url, "--user", "ops", "eval", code])
            .env("TDC_PASSWORD", "stub-password"),
    )
}

#[test]
fn the_real_cdr_payload_gives_real_figures_not_zeros() {
    let body = real_cdrs().to_string();
    let app = Router::new().route(
        "/api/cdrs",
        get(move || async move { ([("content-type", "application/json")], body) }),
    );
    let (url, _runtime) = common::serve(app);
    let home = temp_dir("real-cdrs");
    let (code, stdout, stderr) = eval_at(
        &url,
        &home,
        r#"import "cdr" as cdr;
           let rows = td.cdrs().to_array();
           let k = cdr::kpis(rows);
           let c = rows[0];
           [k.attempts, k.answered, k.basis, c.caller_user_id == 5, c.call_id, c.dst,
            c.agent_callerid_number, cdr::by_cause(rows).map(|x| [x.status, x.calls])]"#,
    );
    assert_eq!(code, 0, "{stderr}");
    let value: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(value[0], 10, "{stdout}");
    assert_eq!(value[1], 6, "{stdout}");
    assert_eq!(
        value[2],
        "finished: end_at set; answered: NORMAL_CLEARING with call_duration > 0; seconds: call_duration"
    );
    assert_eq!(value[3], true);
    assert_eq!(value[4], 113_332);
    assert_eq!(value[5], "0007281");
    assert_eq!(value[6], "0991");
    assert_eq!(value[7], json!([["NORMAL_CLEARING", 6], ["NO_ANSWER", 4]]));

    // Rows with nothing to tell finished calls by are an error that names the fields.
    let (code, _, stderr) = eval_at(
        &url,
        &home,
        r#"import "cdr" as cdr; cdr::kpis([#{ status: "NORMAL_CLEARING", call_duration: 5 }])"#,
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("neither q850 nor end_at"), "{stderr}");
}

#[test]
fn a_machine_off_the_allow_list_is_told_what_to_do() {
    let nginx = "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    let app = Router::new().fallback(move || async move {
        (
            StatusCode::FORBIDDEN,
            [("content-type", "text/html")],
            nginx,
        )
            .into_response()
    });
    let (url, _runtime) = common::serve(app);
    let home = temp_dir("allow-list");
    let (code, stdout, stderr) = eval_at(&url, &home, "td.campaigns()");
    assert_eq!(code, 1, "{stdout}");
    let lines = common::error_lines(&stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("403"), "{stderr}");
    assert!(
        lines[0].contains("refused this machine")
            && lines[0].contains("IP allow-list")
            && lines[0].contains("public address")
            && lines[0].contains("API user 'ops'"),
        "{stderr}"
    );
    assert!(!stderr.contains("stub-password"));
}

#[test]
fn a_refused_password_names_the_user_and_its_source_never_the_password() {
    let sandbox = Sandbox::start(&[]);
    let home = temp_dir("refused");
    write_config(
        &home,
        &format!(
            "[profiles.prod]\nurl = \"{}\"\nuser = \"ops\"\npassword_env = \"TD_PROD_PASSWORD\"\n",
            sandbox.url
        ),
    );
    let (code, _, stderr) = output(
        tdc(&home)
            .args(["--profile", "prod", "eval", "td.campaigns()"])
            .env("TD_PROD_PASSWORD", "wrong-secret-123"),
    );
    assert_eq!(code, 1);
    let lines = common::error_lines(&stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("401"), "{stderr}");
    assert!(lines[0].contains("user 'ops'"), "{stderr}");
    assert!(lines[0].contains("$TD_PROD_PASSWORD"), "{stderr}");
    assert!(lines[0].contains("tdc config"), "{stderr}");
    assert!(!stderr.contains("wrong-secret-123"));
}

#[test]
fn digest_authentication_works_with_curl_and_with_tdc() {
    let sandbox = Sandbox::start(&["--auth", "digest"]);
    let home = temp_dir("digest");
    // An independent client: curl's own Digest implementation.
    let curl = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--digest",
            "-u",
        ])
        .arg("sandbox:sandbox")
        .arg(format!("{}/api/cdrs?limit=1;0", sandbox.url))
        .output()
        .expect("curl is installed (.ci/run installs it)");
    assert_eq!(common::text(&curl.stdout), "200");
    let basic = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-u",
            "sandbox:sandbox",
        ])
        .arg(format!("{}/api/cdrs?limit=1;0", sandbox.url))
        .output()
        .expect("curl");
    assert_eq!(common::text(&basic.stdout), "401", "Basic is refused");

    // tdc answers the challenge (auth = auto, the default) and runs the whole guide.
    let (code, stdout, stderr) = output(
        tdc_on(&sandbox, &home)
            .args(["--yes", "run"])
            .arg(root().join("scripts/guide_tour.rhai")),
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("every operation worked"), "{stdout}");

    // The stdlib's tests on an embedded sandbox that takes Digest only.
    let (code, stdout, stderr) =
        output(common::stdlib_tests(&home, &[]).env("TDC_SANDBOX_AUTH", "digest"));
    assert_eq!(code, 0, "{stdout}{stderr}");

    // A profile that insists on Basic is refused, with the hint.
    write_config(
        &home,
        &format!(
            "[profiles.basic]\nurl = \"{}\"\nuser = \"sandbox\"\npassword_env = \"PW\"\nauth = \"basic\"\n",
            sandbox.url
        ),
    );
    let (code, _, stderr) = output(
        tdc(&home)
            .args(["--profile", "basic", "eval", "td.users().len()"])
            .env("PW", "sandbox"),
    );
    assert_eq!(code, 1);
    let error = common::error_lines(&stderr);
    assert_eq!(error.len(), 1, "{stderr}");
    assert!(
        error[0].contains("401")
            && error[0].ends_with(": the dialer asks for Digest authentication and this connection sends Basic only (auth = \"basic\"); set auth = \"digest\" or \"auto\" in the profile"),
        "{stderr}"
    );
    let (code, stdout, stderr) = output(
        tdc(&home)
            .args(["--profile", "basic", "config"])
            .env("PW", "sandbox"),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("basic (from auth in profile 'basic')"),
        "{stdout}"
    );
}

fn run_guide_tour_and_stdlib_tests(numbers: &str, home: &Path) {
    let sandbox = Sandbox::start(&["--numbers", numbers]);
    let (code, stdout, stderr) = output(
        tdc_on(&sandbox, home)
            .args(["--yes", "run"])
            .arg(root().join("scripts/guide_tour.rhai")),
    );
    assert_eq!(code, 0, "{numbers}: {stdout}{stderr}");
    assert!(
        stdout.contains("every operation worked"),
        "{numbers}: {stdout}"
    );
    let (code, stdout, stderr) =
        output(common::stdlib_tests(home, &[]).env("TDC_SANDBOX_NUMBERS", numbers));
    assert_eq!(code, 0, "{numbers}: {stdout}{stderr}");
}

#[test]
fn the_guide_and_the_stdlib_hold_on_json_numbers() {
    run_guide_tour_and_stdlib_tests("json", &temp_dir("numbers-json"));
}

#[test]
fn the_guide_and_the_stdlib_hold_on_mixed_numbers() {
    run_guide_tour_and_stdlib_tests("mixed", &temp_dir("numbers-mixed"));
}

#[test]
fn json_numbers_arrive_as_numbers_and_text_stays_text() {
    let sandbox = Sandbox::start(&["--numbers", "json"]);
    let body = sandbox.get_json("/api/cdrs?limit=200;0");
    let cdrs = body["cdrs"].as_array().unwrap();
    assert!(cdrs
        .iter()
        .all(|c| c["id"].is_u64() && c["call_duration"].is_u64()));
    assert!(cdrs
        .iter()
        .all(|c| c["dst"].is_string() && c["src"].is_string()));
    let inbound: Vec<&Value> = cdrs.iter().filter(|c| c["object_type_id"] == 4).collect();
    assert!(!inbound.is_empty(), "about 5% of calls are inbound");
    for call in inbound {
        assert!(call["src"].as_str().unwrap().contains("@did."), "{call}");
        assert!(call["dst"].as_str().unwrap().starts_with('0'), "{call}");
        assert!(
            call["campaign_id"].is_null() && call["lead_id"].is_null(),
            "{call}"
        );
    }
}

#[test]
fn users_comments_weights_and_real_lead_fields() {
    let sandbox = Sandbox::start(&[]);
    let home = temp_dir("resources");
    let (code, stdout, stderr) = output(tdc_on(&sandbox, &home).args([
        "--yes",
        "eval",
        r#"let users = td.users();
           let comments = td.comments(49969);
           let updated = td.update_campaign_leads([78057], #{ campaignLead: #{ weight: 7 } });
           let listed = td.campaign_leads("lead_id", 49969)[0];
           let added = td.add_leads([#{ phone: "447700009999", phone_normalized: "447700009999",
                                        phone_normalized2: "", lat: 51.5, lng: -0.12 }]);
           let c = td.cdrs().where("q850", 16).first();
           [users.len(), users[0].username, users[1].desks.len(), comments.len(),
            comments[0].lead_id, comments[0].creator_user_id > 100, updated[0].weight,
            listed.weight, added[0].id > 0, c.caller_user_id == c.user_id,
            td.campaign(12).statuses.map(|s| s.id).contains(69),
            td.campaign(12).default_busy_status]"#,
    ]));
    assert_eq!(code, 0, "{stderr}");
    let value: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        value,
        json!([25, "system", 1, 2, 49969, true, 7, 7, true, true, true, 1]),
        "{stdout}"
    );
    // A recording's public link is served without credentials.
    let (code, stdout, stderr) = output(tdc_on(&sandbox, &home).args([
        "eval",
        "td.cdrs().where(\"id\", 5475).first().public_recording_url",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let link: String = serde_json::from_str(&stdout).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (status, bytes) = runtime.block_on(async {
        let response = common::http().get(&link).send().await.unwrap();
        (response.status().as_u16(), response.bytes().await.unwrap())
    });
    assert_eq!(status, 200, "{link}");
    assert!(bytes.starts_with(b"fLaC"));
}

#[test]
fn statuses_are_tenant_wide_and_the_template_points_at_them() {
    let sandbox = Sandbox::start(&[]);
    let home = temp_dir("statuses");
    let (code, stdout, stderr) = output(tdc_on(&sandbox, &home).args([
        "eval",
        r#"let bad = [];
           for c in td.campaigns() {
               let ids = c.statuses.map(|s| s.id);
               for key in c.keys() {
                   if key.starts_with("default_") && key.ends_with("_status") && !ids.contains(c[key]) {
                       bad.push(`${c.id} ${key} ${c[key]}`);
                   }
               }
               if !ids.contains(c.feedback_default_status) { bad.push(`${c.id} feedback`); }
           }
           let names = #{};
           for c in td.campaigns() { for s in c.statuses { names[`${s.id}`] = s.name; } }
           [bad, names["1"], names["2"], names["11"], names["69"]]"#,
    ]));
    assert_eq!(code, 0, "{stderr}");
    let value: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        value,
        json!([[], "Busy", "Default Status", "No Answer", "Do Not Call"])
    );
}

#[test]
fn a_live_twin_grows_and_completes_its_calls() {
    let sandbox = Sandbox::start(&["--live", "600", "--cdrs", "2000", "--leads", "500"]);
    let get = |path: String| sandbox.get_json(&path);
    let count = |get: &dyn Fn(String) -> Value| {
        get("/api/cdrs?fields=id&limit=1000;2000".to_string())["cdrs"]
            .as_array()
            .unwrap()
            .len()
    };
    // Calls are placed as time passes: waited on until the first appear, then until more do.
    let grown_past = |than: usize| {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let now = count(&get);
            if now > than {
                return now;
            }
            assert!(Instant::now() < until, "still {now} calls after 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let first = grown_past(0);
    grown_past(first);

    // Enough calls in progress that one of them ends soon: an unanswered call rings 3-30 s,
    // but an answered one may talk for ten minutes, and a handful could all be answered.
    let until = Instant::now() + Duration::from_secs(30);
    let ongoing = loop {
        let page = get("/api/cdrs?q850=0&fields=id;end_at;q850&limit=1000;0".to_string());
        let ongoing: Vec<i64> = page["cdrs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["end_at"].is_null())
            .map(|c| int(&c["id"]))
            .collect();
        if ongoing.len() >= 20 {
            break ongoing;
        }
        assert!(
            Instant::now() < until,
            "only {} calls ongoing after 30 s",
            ongoing.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let started = Instant::now();
    let completed = loop {
        let done: Vec<Value> = ongoing
            .iter()
            .map(|id| get(format!("/api/cdrs?id={id}&fields=id;end_at;q850;status")))
            .filter_map(|page| page["cdrs"].get(0).cloned())
            .filter(|c| !c["end_at"].is_null())
            .collect();
        if let Some(call) = done.into_iter().next() {
            break call;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no ongoing call completed"
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    assert!(int(&completed["q850"]) > 0, "{completed}");
    assert!(completed["status"].is_string(), "{completed}");
    // Its campaign lead counted the call.
    let history = get("/api/campaign-leads/limit/1000;0/".to_string());
    let counted = history["campaignLeads"]
        .as_array()
        .unwrap()
        .iter()
        .any(|cl| {
            cl["history"].as_array().is_some_and(|h| {
                h.iter()
                    .any(|line| line.as_str().unwrap_or("").contains(" call "))
            })
        });
    assert!(counted, "a campaign lead records its live call");
}
