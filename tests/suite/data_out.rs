//! Data out of tdc the way curl + jq users expect: pipes that close early, full disks, output
//! formats, jq filters, CSV that re-imports, phone numbers in one form.

use crate::common;

use std::process::{Command, Stdio};

use common::{temp_dir, Sandbox, Test};

/// Runs `tdc … | head -1` through a shell; returns tdc's exit status and stderr.
fn piped_to_head(home: &std::path::Path, args: &str) -> (i32, String) {
    let script = format!(
        "{} {args} 2>{}/err.txt | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}",
        common::BIN,
        home.display()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("HOME", home)
        .env_remove("TDC_URL")
        .output()
        .unwrap();
    let status = common::text(&out.stdout).trim().parse().unwrap_or(-1);
    let stderr = std::fs::read_to_string(home.join("err.txt")).unwrap_or_default();
    (status, stderr)
}

#[test]
fn closed_pipes_end_quietly_and_full_disks_say_so() {
    let home = temp_dir("pipes");
    std::fs::write(
        home.join("loop.rhai"),
        "for i in 0..200000 { print(`line ${i}`); }\n",
    )
    .unwrap();
    for args in [
        "--sandbox eval 'td.cdrs().to_array()'".to_string(),
        "--sandbox eval -o ndjson 'td.cdrs()'".to_string(),
        format!("--sandbox run {}/loop.rhai", home.display()),
    ] {
        let (status, stderr) = piped_to_head(&home, &args);
        assert_eq!(status, 0, "{args}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args}: {stderr}");
    }
    if std::path::Path::new("/dev/full").exists() {
        Test::at(&home)
            .args(["--sandbox", "eval", "td.cdrs().limit(50).to_array()"])
            .stdout_to(std::fs::File::create("/dev/full").unwrap())
            .messages("tdc: cannot write output: No space left on device (os error 28)\n")
            .failure();
    }
}

/// stderr is output too, and so is every command's stdout: a closed pipe ends with 0, a full
/// disk with 1, never a panic (101) or a backtrace.
#[test]
fn stderr_and_every_command_end_the_same_way_when_output_fails() {
    let home = temp_dir("stderr-pipes");
    let script = home.join("s.rhai");
    std::fs::write(&script, "print(\"hi\");\ntd.campaigns().len()\n").unwrap();
    // Both streams into a pipe that closes after two lines.
    let shell = |command: &str| {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("{command}; echo \" ${{PIPESTATUS[0]}}\""))
            .env("HOME", &home)
            .env_remove("TDC_URL")
            .output()
            .unwrap();
        common::text(&out.stdout)
    };
    let bin = common::BIN;
    let out = shell(&format!(
        "{bin} --sandbox -v eval 'td.cdrs().count()' 2>&1 | head -2"
    ));
    assert!(out.trim_end().ends_with(" 0"), "{out}");
    assert!(!out.contains("panicked"), "{out}");
    let out = shell(&format!("{bin} completions bash | head -1"));
    assert!(out.trim_end().ends_with(" 0"), "{out}");
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    let full = || std::fs::File::create("/dev/full").unwrap();
    // stderr on a full disk: nothing can say so, but the code does.
    let (code, stdout, _) = common::output(
        common::tdc(&home)
            .args(["--sandbox", "run"])
            .arg(&script)
            .stderr(full()),
    );
    assert_eq!(code, 1, "{stdout}");
    for args in [&["completions", "bash"][..], &["man"], &["config"]] {
        Test::at(&home)
            .args(args)
            .stdout_to(full())
            .stderr("tdc: cannot write output: No space left on device (os error 28)\n")
            .failure();
    }
}

#[test]
fn output_formats_stream_and_jq_agrees_with_jq() {
    let sandbox = Sandbox::start(&["--leads", "200", "--cdrs", "500"]);
    let home = temp_dir("formats");
    let eval = |args: &[&str]| {
        Test::at(&home)
            .on(&sandbox)
            .arg("eval")
            .args(args)
            .success()
            .stdout
    };
    let ndjson = eval(&["-o", "ndjson", "td.cdrs().limit(5)"]);
    let lines: Vec<&str> = ndjson.lines().collect();
    assert_eq!(lines.len(), 5);
    for line in &lines {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(record["id"].is_i64(), "{line}");
    }
    let csv = eval(&[
        "-o",
        "csv",
        "td.cdrs().fields([\"status\", \"id\"]).limit(5)",
    ]);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 6, "{csv}");
    assert_eq!(rows[0], "status,id", "fields() order is kept");
    let ours = eval(&["--jq", ".[].id", "td.cdrs().limit(4).to_array()"]);
    let json = eval(&["td.cdrs().limit(4).to_array()"]);
    match Command::new("jq")
        .arg(".[].id")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(mut jq) => {
            use std::io::Write;
            jq.stdin.take().unwrap().write_all(json.as_bytes()).unwrap();
            let theirs = common::text(&jq.wait_with_output().unwrap().stdout);
            assert_eq!(ours, theirs);
        }
        Err(_) => assert_eq!(ours, "1\n2\n3\n4\n"),
    }
    // A script's own output, and nothing after it for ().
    Test::at(&home)
        .on(&sandbox)
        .args(["eval", "print(\"x\")"])
        .stdout("x\n")
        .stderr("")
        .success();
    let table = eval(&["-o", "table", "td.campaigns()"]);
    assert!(
        table.lines().next().unwrap().starts_with("id  name"),
        "{table}"
    );
}

