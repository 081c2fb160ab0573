//! `tdc test [PATH…]`: every `fn test_*()` of the scripts, each on a fresh sandbox.

use anyhow::Context;

use super::Config;
use crate::cli::TestArgs;
use crate::failure::{Failure, Outcome, EXIT_SCRIPT};
use crate::terminal::sink::outln;

pub(crate) fn execute(config: &Config, args: TestArgs) -> Outcome {
    let paths = if args.paths.is_empty() {
        vec![std::path::PathBuf::from(".")]
    } else {
        args.paths
    };
    let files = crate::testing::collect_files(&paths)
        .map_err(|e| Failure::Usage(format!("tdc test: {e}")))?;
    let results = crate::testing::run_tests(
        &config.runtime,
        &config.permissions(),
        &files,
        args.filter.as_deref(),
    );
    let failed = results.iter().filter(|r| r.failure.is_some()).count();
    // The failures last, just above the count, where the eye lands.
    if failed > 0 {
        outln!("\nfailures:");
        for r in results.iter().filter(|r| r.failure.is_some()) {
            let first = r
                .failure
                .as_deref()
                .and_then(|f| f.lines().next())
                .unwrap_or("");
            outln!("  {}::{}: {first}", r.file, r.name);
        }
    }
    outln!("{} passed, {failed} failed", results.len() - failed);
    if let Some(path) = &args.junit {
        let junit = crate::testing::junit(&results);
        let access = crate::files::Access::own("tdc test --junit");
        crate::files::write_whole(access, path, |file| {
            std::io::Write::write_all(file, junit.as_bytes())
        })
        .with_context(|| format!("cannot write {}", path.display()))
        .map_err(|e| Failure::usage_in("test", e))?;
    }
    if results.is_empty() {
        let files = files.len();
        return Err(Failure::Failed(match &args.filter {
            Some(pattern) => format!(
                "tdc test: no fn test_*() whose name contains '{pattern}' in {files} file(s)"
            ),
            None => format!("tdc test: no fn test_*() found in {files} file(s)"),
        }));
    }
    // The report on stdout says which failed.
    match failed {
        0 => Ok(()),
        _ => Err(Failure::Quiet(EXIT_SCRIPT)),
    }
}
