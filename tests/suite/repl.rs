//! The REPL driven the way a person drives it: through a terminal (tmux), and with piped input.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{output, tdc, temp_dir, Sandbox, BIN};

/// A tmux session running `tdc` in a terminal of 120 columns, on a tmux server of its own
/// (tests run in parallel, and a shared server may exit under another test's feet).
struct Terminal {
    name: String,
}

fn tmux(name: &str) -> Command {
    let mut command = Command::new("tmux");
    command.args(["-L", name]);
    command
}

impl Terminal {
    fn start(name: &str, home: &Path, url: &str) -> Option<Terminal> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI installs tmux for the REPL tests"
            );
            eprintln!("tmux is not installed: skipping {name}");
            return None;
        }
        let name = format!("tdc-{name}-{}", std::process::id());
        let command = format!(
            "env -u TDC_PROFILE HOME={} XDG_DATA_HOME={}/data TDC_URL={url} TDC_USER=sandbox TDC_PASSWORD=sandbox {BIN}",
            home.display(),
            home.display()
        );
        let status = tmux(&name)
            .args([
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                "120",
                "-y",
                "50",
                &command,
            ])
            .status()
            .unwrap();
        assert!(status.success());
        let terminal = Terminal { name };
        terminal.wait_for("— :help for help");
        Some(terminal)
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            tmux(&self.name)
                .args(["send-keys", "-t", &self.name, key])
                .status()
                .unwrap();
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn screen(&self) -> String {
        let out = tmux(&self.name)
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {text:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = tmux(&self.name).arg("kill-server").status();
    }
}

#[test]
fn a_session_at_the_terminal() {
    let sandbox = Sandbox::start(&["--leads", "200", "--cdrs", "200"]);
    let home = temp_dir("repl-terminal");
    let Some(terminal) = Terminal::start("session", &home, &sandbox.url) else {
        return;
    };
    // A multi-line function: Enter continues while the input is unfinished.
    terminal.keys(&[
        "fn f(x) {",
        "Enter",
        "x * 2",
        "Enter",
        "}",
        "Enter",
        "f(21)",
        "Enter",
    ]);
    let screen = terminal.wait_for("\n42\n");
    assert!(screen.contains("> f(21)"), "{screen}");
    // Tab completes methods of td.
    terminal.keys(&["td.find_", "Tab"]);
    terminal.wait_for("td.find_leads(");
    terminal.keys(&["C-u", ":help find_leads", "Enter"]);
    terminal.wait_for("td.find_leads(field: String, value: ?) -> Array");
    // Deep recursion: the same call depth (1,000) as `tdc run` and `tdc test`.
    terminal.keys(&[
        "fn depth(n) { if n == 0 { 0 } else { 1 + depth(n - 1) } }",
        "Enter",
        "depth(990)",
        "Enter",
    ]);
    terminal.wait_for("\n990\n");
    // The stdlib's functions have help from their own docs.
    terminal.keys(&[":doc recycle::last_calls", "Enter"]);
    terminal.wait_for("Each campaign lead's last finished call");
    // Results and errors land in ans and err.
    terminal.keys(&["td.campaign(12).name", "Enter"]);
    terminal.wait_for("Campaign 12");
    terminal.keys(&["ans.len()", "Enter"]);
    terminal.wait_for("\n11\n");
    terminal.keys(&["td.campaign(99)", "Enter"]);
    terminal.wait_for("404 campaign 99 does not exist");
    terminal.keys(&["err.status", "Enter"]);
    terminal.wait_for("\n404\n");
    terminal.keys(&["C-d"]);
    // The history is saved as the REPL ends: waited on until it holds the session.
    let history = home.join("data/tdc/history");
    let until = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = std::fs::read_to_string(&history).unwrap_or_default();
        if text.contains("f(21)") || Instant::now() > until {
            break text;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        text.contains("f(21)") && !text.contains("TDC_PASSWORD") && !text.contains("sandbox"),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&history).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn ctrl_c_stops_a_slow_request_and_the_repl_goes_on() {
    let sandbox = Sandbox::start(&["--leads", "100", "--cdrs", "100", "--latency-ms", "5000"]);
    let home = temp_dir("repl-ctrl-c");
    let Some(terminal) = Terminal::start("ctrlc", &home, &sandbox.url) else {
        return;
    };
    terminal.keys(&["td.cdrs().first()", "Enter"]);
    std::thread::sleep(Duration::from_millis(700));
    let pressed = Instant::now();
    terminal.keys(&["C-c"]);
    terminal.wait_for("interrupted");
    assert!(
        pressed.elapsed() < Duration::from_secs(3),
        "back after {:?}",
        pressed.elapsed()
    );
    terminal.keys(&["6 * 7", "Enter"]);
    terminal.wait_for("\n42\n");
}

/// `:help` lists wrap between words at the width given, never inside a name.
#[test]
fn help_wraps_at_word_boundaries() {
    let home = temp_dir("repl-help-wrap");
    let (code, stdout, stderr) =
        common::output_with_input(tdc(&home).arg("--sandbox").env("COLUMNS", "60"), ":help\n");
    assert_eq!(code, 0, "{stderr}");
    let lists: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("td."))
        .collect();
    assert!(lists.len() > 4, "{stdout}");
    for line in &lists {
        assert!(line.chars().count() <= 60, "{line:?} is wider than 60");
        assert!(
            ["td.", "Query.", "helpers", "stdlib", "         "]
                .iter()
                .any(|start| line.starts_with(start)),
            "{line:?}"
        );
    }
    let words: Vec<&str> = lists.iter().flat_map(|l| l.split_whitespace()).collect();
    for name in ["find_leads", "cdrs", "parse_time", "(import"] {
        assert!(words.contains(&name), "{name}: {stdout}");
    }
}

#[test]
fn piped_input_runs_entry_by_entry_without_escape_codes() {
    let home = temp_dir("repl-piped");
    let input = "let n = 20;\nfn twice(x) {\n  x * 2\n}\ntwice(n) + 2\nlet oops = nope;\ntd.campaigns().len()\nlet total = [\n  1,\n  2 +\n];\n";
    let (code, stdout, stderr) = common::output_with_input(tdc(&home).arg("--sandbox"), input);
    assert_eq!(stdout, "42\n4\n");
    // Each error names its line in the input, as `tdc run -` would.
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("<stdin>:"))
        .collect();
    assert_eq!(
        errors,
        [
            "<stdin>:6:12: error: Variable not found: nope",
            "<stdin>:11:1: error: Unexpected ']'"
        ],
        "{stderr}"
    );
    assert!(stderr.contains("\n   6 | let oops = nope;\n"), "{stderr}");
    assert!(!stdout.contains('\x1b') && !stderr.contains('\x1b'));
    assert_eq!(code, 1, "an entry failed");
    let (code, stdout, _) = output(tdc(&home).args(["--sandbox", "repl"]));
    assert_eq!((code, stdout.as_str()), (0, ""), "no input, nothing to do");
}
