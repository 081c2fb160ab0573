//! The performance targets, each against a baseline measured in the same run:
//!
//! - scan 1,000,000 CDRs (pages of 1000) with `--latency-ms 20` and with none, against a
//!   sequential paging loop in Python with requests (`benches/baseline_scan.py`);
//! - `count_by`, `sum_by`, `avg_by`, `group_by` over 1,000,000 CDR maps in memory, against the
//!   same aggregation written as a Rhai loop;
//! - import 100,000 leads with `--latency-ms 20`, against sequential chunked POSTs of the same
//!   chunk size (`benches/baseline_import.py`);
//! - start-up of a trivial script against a remote URL and on the embedded sandbox;
//! - peak memory (VmHWM) of `tdc run` while streaming 1,000,000 CDRs;
//! - scan 200,000 CDRs at 20 ms against an 8-thread Python loop
//!   (`benches/baseline_scan_threads.py`), and the requests each listing costs;
//! - 5,000 leads imported under the README's fault mix at 20 ms, ten runs: time, requests,
//!   and exactly-once checked by an independent Python client (`benches/check_import.py`);
//! - 1,000,000 CDRs exported to Parquet against a plain scan, and phone normalizations;
//! - `cdr::kpis` and `cdr::by_cause` over 200,000 CDRs against reading them, and curl + jq;
//! - peak memory (VmHWM) of slow readers of 1,000,000 CDRs over 60 s: a script that calls
//!   the dialer for each row, and `tdc eval -o ndjson` into a reader taking 1 ms a line.
//!
//! - a follower of a live twin (`--live 600`) for 30 minutes: its RSS after 5 minutes and at
//!   the end (only when named: `TDC_BENCH=follow`; `TDC_FOLLOW_MINUTES` shortens it).
//! - `tdc lsp` on a 2,000-line script: diagnostics after a change, and the server's memory
//!   (only when named: `TDC_BENCH=lsp`).
//!
//! Run: `cargo bench --bench performance` (needs python3 with requests);
//! `TDC_BENCH=startup,aggregation,scan,import,threads,requests,faults,phones,export,kpis,slow`
//! picks parts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// The in-process measurements use the allocator the tdc binary ships with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

// The sandbox process the integration tests start, shared.
#[path = "../tests/common/mod.rs"]
mod common;
use common::{Sandbox as Server, BIN};

