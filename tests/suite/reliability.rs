//! Nothing lost, nothing duplicated, nothing leaked: imports under injected faults, resumed
//! imports, non-idempotent calls after lost answers, guardrails, and secrets.

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::{output, send_signal, tdc, temp_dir, write_config, Sandbox};
use serde_json::Value;

const PASSWORD: &str = "sandbox";

/// A config with a profile for the sandbox (faults are ridden out within the retry budget).
fn profile_home(name: &str, sandbox: &Sandbox) -> common::TempDir {
    let home = temp_dir(name);
    write_config(
        &home,
        &format!(
            "[profiles.box]\nurl = \"{}\"\nuser = \"sandbox\"\npassword_env = \"BOX_PW\"\nconcurrency = 4\n",
            sandbox.url
        ),
    );
    home
}

fn tdc_box(home: &Path) -> std::process::Command {
    let mut command = tdc(home);
    command.args(["--profile", "box"]).env("BOX_PW", PASSWORD);
    command
}

/// A script that imports `n` leads with identifiers `{tag}-0 .. {tag}-{n-1}`.
fn import_script(home: &Path, tag: &str, n: usize, journal: Option<&Path>) -> std::path::PathBuf {
    let options = match journal {
        Some(path) => format!("#{{ chunk: 100, journal: \"{}\" }}", path.display()),
        None => "#{ chunk: 100 }".to_string(),
    };
    let script = home.join(format!("import-{tag}.rhai"));
    std::fs::write(
        &script,
        format!(
            "let leads = [];\nfor i in 0..{n} {{ leads.push(#{{ phone: `4470{{i + 10000000}}`, original_identifier: `{tag}-${{i}}` }}); }}\nlet added = td.add_leads(leads, {options});\nprint(added.len());\n"
        )
        .replace("{i + 10000000}", "${i + 10000000}"),
    )
    .unwrap();
    script
}

/// Identifiers starting with `tag-`, read through the API of a second, fault-free sandbox
/// started on the saved state (an independent client: reqwest, not tdc).
fn identifiers_in_state(state: &Path, tag: &str) -> Vec<String> {
    let checker = Sandbox::start(&["--state", state.to_str().unwrap()]);
    let prefix = format!("{tag}-");
    let mut ids = Vec::new();
    let mut offset = 0;
    loop {
        let page = checker.get_json(&format!("/api/leads/limit/1000;{offset}/"));
        let leads = page["leads"].as_array().unwrap();
        ids.extend(
            leads
                .iter()
                .filter_map(|lead| lead["original_identifier"].as_str())
                .filter(|id| id.starts_with(&prefix))
                .map(str::to_string),
        );
        if leads.len() < 1000 {
            break;
        }
        offset += 1000;
    }
    ids.sort();
    ids
}

fn expect_exactly_once(state: &Path, tag: &str, n: usize) {
    let ids = identifiers_in_state(state, tag);
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no duplicates");
    assert_eq!(ids.len(), n, "every lead arrived");
}

/// A small sandbox with the README's fault mix (and `extra` flags) that keeps its state in a
/// file, for checking afterwards what arrived.
fn faulty_sandbox(name: &str, extra: &[&str]) -> (Sandbox, std::path::PathBuf, common::TempDir) {
    let state_dir = temp_dir(&format!("{name}-state"));
    let state = state_dir.join("state.json");
    let mut args = vec![
        "--leads",
        "100",
        "--cdrs",
        "100",
        "--faults",
        "500=0.1,429=0.1,reset=0.05,lost=0.05",
        "--state",
        state.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    (Sandbox::start(&args), state, state_dir)
}

#[test]
fn an_import_under_faults_arrives_exactly_once() {
    let (sandbox, state, _state_dir) = faulty_sandbox("faults", &[]);
    let home = profile_home("faults", &sandbox);
    let script = import_script(&home, "flt", 1500, None);
    let (code, stdout, stderr) = output(tdc_box(&home).args(["--yes", "run"]).arg(&script));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), "1500");
    expect_exactly_once(&state, "flt", 1500);
}

