//! The real `tdc` binary: scripts on a sandbox and on the embedded default, dry-run, exit codes,
//! and the exact text of error messages.

use crate::common;

use std::time::{Duration, Instant};

use common::{output, root, tdc, tdc_on, temp_dir, write_config, Sandbox, Test};

#[test]
fn the_guide_tour_runs_green_on_a_sandbox() {
    let sandbox = Sandbox::start(&[]);
    let home = temp_dir("tour-sandbox");
    let (code, stdout, stderr) = output(
        tdc_on(&sandbox, &home)
            .arg("run")
            .arg(root().join("scripts/guide_tour.rhai")),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("guide tour: every operation worked"),
        "{stdout}"
    );
    assert!(
        stderr.contains("tdc: running"),
        "the banner names the host: {stderr}"
    );
}

#[test]
fn the_guide_tour_runs_green_on_the_embedded_default() {
    let home = temp_dir("tour-embedded");
    let (code, stdout, stderr) = output(
        tdc(&home)
            .arg("run")
            .arg(root().join("scripts/guide_tour.rhai")),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("guide tour: every operation worked"));
    let notice: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("embedded sandbox"))
        .collect();
    assert_eq!(notice.len(), 1, "one line says so: {stderr}");
}

/// The embedded default holds the data of a default `tdc sandbox`, whose report's figures
/// `stdlib::the_cdr_reports_figures_match_an_independent_computation` checks from raw pages:
/// the same report, to the byte, is those figures.
#[test]
fn the_cdr_report_runs_on_the_embedded_default() {
    let report = root().join("scripts/cdr_report.rhai");
    let embedded = Test::new("report").arg("run").arg(&report).success();
    assert!(
        embedded
            .stdout
            .starts_with("CDR report 2025-01-01 .. 2025-01-06\n  calls "),
        "{}",
        embedded.stdout
    );
    let sandbox = Sandbox::start(&[]);
    Test::new("report-twin")
        .on(&sandbox)
        .arg("run")
        .arg(&report)
        .stdout(embedded.stdout.as_str())
        .success();
}

