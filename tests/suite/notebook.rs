//! Notebooks: `tdc jupyter install|remove|kernel` driven by Jupyter's own tools (PyPI's
//! jupyter_client, jupyter_kernel_test, nbconvert), every kernel spec installed into a
//! throwaway JUPYTER_DATA_DIR so that nothing touches the user's Jupyter.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{output, root, tdc, temp_dir};

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
    home: PathBuf,
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
        "test_sigint_stops_a_running_cell",
        "test_interrupt_request_stops_a_running_cell",
    ] {
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("{test} ")) && l.ends_with(" ok")),
            "{test} did not pass:\n{err}"
        );
    }
}
