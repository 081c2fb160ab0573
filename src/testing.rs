//! `tdc test`: runs every `fn test_*()` in `.rhai` files, each on a fresh embedded sandbox
//! (the dataset is generated once and copied per test), and reports pass or fail with the
//! failing line. The closing line is `N passed, M failed`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::sandbox::{Dataset, Sandbox, SandboxOptions};
use crate::script::engine::{script_engine, script_scope, LoadedFiles};
use crate::script::evaluation::{Entry, Evaluation};
use crate::script::permissions::Permissions;
use crate::script::{Dialer, Host};
use crate::terminal::sink::outln;

/// The outcome of one test function.
pub(crate) struct TestResult {
    pub(crate) file: String,
    pub(crate) name: String,
    pub(crate) elapsed: Duration,
    /// The rendered diagnostic of a failure.
    pub(crate) failure: Option<String>,
}

/// A test path that cannot be searched.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FilesError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: no such file or folder", .0.display())]
    Missing(PathBuf),
}

/// Every `.rhai` file under `paths` (folders are searched recursively, hidden folders and
/// `target` skipped), sorted.
pub(crate) fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FilesError> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), FilesError> {
        let entries = std::fs::read_dir(dir).map_err(|source| FilesError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    walk(&path, out)?;
                }
            } else if path.extension().is_some_and(|e| e == "rhai") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files)?;
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(FilesError::Missing(path.clone()));
        }
    }
    files.sort();
    Ok(files)
}

/// Runs one test function of `evaluation` on its own sandbox.
fn run_one(
    runtime: &tokio::runtime::Runtime,
    permissions: &Permissions,
    dataset: &Dataset,
    file: &Path,
    evaluation: &Evaluation,
    name: &str,
) -> Option<String> {
    let file_name = evaluation.name();
    let sandbox = match runtime.block_on(Sandbox::start_with(
        SandboxOptions::default(),
        dataset.clone(),
    )) {
        Ok(sandbox) => sandbox,
        Err(e) => return Some(format!("{file_name}: error: cannot start a sandbox: {e}")),
    };
    let host = Host::new(runtime.handle().clone(), None, false, false);
    host.powers().install(permissions.clone());
    let connection = crate::session::sandbox_connection().map_err(crate::script::DialerError::from);
    let outcome = match connection.and_then(|c| Dialer::on_sandbox(&sandbox.url(), &c, &host)) {
        Err(e) => Err(format!("{file_name}: error: {e}")),
        Ok(dialer) => {
            let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
            let engine = script_engine(&host, &base, LoadedFiles::default());
            let mut scope = script_scope(dialer, &[], &base);
            evaluation
                .run(&engine, &mut scope, &Entry::Function(name.to_string()))
                .map(drop)
                .map_err(|e| evaluation.diagnostic(&e).to_string())
        }
    };
    runtime.block_on(sandbox.stop());
    outcome.err()
}

/// Runs the tests of every file; prints a line per test and the closing count.
/// Each test's scripts may touch what `permissions` allow.
pub(crate) fn run_tests(
    runtime: &tokio::runtime::Runtime,
    permissions: &Permissions,
    files: &[PathBuf],
    filter: Option<&str>,
) -> Vec<TestResult> {
    let dataset = Dataset::generate(
        1,
        crate::sandbox::dataset::DEFAULT_LEADS,
        crate::sandbox::dataset::DEFAULT_CDRS,
    );
    let mut results = Vec::new();
    for file in files {
        let file_name = file.display().to_string();
        let source = match crate::script::engine::read_script_file(file) {
            Ok(source) => source,
            Err(e) => {
                results.push(TestResult {
                    file: file_name.clone(),
                    name: "(file)".into(),
                    elapsed: Duration::ZERO,
                    failure: Some(format!("{file_name}: error: cannot read: {e}")),
                });
                continue;
            }
        };
        let evaluation = match Evaluation::compile(&file_name, source) {
            Ok(evaluation) => evaluation,
            Err(diagnostic) => {
                let failure = diagnostic.to_string();
                outln!("FAIL {file_name} (does not compile)\n{}", indent(&failure));
                results.push(TestResult {
                    file: file_name,
                    name: "(compile)".into(),
                    elapsed: Duration::ZERO,
                    failure: Some(failure),
                });
                continue;
            }
        };
        let names: Vec<String> = evaluation
            .ast()
            .iter_functions()
            .filter(|f| f.name.starts_with("test_") && f.params.is_empty())
            .filter(|f| filter.is_none_or(|pattern| f.name.contains(pattern)))
            .map(|f| f.name.to_string())
            .collect();
        for name in names {
            let started = Instant::now();
            let failure = run_one(runtime, permissions, &dataset, file, &evaluation, &name);
            let elapsed = started.elapsed();
            match &failure {
                None => outln!("ok   {file_name}::{name} ({} ms)", elapsed.as_millis()),
                Some(text) => outln!(
                    "FAIL {file_name}::{name} ({} ms)\n{}",
                    elapsed.as_millis(),
                    indent(text)
                ),
            }
            results.push(TestResult {
                file: file_name.clone(),
                name,
                elapsed,
                failure,
            });
        }
    }
    results
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The results as a JUnit XML report.
pub(crate) fn junit(results: &[TestResult]) -> String {
    let failures = results.iter().filter(|r| r.failure.is_some()).count();
    let total: f64 = results.iter().map(|r| r.elapsed.as_secs_f64()).sum();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"tdc\" tests=\"{}\" failures=\"{failures}\" time=\"{total:.3}\">\n",
        results.len()
    );
    for r in results {
        xml.push_str(&format!(
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            xml_escape(&r.file),
            xml_escape(&r.name),
            r.elapsed.as_secs_f64()
        ));
        match &r.failure {
            None => xml.push_str("/>\n"),
            Some(text) => {
                let first = text.lines().next().unwrap_or("");
                xml.push_str(&format!(
                    ">\n    <failure message=\"{}\">{}</failure>\n  </testcase>\n",
                    xml_escape(first),
                    xml_escape(text)
                ));
            }
        }
    }
    xml.push_str("</testsuite>\n");
    xml
}