#[test]
fn dry_run_prints_mutations_and_leaves_the_sandbox_unchanged() {
    let sandbox = Sandbox::start(&["--leads", "200", "--cdrs", "100"]);
    let home = temp_dir("dry-run");
    let script = home.join("mutate.rhai");
    std::fs::write(
        &script,
        r#"
let added = td.add_leads([#{ phone: "441234", original_identifier: "dry" }]);
if added[0].id != () { throw "dry-run returned an id"; }
if td.assign([1], 15).len() != 0 { throw "dry-run assign returned campaign leads"; }
td.clone_campaign(12);
td.update_campaign_leads([78057], #{ campaignLead: #{ status_id: 69 } });
td.move_to_campaign([49969], 12, 13, true);
td.post("/api/leads", [#{ phone: "1" }]);
print("done");
"#,
    )
    .unwrap();
    let (code, stdout, stderr) = output(
        tdc_on(&sandbox, &home)
            .args(["run", "--dry-run"])
            .arg(&script),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), "done");
    for request in [
        "dry-run: POST /api/leads [{\"original_identifier\":\"dry\",\"phone\":\"441234\"}]",
        "dry-run: PUT /api/campaign-leads/mass-assign {\"where\":{\"id\":[1]},\"campaign_id\":15,\"remove_from_others\":false}",
        "dry-run: GET /api/campaigns/clone {\"campaign_id\":12}",
        "dry-run: PUT /api/campaign-leads/update-campaign-leads",
        "dry-run: PUT /api/campaign-leads/move-to-campaign",
    ] {
        assert!(stderr.contains(request), "missing `{request}` in:\n{stderr}");
    }
    let check = r#"[td.find_leads("original_identifier", "dry").len(), td.campaigns().len(),
                   td.campaign_leads("lead_id", 1).map(|c| c.campaign_id),
                   td.campaign_leads("lead_id", 49969)[0].campaign_id]"#;
    let (code, stdout, stderr) = output(tdc_on(&sandbox, &home).args(["eval", check]));
    assert_eq!(code, 0, "{stderr}");
    let state: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(state, serde_json::json!([0, 4, [12], 12]));
}

#[test]
fn eval_prints_json_with_numbers_where_the_server_sent_strings() {
    let home = temp_dir("eval");
    let (code, stdout, stderr) = output(tdc(&home).args([
        "eval",
        "let c = td.campaign(12); [c.id == 12, c.is_active == 1, c.client_callerid_number, td.cdrs().where(\"q850\", \">\", 0).first().q850 > 0]",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(value, serde_json::json!([true, true, "442080000012", true]));
}

#[test]
fn args_after_the_file_reach_the_script() {
    let home = temp_dir("args");
    let script = home.join("args.rhai");
    std::fs::write(&script, "print(to_json(ARGS));").unwrap();
    let (code, stdout, _) = output(tdc(&home).args(["--sandbox", "run"]).arg(&script).args([
        "2025-01-01",
        "--url",
        "x",
    ]));
    assert_eq!(code, 0);
    assert_eq!(stdout.trim(), r#"["2025-01-01","--url","x"]"#);
}

#[test]
fn compile_errors_show_file_line_column_and_caret() {
    let home = temp_dir("compile");
    let script = home.join("broken.rhai");
    std::fs::write(&script, "let a = 1;\nlet b = (a + ;\n").unwrap();
    let name = script.display().to_string();
    let expected = format!(
        "{name}:2:14: error: Unexpected ';'\n   2 | let b = (a + ;\n     |              ^\n"
    );
    let (code, stdout, stderr) = output(tdc(&home).arg("check").arg(&script));
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert_eq!(stderr, expected);
    let (code, _, run_stderr) = output(tdc(&home).arg("run").arg(&script));
    assert_eq!(code, 1);
    assert_eq!(
        run_stderr, stderr,
        "run and check render the same diagnostic"
    );
}

#[test]
fn runtime_errors_point_at_the_failing_line() {
    let home = temp_dir("runtime");
    let script = home.join("oops.rhai");
    std::fs::write(&script, "let rows = [1, 2];\nlet n = rowz.len();\n").unwrap();
    let (code, _, stderr) = output(tdc(&home).args(["--sandbox", "run"]).arg(&script));
    assert_eq!(code, 1);
    let name = script.display().to_string();
    assert!(stderr.contains(&format!("{name}:2:9: error: Variable not found: rowz\n   2 | let n = rowz.len();\n     |         ^\n")), "{stderr}");
}

#[test]
fn an_uncaught_api_error_is_one_line_and_a_caught_one_is_a_map() {
    let sandbox = Sandbox::start(&["--leads", "100", "--cdrs", "100"]);
    let home = temp_dir("api-error");
    let script = home.join("api.rhai");
    std::fs::write(
        &script,
        "try { td.assign([1], 99); } catch (e) { print(`${e.status} ${e.endpoint} ${e.message}`); }\ntd.assign([1], 99);\n",
    )
    .unwrap();
    let (code, stdout, stderr) = output(tdc_on(&sandbox, &home).arg("run").arg(&script));
    assert_eq!(code, 1);
    assert_eq!(
        stdout,
        "404 PUT /api/campaign-leads/mass-assign campaign 99 does not exist\n"
    );
    let errors = common::error_lines(&stderr);
    assert_eq!(
        errors,
        [format!(
            "{}:2:4: error: PUT /api/campaign-leads/mass-assign: 404 campaign 99 does not exist",
            script.display()
        )]
    );
}

#[test]
fn a_bad_operator_is_refused_before_anything_is_sent() {
    let home = temp_dir("operator");
    let (code, _, stderr) = output(
        tdc(&home)
            .args([
                "--url",
                "http://127.0.0.1:9",
                "--user",
                "u",
                "eval",
                "td.cdrs().where(\"q850\", \"=>\", 0).to_array()",
            ])
            .env("TDC_PASSWORD", "pw"),
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains(
            "unknown operator '=>' in where(\"q850\", \"=>\", …); use one of = != > < >= <="
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("connect"), "nothing was sent: {stderr}");
}

#[test]
fn usage_and_config_errors_exit_2() {
    let home = temp_dir("usage");
    let (code, _, stderr) = output(tdc(&home).args(["run", "no-such-file.rhai"]));
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("tdc: cannot read no-such-file.rhai:"),
        "{stderr}"
    );
    let (code, _, stderr) = output(tdc(&home).args(["--profile", "prod", "eval", "1"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("profile 'prod' is not in"), "{stderr}");
    let (code, _, stderr) = output(tdc(&home).args([
        "--url",
        "https://dialer.example",
        "--user",
        "ops",
        "eval",
        "1",
    ]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no password for ops at https://dialer.example/"),
        "{stderr}"
    );
    // Without a user, that is what is missing, whatever the password.
    let (code, _, stderr) = output(
        tdc(&home)
            .args(["--url", "https://dialer.example", "eval", "1"])
            .env("TDC_PASSWORD", "secret"),
    );
    assert_eq!(code, 2);
    assert_eq!(
        stderr.trim(),
        "tdc: no user for https://dialer.example/: set TDC_USER, pass --user, or set user in the profile"
    );
    write_config(&home, "[profiles.prod]\nurl = 5\n");
    let (code, _, stderr) = output(tdc(&home).args(["config"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("config.toml: invalid type: integer `5`, expected a string"),
        "{stderr}"
    );
}

#[test]
fn config_shows_sources_and_never_the_password() {
    let home = temp_dir("config");
    let file = write_config(&home, "default_profile = \"prod\"\n[profiles.prod]\nurl = \"https://prod.example\"\nuser = \"ops\"\npassword = \"hunter2-secret\"\nread_only = true\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let (code, stdout, stderr) = output(tdc(&home).arg("config"));
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<String> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    for line in [
        "url https://prod.example/ (from url in profile 'prod')",
        "password set (from password in profile 'prod')",
        "read_only true (from read_only in profile 'prod')",
    ] {
        assert!(lines.iter().any(|l| l == line), "{line}: {stdout}");
    }
    assert!(
        stderr.contains("holds a password and others can read it"),
        "{stderr}"
    );
    assert!(!stdout.contains("hunter2") && !stderr.contains("hunter2"));
    let (_, stdout, stderr) = output(
        tdc(&home)
            .args(["config", "--url", "http://127.0.0.1:1"])
            .env("TDC_PASSWORD", "pw-from-env"),
    );
    assert!(
        stdout.contains("(from --url)") && stdout.contains("set (from TDC_PASSWORD)"),
        "{stdout}"
    );
    assert!(!stdout.contains("pw-from-env"));
    // The file's password is exposed whatever this run's password comes from.
    assert!(
        stderr.contains("holds a password and others can read it"),
        "{stderr}"
    );
}

/// What `tdc doctor` sends a user to: every setting with where it came from, the defaults
/// named as such, and a password that is missing said to be missing, with exit 0.
#[test]
fn config_shows_every_setting_and_a_missing_password_without_failing() {
    let home = temp_dir("config-every");
    let file = write_config(
        &home,
        "default_profile = \"prod\"\n[profiles.prod]\nurl = \"https://prod.example\"\nuser = \"ops\"\npassword_env = \"TD_PROD_PASSWORD\"\ndefault_region = \"GB\"\ntimezone = \"Europe/London\"\nallow_net = [\"crm.example\"]\n",
    );
    let (code, stdout, stderr) = output(tdc(&home).arg("config").env_remove("TD_PROD_PASSWORD"));
    assert_eq!((code, stderr.as_str()), (0, ""));
    let from = |key: &str| format!("(from {key} in profile 'prod')");
    let expected = [
        ("config", file.display().to_string()),
        (
            "profile",
            "prod (from default_profile in the config file)".into(),
        ),
        ("url", format!("https://prod.example/ {}", from("url"))),
        ("user", format!("ops {}", from("user"))),
        (
            "password",
            "missing ($TD_PROD_PASSWORD is not set; password_env in profile 'prod' names it)"
                .into(),
        ),
        ("auth", "auto (default)".into()),
        ("read_only", "false (default)".into()),
        ("concurrency", "16 (default)".into()),
        ("timeout_s", "60 (default)".into()),
        ("connect_timeout_s", "10 (default)".into()),
        (
            "retries",
            "as many as retry_budget_s allows (default)".into(),
        ),
        ("retry_budget_s", "60 (default)".into()),
        ("max_rps", "none (default)".into()),
        ("max_response_mb", "256 (default)".into()),
        ("password_cmd_timeout_s", "10 (default)".into()),
        ("default_region", format!("GB {}", from("default_region"))),
        ("timezone", format!("Europe/London {}", from("timezone"))),
        ("ca_file", "none (default)".into()),
        ("proxy", "none (default)".into()),
        ("allow_read", "none (default)".into()),
        ("allow_write", "none (default)".into()),
        ("allow_net", format!("crm.example {}", from("allow_net"))),
        ("allow_env", "none (default)".into()),
    ];
    let expected: String = expected
        .iter()
        .map(|(setting, value)| format!("{setting:<24}{value}\n"))
        .collect();
    assert_eq!(stdout, expected);
    // A run still needs the password, and says which variable to set.
    let (code, _, stderr) = output(
        tdc(&home)
            .args(["eval", "1"])
            .env_remove("TD_PROD_PASSWORD"),
    );
    assert_eq!(code, 2);
    assert_eq!(
        stderr.trim(),
        "tdc: password_env in profile 'prod' names TD_PROD_PASSWORD, which is not set (or empty)"
    );
}

/// Every key of a profile but the password can be given to `profile add` and changed with
/// `profile set`, which keeps the other keys and the file's comments.
#[test]
fn profile_add_and_set_take_every_key() {
    let home = temp_dir("profile-keys");
    let file = write_config(
        &home,
        "# ours\n[profiles.old] # retired\nurl = \"https://old.example\"\n",
    );
    let (code, stdout, stderr) = output(tdc(&home).args([
        "profile",
        "add",
        "prod",
        "--url",
        "https://prod.example",
        "--user",
        "ops",
        "--password-env",
        "PW",
        "--read-only",
        "--default-region",
        "GB",
        "--timezone",
        "Europe/London",
        "--auth",
        "digest",
        "--concurrency",
        "4",
        "--max-rps",
        "2.5",
        "--timeout-s",
        "30",
        "--connect-timeout-s",
        "5",
        "--retries",
        "3",
        "--retry-budget-s",
        "20",
        "--password-cmd-timeout-s",
        "7",
        "--max-response-mb",
        "64",
        "--ca-file",
        "/etc/ca.pem",
        "--proxy",
        "http://proxy.example:3128",
        "--allow-read",
        "/data,/more",
        "--allow-write",
        "/out",
        "--allow-net",
        "crm.example",
        "--allow-env",
        "CRM_TOKEN",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        format!("added profile 'prod' to {}", file.display())
    );
    let (code, _, stderr) = output(tdc(&home).args([
        "profile",
        "set",
        "prod",
        "--timezone",
        "America/New_York",
        "--read-only=false",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "# ours\n[profiles.old] # retired\nurl = \"https://old.example\"\n\n[profiles.prod]\nurl = \"https://prod.example\"\nuser = \"ops\"\npassword_env = \"PW\"\nread_only = false\ndefault_region = \"GB\"\ntimezone = \"America/New_York\"\nauth = \"digest\"\nconcurrency = 4\nmax_rps = 2.5\ntimeout_s = 30\nconnect_timeout_s = 5\nretries = 3\nretry_budget_s = 20\npassword_cmd_timeout_s = 7\nmax_response_mb = 64\nca_file = \"/etc/ca.pem\"\nproxy = \"http://proxy.example:3128\"\nallow_read = [\"/data\", \"/more\"]\nallow_write = [\"/out\"]\nallow_net = [\"crm.example\"]\nallow_env = [\"CRM_TOKEN\"]\n"
    );
    let (code, stdout, stderr) = output(
        tdc(&home)
            .args(["--profile", "prod", "config"])
            .env("PW", "pw"),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout
            .contains("timezone                America/New_York (from timezone in profile 'prod')"),
        "{stdout}"
    );
    for (args, error) in [
        (
            vec!["--auth", "weird"],
            "tdc profile: --auth: 'weird' is not auto, basic or digest",
        ),
        (
            vec!["--timezone", "Mars/Base"],
            "tdc profile: --timezone: unknown timezone 'Mars/Base' (use an IANA name such as Europe/London)",
        ),
        (
            vec![],
            "tdc profile: nothing to set: give the keys to change as flags, e.g. tdc profile set prod --timezone Europe/London",
        ),
    ] {
        let (code, _, stderr) = output(tdc(&home).args(["profile", "set", "prod"]).args(&args));
        assert_eq!((code, stderr.trim()), (2, error));
    }
}

/// Messages say what happened and what to do, in one line, in the user's terms.
#[test]
fn messages_say_what_happened_and_what_to_do() {
    let home = temp_dir("messages");
    let (code, stdout, stderr) = output(tdc(&home).args(["--sandbox", "eval", "1", "--jq", ".["]));
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(
        stderr,
        "tdc: --jq: cannot parse '.[': closing bracket expected at the end\n"
    );

    // --sandbox is a choice, not a missing configuration.
    write_config(&home, "default_profile = \"prod\"\n[profiles.prod]\nurl = \"https://prod.example\"\nuser = \"ops\"\npassword_env = \"PW\"\n");
    let (code, stdout, stderr) = output(tdc(&home).args(["--sandbox", "eval", "1"]));
    assert_eq!((code, stdout.trim()), (0, "1"), "{stderr}");
    let line = stderr.trim();
    assert!(
        line.starts_with("tdc: using the embedded sandbox at http://127.0.0.1:")
            && line.ends_with(" (--sandbox)")
            && line.lines().count() == 1,
        "{stderr}"
    );
}

/// `tdc export --since` takes what scripts' `parse_time` takes, and reads it the same way.
#[test]
fn export_since_takes_what_parse_time_takes() {
    let sandbox = Sandbox::start(&["--leads", "50", "--cdrs", "100"]);
    let home = temp_dir("export-since");
    let (_, yesterday, _) =
        output(tdc_on(&sandbox, &home).args(["eval", "format_time(parse_time(\"yesterday\"))"]));
    let yesterday: String = serde_json::from_str(&yesterday).unwrap();
    for since in ["yesterday", "-7d", "2024-09-01"] {
        let (code, _, stderr) = output(
            tdc_on(&sandbox, &home)
                .args(["export", "cdrs", "--since", since, "--out"])
                .arg(home.join(since)),
        );
        assert_eq!(code, 0, "{since}: {stderr}");
        let from = stderr.split("(from ").nth(1).unwrap_or_default();
        match since {
            "yesterday" => assert!(from.starts_with(&format!("{yesterday} to ")), "{stderr}"),
            "2024-09-01" => assert!(from.starts_with("2024-09-01 00:00:00 to "), "{stderr}"),
            _ => assert_eq!(from.get(4..5), Some("-"), "{stderr}"),
        }
    }
    let (code, _, stderr) = output(
        tdc_on(&sandbox, &home)
            .args(["export", "cdrs", "--since", "lastweek", "--out"])
            .arg(&home),
    );
    assert_eq!(
        (code, stderr.as_str()),
        (
            2,
            "tdc export: --since: 'lastweek' is not a time (YYYY-MM-DD HH:MM:SS, now, today, yesterday, -24h, -7d, +30m)\n"
        )
    );
}

/// Every page the manual refers to exists: one per command, written by `tdc man --out`, or
/// printed by `tdc man COMMAND`.
#[test]
fn the_manual_has_a_page_for_every_command_it_names() {
    let home = temp_dir("man-pages");
    let dir = home.join("man1");
    let (code, stdout, stderr) = output(tdc(&home).args(["man", "--out"]).arg(&dir));
    assert_eq!(code, 0, "{stderr}");
    let mut written: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        stdout.trim(),
        format!("wrote {} manual pages to {}", written.len(), dir.display())
    );
    for page in [
        "tdc.1",
        "tdc-run.1",
        "tdc-export.1",
        "tdc-profile-add.1",
        "tdc-profile-set.1",
    ] {
        assert!(written.iter().any(|w| w == page), "{page}: {written:?}");
    }
    for name in &written {
        let text = std::fs::read_to_string(dir.join(name))
            .unwrap()
            .replace("\\-", "-");
        for reference in text.split_whitespace().filter(|w| w.starts_with("tdc-")) {
            let Some(page) = reference
                .split("(1)")
                .next()
                .filter(|_| reference.contains("(1)"))
            else {
                continue;
            };
            assert!(
                written.contains(&format!("{page}.1")),
                "{name} refers to {page}(1), which was not written"
            );
        }
    }
    let (code, page, _) = output(tdc(&home).args(["man", "profile", "add"]));
    assert_eq!(code, 0);
    assert!(page.contains(".TH tdc-profile-add 1"), "{page}");
    assert!(page.contains("default\\-region"), "{page}");
    let (code, _, stderr) = output(tdc(&home).args(["man", "exports"]));
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "tdc man: 'tdc' has no command 'exports' (it has repl, run, check, eval, test, config, defs, lsp, completions, profile, doctor, export, man, jupyter, sandbox)\n"
    );
}

/// Bash completion offers what each place takes: the config file's profiles after
/// `--profile`, the formats after `-o` and `--format`, the resources after `tdc export`.
#[test]
fn bash_completion_offers_profiles_formats_and_resources() {
    let home = temp_dir("completion");
    write_config(
        &home,
        "[profiles.prod]\nurl = \"https://prod.example\"\n[profiles.twin]\nurl = \"http://127.0.0.1:1\"\n",
    );
    let (code, script, stderr) = output(tdc(&home).args(["completions", "bash"]));
    assert_eq!(code, 0, "{stderr}");
    let script_file = home.join("tdc.bash");
    std::fs::write(&script_file, script).unwrap();
    let bin_dir = std::path::Path::new(common::BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let complete = |words: &[&str]| -> String {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(concat!(
                "source \"$1\"; shift; COMP_WORDS=(\"$@\"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); ",
                "COMP_LINE=\"$*\"; COMP_POINT=${#COMP_LINE}; ",
                "_tdc tdc \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"; ",
                "echo \"${COMPREPLY[*]}\""
            ))
            .arg("complete")
            .arg(&script_file)
            .args(words)
            .env("HOME", &home)
            .env_remove("XDG_CONFIG_HOME")
            .env("PATH", &path)
            .output()
            .expect("bash");
        common::text(&out.stdout).trim().to_string()
    };
    assert_eq!(complete(&["tdc", "--profile", ""]), "prod twin");
    assert_eq!(complete(&["tdc", "run", "--profile", "t"]), "twin");
    assert_eq!(
        complete(&["tdc", "eval", "-o", ""]),
        "json ndjson csv table"
    );
    assert_eq!(
        complete(&["tdc", "export", "--format", ""]),
        "parquet ndjson csv"
    );
    assert_eq!(complete(&["tdc", "export", "c"]), "cdrs calls");
}

#[test]
fn a_read_only_profile_refuses_mutations() {
    let sandbox = Sandbox::start(&["--leads", "100", "--cdrs", "100"]);
    let home = temp_dir("read-only");
    write_config(
        &home,
        &format!("[profiles.audit]\nurl = \"{}\"\nuser = \"sandbox\"\npassword_env = \"AUDIT_PW\"\nread_only = true\n", sandbox.url),
    );
    let (code, stdout, stderr) = output(
        tdc(&home)
            .args([
                "--profile",
                "audit",
                "eval",
                "[td.campaigns().len(), td.clone_campaign(12)]",
            ])
            .env("AUDIT_PW", "sandbox"),
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stderr.contains("GET /api/campaigns/clone: refused: profile 'audit' is read-only"),
        "{stderr}"
    );
}

#[test]
fn imports_resolve_beside_the_script_before_the_stdlib() {
    let home = temp_dir("imports");
    std::fs::write(home.join("cdr.rhai"), "fn kpis(rows) { \"local\" }").unwrap();
    std::fs::write(home.join("helpers.rhai"), "fn twice(x) { x * 2 }").unwrap();
    let script = home.join("main.rhai");
    std::fs::write(&script, "import \"cdr\" as cdr;\nimport \"helpers\" as h;\nprint(cdr::kpis([]) + \" \" + h::twice(21));\n").unwrap();
    let (code, stdout, stderr) = output(tdc(&home).args(["--sandbox", "run"]).arg(&script));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), "local 42");
    let elsewhere_dir = temp_dir("imports-stdlib");
    let elsewhere = elsewhere_dir.join("main.rhai");
    std::fs::write(
        &elsewhere,
        "import \"cdr\" as cdr;\nprint(cdr::kpis([]).attempts);\nimport \"nope\" as n;\n",
    )
    .unwrap();
    let (code, stdout, stderr) = output(tdc(&home).args(["--sandbox", "run"]).arg(&elsewhere));
    assert_eq!(code, 1);
    assert_eq!(stdout.trim(), "0", "the embedded stdlib module");
    assert!(
        stderr.contains(":3:8: error: Module not found: nope"),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_stops_a_script_blocked_in_a_slow_request() {
    let sandbox = Sandbox::start(&["--leads", "100", "--cdrs", "100", "--latency-ms", "20000"]);
    let home = temp_dir("ctrl-c");
    let mut child = tdc_on(&sandbox, &home)
        .args(["eval", "print(\"asking\"); td.cdrs().to_array()"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = common::Lines::of(child.stdout.take().unwrap());
    lines.wait_for("asking", Duration::from_secs(20));
    let signalled = Instant::now();
    common::send_signal(child.id(), "INT");
    let status = child.wait().unwrap();
    let elapsed = signalled.elapsed();
    assert_eq!(status.code(), Some(130));
    assert!(
        elapsed < Duration::from_secs(8),
        "stopped after {elapsed:?}"
    );
}

#[test]
fn a_script_loop_stops_on_ctrl_c() {
    let home = temp_dir("ctrl-c-loop");
    let mut child = tdc(&home)
        .args([
            "--sandbox",
            "eval",
            "print(\"looping\"); let n = 0; loop { n += 1; }",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = common::Lines::of(child.stdout.take().unwrap());
    lines.wait_for("looping", Duration::from_secs(20));
    common::send_signal(child.id(), "INT");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
}

/// The figures are measured by `cargo bench --bench performance`; these are generous bounds.
#[test]
fn start_up_is_quick_on_the_embedded_sandbox_and_a_remote_url() {
    let home = temp_dir("startup");
    let started = Instant::now();
    let (code, stdout, _) = output(tdc(&home).args(["--sandbox", "eval", "1 + 1"]));
    assert_eq!((code, stdout.trim()), (0, "2"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let (code, _, _) = output(
        tdc(&home)
            .args([
                "--url",
                "https://dialer.invalid",
                "--user",
                "u",
                "eval",
                "1",
            ])
            .env("TDC_PASSWORD", "x"),
    );
    assert_eq!(code, 0);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
