//! Watch mode: the time from a save (write-temp-then-rename) to the start of the new run,
//! median of 30 saves, against the baseline of starting `tdc run` afresh for the same script
//! (what users do without --watch), median of 10, measured in the same run.
//!
//! Run: `cargo bench --bench watch`

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tdc");

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn runs_started(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("] run "))
        .count()
}

fn wait_for_runs(log: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while runs_started(log) < n {
        assert!(Instant::now() < deadline, "run {n} never started");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn main() {
    let dir = std::env::temp_dir().join(format!("tdc-bench-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("main.rhai");
    std::fs::write(&script, "print(td.campaigns().len());\n").unwrap();

    let mut cold = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let status = Command::new(BIN)
            .args(["--sandbox", "run"])
            .arg(&script)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        cold.push(started.elapsed());
    }

    let log = dir.join("stderr.log");
    let mut child = Command::new(BIN)
        .args(["--sandbox", "run", "--watch"])
        .arg(&script)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_for_runs(&log, 1);
    std::thread::sleep(Duration::from_millis(300));
    let mut latency = Vec::new();
    for i in 0..30 {
        let temp = dir.join("main.rhai.tmp");
        std::fs::write(&temp, format!("print(td.campaigns().len()); // {i}\n")).unwrap();
        let saved = Instant::now();
        std::fs::rename(&temp, &script).unwrap();
        wait_for_runs(&log, i + 2);
        latency.push(saved.elapsed());
        std::thread::sleep(Duration::from_millis(250));
    }
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let (watch, fresh) = (median(latency), median(cold));
    println!("save to run start with --watch: median {watch:?} (quiet period 100 ms)");
    println!("a fresh `tdc run` of the same script: median {fresh:?}");
    println!(
        "ratio watch/fresh: {:.2}",
        watch.as_secs_f64() / fresh.as_secs_f64()
    );
}