/// The README's fault mix at 20 ms: the import finishes, exactly once, in pages of
/// reconciliation rather than a look-up per lead (the benchmark reports the figures).
#[test]
fn an_import_under_faults_and_latency_finishes_in_few_requests() {
    let (sandbox, state, _state_dir) = faulty_sandbox("faults-latency", &["--latency-ms", "20"]);
    let home = profile_home("faults-latency", &sandbox);
    let script = home.join("import.rhai");
    std::fs::write(
        &script,
        "let leads = [];\nfor i in 0..5000 { leads.push(#{ phone: `4477${i + 10000000}`, original_identifier: `lat-${i}` }); }\nprint(td.add_leads(leads).len());\n",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = output(tdc_box(&home).args(["-v", "--yes", "run"]).arg(&script));
    let took = started.elapsed();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), "5000");
    let requests = stderr.lines().filter(|l| l.starts_with("tdc: > ")).count();
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("tdc: add_leads: 5000 inserted ("))
        .unwrap_or_else(|| panic!("no summary line: {stderr}"));
    assert!(
        summary.ends_with(&format!(", {requests} requests")),
        "{summary}"
    );
    // Fault-free it takes 11 requests (the watermark and 10 posts); a look-up per lead
    // after each unknown outcome took thousands.
    assert!(requests < 400, "{requests} requests: {summary}");
    assert!(took < Duration::from_secs(120), "{took:?}");
    expect_exactly_once(&state, "lat", 5000);
}

/// A listing that fits one page is one request; a scan of full pages asks for few pages past
/// the end; a dialer answering 429 to half the requests gets a smaller window, and the scan
/// completes.
#[test]
fn listings_send_few_requests_and_back_off_when_rate_limited() {
    let sandbox = Sandbox::start(&["--leads", "300", "--cdrs", "20000"]);
    let home = profile_home("requests", &sandbox);
    let requests_of = |code: &str| {
        let (status, stdout, stderr) = output(tdc_box(&home).args(["-v", "eval", code]));
        assert_eq!(status, 0, "{stderr}");
        let sent = stderr.lines().filter(|l| l.starts_with("tdc: > ")).count();
        (sent, stdout.trim().to_string())
    };
    assert_eq!(requests_of("td.campaigns().len()"), (1, "4".to_string()));
    assert_eq!(
        requests_of("td.find_leads(\"phone\", \"447700001234\").len()"),
        (1, "1".to_string())
    );
    let (sent, count) = requests_of("td.cdrs().count()");
    assert_eq!(count, "20000");
    // 20 full pages and the empty one that ends the scan; the end found costs at most 3 more.
    assert!((21..=24).contains(&sent), "{sent} requests");
    let (sent, count) = requests_of("td.cdrs().limit(4500).count()");
    assert_eq!(
        (sent, count.as_str()),
        (5, "4500"),
        "a limit is read without a page past it"
    );

    let limited = Sandbox::start(&["--leads", "300", "--cdrs", "3000", "--faults", "429=0.5"]);
    let home = profile_home("rate-limited", &limited);
    let (status, stdout, stderr) = output(tdc_box(&home).args(["-v", "eval", "td.cdrs().count()"]));
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(stdout.trim(), "3000");
    assert!(
        stderr.contains("requests in flight (429 too many requests)"),
        "the window shrinks: {stderr}"
    );
}

/// A sandbox with `latency_ms` that keeps its state in a file, a profile for it, and an
/// import of `n` leads with a journal, started and interrupted by `signal` after `wait`.
/// Returns what is needed to check the outcome and resume.
struct Interrupted {
    _sandbox: Sandbox,
    _state_dir: common::TempDir,
    state: std::path::PathBuf,
    home: common::TempDir,
    journal: std::path::PathBuf,
    script: std::path::PathBuf,
    status: std::process::ExitStatus,
    signalled_for: Duration,
}

fn interrupted_import(
    name: &str,
    latency_ms: &str,
    n: usize,
    wait: Duration,
    signal: &str,
) -> Interrupted {
    let state_dir = temp_dir(&format!("{name}-state"));
    let state = state_dir.join("state.json");
    let sandbox = Sandbox::start(&[
        "--leads",
        "100",
        "--cdrs",
        "100",
        "--latency-ms",
        latency_ms,
        "--state",
        state.to_str().unwrap(),
    ]);
    let home = profile_home(name, &sandbox);
    let journal = home.join("import.journal.jsonl");
    let script = import_script(&home, name, n, Some(&journal));
    let mut child = tdc_box(&home)
        .arg("run")
        .arg(&script)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(wait);
    let signalled = std::time::Instant::now();
    send_signal(child.id(), signal);
    let status = child.wait().unwrap();
    Interrupted {
        _sandbox: sandbox,
        _state_dir: state_dir,
        state,
        home,
        journal,
        script,
        status,
        signalled_for: signalled.elapsed(),
    }
}

