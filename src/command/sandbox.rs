//! `tdc sandbox`: the dialer's twin on its own, until Ctrl-C or SIGTERM.

use std::time::Duration;

use super::Config;
use crate::cli::SandboxArgs;
use crate::failure::{Failure, Outcome};
use crate::sandbox::faults::FaultSpec;
use crate::sandbox::{Sandbox, SandboxOptions};
use crate::terminal::sink::{errln, outln};

pub(crate) fn execute(config: &Config, args: SandboxArgs) -> Outcome {
    config.runtime.block_on(serve(args))
}

async fn serve(args: SandboxArgs) -> Outcome {
    if !args.addr.ip().is_loopback() && !args.public {
        return Err(Failure::Usage(format!(
            "tdc sandbox: --addr {} can be reached from other machines, and the sandbox's credentials are well known; use a loopback address, or pass --public",
            args.addr
        )));
    }
    if args.public {
        errln!(
            "tdc sandbox: warning: serving on {} with the well-known credentials {}:{}; anyone who can reach it can read and change its data",
            args.addr,
            crate::sandbox::USER,
            crate::sandbox::PASSWORD
        );
    }
    let faults = FaultSpec::parse(&args.faults)
        .map_err(|e| Failure::Usage(format!("tdc sandbox: --faults: {e}")))?;
    let options = SandboxOptions {
        addr: args.addr,
        seed: args.seed,
        leads: args.leads,
        cdrs: args.cdrs,
        latency: Duration::from_millis(args.latency_ms),
        faults,
        state_file: args.state,
        numbers: args.numbers,
        auth: args.auth,
        live_per_minute: args.live,
    };
    let signals = StopSignals::register();
    let started = std::time::Instant::now();
    let sandbox = Sandbox::start(options)
        .await
        .map_err(|e| Failure::Usage(format!("tdc sandbox: {e}")))?;
    let scheme = match args.auth {
        crate::sandbox::AuthScheme::Basic => "Basic",
        crate::sandbox::AuthScheme::Digest => "Digest",
    };
    outln!(
        "tdc sandbox listening on {} ({scheme} auth {}:{}; ready in {} ms)",
        sandbox.url(),
        crate::sandbox::USER,
        crate::sandbox::PASSWORD,
        started.elapsed().as_millis()
    );
    let interrupted = signals.wait().await;
    sandbox.stop().await;
    if interrupted {
        Err(Failure::Interrupted("tdc sandbox stopped".into()))
    } else {
        errln!("tdc sandbox stopped");
        Ok(())
    }
}

/// Ctrl-C and SIGTERM, registered as soon as this is made (before the sandbox says it
/// listens, so a signal sent right after the banner is never lost).
struct StopSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn register() -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            StopSignals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// Waits for Ctrl-C (true) or SIGTERM (false).
    async fn wait(self) -> bool {
        #[cfg(unix)]
        if let (Some(mut interrupt), Some(mut terminate)) = (self.interrupt, self.terminate) {
            return tokio::select! {
                _ = interrupt.recv() => true,
                _ = terminate.recv() => false,
            };
        }
        let _ = tokio::signal::ctrl_c().await;
        true
    }
}
