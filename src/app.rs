//! The binary's edge: parse the command line, build the [`Config`] once, run the command, and
//! turn how it ended into the exit code (0 success, 1 script error, 2 usage or config error,
//! 130 interrupted). A failure's message is printed here and nowhere else.

use std::ffi::OsString;
use std::time::Duration;

use clap::Parser;

use crate::cli::Cli;
use crate::command::Config;
use crate::failure::{EXIT_OK, EXIT_SCRIPT, EXIT_USAGE};
use crate::terminal::sink::{errln, Broken};

/// Runs `tdc` with these arguments and returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            errln!("tdc: cannot start the async runtime: {e}");
            return EXIT_SCRIPT;
        }
    };
    let config = Config::new(cli.global, &cli.command, runtime);
    let outcome = crate::command::execute(cli.command, &config);
    // Background work (an embedded sandbox's connections, page prefetches) must not hold the
    // exit up.
    config.runtime.shutdown_timeout(Duration::from_millis(200));
    // Output that could not be written decides the end: a reader that went away is not a
    // failure, a full disk is, and either stopped the work.
    match crate::terminal::sink::broken() {
        Some(Broken::Closed) => return EXIT_OK,
        Some(Broken::Failed(message)) => {
            errln!("{message}");
            return EXIT_SCRIPT;
        }
        None => {}
    }
    match outcome {
        Ok(()) => EXIT_OK,
        Err(failure) => {
            if let Some(message) = failure.message() {
                errln!("{}", crate::config::redact_urls_in(message));
            }
            failure.code()
        }
    }
}
