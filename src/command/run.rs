//! `tdc run FILE`: a script once, under watch (`--watch`), or on a schedule (`--every`,
//! `--cron`), with its status served (`--status-addr`).

use std::time::Duration;

use super::{compile_file, report, script_folder, Config};
use crate::cli::RunArgs;
use crate::failure::{Failure, Outcome};
use crate::script::engine::{script_engine, script_scope, LoadedFiles};
use crate::script::evaluation::Entry;

pub(crate) fn execute(config: &Config, args: RunArgs) -> Outcome {
    let from_stdin = args.file.as_os_str() == "-";
    crate::terminal::log::set_json(args.log_format == crate::cli::LogFormat::Json);
    if let Some(addr) = args.status_addr {
        let bound = config
            .runtime
            .block_on(crate::status::serve(addr))
            .map_err(|e| Failure::Usage(format!("tdc: --status-addr {addr}: {e}")))?;
        crate::terminal::log::info(&format!(
            "status on http://{bound}/metrics and http://{bound}/healthz"
        ));
    }
    if args.every.is_some() || args.cron.is_some() {
        if from_stdin {
            return Err(Failure::Usage(
                "tdc: a scheduled run needs a script file, not - (standard input)".into(),
            ));
        }
        return schedule(config, args);
    }
    if args.watch {
        if from_stdin {
            return Err(Failure::Usage(
                "tdc: --watch needs a script file, not - (standard input)".into(),
            ));
        }
        return watch(config, args);
    }
    let evaluation = compile_file(&args.file)?;
    let session = config.start_session(args.dry_run)?;
    if let Some(banner) = session.banner() {
        let name = evaluation.name();
        crate::terminal::log::tdc_line("info", &format!("running {name} on {banner}"));
    }
    crate::session::interrupt_on_ctrl_c(&config.runtime, &session.host, false);
    let base = script_folder(&args.file);
    let engine = script_engine(&session.host, &base, LoadedFiles::default());
    let mut scope = script_scope(session.dialer.clone(), &args.args, &base);
    let outcome = evaluation
        .run(&engine, &mut scope, &Entry::Script)
        .map(drop)
        .map_err(|error| report(&evaluation, &error));
    // The process ends with the script: its variables are left for the system to reclaim
    // rather than freed value by value (a scope of 100,000 leads takes a tenth of a second).
    std::mem::forget(scope);
    session.stop(&config.runtime);
    outcome
}

fn schedule(config: &Config, args: RunArgs) -> Outcome {
    let schedule = match (&args.every, &args.cron) {
        (Some(every), _) => crate::schedule::Schedule::every(every),
        (None, Some(cron)) => crate::schedule::Schedule::cron(cron),
        (None, None) => Err("--every or --cron is needed for a schedule".to_string()),
    }
    .map_err(|e| Failure::Usage(format!("tdc: {e}")))?;
    // Each run reads the file again; a script that does not compile now is not scheduled.
    let evaluation = compile_file(&args.file)?;
    let session = config.start_session(args.dry_run)?;
    if let Some(banner) = session.banner() {
        let name = evaluation.name();
        crate::terminal::log::tdc_line("info", &format!("scheduling {name} on {banner}"));
    }
    let code = crate::schedule::run(&config.runtime, &session, &args.file, args.args, schedule);
    session.stop(&config.runtime);
    Failure::from_code(code)
}

fn watch(config: &Config, args: RunArgs) -> Outcome {
    // A file that is not there at the start is a typo, not a save in progress: said at once.
    // Once watching, a file that goes away is waited for (editors save by renaming).
    crate::script::engine::read_script_file(&args.file)
        .map_err(|e| Failure::Usage(format!("tdc: cannot read {}: {e}", args.file.display())))?;
    let session = config.start_session(args.dry_run)?;
    if let Some(banner) = session.banner() {
        crate::terminal::log::tdc_line(
            "info",
            &format!("watching {} on {banner}", args.file.display()),
        );
    }
    let options = crate::watch::WatchOptions {
        file: args.file,
        args: args.args,
        queue: args.on_busy == crate::cli::OnBusy::Queue,
        clear: args.clear,
        poll: args.poll.map(Duration::from_millis),
        keep_state: args.keep_state,
        extra: args.watch_paths,
    };
    let code = crate::watch::watch(&config.runtime, &session, options);
    session.stop(&config.runtime);
    Failure::from_code(code)
}