#[test]
fn csv_exports_reimport_with_nested_fields() {
    let test = Test::new("csv-roundtrip");
    let home = test.home().to_path_buf();
    let file = home.join("leads.csv");
    let run = test
        .args([
            "--sandbox".to_string(),
            format!("--allow-write={}", home.display()),
            format!("--allow-read={}", home.display()),
            "eval".to_string(),
            format!(
                "let out = td.leads().limit(3).to_array(); write_csv(out, \"{0}\"); let back = read_csv(\"{0}\"); [back.len(), back[0].customFields.affiliate == out[0].customFields.affiliate, back[0].id]",
                file.display()
            ),
        ])
        .messages("")
        .success();
    let value = run.json();
    assert_eq!(value[0], 3);
    assert_eq!(value[1], true);
    let header = std::fs::read_to_string(&file).unwrap();
    let header = header.lines().next().unwrap();
    assert!(
        header.starts_with("id,first_name,last_name,phone"),
        "{header}"
    );
    assert!(header.contains("customFields.affiliate"), "{header}");
}

#[test]
fn csv_columns_follow_the_reports_order_or_the_ones_asked_for() {
    let home = temp_dir("csv-order");
    let header_of = |code: &str, options: &str| {
        let file = home.join("out.csv");
        Test::at(&home)
            .args([
                "--sandbox".to_string(),
                format!("--allow-write={}", home.display()),
                "eval".to_string(),
                format!(
                    "import \"cdr\" as cdr; let rows = td.cdrs().limit(300).to_array(); write_csv({code}, \"{}\"{options})",
                    file.display()
                ),
            ])
            .messages("")
            .success();
        let text = std::fs::read_to_string(&file).unwrap();
        text.lines().next().unwrap_or("").to_string()
    };
    assert_eq!(
        header_of(
            "[cdr::kpis(rows)]",
            ", #{ columns: [\"zeta\", \"id\", \"alpha\"] }"
        ),
        "zeta,id,alpha",
        "the columns asked for, in that order"
    );
    assert_eq!(
        header_of("cdr::kpis_by(rows, \"user_id\").groups", ""),
        "key,attempts,answered,asr,acd,billed_minutes,basis"
    );
    assert_eq!(
        header_of("cdr::by_hour(rows)", ""),
        "hour,attempts,answered,asr,acd"
    );
    assert_eq!(
        header_of("cdr::by_cause(rows)", ""),
        "status,q850,calls,share"
    );
    assert_eq!(
        header_of(
            "cdr::by_hour(rows).map(|h| #{ zeta: 1, note: \"x\", hour: h.hour, asr: h.asr })",
            ""
        ),
        "hour,asr,note,zeta",
        "a report's own columns first, the ones a script added by name"
    );
    assert_eq!(
        header_of("[#{ zeta: 1, alpha: 2, id: 3 }]", ""),
        "id,alpha,zeta",
        "rows of no known kind: id, then by name"
    );
}

#[test]
fn phone_numbers_have_one_form() {
    let run = Test::new("phones")
        .args([
            "--sandbox",
            "eval",
            "[normalize_phone(\"+44 (0)7700 900101\"), normalize_phone(\"07700 900101\", \"GB\"), normalize_phone(\"0044 7700 900101\"), normalize_phone(\"12\"), normalize_phone(\"07700 9OO999\", \"GB\")]",
        ])
        .messages("")
        .success();
    assert_eq!(
        run.json(),
        serde_json::json!(["447700900101", "447700900101", "447700900101", null, null])
    );
}

#[test]
fn csv_has_every_records_columns_and_keeps_text_as_sent() {
    Test::new("csv-columns")
        .args(["--sandbox", "eval", "-o", "csv"])
        .arg(r#"[#{ id: 1 }, #{ id: 2, extra: "x", custom: #{ a: 3 } }]"#)
        .stdout("id,custom.a,extra\n1,,\n2,3,x\n")
        .messages("")
        .success();
    // A file holds a note's newline and escape byte as sent, and reads back equal.
    let test = Test::new("csv-raw");
    let file = test.home().join("notes.csv");
    // The run holds the folder until it is dropped.
    let _run = test
        .args([
        "--sandbox".to_string(),
        format!("--allow-write={}", file.parent().unwrap().display()),
        format!("--allow-read={}", file.parent().unwrap().display()),
        "eval".to_string(),
        format!(
            r#"let note = "a\nb\x1b[31m"; write_csv([#{{ id: 1, note: note }}], "{0}"); read_csv("{0}")[0].note == note"#,
            file.display()
        ),
    ])
    .stdout("true\n")
    .messages("")
    .success();
    let written = std::fs::read(&file).unwrap();
    assert_eq!(written, b"id,note\n1,\"a\nb\x1b[31m\"\n");
}
