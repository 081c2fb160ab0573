//! `tdc export`: datasets DuckDB reads, checked with DuckDB itself (its Python package), not
//! with tdc: every CDR exactly once after two runs, across day partitions, with the same ASR
//! as `cdr::kpis`.

use crate::common;

use common::{output, tdc_on, temp_dir, Sandbox, Test};

/// Runs SQL with DuckDB's Python package; `None` where it is not installed (CI installs it).
fn duckdb(sql: &str) -> Option<String> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, duckdb; print(duckdb.connect().execute(sys.argv[1]).fetchall())",
            sql,
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        let err = common::text(&out.stderr);
        assert!(
            err.contains("No module named 'duckdb'") && std::env::var_os("CI").is_none(),
            "duckdb failed: {err}"
        );
        return None;
    }
    Some(common::text(&out.stdout).trim().to_string())
}

#[test]
fn two_exports_give_every_cdr_once_with_the_same_asr() {
    let sandbox = Sandbox::start(&["--leads", "500", "--cdrs", "4000"]);
    let home = temp_dir("export");
    let out = home.join("warehouse");
    for run in 0..2 {
        let (code, _, stderr) = output(
            tdc_on(&sandbox, &home)
                .args(["export", "cdrs", "--out"])
                .arg(&out),
        );
        assert_eq!(code, 0, "run {run}: {stderr}");
        assert!(stderr.contains("tdc export: "), "{stderr}");
    }
    let partitions = std::fs::read_dir(out.join("cdrs"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("date=")
        })
        .count();
    assert!(partitions > 1, "{partitions} partitions");
    let (code, stdout, stderr) = output(tdc_on(&sandbox, &home).args([
        "eval",
        "import \"cdr\" as cdr; let k = cdr::kpis(td.cdrs().to_array()); [td.cdrs().count(), k.asr]",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let ours: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let files = format!("{}/cdrs/*/*.parquet", out.display());
    let Some(counted) = duckdb(&format!(
        "select count(*), count(distinct id) from read_parquet('{files}', hive_partitioning=true)"
    )) else {
        return;
    };
    let total = ours[0].as_i64().unwrap();
    assert_eq!(counted, format!("[({total}, {total})]"));
    let asr = duckdb(&format!(
        "select round(100.0 * count(*) filter (where bill_duration > 0) / count(*), 2) from read_parquet('{files}') where q850 > 0"
    ))
    .unwrap();
    assert_eq!(asr, format!("[({},)]", ours[1].as_f64().unwrap()));
    let types = duckdb(&format!(
        "select typeof(id), typeof(start_at), typeof(dst) from read_parquet('{files}') limit 1"
    ))
    .unwrap();
    assert_eq!(types, "[('BIGINT', 'TIMESTAMP', 'VARCHAR')]");
}

/// Dates and the dialer's zone-less times read back as the API wrote them, whatever the time
/// zone of the session reading them: a birthdate is a day, not midnight UTC.
#[test]
fn dates_and_times_read_as_the_api_wrote_them_in_a_new_york_session() {
    let sandbox = Sandbox::start(&["--leads", "50", "--cdrs", "200"]);
    let home = temp_dir("export-dates");
    let out = home.join("warehouse");
    for resource in ["leads", "cdrs"] {
        let (code, _, stderr) = output(
            tdc_on(&sandbox, &home)
                .args(["export", resource, "--out"])
                .arg(&out),
        );
        assert_eq!(code, 0, "{stderr}");
    }
    let lead = &sandbox.get_json("/api/leads/id/1/")["leads"][0];
    let cdr = &sandbox.get_json("/api/cdrs?limit=1;0")["cdrs"][0];
    let cdr_id = common::int(&cdr["id"]);
    let (birthdate, created_at, start_at) = (
        lead["birthdate"].as_str().unwrap(),
        lead["created_at"].as_str().unwrap(),
        cdr["start_at"].as_str().unwrap(),
    );
    let in_new_york = |sql: String| duckdb(&format!("SET TimeZone='America/New_York'; {sql}"));
    let Some(read) = in_new_york(format!(
        "select typeof(birthdate), birthdate::varchar, created_at::varchar from read_parquet('{}/leads/*/*.parquet') where id = 1",
        out.display()
    )) else {
        return;
    };
    assert_eq!(read, format!("[('DATE', '{birthdate}', '{created_at}')]"));
    let read = in_new_york(format!(
        "select typeof(start_at), start_at::varchar from read_parquet('{}/cdrs/*/*.parquet') where id = {cdr_id}",
        out.display()
    ))
    .unwrap();
    assert_eq!(read, format!("[('TIMESTAMP', '{start_at}')]"));
}

#[test]
fn an_export_from_a_script_is_the_same_dataset() {
    let sandbox = Sandbox::start(&["--leads", "200", "--cdrs", "1000"]);
    let home = temp_dir("export-script");
    let dir = home.join("data");
    let (code, stdout, stderr) = output(tdc_on(&sandbox, &home).args([
        &format!("--allow-write={}", home.display()),
        "eval",
        &format!(
            "let a = export_to(td.cdrs(), \"{0}\", #{{ format: \"ndjson\" }}); let b = td.cdrs().export_to(\"{0}\", #{{ format: \"ndjson\" }}); [a.rows, b.rows < a.rows]",
            dir.display()
        ),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(value[0], 1000);
    assert_eq!(value[1], true, "the second run reads only the overlap");
    let mut ids = std::collections::BTreeSet::new();
    let mut rows = 0;
    for day in std::fs::read_dir(dir.join("cdrs")).unwrap().flatten() {
        let file = day.path().join("part-0.ndjson");
        if let Ok(text) = std::fs::read_to_string(file) {
            for line in text.lines() {
                let row: serde_json::Value = serde_json::from_str(line).unwrap();
                ids.insert(common::int(&row["id"]));
                rows += 1;
            }
        }
    }
    assert_eq!((rows, ids.len()), (1000, 1000));
    // A limit or an offset cannot hold across resumed runs: refused, not dropped.
    for narrowed in ["limit(5)", "offset(10)"] {
        let (code, _, stderr) = output(tdc_on(&sandbox, &home).args([
            &format!("--allow-write={}", home.display()),
            "eval",
            &format!(
                "td.cdrs().{narrowed}.export_to(\"{}\", #{{ format: \"ndjson\" }})",
                home.join("narrowed").display()
            ),
        ]));
        assert_eq!(code, 1, "{narrowed}");
        assert!(stderr.contains("drop limit and offset"), "{stderr}");
    }
    assert!(!home.join("narrowed").exists());
}

#[test]
fn a_csv_export_run_twice_holds_every_cdr_once() {
    let sandbox = Sandbox::start(&["--leads", "200", "--cdrs", "1000"]);
    let home = temp_dir("export-csv");
    let dir = home.join("data");
    for _ in 0..2 {
        let (code, _, stderr) = output(
            tdc_on(&sandbox, &home)
                .args(["export", "cdrs", "--format", "csv", "--out"])
                .arg(&dir),
        );
        assert_eq!(code, 0, "{stderr}");
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut rows = 0;
    for day in std::fs::read_dir(dir.join("cdrs")).unwrap().flatten() {
        let file = day.path().join("part-0.csv");
        if !file.exists() {
            continue;
        }
        let mut reader = csv::Reader::from_path(&file).unwrap();
        let at = reader
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "id")
            .expect("an id column");
        for record in reader.records() {
            ids.insert(record.unwrap()[at].parse::<i64>().unwrap());
            rows += 1;
        }
    }
    assert_eq!((rows, ids.len()), (1000, 1000));
}

/// `--since` reads times as scripts' `parse_time` does: one grammar for both.
#[test]
fn since_takes_the_relative_times_parse_time_takes() {
    let from_of = |since: &str| -> chrono::NaiveDateTime {
        let run = Test::new("export-since")
            .args(["--sandbox", "export", "cdrs", "--out", "warehouse"])
            .arg(format!("--since={since}"))
            .current_dir(".")
            .success();
        let messages = run.messages();
        let from = messages
            .split(" (from ")
            .nth(1)
            .and_then(|rest| rest.split(" to ").next())
            .unwrap_or_else(|| panic!("no 'from' in {messages}"));
        chrono::NaiveDateTime::parse_from_str(from, "%Y-%m-%d %H:%M:%S")
            .unwrap_or_else(|e| panic!("{from}: {e}"))
    };
    let now = chrono::Utc::now().naive_utc();
    let week_ago = from_of("-7d");
    let off = (week_ago - (now - chrono::Duration::days(7))).num_seconds();
    assert!((0..60).contains(&off), "-7d read as {week_ago}");
    let yesterday = now.date() - chrono::Duration::days(1);
    let read = from_of("yesterday");
    // Just after midnight the run may already be a day later than `now` was.
    assert!(
        read == yesterday.and_hms_opt(0, 0, 0).unwrap()
            || read == now.date().and_hms_opt(0, 0, 0).unwrap(),
        "yesterday read as {read}"
    );
    Test::new("export-since-wrong")
        .args(["--sandbox", "export", "cdrs", "--out", "warehouse", "--since=-7x"])
        .current_dir(".")
        .stderr("tdc export: --since: '-7x' is not a time (YYYY-MM-DD HH:MM:SS, now, today, yesterday, -24h, -7d, +30m)\n")
        .status(2);
}
