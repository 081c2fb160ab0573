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