/// Runs the same import again and checks that every lead is in exactly once.
fn resume(run: &Interrupted, name: &str, n: usize) {
    let (code, stdout, stderr) = output(tdc_box(&run.home).arg("run").arg(&run.script));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        n.to_string(),
        "the resumed call returns every lead"
    );
    expect_exactly_once(&run.state, name, n);
    assert!(
        !run.journal.exists(),
        "the journal of a completed import is removed"
    );
}

#[test]
fn a_killed_import_resumes_from_its_journal_exactly_once() {
    let run = interrupted_import("kil", "60", 4000, Duration::from_millis(900), "KILL");
    let partial = identifiers_in_state(&run.state, "kil").len();
    assert!(
        partial > 0 && partial < 4000,
        "killed part-way: {partial} leads in"
    );
    assert!(run.journal.exists(), "the journal survives the kill");
    resume(&run, "kil", 4000);
}

#[test]
fn ctrl_c_during_an_import_exits_130_and_the_journal_resumes() {
    let run = interrupted_import("cc", "400", 2000, Duration::from_millis(1000), "INT");
    assert_eq!(run.status.code(), Some(130));
    assert!(
        run.signalled_for < Duration::from_secs(5),
        "{:?}",
        run.signalled_for
    );
    resume(&run, "cc", 2000);
}

