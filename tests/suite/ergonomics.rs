//! The small things used every day: shebang scripts and stdin, assertions with diffs and
//! `-k`, did-you-mean, the man page, profiles edited in place, `tdc doctor`, relative times.

use crate::common;

use std::io::Write;
use std::process::Stdio;

use common::{output, tdc, tdc_on, temp_dir, write_config, Sandbox, BIN};

#[test]
fn shebang_scripts_run_directly_and_stdin_is_a_script() {
    let dir = temp_dir("shebang");
    let script = dir.join("hello.rhai");
    std::fs::write(
        &script,
        format!("#!/usr/bin/env -S {BIN} run\nprint(`hello ${{ARGS[0]}}`);\n"),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (code, stdout, stderr) = output(
            std::process::Command::new(&script)
                .arg("world")
                .env("HOME", &dir)
                .stdin(Stdio::null()),
        );
        assert_eq!((code, stdout.as_str()), (0, "hello world\n"), "{stderr}");
    }
    let (code, stdout, _) = output(
        tdc(&dir)
            .args(["--sandbox", "run"])
            .arg(&script)
            .arg("again"),
    );
    assert_eq!((code, stdout.as_str()), (0, "hello again\n"));
    let (code, _, stderr) = output(tdc(&dir).arg("check").arg(&script));
    assert_eq!(code, 0, "{stderr}");

    let (_, stdout, _) =
        common::output_with_input(tdc(&dir).args(["--sandbox", "run", "-"]), "print(42);\n");
    assert_eq!(stdout, "42\n");
}

#[test]
fn assertions_show_what_differs_and_k_selects_tests() {
    let dir = temp_dir("asserts");
    std::fs::write(
        dir.join("maps_test.rhai"),
        "fn test_maps() {\n    assert_eq(#{a: 1, b: 2}, #{a: 1, b: 3});\n}\nfn test_fine() { assert(1 < 2, \"order\"); assert_ne(1, 2); }\n",
    )
    .unwrap();
    let (code, stdout, _) = output(tdc(&dir).arg("test").arg(&dir));
    assert_eq!(code, 1);
    assert!(
        stdout.contains(
            "maps_test.rhai:2:5: error: assert_eq failed (actual != expected): b: 2 != 3"
        ),
        "{stdout}"
    );
    // Failures last, just above the count.
    let tail: Vec<&str> = stdout.lines().rev().take(3).collect();
    assert_eq!(tail[0], "1 passed, 1 failed");
    assert!(tail[1].contains("::test_maps: "), "{stdout}");
    let (code, stdout, _) = output(tdc(&dir).args(["test", "-k", "fine"]).arg(&dir));
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("test_fine") && !stdout.contains("test_maps"),
        "{stdout}"
    );
    assert!(stdout.ends_with("1 passed, 0 failed\n"));
}

