//! `tdc lsp` in the editors' hands: a real LSP client library (pytest-lsp, from PyPI) runs
//! `tests/lsp/test_server.py` against the binary, and Neovim (Debian's package, headless) with
//! its built-in client reads back the diagnostics of a script with an error.

use std::path::Path;
use std::process::Command;

use crate::common;

use common::{temp_dir, BIN};

/// Whether an outside tool is here; where it is not, CI fails with `what` to install and
/// elsewhere the test is skipped with a note.
fn available(probe: &mut Command, what: &str) -> bool {
    let here = probe.output().is_ok_and(|out| out.status.success());
    if !here {
        assert!(
            std::env::var_os("CI").is_none(),
            "{what} is missing: .ci/run installs it"
        );
        eprintln!("note: {what} is not installed; skipped");
    }
    here
}

#[test]
fn an_lsp_client_gets_diagnostics_completion_hover_and_definitions() {
    if !available(
        Command::new("python3").args(["-c", "import pytest_lsp"]),
        "pytest-lsp (pip install pytest-lsp)",
    ) {
        return;
    }
    let dir = temp_dir("lsp-client");
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lsp/test_server.py");
    let out = Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .args(["-o", "asyncio_default_fixture_loop_scope=function"])
        .arg(&tests)
        .env("TDC_BIN", BIN)
        .env("TDC_LSP_DIR", &dir)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .output()
        .expect("run pytest");
    let stdout = common::text(&out.stdout);
    assert!(
        out.status.success(),
        "pytest-lsp:\n{stdout}\n{}",
        common::text(&out.stderr)
    );
    assert!(stdout.contains("5 passed"), "{stdout}");
}

#[test]
fn neovim_shows_the_error_of_a_script_it_opens() {
    if !available(
        Command::new("nvim").arg("--version"),
        "Neovim (apt-get install neovim)",
    ) {
        return;
    }
    let dir = temp_dir("lsp-neovim");
    let script = dir.join("typo.rhai");
    std::fs::write(&script, "let n = td.cdr().len();\nprint(n);\n").expect("write script");
    let init = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lsp/init.lua");
    let found = dir.join("diagnostics.json");
    let mut nvim = Command::new("nvim");
    nvim.args(["--headless", "-n", "-i", "NONE", "-u"])
        .arg(&init)
        .arg(&script)
        .current_dir(&dir)
        .env("TDC_BIN", BIN)
        .env("TDC_NVIM_OUT", &found)
        .stdin(std::process::Stdio::null());
    // Neovim's own files (its LSP log, state) stay in the test's folder.
    for (variable, folder) in [
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
    ] {
        nvim.env(variable, dir.join(folder));
    }
    // init.lua waits at most 20 s for the diagnostics, then quits.
    let out = common::output(&mut nvim);
    let text = std::fs::read_to_string(&found)
        .unwrap_or_else(|e| panic!("Neovim wrote no diagnostics ({e}): {out:?}"));
    let read: serde_json::Value = serde_json::from_str(&text).expect("JSON from Neovim");
    assert_eq!(read["arrived"], true, "{text}");
    let diagnostics = read["diagnostics"].as_array().expect("a list");
    assert_eq!(diagnostics.len(), 1, "{text}");
    let typo = &diagnostics[0];
    assert_eq!(
        (&typo["lnum"], &typo["col"], &typo["end_col"]),
        (&0.into(), &11.into(), &14.into()),
        "{text}"
    );
    assert_eq!(typo["severity"], 1, "an error: {text}");
    assert_eq!(
        typo["message"],
        "Function not found: cdr (Dialer); did you mean .cdrs()?"
    );
}

#[test]
fn a_client_that_does_not_speak_the_protocol_gets_one_line() {
    let home = temp_dir("lsp-garbage");
    for (input, expected) in [
        (
            "garbage\n",
            "tdc lsp: cannot read the client's messages: malformed header: \"garbage\\n\"\n",
        ),
        (
            "",
            "tdc lsp: the client closed the connection before initializing it\n",
        ),
    ] {
        let (code, stdout, stderr) =
            common::output_with_input(common::tdc(&home).arg("lsp"), input);
        assert_eq!((code, stdout.as_str(), stderr.as_str()), (1, "", expected));
    }
}

#[test]
fn a_message_over_64_mib_ends_the_server_with_one_line_before_its_body_is_read() {
    let home = temp_dir("lsp-oversized");
    let refused = |length: u64| {
        format!(
            "tdc lsp: cannot read the client's messages: a message of {length} bytes is over \
             the limit of 64 MiB\n"
        )
    };
    let just_over = "Content-Length: 67108865\r\n\r\n{}";
    let (code, stdout, stderr) =
        common::output_with_input(common::tdc(&home).arg("lsp"), just_over);
    assert_eq!(
        (code, stdout.as_str(), stderr),
        (1, "", refused(67_108_865))
    );

    // Mid-session, after the handshake, and a length no memory could hold.
    let initialize =
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#;
    let initialized = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
    let input = format!(
        "Content-Length: {}\r\n\r\n{initialize}Content-Length: {}\r\n\r\n{initialized}\
         Content-Length: 999999999999\r\n\r\n{{}}",
        initialize.len(),
        initialized.len()
    );
    let (code, stdout, stderr) = common::output_with_input(common::tdc(&home).arg("lsp"), &input);
    assert_eq!((code, stderr), (1, refused(999_999_999_999)));
    assert!(stdout.contains(r#""capabilities""#), "{stdout}");
}
