//! Notebooks: `tdc jupyter install|remove|kernel` driven by Jupyter's own tools (PyPI's
//! jupyter_client, jupyter_kernel_test, nbconvert), every kernel spec installed into a
//! throwaway JUPYTER_DATA_DIR so that nothing touches the user's Jupyter.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{output, root, tdc, tdc_on, temp_dir, Sandbox};

/// Whether python3 can import `modules`; without them a test is skipped with a note, except
/// in CI, which installs them (.ci/run).
fn python_has(modules: &[&str]) -> bool {
    let imports = modules.join(", ");
    let found = Command::new("python3")
        .args(["-c", &format!("import {imports}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs the Python packages {imports} (.ci/run)"
        );
        eprintln!("python3 cannot import {imports} here: this notebook test runs in CI");
    }
    found
}

/// A Jupyter of its own for a test: data (kernel specs), runtime (connection files) and
/// config folders under `home`.
struct Jupyter {
    home: crate::common::TempDir,
    data: PathBuf,
}

impl Jupyter {
    fn new(name: &str) -> Jupyter {
        let home = temp_dir(name);
        let data = home.join("jupyter-data");
        Jupyter { home, data }
    }

    /// A command with this Jupyter's folders and no connection settings of the caller's
    /// (a kernel inherits them).
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        for (key, _) in std::env::vars() {
            let connection_setting = key.starts_with("TDC_") && !key.starts_with("TDC_SANDBOX_");
            if connection_setting || key.starts_with("JUPYTER") || key.starts_with("XDG_") {
                command.env_remove(key);
            }
        }
        command
            .current_dir(&self.home)
            .env("HOME", &self.home)
            .env("NO_COLOR", "1")
            .env("JUPYTER_DATA_DIR", &self.data)
            .env("JUPYTER_RUNTIME_DIR", self.home.join("jupyter-runtime"))
            .env("JUPYTER_CONFIG_DIR", self.home.join("jupyter-config"))
            .env("JUPYTER_PLATFORM_DIRS", "1");
        command
    }

    /// `tdc [flags] jupyter install`; returns the kernel spec's folder.
    fn install(&self, flags: &[&str], name: &str) -> PathBuf {
        let (code, out, err) = output(
            tdc(&self.home)
                .current_dir(&self.home)
                .env("JUPYTER_DATA_DIR", &self.data)
                .args(flags)
                .args(["jupyter", "install"]),
        );
        assert_eq!(code, 0, "{err}");
        let folder = self.data.join("kernels").join(name);
        assert_eq!(
            out.trim(),
            format!(
                "installed the kernel {name} ({}) in {}",
                kernel_spec(&folder)["display_name"].as_str().unwrap(),
                folder.display()
            )
        );
        folder
    }
}

fn kernel_spec(folder: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(folder.join("kernel.json")).expect("kernel.json");
    serde_json::from_str(&text).expect("kernel.json is JSON")
}