fn tdc(url: &str) -> Command {
    let mut command = Command::new(BIN);
    command
        .env("TDC_URL", url)
        .env("TDC_USER", "sandbox")
        .env("TDC_PASSWORD", "sandbox")
        .env("HOME", std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

/// Runs a command to completion; returns its time, stdout and peak memory in KiB.
fn timed(mut command: Command) -> (Duration, String, u64) {
    let started = Instant::now();
    let child = command.spawn().expect("spawn");
    let status_path = format!("/proc/{}/status", child.id());
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let watcher_peak = peak.clone();
    let watcher = std::thread::spawn(move || {
        while let Ok(status) = std::fs::read_to_string(&status_path) {
            if let Some(kb) = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<u64>().ok())
            {
                watcher_peak.fetch_max(kb, std::sync::atomic::Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let output = child.wait_with_output().expect("wait");
    let elapsed = started.elapsed();
    let _ = watcher.join();
    assert!(output.status.success(), "{:?}", output);
    (
        elapsed,
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
        peak.load(std::sync::atomic::Ordering::Relaxed),
    )
}

fn script(dir: &Path, name: &str, code: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, code).unwrap();
    path
}

fn scan(dir: &Path, latency: &str) {
    let server = Server::start(&["--cdrs", "1000000", "--latency-ms", latency]);
    let scan = script(
        dir,
        "scan.rhai",
        "let n = 0;\nfor c in td.cdrs() { n += 1; }\nprint(n);\n",
    );
    let mut runs = Vec::new();
    let mut peak = 0;
    for _ in 0..3 {
        let mut command = tdc(&server.url);
        command.arg("run").arg(&scan);
        let (elapsed, out, kb) = timed(command);
        assert_eq!(out, "1000000");
        runs.push(elapsed);
        peak = peak.max(kb);
    }
    let mut python = Command::new("python3");
    python
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/baseline_scan.py"))
        .arg(&server.url)
        .stdout(Stdio::piped());
    let (baseline, out, _) = timed(python);
    assert_eq!(out, "1000000");
    let ours = median(runs);
    println!(
        "scan 1,000,000 CDRs, latency {latency} ms: tdc median {ours:.2?}, sequential Python {baseline:.2?}, speed-up {:.1}x; tdc peak memory {} MB",
        baseline.as_secs_f64() / ours.as_secs_f64(),
        peak / 1024
    );
}

fn aggregation() {
    // The maps a script holds after `td.cdrs().to_array()`: pages of 1000 as the sandbox
    // writes them, read by the same parser.
    let (_, cdrs) = tdc::internals::generate(1, 5000, 1_000_000);
    let mut rows = rhai::Array::with_capacity(cdrs.len());
    for page in cdrs.chunks(1000) {
        let page: Vec<_> = page.iter().collect();
        let mut body = Vec::new();
        let fields = &tdc::internals::CDR_FIELDS;
        tdc::internals::write_page(&mut body, "cdrs", &page, fields, false, "");
        let parsed = tdc::internals::fast_json::parse(&body).unwrap();
        rows.extend(tdc::internals::fast_json::records(parsed, "cdrs").unwrap());
    }
    drop(cdrs);
    let engine = tdc::internals::compile_engine();
    let mut scope = rhai::Scope::new();
    scope.push("rows", rows);
    let cases = [
        (
            "count_by",
            "count_by(rows, \"status\")",
            Some("let m = #{}; for r in rows { let k = `${r.status}`; m[k] = (m[k] ?? 0) + 1; } m"),
        ),
        (
            "sum_by",
            "sum_by(rows, \"bill_duration\")",
            Some("let s = 0; for r in rows { s += r.bill_duration; } s"),
        ),
        (
            "avg_by",
            "avg_by(rows, \"bill_duration\")",
            Some("let s = 0; let n = 0; for r in rows { s += r.bill_duration; n += 1; } s / n"),
        ),
        // A Rhai loop cannot append to an array held in a map without copying it, so the same
        // grouping written in Rhai takes minutes; it is not timed.
        ("group_by", "group_by(rows, \"campaign_id\")", None),
    ];
    for (name, native, rhai_loop) in cases {
        let mut runs = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            let _ = engine
                .eval_with_scope::<rhai::Dynamic>(&mut scope, native)
                .unwrap();
            runs.push(started.elapsed());
        }
        let ours = median(runs);
        match rhai_loop {
            Some(code) => {
                let started = Instant::now();
                let _ = engine
                    .eval_with_scope::<rhai::Dynamic>(&mut scope, code)
                    .unwrap();
                let baseline = started.elapsed();
                println!(
                    "{name} over 1,000,000 maps: native median {ours:.3?}, Rhai loop {baseline:.3?}, speed-up {:.1}x",
                    baseline.as_secs_f64() / ours.as_secs_f64()
                );
            }
            None => println!("{name} over 1,000,000 maps: native median {ours:.3?}"),
        }
    }
}

fn import(dir: &Path) {
    let server = Server::start(&["--leads", "1000", "--cdrs", "1000", "--latency-ms", "20"]);
    let code = "let leads = [];\nfor i in 0..100000 { leads.push(#{ phone: `4470${10000000 + i}`, original_identifier: `bench-${i}` }); }\nprint(td.add_leads(leads).len());\n";
    let import = script(dir, "import.rhai", code);
    let mut ours = Vec::new();
    let mut baseline = Vec::new();
    // Interleaved, so that both see the sandbox's store grow alike.
    for run in 0..3 {
        let mut command = tdc(&server.url);
        command.args(["--yes", "run"]).arg(&import);
        let (elapsed, out, _) = timed(command);
        assert_eq!(out, "100000");
        ours.push(elapsed);
        let mut python = Command::new("python3");
        python
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/baseline_import.py"))
            .args([&server.url, "100000", "500", &format!("py{run}")])
            .stdout(Stdio::piped());
        let (elapsed, out, _) = timed(python);
        assert_eq!(out, "100000");
        baseline.push(elapsed);
    }
    let (ours, baseline) = (median(ours), median(baseline));
    println!(
        "import 100,000 leads, latency 20 ms, chunks of 500: tdc median {ours:.2?}, sequential Python median {baseline:.2?}, speed-up {:.1}x",
        baseline.as_secs_f64() / ours.as_secs_f64()
    );
}

fn startup() {
    let server = Server::start(&["--leads", "100", "--cdrs", "100"]);
    let mut remote = Vec::new();
    let mut embedded = Vec::new();
    let mut python = Vec::new();
    for _ in 0..20 {
        let mut command = tdc(&server.url);
        command.args(["eval", "1 + 1"]);
        remote.push(timed(command).0);
        let mut command = Command::new(BIN);
        command
            .args(["--sandbox", "eval", "1 + 1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        embedded.push(timed(command).0);
        let mut command = Command::new("python3");
        command
            .args(["-c", "import requests; print(1 + 1)"])
            .stdout(Stdio::piped());
        python.push(timed(command).0);
    }
    println!(
        "start-up, trivial script: remote URL median {:.1?}, embedded sandbox median {:.1?}; python3 importing requests median {:.1?}",
        median(remote),
        median(embedded),
        median(python)
    );
}

/// The requests a `tdc eval` sends (its `-v` trace counted) and its result.
fn requests_of(url: &str, code: &str) -> (usize, String) {
    let output = tdc(url)
        .args(["-v", "eval", code])
        .stderr(Stdio::piped())
        .output()
        .expect("tdc eval");
    assert!(output.status.success(), "{output:?}");
    let trace = String::from_utf8_lossy(&output.stderr);
    (
        trace.lines().filter(|l| l.starts_with("tdc: > ")).count(),
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
    )
}

fn threads(dir: &Path) {
    let server = Server::start(&["--cdrs", "200000", "--latency-ms", "20"]);
    let scan = script(
        dir,
        "scan200k.rhai",
        "let n = 0;\nfor c in td.cdrs() { n += 1; }\nprint(n);\n",
    );
    let (mut ours, mut baseline) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let mut command = tdc(&server.url);
        command.arg("run").arg(&scan);
        let (elapsed, out, _) = timed(command);
        assert_eq!(out, "200000");
        ours.push(elapsed);
        let mut python = Command::new("python3");
        python
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/baseline_scan_threads.py"))
            .arg(&server.url)
            .stdout(Stdio::piped());
        let (elapsed, out, _) = timed(python);
        assert_eq!(out, "200000");
        baseline.push(elapsed);
    }
    let (ours, baseline) = (median(ours), median(baseline));
    println!(
        "scan 200,000 CDRs, latency 20 ms: tdc median {ours:.2?}, 8-thread Python median {baseline:.2?}, speed-up {:.1}x",
        baseline.as_secs_f64() / ours.as_secs_f64()
    );
}

fn requests_per_operation() {
    let server = Server::start(&["--cdrs", "200000"]);
    for (what, code) in [
        ("td.campaigns() (4 rows)", "td.campaigns().len()"),
        (
            "td.find_leads(\"phone\", X) (1 row)",
            "td.find_leads(\"phone\", \"447700001234\").len()",
        ),
        ("td.cdrs().count() (200 full pages)", "td.cdrs().count()"),
        (
            "td.cdrs().to_array() (200 full pages)",
            "td.cdrs().to_array().len()",
        ),
    ] {
        let (requests, out) = requests_of(&server.url, code);
        println!("requests for {what}: {requests} (result {out})");
    }
}

fn faults(dir: &Path) {
    let import = script(
        dir,
        "import5k.rhai",
        "let leads = [];\nfor i in 0..5000 { leads.push(#{ phone: `4477${10000000 + i}`, original_identifier: `${ARGS[0]}-${i}` }); }\nprint(td.add_leads(leads).len());\n",
    );
    let mut times = Vec::new();
    let mut requests = Vec::new();
    let mut exact = 0;
    for run in 0..10 {
        // A seed per run: the sandbox draws its faults from it.
        let seed = (run + 1).to_string();
        let server = Server::start(&[
            "--seed",
            &seed,
            "--latency-ms",
            "20",
            "--faults",
            "500=0.1,429=0.1,reset=0.05,lost=0.05",
        ]);
        let tag = format!("f{run}");
        let started = Instant::now();
        let output = tdc(&server.url)
            .args(["-v", "--yes", "run"])
            .arg(&import)
            .arg(&tag)
            .stderr(Stdio::piped())
            .output()
            .expect("tdc run");
        times.push(started.elapsed());
        let trace = String::from_utf8_lossy(&output.stderr);
        requests.push(trace.lines().filter(|l| l.starts_with("tdc: > ")).count());
        let summary = trace
            .lines()
            .find(|l| l.starts_with("tdc: add_leads:"))
            .unwrap_or("no summary")
            .to_string();
        let check = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/check_import.py"))
            .args([&server.url, &tag])
            .output()
            .expect("python3");
        let counted = String::from_utf8_lossy(&check.stdout).trim().to_string();
        if output.status.success() && counted == "5000 5000" {
            exact += 1;
        }
        println!(
            "  fault run {run}: exit {:?}, {:.2?}, {} requests; {summary}; Python counts (rows unique): {counted}",
            output.status.code(),
            times[run],
            requests[run]
        );
    }
    println!(
        "5,000 leads under 500=0.1,429=0.1,reset=0.05,lost=0.05 at 20 ms: exactly once in {exact} of 10 runs; median {:.2?} (max {:.2?}); requests median {} (max {})",
        median(times.clone()),
        times.iter().max().unwrap(),
        {
            let mut r = requests.clone();
            r.sort();
            r[r.len() / 2]
        },
        requests.iter().max().unwrap()
    );
}

/// Export 1,000,000 CDRs to Parquet against a plain scan of them (the same sandbox, medians
/// of 3 alternated), with the export's peak memory.
fn export(dir: &Path) {
    let server = Server::start(&["--cdrs", "1000000"]);
    let scan = script(
        dir,
        "scan_export.rhai",
        "let n = 0;\nfor c in td.cdrs() { n += 1; }\nprint(n);\n",
    );
    let (mut scans, mut exports, mut peak) = (Vec::new(), Vec::new(), 0);
    for run in 0..3 {
        let mut command = tdc(&server.url);
        command.arg("run").arg(&scan);
        scans.push(timed(command).0);
        let out = dir.join(format!("warehouse-{run}"));
        let mut command = tdc(&server.url);
        command.args(["export", "cdrs", "--out"]).arg(&out);
        let (elapsed, _, kb) = timed(command);
        exports.push(elapsed);
        peak = peak.max(kb);
        let _ = std::fs::remove_dir_all(&out);
    }
    let (scan, export) = (median(scans), median(exports));
    println!(
        "export 1,000,000 CDRs to Parquet: median {export:.2?}, plain scan {scan:.2?}, ratio {:.2}; export peak memory {} MB",
        export.as_secs_f64() / scan.as_secs_f64(),
        peak / 1024
    );
}

/// 1,000,000 phone normalizations of numbers already in E.164 digits (the fast path), and
/// 1,000,000 written by hand (`+44 (0)7700 …`, `07700 …` in region GB), parsed with
/// libphonenumber's metadata.
fn phones() {
    let digits: Vec<String> = (0..1_000_000u64)
        .map(|i| format!("4477{:08}", i % 100_000_000))
        .collect();
    let started = Instant::now();
    let valid = digits
        .iter()
        .filter(|p| tdc::internals::to_e164(p, None).is_some())
        .count();
    let fast = started.elapsed();
    assert_eq!(valid, digits.len());
    let gb = tdc::internals::region("GB").ok();
    let written: Vec<String> = (0..1_000_000u64)
        .map(|i| {
            if i % 2 == 0 {
                format!("+44 (0)7700 {:06}", i % 1_000_000)
            } else {
                format!("07700 {:06}", i % 1_000_000)
            }
        })
        .collect();
    let started = Instant::now();
    let parsed = written
        .iter()
        .filter(|p| tdc::internals::to_e164(p, gb).is_some())
        .count();
    let slow = started.elapsed();
    println!(
        "normalize_phone: 1,000,000 E.164 digits in {fast:.2?}; 1,000,000 written by hand in {slow:.2?} ({parsed} valid)"
    );
}

/// `cdr::kpis` and `cdr::by_cause` over 200,000 CDRs against reading the same rows (medians
/// of 3 alternated), and the same figures with curl and jq, once.
fn kpis(dir: &Path) {
    let server = Server::start(&["--cdrs", "200000"]);
    let fields = "fields([\"start_at\", \"end_at\", \"status\", \"q850\", \"bill_duration\"])";
    let scan = script(
        dir,
        "kpis_scan.rhai",
        &format!("let rows = td.cdrs().{fields}.to_array();\nprint(rows.len());\n"),
    );
    let report = script(
        dir,
        "kpis_report.rhai",
        &format!(
            "import \"cdr\" as cdr;\nlet rows = td.cdrs().{fields}.to_array();\nlet k = cdr::kpis(rows);\nlet c = cdr::by_cause(rows);\nprint(`${{k.attempts}} ${{k.answered}}`);\n"
        ),
    );
    let (mut scans, mut reports, mut figures) = (Vec::new(), Vec::new(), String::new());
    for _ in 0..3 {
        let mut command = tdc(&server.url);
        command.arg("run").arg(&scan);
        scans.push(timed(command).0);
        let mut command = tdc(&server.url);
        command.arg("run").arg(&report);
        let (elapsed, out, _) = timed(command);
        reports.push(elapsed);
        figures = out;
    }
    let jq = format!(
        "for o in $(seq 0 1000 199000); do curl -s -u sandbox:sandbox \"{}/api/cdrs?limit=1000;$o\"; done \
         | jq -s -r '[.[].cdrs[] | select((.q850 | tonumber) > 0)] | \"\\(length) \\([.[] | select((.bill_duration | tonumber) > 0)] | length)\"'",
        server.url
    );
    let started = Instant::now();
    let curl = Command::new("sh").args(["-c", &jq]).output();
    let curl_time = started.elapsed();
    let curl_figures = curl
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let (scan, report) = (median(scans), median(reports));
    println!(
        "cdr::kpis + cdr::by_cause over 200,000 CDRs: median {report:.2?}, reading the rows {scan:.2?}, ratio {:.2}; curl + jq {curl_time:.2?} (figures: tdc {figures}, jq {curl_figures})",
        report.as_secs_f64() / scan.as_secs_f64()
    );
}

/// The RSS of a process, in KiB.
fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// A follower of a live twin making 600 calls a minute, with a cursor: its RSS after five
/// minutes and after `TDC_FOLLOW_MINUTES` (default 30), and what it handed.
fn follow(dir: &Path) {
    let minutes: u64 = std::env::var("TDC_FOLLOW_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(30);
    let server = Server::start(&["--live", "600", "--cdrs", "20000", "--leads", "2000"]);
    let follower = script(
        dir,
        "follow.rhai",
        "let n = 0;\nfor c in td.cdrs().follow(#{ cursor: \"follow.cursor\" }) { n += 1; if n % 600 == 0 { print(n); } }\n",
    );
    let mut command = tdc(&server.url);
    command.current_dir(dir).arg("run").arg(&follower);
    let mut child = command.spawn().expect("start the follower");
    let early = minutes.min(5);
    std::thread::sleep(Duration::from_secs(early * 60));
    let at_early = rss_kb(child.id());
    std::thread::sleep(Duration::from_secs((minutes - early) * 60));
    let at_end = rss_kb(child.id());
    let _ = child.kill();
    let output = child.wait_with_output().expect("wait");
    let handed = String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or("0")
        .to_string();
    println!(
        "follower of --live 600: RSS {} MB after {early} min, {} MB after {minutes} min ({:+.1} %); about {handed} CDRs handed",
        at_early / 1024,
        at_end / 1024,
        100.0 * (at_end as f64 - at_early as f64) / at_early.max(1) as f64
    );
}

/// Slow readers of 1,000,000 CDRs: the stream must hold what its budget says whatever the
/// reader's pace (target: under 300 MB each). Each runs 60 s, far from the end of the listing:
/// the peak is reached within seconds if memory is bounded and grows all along if not.
fn slow_readers(dir: &Path) {
    let server = Server::start(&["--cdrs", "1000000"]);
    let per_row = script(
        dir,
        "per_row.rhai",
        "let n = 0;\nfor c in td.cdrs() { td.campaigns(); n += 1; if n % 100 == 0 { print(n); } }\n",
    );
    let mut command = tdc(&server.url);
    command.arg("run").arg(&per_row);
    let (peak, lines) = common::peak_mb_with_slow_reader(&mut command, 60);
    println!(
        "slow reader, a request per row: {} rows in 60 s, tdc peak memory {peak} MB",
        lines * 100
    );
    let mut command = tdc(&server.url);
    command.args(["eval", "-o", "ndjson", "td.cdrs()"]);
    let (peak, lines) = common::peak_mb_with_slow_reader(&mut command, 60);
    println!(
        "slow reader, -o ndjson into a reader taking 1 ms a line: {lines} lines in 60 s, tdc peak memory {peak} MB"
    );
}

/// `TDC_BENCH=aggregation,scan` runs only those parts; unset, all of them.
fn wanted(part: &str) -> bool {
    std::env::var("TDC_BENCH").map_or(true, |parts| parts.split(',').any(|p| p.trim() == part))
}

fn main() {
    let dir = std::env::temp_dir().join(format!("tdc-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    if wanted("startup") {
        startup();
    }
    if wanted("aggregation") {
        aggregation();
    }
    if wanted("scan") {
        scan(&dir, "0");
        scan(&dir, "20");
    }
    if wanted("import") {
        import(&dir);
    }
    if wanted("threads") {
        threads(&dir);
    }
    if wanted("requests") {
        requests_per_operation();
    }
    if wanted("faults") {
        faults(&dir);
    }
    if wanted("phones") {
        phones();
    }
    if wanted("export") {
        export(&dir);
    }
    if wanted("kpis") {
        kpis(&dir);
    }
    // Half an hour: only when asked for by name.
    if std::env::var("TDC_BENCH").is_ok_and(|parts| parts.split(',').any(|p| p.trim() == "follow"))
    {
        follow(&dir);
    }
    if wanted("slow") {
        slow_readers(&dir);
    }
    // Only when asked for by name: `TDC_BENCH=lsp`.
    if std::env::var("TDC_BENCH").is_ok_and(|parts| parts.split(',').any(|p| p.trim() == "lsp")) {
        editor();
    }
}

/// A script of `blocks` blocks of 20 lines: a documented function building a query, a loop,
/// an interpolated string, a map, and a call of it.
fn editor_script(blocks: usize) -> String {
    let mut text = String::from("import \"cdr\" as cdr;\n\n");
    for i in 0..blocks {
        text.push_str(&format!(
            "/// Block {i}: the answered calls of campaign {i}.
fn answered_{i}(td, campaign) {{
    let rows = td.cdrs()
        .where(\"campaign_id\", campaign)
        .where(\"bill_duration\", \">\", 0)
        .limit(100)
        .to_array();
    let by_status = count_by(rows, \"status\");
    let total = 0;
    for row in rows {{
        total += row.bill_duration;
    }}
    if total > 1000 {{
        print(`campaign ${{campaign}}: ${{total}} s, ASR ${{cdr::kpis(rows).asr}}`);
    }}
    #{{ rows: rows.len(), total: total, statuses: by_status }}
}}
let report_{i} = answered_{i}(td, {i});
print(report_{i}.total);

"
        ));
    }
    text
}

/// `tdc lsp` on a 2,000-line script: the time from a change to its diagnostics (the
/// debounce included), and the server's memory.
fn editor() {
    use lsp_server::{Message, Notification, Request, RequestId};
    use std::io::BufReader;

    let text = editor_script(100);
    let lines = text.lines().count();
    let mut child = Command::new(BIN)
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tdc lsp");
    let mut to_server = child.stdin.take().expect("stdin");
    let mut from_server = BufReader::new(child.stdout.take().expect("stdout"));
    let mut send = |message: Message| message.write(&mut to_server).expect("write to tdc lsp");
    let mut diagnostics = || loop {
        match Message::read(&mut from_server).expect("read from tdc lsp") {
            Some(Message::Notification(n)) if n.method == "textDocument/publishDiagnostics" => {
                return n.params["diagnostics"].as_array().map_or(0, Vec::len);
            }
            Some(_) => {}
            None => panic!("tdc lsp ended"),
        }
    };
    let initialize = serde_json::json!({"capabilities": {}});
    send(Request::new(RequestId::from(1), "initialize".into(), initialize).into());
    send(Notification::new("initialized".into(), serde_json::json!({})).into());
    let uri = "file:///tmp/tdc-bench-editor.rhai";
    let open = serde_json::json!({"textDocument": {
        "uri": uri, "languageId": "rhai", "version": 1, "text": text}});
    let started = Instant::now();
    send(Notification::new("textDocument/didOpen".into(), open).into());
    assert_eq!(diagnostics(), 0, "the script is clean");
    let opened = started.elapsed();
    let mut samples = Vec::new();
    for version in 2..32 {
        // Every other change brings a typo (`td.cdr()`), and the next one takes it away.
        let typo = version % 2 == 0;
        let changed = match typo {
            true => text.replacen("td.cdrs()", "td.cdr()", 1),
            false => text.clone(),
        };
        let change = serde_json::json!({
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"text": changed}]});
        let started = Instant::now();
        send(Notification::new("textDocument/didChange".into(), change).into());
        assert_eq!(diagnostics(), usize::from(typo));
        samples.push(started.elapsed());
    }
    let rss = rss_kb(child.id()) / 1024;
    let peak = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|status| {
            let line = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))?
                .to_string();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .unwrap_or(0)
        / 1024;
    send(
        Request::new(
            RequestId::from(2),
            "shutdown".into(),
            serde_json::Value::Null,
        )
        .into(),
    );
    send(Notification::new("exit".into(), serde_json::Value::Null).into());
    let _ = child.wait();
    println!(
        "tdc lsp, a {lines}-line script: diagnostics {:.0?} after a change (median of {}, the debounce included; {opened:.0?} on opening), server RSS {rss} MB, peak {peak} MB",
        median(samples.clone()),
        samples.len()
    );
}