#[test]
fn misspellings_get_suggestions() {
    let home = temp_dir("did-you-mean");
    let (code, _, stderr) = output(tdc(&home).args(["--sandbox", "eval", "td.cdr()"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("did you mean .cdrs()?"), "{stderr}");
    let (code, _, stderr) = output(tdc(&home).args([
        "--sandbox",
        "eval",
        "td.cdrs().where(\"startat\", \">\", \"2025-01-01\").first()",
    ]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("unknown field 'startat' for cdrs; did you mean start_at"),
        "{stderr}"
    );
    assert!(stderr.contains("(fields: id, call_id"), "{stderr}");
}

#[test]
fn the_man_page_renders_and_help_has_examples() {
    let home = temp_dir("man");
    let (code, page, _) = output(tdc(&home).arg("man"));
    assert_eq!(code, 0);
    assert!(
        page.starts_with(".ie") || page.contains(".TH tdc 1"),
        "{page}"
    );
    match std::process::Command::new("man")
        .args(["-l", "-"])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(mut man) => {
            man.stdin
                .take()
                .unwrap()
                .write_all(page.as_bytes())
                .unwrap();
            let rendered = common::text(&man.wait_with_output().unwrap().stdout);
            assert!(
                rendered.contains("NAME") && rendered.contains("tdc"),
                "{rendered}"
            );
        }
        Err(_) => assert!(
            std::env::var_os("CI").is_none(),
            "man is not installed on CI"
        ),
    }
    // Every command, and every command of a command.
    for command in [
        "repl",
        "run",
        "check",
        "eval",
        "test",
        "config",
        "defs",
        "lsp",
        "completions",
        "profile",
        "profile list",
        "profile show",
        "profile add",
        "profile set",
        "profile remove",
        "profile use",
        "doctor",
        "export",
        "man",
        "jupyter",
        "jupyter install",
        "jupyter remove",
        "jupyter kernel",
        "sandbox",
    ] {
        let (code, help, _) = output(tdc(&home).args(command.split(' ')).arg("--help"));
        assert_eq!(code, 0);
        assert!(help.contains("Examples:\n  tdc"), "{command}: {help}");
    }
}

#[test]
fn profiles_are_edited_in_place_and_doctor_says_what_works() {
    let sandbox = Sandbox::start(&["--leads", "100", "--cdrs", "100"]);
    let home = temp_dir("profiles");
    let config = write_config(
        &home,
        "# our dialers\ndefault_profile = \"old\"\n\n[profiles.old]  # retired\nurl = \"https://old.example\"\n",
    );
    let (code, _, stderr) = output(tdc(&home).args([
        "profile",
        "add",
        "twin",
        "--url",
        &sandbox.url,
        "--user",
        "sandbox",
        "--password-env",
        "TWIN_PW",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, _) = output(tdc(&home).args(["profile", "use", "twin"]));
    assert_eq!(code, 0);
    let (_, list, _) = output(tdc(&home).args(["profile", "list"]));
    // In columns: the names padded to the longest.
    assert!(list.contains("  old   https://old.example"), "{list}");
    assert!(list.contains(&format!("* twin  {}", sandbox.url)), "{list}");
    let url_column = |name: &str| {
        list.lines()
            .find(|l| l.contains(name))
            .unwrap()
            .find("http")
    };
    assert_eq!(url_column(" old "), url_column(" twin "), "{list}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.starts_with("# our dialers\ndefault_profile = \"twin\""),
        "{text}"
    );
    assert!(text.contains("[profiles.old]  # retired"), "{text}");

    let (code, report, _) = output(tdc(&home).arg("doctor").env("TWIN_PW", "sandbox"));
    assert_eq!(code, 0, "{report}");
    for step in ["config", "target", "dns", "connect", "auth", "clock"] {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with("ok") && l.contains(step)),
            "{step}: {report}"
        );
    }
    let (code, report, _) = output(tdc(&home).arg("doctor").env("TWIN_PW", "wrong"));
    assert_eq!(code, 1);
    let auth = report.lines().find(|l| l.contains("auth")).unwrap();
    assert!(auth.starts_with("FAIL") && auth.contains("401"), "{report}");
    assert!(!report.contains("wrong"));
    // Nothing listens: the step that fails says so, and nothing before it claims a connection.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (code, report, _) = output(
        tdc(&home)
            .args(["doctor", "--url", &nobody, "--user", "ops"])
            .env("TDC_PASSWORD", "pw"),
    );
    assert_eq!(code, 1, "{report}");
    let connect = report.lines().find(|l| l.contains("connect")).unwrap();
    assert!(
        connect.starts_with("FAIL") && connect.contains("is the dialer up"),
        "{report}"
    );
    assert!(!report.contains("auth"), "{report}");

    let (code, _, _) = output(tdc(&home).args(["profile", "remove", "old"]));
    assert_eq!(code, 0);
    let (_, list, _) = output(tdc(&home).args(["profile", "list"]));
    assert!(!list.contains("old"), "{list}");
}

#[test]
fn relative_times_for_nightly_reports() {
    let sandbox = Sandbox::start(&["--leads", "100", "--cdrs", "100"]);
    let home = temp_dir("relative-times");
    let (code, stdout, stderr) = output(tdc_on(&sandbox, &home).args([
        "eval",
        "[now() - parse_time(\"-24h\"), parse_time(\"today\") - parse_time(\"yesterday\"), parse_time(\"+30m\") - now()]",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(value[0], 86_400);
    assert_eq!(value[1], 86_400);
    assert!(
        (1_799..=1_800).contains(&value[2].as_i64().unwrap()),
        "{value}"
    );
}

#[test]
fn editor_definitions_cover_the_stdlib_with_its_docs() {
    let dir = temp_dir("defs");
    let out = dir.join("defs");
    let (code, _, stderr) = output(tdc(&dir).arg("defs").arg(&out));
    assert_eq!(code, 0, "{stderr}");
    let cdr = std::fs::read_to_string(out.join("cdr.d.rhai")).unwrap();
    assert!(cdr.starts_with("module cdr;"), "{cdr}");
    let kpis = cdr
        .find("fn kpis(rows: Array) -> Map;")
        .expect("cdr::kpis is defined");
    let doc = &cdr[..kpis];
    assert!(doc.trim_end().ends_with("/// ```"), "{doc}");
    assert!(
        !cdr.contains("anon$"),
        "closures are not functions users call"
    );
    let recycle = std::fs::read_to_string(out.join("recycle.d.rhai")).unwrap();
    assert!(recycle.contains("fn last_calls(td: ?, campaign: ?) -> ?;"));
}

#[test]
fn a_recursion_a_thousand_deep_runs_alike_under_run_and_test() {
    let dir = temp_dir("deep");
    let depth = "fn depth(n) { if n == 0 { 0 } else { 1 + depth(n - 1) } }\n";
    let run = dir.join("deep.rhai");
    std::fs::write(&run, format!("{depth}print(depth(990));\n")).unwrap();
    let (code, stdout, stderr) = output(tdc(&dir).args(["--sandbox", "run"]).arg(&run));
    assert_eq!((code, stdout.trim()), (0, "990"), "{stderr}");
    let test = dir.join("deep_test.rhai");
    std::fs::write(
        &test,
        format!("{depth}fn test_deep() {{ if depth(990) != 990 {{ throw \"wrong\"; }} }}\n"),
    )
    .unwrap();
    let (code, stdout, stderr) = output(tdc(&dir).arg("test").arg(&test));
    assert_eq!(code, 0, "{stdout}{stderr}");
    // Past the limit: one clear error, not a crash.
    std::fs::write(&run, format!("{depth}print(depth(100000));\n")).unwrap();
    let (code, _, stderr) = output(tdc(&dir).args(["--sandbox", "run"]).arg(&run));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("Stack overflow"), "{stderr}");
}
