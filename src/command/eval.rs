//! `tdc eval CODE`: one expression or script, its value written as JSON, NDJSON, CSV or a
//! table, optionally through jq.

use std::path::Path;

use super::{report, Config};
use crate::cli::EvalArgs;
use crate::failure::{Failure, Outcome};
use crate::script::engine::{script_engine, script_scope, LoadedFiles};
use crate::script::evaluation::{Entry, Evaluation};

pub(crate) fn execute(config: &Config, args: EvalArgs) -> Outcome {
    let jq = args
        .jq
        .as_deref()
        .map(crate::output::jq::Jq::compile)
        .transpose()
        .map_err(|e| Failure::Usage(format!("tdc: {e}")))?;
    let evaluation =
        Evaluation::compile("<eval>", args.code).map_err(|d| Failure::Failed(d.to_string()))?;
    let session = config.start_session(args.dry_run)?;
    crate::session::interrupt_on_ctrl_c(&config.runtime, &session.host, false);
    let base = Path::new(".");
    let engine = script_engine(&session.host, base, LoadedFiles::default());
    let mut scope = script_scope(session.dialer.clone(), &[], base);
    let outcome = match evaluation.run(&engine, &mut scope, &Entry::Script) {
        Ok(value) => {
            use crate::output::formats::{write, Stop};
            match write(value, args.format, jq.as_ref()) {
                // Output that could not be written is the sink's to report.
                Ok(()) | Err(Stop::Output) => Ok(()),
                Err(Stop::Failed(message)) => Err(Failure::Failed(format!("tdc: {message}"))),
            }
        }
        Err(error) => Err(report(&evaluation, &error)),
    };
    // As `tdc run`: the process ends with the value written.
    std::mem::forget(scope);
    session.stop(&config.runtime);
    outcome
}
