//! Data out of tdc the way curl + jq users expect: pipes that close early, full disks, output
//! formats, jq filters, CSV that re-imports, phone numbers in one form.

use crate::common;

use std::process::{Command, Stdio};

use common::{output, tdc, tdc_on, temp_dir, Sandbox};

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
        let (code, _, stderr) = output(
            tdc(&home)
                .args(["--sandbox", "eval", "td.cdrs().limit(50).to_array()"])
                .stdout(std::fs::File::create("/dev/full").unwrap()),
        );
        assert_eq!(code, 1);
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.contains(" the embedded sandbox at "))
            .collect();
        assert_eq!(
            lines,
            ["tdc: cannot write output: No space left on device (os error 28)"]
        );
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
    let (code, stdout, _) = output(
        tdc(&home)
            .args(["--sandbox", "run"])
            .arg(&script)
            .stderr(full()),
    );
    assert_eq!(code, 1, "{stdout}");
    for args in [&["completions", "bash"][..], &["man"], &["config"]] {
        let (code, _, stderr) = output(tdc(&home).args(args).stdout(full()));
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            "tdc: cannot write output: No space left on device (os error 28)",
            "{args:?}"
        );
    }
}

#[test]
fn output_formats_stream_and_jq_agrees_with_jq() {
    let sandbox = Sandbox::start(&["--leads", "200", "--cdrs", "500"]);
    let home = temp_dir("formats");
    let eval = |args: &[&str]| {
        let (code, stdout, stderr) = output(tdc_on(&sandbox, &home).arg("eval").args(args));
        assert_eq!(code, 0, "{args:?}: {stderr}");
        stdout
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
    assert_eq!(eval(&["print(\"x\")"]), "x\n");
    let table = eval(&["-o", "table", "td.campaigns()"]);
    assert!(
        table.lines().next().unwrap().starts_with("id  name"),
        "{table}"
    );
}

#[test]
fn csv_exports_reimport_with_nested_fields() {
    let home = temp_dir("csv-roundtrip");
    let file = home.join("leads.csv");
    let (code, stdout, stderr) = output(tdc(&home).args([
        "--sandbox",
        &format!("--allow-write={}", home.display()),
        &format!("--allow-read={}", home.display()),
        "eval",
        &format!(
            "let out = td.leads().limit(3).to_array(); write_csv(out, \"{0}\"); let back = read_csv(\"{0}\"); [back.len(), back[0].customFields.affiliate == out[0].customFields.affiliate, back[0].id]",
            file.display()
        ),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
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
        let (status, _, stderr) = output(tdc(&home).args([
            "--sandbox",
            &format!("--allow-write={}", home.display()),
            "eval",
            &format!(
                "import \"cdr\" as cdr; let rows = td.cdrs().limit(300).to_array(); write_csv({code}, \"{}\"{options})",
                file.display()
            ),
        ]));
        assert_eq!(status, 0, "{code}: {stderr}");
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
    let home = temp_dir("phones");
    let (code, stdout, stderr) = output(tdc(&home).args([
        "--sandbox",
        "eval",
        "[normalize_phone(\"+44 (0)7700 900101\"), normalize_phone(\"07700 900101\", \"GB\"), normalize_phone(\"0044 7700 900101\"), normalize_phone(\"12\"), normalize_phone(\"07700 9OO999\", \"GB\")]",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        value,
        serde_json::json!(["447700900101", "447700900101", "447700900101", null, null])
    );
}
