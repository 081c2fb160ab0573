//! `tdc run --watch`, saved the way editors save: in place, and write-temp-then-rename.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{send_signal, tdc, tdc_on, temp_dir, Sandbox};

struct Watching {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Watching {
    fn start(mut command: std::process::Command, dir: &Path, args: &[&str]) -> Watching {
        let (stdout, stderr) = (dir.join("stdout.log"), dir.join("stderr.log"));
        let child = command
            .current_dir(dir)
            .args(["run", "--watch"])
            .args(args)
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        Watching {
            child,
            stdout,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Waits until stderr holds `n` finished runs (ok, failed or cancelled).
    fn wait_for_runs(&self, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.stderr();
            let finished = text
                .lines()
                .filter(|l| {
                    l.contains("] ok (")
                        || l.contains("] failed (")
                        || l.contains("] cancelled after")
                })
                .count();
            if finished >= n {
                return text;
            }
            assert!(Instant::now() < deadline, "waited for {n} runs:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn runs_started(&self) -> usize {
        self.stderr()
            .lines()
            .filter(|l| l.contains("] run "))
            .count()
    }

    fn stop(mut self) -> i32 {
        send_signal(self.child.id(), "INT");
        let status = self.child.wait().unwrap();
        status.code().unwrap_or(-1)
    }
}

/// Saves like an editor that writes a temporary file and renames it over the original.
fn save_atomically(path: &Path, text: &str) {
    let temp = path.with_extension("rhai.swp");
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

#[test]
fn a_burst_of_saves_gives_one_run_and_ctrl_c_exits_130() {
    let dir = temp_dir("watch-burst");
    let script = dir.join("main.rhai");
    std::fs::write(&script, "print(\"v0\");\n").unwrap();
    let watching = Watching::start(tdc(&dir), &dir, &["--sandbox", "main.rhai"]);
    watching.wait_for_runs(1);
    for i in 1..=20 {
        std::fs::write(&script, format!("print(\"v{i}\");\n")).unwrap();
        std::thread::sleep(Duration::from_millis(40));
    }
    watching.wait_for_runs(2);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        watching.runs_started(),
        2,
        "20 saves in under a second, one run:\n{}",
        watching.stderr()
    );
    assert_eq!(watching.stdout(), "v0\nv20\n");
    assert_eq!(watching.stop(), 130);
}

#[test]
fn atomic_saves_imported_modules_and_a_fix_after_an_error_all_rerun() {
    let dir = temp_dir("watch-kinds");
    let script = dir.join("main.rhai");
    std::fs::write(dir.join("helper.rhai"), "fn value() { 1 }\n").unwrap();
    std::fs::write(&script, "import \"helper\" as h;\nprint(h::value());\n").unwrap();
    let watching = Watching::start(tdc(&dir), &dir, &["--sandbox", "main.rhai"]);
    watching.wait_for_runs(1);
    save_atomically(&script, "import \"helper\" as h;\nprint(h::value() + 1);\n");
    watching.wait_for_runs(2);
    save_atomically(&dir.join("helper.rhai"), "fn value() { 10 }\n");
    let text = watching.wait_for_runs(3);
    assert!(
        text.contains("changed ") && text.contains("helper.rhai"),
        "{text}"
    );
    std::fs::write(&script, "let x = ;\n").unwrap();
    let text = watching.wait_for_runs(4);
    assert!(
        text.contains("main.rhai:1:9: error: Unexpected ';'"),
        "{text}"
    );
    std::fs::write(&script, "print(\"fixed\");\n").unwrap();
    watching.wait_for_runs(5);
    std::fs::write(dir.join("main.rhai~"), "backup").unwrap();
    std::fs::write(dir.join(".main.rhai.swx"), "swap").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        watching.runs_started(),
        5,
        "backup and swap files are ignored:\n{}",
        watching.stderr()
    );
    assert_eq!(watching.stdout(), "1\n2\n11\nfixed\n");
    watching.stop();
}

#[test]
fn a_change_during_a_slow_run_cancels_it() {
    let sandbox = Sandbox::start(&["--leads", "100", "--cdrs", "100", "--latency-ms", "20000"]);
    let dir = temp_dir("watch-slow");
    let script = dir.join("slow.rhai");
    std::fs::write(&script, "print(td.cdrs().limit(1).to_array().len());\n").unwrap();
    let watching = Watching::start(tdc_on(&sandbox, &dir), &dir, &["slow.rhai"]);
    std::thread::sleep(Duration::from_millis(800));
    let saved = Instant::now();
    std::fs::write(&script, "print(\"quick\");\n").unwrap();
    let text = watching.wait_for_runs(2);
    assert!(
        saved.elapsed() < Duration::from_secs(10),
        "the slow run was stopped, not waited for"
    );
    assert!(text.contains("cancelled after"), "{text}");
    assert_eq!(watching.stdout(), "quick\n");
    watching.stop();
}

#[test]
fn each_run_starts_from_the_same_data_unless_state_is_kept() {
    let dir = temp_dir("watch-state");
    let script = dir.join("add.rhai");
    let body = "td.add_leads([#{ phone: \"441234567\", original_identifier: \"watch-1\" }]);\nprint(td.find_leads(\"original_identifier\", \"watch-1\").len());\n";
    std::fs::write(&script, body).unwrap();
    for (flags, expected) in [
        (vec!["add.rhai"], "1\n1\n"),
        (vec!["--keep-state", "add.rhai"], "1\n2\n"),
    ] {
        let watching = Watching::start(tdc(&dir), &dir, &flags);
        watching.wait_for_runs(1);
        std::fs::write(&script, format!("{body}// again\n")).unwrap();
        watching.wait_for_runs(2);
        assert_eq!(watching.stdout(), expected, "{flags:?}");
        watching.stop();
        std::fs::write(&script, body).unwrap();
    }
}

#[test]
fn a_script_that_is_not_there_at_the_start_is_an_error_not_a_wait() {
    let dir = temp_dir("watch-missing");
    let (code, _, stderr) = common::output(tdc(&dir).current_dir(&dir).args([
        "--sandbox",
        "run",
        "--watch",
        "nosuch.rhai",
    ]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("tdc: cannot read nosuch.rhai: No such file"),
        "{stderr}"
    );
}

#[test]
fn watch_paths_add_data_files_and_folders() {
    let dir = temp_dir("watch-data");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(dir.join("leads.csv"), "a\n1\n").unwrap();
    std::fs::write(
        dir.join("main.rhai"),
        "print(read_csv(\"leads.csv\").len());\n",
    )
    .unwrap();
    let watching = Watching::start(
        tdc(&dir),
        &dir,
        &["-w", "leads.csv", "-w", "data", "--sandbox", "main.rhai"],
    );
    watching.wait_for_runs(1);
    std::fs::write(dir.join("leads.csv"), "a\n1\n2\n").unwrap();
    watching.wait_for_runs(2);
    std::fs::write(data.join("new.json"), "{}").unwrap();
    let text = watching.wait_for_runs(3);
    assert!(text.contains("new.json"), "{text}");
    assert_eq!(watching.stdout(), "1\n2\n2\n");
    assert_eq!(watching.stop(), 130);
}

/// Every way tdc evaluates a script goes through one path: the same recursion depth works in
/// `run`, `eval`, watch mode, the REPL and `tdc test`, and the same errors read the same.
#[test]
fn every_entry_point_reaches_the_same_depth_and_says_the_same_errors() {
    let dir = temp_dir("entry-points");
    let body = "print(depth(900));\nlet rows = [1, 2];\nrows.nope()\n";
    let script = format!("fn depth(n) {{ if n == 0 {{ 0 }} else {{ 1 + depth(n - 1) }} }}\n{body}");
    std::fs::write(dir.join("deep.rhai"), &script).unwrap();
    let expected = "error: Function not found: nope (array)";
    let check = |entry: &str, code: i32, stdout: &str, stderr: &str| {
        assert_eq!(code, 1, "{entry}: {stderr}");
        assert_eq!(stdout.lines().next(), Some("900"), "{entry}: {stdout}");
        let line = stderr
            .lines()
            .find(|l| l.contains("error:"))
            .unwrap_or_else(|| panic!("{entry}: {stderr}"));
        assert!(
            line.ends_with(&format!(":4:6: {expected}")),
            "{entry}: {line}"
        );
    };
    let (code, stdout, stderr) =
        common::output(
            tdc(&dir)
                .current_dir(&dir)
                .args(["--sandbox", "run", "deep.rhai"]),
        );
    check("run", code, &stdout, &stderr);
    let (code, stdout, stderr) = common::output(tdc(&dir).args(["--sandbox", "eval", &script]));
    check("eval", code, &stdout, &stderr);
    let (code, stdout, stderr) =
        common::output_with_input(tdc(&dir).args(["--sandbox", "repl"]), &script);
    check("repl", code, &stdout, &stderr);
    // A test function is one call deeper; its body holds the same lines 2 to 4.
    let test = "fn depth(n) { if n == 0 { 0 } else { 1 + depth(n - 1) } }\nfn test_deep() { print(depth(900));\nlet rows = [1, 2];\nrows.nope() }\n";
    std::fs::write(dir.join("deep_test.rhai"), test).unwrap();
    let (code, stdout, _) =
        common::output(tdc(&dir).current_dir(&dir).args(["test", "deep_test.rhai"]));
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(stdout.lines().next(), Some("900"), "{stdout}");
    assert!(
        stdout.contains(&format!("deep_test.rhai:4:6: {expected}")),
        "{stdout}"
    );
    let watching = Watching::start(tdc(&dir), &dir, &["--sandbox", "deep.rhai"]);
    let stderr = watching.wait_for_runs(1);
    let stdout = watching.stdout();
    watching.stop();
    check("watch", 1, &stdout, &stderr);
}