#[test]
fn clone_and_move_are_not_repeated_after_a_lost_answer() {
    let state_dir = temp_dir("lost-state");
    let state = state_dir.join("state.json");
    let sandbox = Sandbox::start(&[
        "--leads",
        "300",
        "--cdrs",
        "100",
        "--faults",
        "lost=0.5",
        "--state",
        state.to_str().unwrap(),
    ]);
    let home = profile_home("lost", &sandbox);
    let (code, stdout, stderr) = output(tdc_box(&home).args([
        "eval",
        "[td.clone_campaign(12).name, td.move_to_campaign([49969], 12, 13, true)[0].campaign_id]",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let value: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(value, serde_json::json!(["[clone of] Campaign 12", 13]));
    // Checked through the API, as a user would, not through the state file's layout.
    let campaigns = sandbox.get_json_through_faults("/api/campaigns/");
    let clones = campaigns["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "[clone of] Campaign 12")
        .count();
    assert_eq!(clones, 1, "one clone, however many answers were lost");
    let guide = sandbox.get_json_through_faults("/api/campaign-leads/lead_id/49969/");
    let campaigns_of_guide: Vec<i64> = guide["campaignLeads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cl| common::int(&cl["campaign_id"]))
        .collect();
    assert_eq!(campaigns_of_guide, [13], "moved once, to 13");
}

#[test]
fn remote_changes_need_yes_and_plain_http_is_refused() {
    let home = temp_dir("guard");
    let (code, _, stderr) = output(
        tdc(&home)
            .args([
                "--url",
                "http://dialer.invalid",
                "--user",
                "ops",
                "eval",
                "1",
            ])
            .env("TDC_PASSWORD", "x"),
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("refusing plain http:// to dialer.invalid"),
        "{stderr}"
    );
    let remote = ["--url", "https://dialer.invalid", "--user", "ops"];
    let (code, _, stderr) = output(
        tdc(&home)
            .args(remote)
            .args(["eval", "td.assign([1], 12)"])
            .env("TDC_PASSWORD", "x"),
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("refusing to send PUT /api/campaign-leads/mass-assign to dialer.invalid (https://dialer.invalid/) without confirmation: pass --yes"),
        "{stderr}"
    );
    let (code, _, stderr) = output(
        tdc(&home)
            .args(remote)
            .args(["--yes", "eval", "td.assign([1], 12)"])
            .env("TDC_PASSWORD", "x"),
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("PUT /api/campaign-leads/mass-assign: cannot connect"),
        "with --yes it is sent: {stderr}"
    );
}

#[test]
fn secrets_stay_out_of_traces_errors_journals_and_the_audit_log() {
    const SECRET: &str = "pw-4f9c2e7a-never-printed";
    let sandbox = Sandbox::start(&["--leads", "100", "--cdrs", "100"]);
    let home = temp_dir("secrets");
    let state_home = home.join("state");
    let script = home.join("work.rhai");
    std::fs::write(
        &script,
        format!(
            "td.add_leads([#{{ phone: \"4412345\", original_identifier: \"s-1\" }}], #{{ journal: \"{}\" }});\ntry {{ env(\"TDC_PASSWORD\"); }} catch (e) {{ print(e); }}\ntd.assign([1], 99);\n",
            home.join("j.jsonl").display()
        ),
    )
    .unwrap();
    // The sandbox rejects this password: every request is a 401, traced with -v.
    let (code, stdout, stderr) = output(
        tdc(&home)
            .args(["-v", "--url", &sandbox.url, "--user", "sandbox", "run"])
            .arg(&script)
            .env("TDC_PASSWORD", SECRET)
            .env("XDG_STATE_HOME", &state_home),
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("401"), "{stderr}");
    assert!(
        stderr.contains("tdc: > POST /api/leads"),
        "-v traces requests: {stderr}"
    );
    for text in [&stdout, &stderr] {
        assert!(!text.contains(SECRET), "leaked: {text}");
    }
    // Now with the right password: the audit log records the changes.
    let (code, _, stderr) = output(
        tdc(&home)
            .args(["-v", "--url", &sandbox.url, "--user", "sandbox", "run"])
            .arg(&script)
            .env("TDC_PASSWORD", PASSWORD)
            .env("XDG_STATE_HOME", &state_home),
    );
    assert_eq!(
        code, 1,
        "the script ends with the 404 of campaign 99: {stderr}"
    );
    let audit = std::fs::read_to_string(state_home.join("tdc/audit.jsonl")).unwrap();
    let lines: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["method"] == "POST" && l["path"] == "/api/leads" && l["status"] == 200),
        "{audit}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["path"] == "/api/campaign-leads/mass-assign" && l["status"] == 404),
        "{audit}"
    );
    assert!(lines
        .iter()
        .all(|l| l["body_sha256"].as_str().is_some_and(|d| d.len() == 64)));
    for file in walk(&home) {
        let text = std::fs::read(&file).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&text).contains(SECRET),
            "{} holds the password",
            file.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn bad_input_gets_one_clear_line_and_a_non_zero_exit() {
    let sandbox = Sandbox::start(&["--leads", "100", "--cdrs", "3000"]);
    let home = temp_dir("bad-input");
    std::fs::write(home.join("bad.csv"), "phone,name\n1,a\n2\n").unwrap();
    let cases: [(&str, &str); 7] = [
        (
            "td.add_leads([#{ phone: \"1\", colour: \"red\" }])",
            "POST /api/leads: 422 lead 0: unknown field 'colour' (0 leads applied, 1 not applied)",
        ),
        (
            "td.campaign(99)",
            "GET /api/campaigns/id/99/: 404 campaign 99 does not exist",
        ),
        (
            "td.assign(\"1\", 12)",
            "Function not found: assign (Dialer, ",
        ),
        (
            "td.cdrs().where(\"q850\", \"~\", 0)",
            "unknown operator '~'",
        ),
        (
            "td.get(\"/api/nothing\")",
            "GET /api/nothing: 404 no such route",
        ),
        ("read_csv(\"bad.csv\")", "read_csv: bad.csv: row 3:"),
        (
            "td.update_campaign_leads([78057], #{ campaignLead: #{ status_id: 20 } })",
            "422 status 20 does not belong to the campaign",
        ),
    ];
    for (code_text, expected) in cases {
        let (code, _, stderr) = output(
            tdc(&home)
                .current_dir(&home)
                .args([
                    "--url",
                    &sandbox.url,
                    "--user",
                    "sandbox",
                    "eval",
                    code_text,
                ])
                .env("TDC_PASSWORD", PASSWORD),
        );
        assert_eq!(code, 1, "{code_text}");
        let first = stderr.lines().next().unwrap_or("");
        assert!(first.contains(expected), "{code_text}: {stderr}");
        assert!(
            first.matches(" /api/").count() <= 1,
            "the endpoint is named once: {first}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // An answer over the size limit.
    write_config(&home, &format!("[profiles.small]\nurl = \"{}\"\nuser = \"sandbox\"\npassword_env = \"PW\"\nmax_response_mb = 1\n", sandbox.url));
    let longest = "let c = td.calls().where(\"call_bill_duration\", \">\", 400).fields([\"id\"]).first(); td.recording(c.id)";
    let (code, _, stderr) = output(
        tdc(&home)
            .args(["--profile", "small", "eval", longest])
            .env("PW", PASSWORD),
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("the answer is larger than 1 MiB; refusing to read it"),
        "{stderr}"
    );
    // An unreadable config file.
    let unreadable = temp_dir("unreadable");
    std::fs::create_dir_all(unreadable.join(".config/tdc/config.toml")).unwrap();
    let (code, _, stderr) = output(tdc(&unreadable).args(["eval", "1"]));
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("tdc: cannot read config file"),
        "{stderr}"
    );
}

#[test]
fn a_query_that_fails_while_it_is_shown_is_one_line_and_a_failure() {
    let home = temp_dir("shown-query");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let tdc_down = || {
        let mut command = tdc(&home);
        command
            .args(["--url", &url, "--user", "ops"])
            .env("TDC_PASSWORD", "pw");
        command
    };
    // The query is read only to be printed: its failure reads as any request's.
    for format in ["table", "json", "ndjson", "csv"] {
        let (code, stdout, stderr) = output(tdc_down().args(["eval", "-o", format, "td.cdrs()"]));
        assert_eq!(code, 1, "{format}");
        assert_eq!(stdout, "", "{format}");
        assert_eq!(stderr.lines().count(), 1, "{format}: {stderr}");
        assert!(
            stderr.starts_with("tdc: GET /api/cdrs: cannot connect"),
            "{format}: {stderr}"
        );
        assert!(!stderr.contains("#{"), "{format}: {stderr}");
    }
    let (code, stdout, stderr) = common::output_with_input(&mut tdc_down(), "td.cdrs()\n6 * 7\n");
    assert_eq!(code, 1, "a piped REPL with a failed entry fails: {stderr}");
    assert_eq!(stdout.trim(), "42", "the entries after it still run");
    assert!(
        stderr.contains("error: GET /api/cdrs: cannot connect") && !stderr.contains("#{"),
        "{stderr}"
    );
}

#[test]
fn a_host_never_reached_fails_at_once_and_long_retries_say_so() {
    let home = temp_dir("fail-fast");
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let started = std::time::Instant::now();
    let (code, _, stderr) = output(
        tdc(&home)
            .args([
                "--url",
                &url,
                "--user",
                "ops",
                "eval",
                "td.campaigns().len()",
            ])
            .env("TDC_PASSWORD", "pw"),
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot connect"), "{stderr}");

    // A dialer that answers 502 for ever: the retrying is told while it lasts.
    let app = axum::Router::new()
        .fallback(|| async { (axum::http::StatusCode::BAD_GATEWAY, "bad gateway") });
    let (url, _runtime) = common::serve(app);
    write_config(
        &home,
        &format!("[profiles.p]\nurl = \"{url}\"\nuser = \"ops\"\npassword_env = \"PW\"\nretry_budget_s = 7\n"),
    );
    let mut child = tdc(&home)
        .args(["--profile", "p", "eval", "td.campaigns().len()"])
        .env("PW", "pw")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let lines: Vec<(Duration, String)> = std::io::BufRead::lines(stderr)
        .map_while(Result::ok)
        .map(|line| (started.elapsed(), line))
        .collect();
    assert_eq!(child.wait().unwrap().code(), Some(1), "{lines:?}");
    let told: Vec<&(Duration, String)> = lines
        .iter()
        .filter(|(_, line)| line.contains("retrying until"))
        .collect();
    assert!(
        told.first()
            .is_some_and(|(at, _)| *at < Duration::from_secs(5)),
        "{lines:?}"
    );
    assert!(
        told[0]
            .1
            .starts_with("tdc: GET /api/campaigns/limit/1000;0/: 502 bad gateway"),
        "{lines:?}"
    );
    assert!(
        told.len() <= 2,
        "one line every few seconds at most: {lines:?}"
    );
    assert!(
        told.windows(2)
            .all(|w| w[1].0 - w[0].0 >= Duration::from_secs(4)),
        "{lines:?}"
    );
}