#[test]
fn a_wrong_connection_file_is_one_line_before_any_dialer_is_set_up() {
    let home = temp_dir("kernel-no-file");
    let missing = home.join("kernel-1.json");
    let (code, _, stderr) = output(tdc(&home).args(["jupyter", "kernel"]).arg(&missing));
    assert_eq!(code, 2);
    assert_eq!(
        stderr.trim(),
        format!(
            "tdc jupyter kernel: cannot read {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
    std::fs::write(&missing, "{}").unwrap();
    let (code, _, stderr) = output(tdc(&home).args(["jupyter", "kernel"]).arg(&missing));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("is not a Jupyter connection file") && !stderr.contains("sandbox"),
        "{stderr}"
    );
}

#[test]
fn a_kernel_spec_per_profile_is_installed_where_jupyter_finds_it_and_removed() {
    let jupyter = Jupyter::new("kernelspec");
    crate::common::write_config(
        &jupyter.home,
        "[profiles.prod]\nurl = \"https://example.td.commpeak.com\"\nuser = \"ops\"\n",
    );
    let folder = jupyter.install(
        &[
            "--profile",
            "prod",
            "--allow-read",
            "data",
            "--allow-env",
            "REGION",
        ],
        "tdc-prod",
    );
    let spec = kernel_spec(&folder);
    let binary = crate::common::BIN.to_string();
    let data = jupyter.home.join("data").display().to_string();
    assert_eq!(
        spec["argv"],
        serde_json::json!([
            binary,
            "--profile",
            "prod",
            "--allow-read",
            data,
            "--allow-env",
            "REGION",
            "jupyter",
            "kernel",
            "{connection_file}"
        ])
    );
    assert_eq!(spec["display_name"], "tdc (profile prod)");
    assert_eq!(spec["language"], "rhai");
    for logo in ["logo-svg.svg", "logo-64x64.png", "logo-32x32.png"] {
        assert!(folder.join(logo).is_file(), "{logo}");
    }
    let sandbox = jupyter.install(&["--sandbox"], "tdc-sandbox");
    assert_eq!(
        kernel_spec(&sandbox)["display_name"],
        "tdc (embedded sandbox)"
    );

    if python_has(&["jupyter_client"]) {
        let (code, out, err) =
            output(
                jupyter
                    .command("jupyter")
                    .args(["kernelspec", "list", "--json"]),
            );
        assert_eq!(code, 0, "{err}");
        let listed: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        let resource = |name: &str| listed["kernelspecs"][name]["resource_dir"].clone();
        assert_eq!(resource("tdc-prod"), folder.display().to_string());
        assert_eq!(resource("tdc-sandbox"), sandbox.display().to_string());
    }

    let remove = |flags: &[&str]| {
        output(
            tdc(&jupyter.home)
                .env("JUPYTER_DATA_DIR", &jupyter.data)
                .args(flags)
                .args(["jupyter", "remove"]),
        )
    };
    let (code, out, err) = remove(&["--profile", "prod"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out.trim(),
        format!("removed the kernel tdc-prod from {}", folder.display())
    );
    assert!(!folder.exists() && sandbox.exists());
    let (code, _, err) = remove(&["--profile", "prod"]);
    assert_eq!(code, 2);
    assert_eq!(
        err.trim(),
        format!(
            "tdc jupyter remove: no kernel tdc-prod in {} (jupyter kernelspec list shows where kernels are)",
            jupyter.data.join("kernels").display()
        )
    );
}

#[test]
fn a_kernel_that_could_never_start_is_not_installed() {
    let jupyter = Jupyter::new("kernelspec-refused");
    let install = |flags: &[&str]| {
        output(
            tdc(&jupyter.home)
                .env("JUPYTER_DATA_DIR", &jupyter.data)
                .args(flags)
                .args(["jupyter", "install"]),
        )
    };
    let (code, _, err) = install(&["--profile", "nowhere"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "tdc jupyter install: no profile named nowhere in the config file (tdc profile list shows them)\n"
    );
    let (code, _, err) = install(&["--url", "https://ops:hunter2@example.td.commpeak.com"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with(
            "tdc jupyter install: --url: a user name or password inside the URL is refused"
        ),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    assert!(!jupyter.data.exists(), "nothing was written");
}

#[test]
fn a_bad_connection_file_is_one_line_and_exit_2() {
    let jupyter = Jupyter::new("bad-connection-file");
    let file = jupyter.home.join("kernel-1.json");
    std::fs::write(&file, "{\"shell_port\": \"x\"}").unwrap();
    let (code, _, err) = output(
        tdc(&jupyter.home)
            .args(["--sandbox", "jupyter", "kernel"])
            .arg(&file),
    );
    assert_eq!(code, 2, "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.starts_with(&format!(
            "tdc jupyter kernel: {} is not a Jupyter connection file: ",
            file.display()
        )),
        "{err}"
    );
}

/// Jupyter's own conformance tests, and the kernel's shared scope, diagnostics, history search
/// and interrupts (tests/jupyter/test_kernel.py), on the embedded sandbox.
#[test]
fn the_jupyter_kernel_conformance_tests_pass() {
    if !python_has(&["jupyter_kernel_test", "jupyter_client"]) {
        return;
    }
    let jupyter = Jupyter::new("kernel-conformance");
    jupyter.install(&["--sandbox"], "tdc-sandbox");
    let (code, out, err) = output(
        jupyter
            .command("python3")
            .arg(root().join("tests/jupyter/test_kernel.py"))
            .arg("-v")
            .env("TDC_KERNEL", "tdc-sandbox"),
    );
    // Exit 0: none failed (test_history's range and tail are subtests, named on no line of
    // their own); these are named so that a test skipped for want of a sample is caught.
    assert_eq!(code, 0, "{out}\n{err}");
    // The kernels' own lines (`tdc: …` on the stderr they share with the runner) taken out,
    // even from the middle of a runner's line.
    let mut report = String::new();
    let mut rest = err.as_str();
    while let Some(at) = rest.find("tdc: ") {
        report.push_str(&rest[..at]);
        rest = rest[at..].split_once('\n').map_or("", |(_, after)| after);
    }
    report.push_str(rest);
    for test in [
        "test_kernel_info",
        "test_execute_stdout",
        "test_execute_stderr",
        "test_execute_result",
        "test_display_data",
        "test_error",
        "test_completion",
        "test_is_complete",
        "test_inspect",
        "test_cells_share_one_scope",
        "test_history_search_finds_cells_by_pattern",
        "test_completion_knows_map_keys_chains_and_the_stdlib",
        "test_inspect_shows_the_doc_of_a_stdlib_function",
        "test_a_message_signed_with_another_key_is_ignored",
        "test_kernel_info_names_the_dialer",
        "test_a_query_shows_its_url_and_first_rows_as_a_table",
        "test_cells_write_in_the_notebooks_folder_and_not_elsewhere",
        "test_a_scans_progress_is_one_line_updated_in_place",
        "test_a_restart_ends_the_kernel_and_starts_afresh",
        "test_sigint_stops_a_running_cell",
        "test_interrupt_request_stops_a_running_cell",
    ] {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with(&format!("{test} ")) && l.ends_with(" ok")),
            "{test} did not pass:\n{err}"
        );
    }
}

/// A kernel on `sandbox` (`tdc --url URL --user sandbox jupyter install`: the kernel spec
/// `tdc`), its password in the environment Jupyter passes on.
fn kernel_on(jupyter: &Jupyter, sandbox: &Sandbox) {
    jupyter.install(&["--url", &sandbox.url, "--user", "sandbox"], "tdc");
}

/// The executed notebook's outputs of every code cell, in order.
fn cell_outputs(notebook: &serde_json::Value) -> Vec<Vec<serde_json::Value>> {
    notebook["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .filter(|cell| cell["cell_type"] == "code")
        .map(|cell| cell["outputs"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// A MIME bundle's text (nbformat keeps it as a string or a list of lines).
fn mime_text(data: &serde_json::Value) -> String {
    match data {
        serde_json::Value::Array(lines) => lines.iter().filter_map(|l| l.as_str()).collect(),
        other => other.as_str().unwrap_or_default().to_string(),
    }
}

#[test]
fn the_example_notebook_runs_top_to_bottom_with_tables_a_chart_and_the_stdlib_asr() {
    if !python_has(&["nbconvert", "nbclient"]) {
        return;
    }
    let sandbox = Sandbox::start(&[]);
    let jupyter = Jupyter::new("example-notebook");
    kernel_on(&jupyter, &sandbox);
    std::fs::copy(
        root().join("scripts/cdr_analysis.ipynb"),
        jupyter.home.join("cdr_analysis.ipynb"),
    )
    .expect("copy the notebook");
    let (code, out, err) = output(
        jupyter
            .command("jupyter")
            .args([
                "nbconvert",
                "--to",
                "notebook",
                "--execute",
                "cdr_analysis.ipynb",
            ])
            .args(["--output", "executed.ipynb"])
            .env("TDC_PASSWORD", "sandbox"),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let text = std::fs::read_to_string(jupyter.home.join("executed.ipynb")).expect("executed");
    let notebook: serde_json::Value = serde_json::from_str(&text).expect("a notebook");
    let cells = cell_outputs(&notebook);
    let all: Vec<&serde_json::Value> = cells.iter().flatten().collect();
    assert!(all.iter().all(|o| o["output_type"] != "error"), "{text}");
    // The scan's progress is one output, left empty; then what the cell printed.
    assert_eq!(cells[0].len(), 2, "{:?}", cells[0]);
    assert_eq!(mime_text(&cells[0][0]["data"]["text/plain"]), "");
    assert_eq!(mime_text(&cells[0][1]["text"]), "20000 CDRs\n");

    let kpis = &cells[1][0]["data"]["application/json"];
    let (code, asr, err) = output(tdc_on(&sandbox, &jupyter.home).args([
        "eval",
        "import \"cdr\" as cdr; cdr::kpis(td.cdrs().to_array()).asr",
    ]));
    assert_eq!(code, 0, "{err}");
    let asr: f64 = asr.trim().parse().expect("a number");
    assert_eq!(kpis["asr"].as_f64(), Some(asr), "{kpis}");
    assert!(asr > 0.0);

    let html: Vec<String> = all
        .iter()
        .filter_map(|o| o["data"].get("text/html").map(mime_text))
        .collect();
    assert_eq!(html.len(), 3, "by hour, by cause, per agent: {html:?}");
    assert!(html[0].starts_with("<table class=\"tdc-table\">\n<thead><tr><th>hour</th><th>attempts</th><th>answered</th><th>asr</th><th>acd</th></tr></thead>"), "{}", html[0]);
    assert!(html[1].contains("<td>NORMAL_CLEARING</td>"), "{}", html[1]);
    let svg: Vec<String> = all
        .iter()
        .filter_map(|o| o["data"].get("image/svg+xml").map(mime_text))
        .collect();
    assert_eq!(svg.len(), 1, "the chart of ASR by hour");
    assert!(
        svg[0].starts_with("<svg") && svg[0].contains("asr"),
        "{}",
        svg[0]
    );
    let chart_text = mime_text(&cells[3][0]["data"]["text/plain"]);
    assert!(chart_text.starts_with(" 8 │█"), "{chart_text}");
}

#[test]
fn interrupting_a_scan_of_a_slow_dialer_returns_at_once_and_the_kernel_goes_on() {
    if !python_has(&["jupyter_client"]) {
        return;
    }
    let sandbox = Sandbox::start(&["--latency-ms", "500"]);
    let jupyter = Jupyter::new("interrupt-scan");
    kernel_on(&jupyter, &sandbox);
    let (code, out, err) = output(
        jupyter
            .command("python3")
            .arg(root().join("tests/jupyter/interrupt_scan.py"))
            .env("TDC_KERNEL", "tdc")
            .env("TDC_PASSWORD", "sandbox"),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).expect("the script's JSON");
    assert_eq!(report["answers"], true, "{report}");
    assert_eq!(report["status"], "error", "{report}");
    assert_eq!(report["ename"], "Interrupted", "{report}");
    let seconds = report["returned_after"].as_f64().expect("seconds");
    assert!(
        seconds < 2.0,
        "the cell returned {seconds:.2} s after the interrupt"
    );
    assert_eq!(report["next_cell"], serde_json::json!(["42"]), "{report}");
}

/// JupyterLab, headless on loopback, in Debian's Chromium driven by Playwright: a cell runs on
/// the embedded sandbox and the page shows its table and chart (tests/jupyter/lab_browser.py;
/// the screenshot stays in the test's folder).
#[test]
fn jupyterlab_in_chromium_shows_a_cells_table_and_chart() {
    if !python_has(&["jupyterlab", "playwright", "jupyter_client"]) {
        return;
    }
    if !Path::new("/usr/bin/chromium").is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs Debian's chromium (.ci/run)"
        );
        eprintln!("/usr/bin/chromium is not installed here: the JupyterLab test runs in CI");
        return;
    }
    let jupyter = Jupyter::new("jupyterlab");
    jupyter.install(&["--sandbox"], "tdc-sandbox");
    let (code, out, err) = output(
        jupyter
            .command("python3")
            .arg(root().join("tests/jupyter/lab_browser.py"))
            .env("TDC_KERNEL", "tdc-sandbox"),
    );
    let log = std::fs::read_to_string(jupyter.home.join("jupyter-lab.log")).unwrap_or_default();
    assert_eq!(code, 0, "{out}\n{err}\njupyter lab's log:\n{log}");
    let shown: serde_json::Value = serde_json::from_str(out.trim()).expect("the script's JSON");
    assert_eq!(
        shown["headers"],
        serde_json::json!(["hour", "attempts", "answered", "asr", "acd"]),
        "{shown}"
    );
    assert!(
        shown["rows"].as_u64().is_some_and(|rows| rows > 0),
        "{shown}"
    );
    assert_eq!(shown["first_row"][0], "8", "{shown}");
    let chart = shown["chart_source"].as_str().unwrap_or_default();
    assert!(
        chart.starts_with("data:image/svg+xml") || chart.starts_with("<svg"),
        "{shown}"
    );
    assert_eq!(shown["errors"], 0, "{shown}");
    let screenshot = std::fs::read(jupyter.home.join("jupyterlab.png")).expect("a screenshot");
    assert!(screenshot.starts_with(b"\x89PNG"), "a PNG");
    eprintln!(
        "JupyterLab's page: {}",
        jupyter.home.join("jupyterlab.png").display()
    );
}

/// Whether a process has ended (gone, or a zombie nobody reaped).
fn ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

#[test]
fn a_kernel_ends_when_the_jupyter_that_started_it_is_killed() {
    if !python_has(&["jupyter_client"]) {
        return;
    }
    let jupyter = Jupyter::new("orphan-kernel");
    jupyter.install(&["--sandbox"], "tdc-sandbox");
    let script = "import os, signal\n\
        from jupyter_client.manager import start_new_kernel\n\
        km, kc = start_new_kernel(kernel_name='tdc-sandbox')\n\
        print(km.provisioner.process.pid, flush=True)\n\
        os.kill(os.getpid(), signal.SIGKILL)\n";
    // The kernel inherits the pipes: one line is read, never their end.
    let mut python = jupyter
        .command("python3")
        .args(["-c", script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(python.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("the kernel's pid");
    let _ = python.wait();
    let pid: u32 = line.trim().parse().unwrap_or_else(|_| panic!("{line:?}"));
    let started = std::time::Instant::now();
    while !ended(pid) {
        if started.elapsed() > std::time::Duration::from_secs(10) {
            crate::common::send_signal(pid, "KILL");
            panic!("the kernel {pid} outlived its Jupyter by 10 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
