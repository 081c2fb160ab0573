//! The binary's edge: parse the command line, run the command, map errors to exit codes.

use std::ffi::OsString;
use std::time::Duration;

use clap::Parser;

use crate::cli::{Cli, Command, SandboxArgs};
use crate::sandbox::faults::FaultSpec;
use crate::sandbox::{Sandbox, SandboxOptions};

pub const EXIT_OK: i32 = 0;
pub const EXIT_SCRIPT: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_INTERRUPTED: i32 = 130;

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
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tdc: cannot start the async runtime: {e}");
            return EXIT_SCRIPT;
        }
    };
    match cli.command {
        Some(Command::Sandbox(args)) => runtime.block_on(serve_sandbox(args)),
        None => {
            eprintln!("tdc: no command given (try `tdc --help`)");
            EXIT_USAGE
        }
    }
}

async fn serve_sandbox(args: SandboxArgs) -> i32 {
    let faults = match FaultSpec::parse(&args.faults) {
        Ok(faults) => faults,
        Err(e) => {
            eprintln!("tdc sandbox: --faults: {e}");
            return EXIT_USAGE;
        }
    };
    let options = SandboxOptions {
        addr: args.addr,
        seed: args.seed,
        leads: args.leads,
        cdrs: args.cdrs,
        latency: Duration::from_millis(args.latency_ms),
        faults,
        state_file: args.state,
    };
    let started = std::time::Instant::now();
    let sandbox = match Sandbox::start(options).await {
        Ok(sandbox) => sandbox,
        Err(e) => {
            eprintln!("tdc sandbox: {e}");
            return EXIT_USAGE;
        }
    };
    println!(
        "tdc sandbox listening on {} (Basic auth {}:{}; ready in {} ms)",
        sandbox.url(),
        crate::sandbox::USER,
        crate::sandbox::PASSWORD,
        started.elapsed().as_millis()
    );
    let interrupted = wait_for_stop_signal().await;
    sandbox.stop().await;
    eprintln!("tdc sandbox stopped");
    if interrupted {
        EXIT_INTERRUPTED
    } else {
        EXIT_OK
    }
}

/// Waits for Ctrl-C (true) or SIGTERM (false).
async fn wait_for_stop_signal() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => true,
                _ = term.recv() => false,
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    true
}
