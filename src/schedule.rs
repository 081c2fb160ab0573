//! `tdc run --every 15m` / `--cron "*/15 * * * *"`: a job run on a schedule until stopped.
//!
//! - Runs never overlap: a run that outlasts its period delays the next (which starts as soon
//!   as it ends, once), rather than stacking; with `--cron` the next run is the first time the
//!   pattern matches after the run ends.
//! - A failing run is reported (and counted, and `/healthz` says so) and the next one goes on.
//! - Ctrl-C or SIGTERM between runs stops at once; during a run, they interrupt it (script
//!   and request in flight) and stop. Ctrl-C exits 130, SIGTERM 0 (a service manager's stop).

use std::path::Path;
use std::str::FromStr;
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::script::engine::{script_engine, script_scope, LoadedFiles};
use crate::script::evaluation::{Evaluation, ScriptResult};
use crate::session::Session;
use crate::terminal::log;

/// When the runs are due.
#[derive(Debug, Clone)]
pub(crate) enum Schedule {
    Every(Duration),
    Cron(Box<croner::Cron>),
}

impl Schedule {
    /// `--every` text: `90s`, `15m`, `2h`, `1d`.
    pub(crate) fn every(text: &str) -> Result<Schedule, String> {
        let seconds = crate::time::parse_duration(text).ok_or_else(|| {
            format!("--every: '{text}' is not a duration (e.g. 90s, 15m, 2h, 1d)")
        })?;
        if seconds <= 0 {
            return Err(format!("--every: '{text}' must be longer than 0"));
        }
        Ok(Schedule::Every(Duration::from_secs(seconds as u64)))
    }

    /// A five-field cron pattern (minute hour day-of-month month day-of-week), or `@hourly`
    /// and the other aliases; read in local time. One that never matches is refused.
    pub(crate) fn cron(pattern: &str) -> Result<Schedule, String> {
        let fields = pattern.split_whitespace().count();
        if !pattern.trim_start().starts_with('@') && fields != 5 {
            return Err(format!(
                "--cron: '{pattern}' has {fields} fields; a cron pattern has five (minute hour day-of-month month day-of-week)"
            ));
        }
        let cron = croner::Cron::from_str(pattern)
            .map_err(|e| format!("--cron: '{pattern}' is not a cron pattern: {e}"))?;
        cron.find_next_occurrence(&chrono::Local::now(), false)
            .map_err(|_| format!("--cron: '{pattern}' never matches"))?;
        Ok(Schedule::Cron(Box::new(cron)))
    }

    /// How long until the first run: at once for `--every`, the pattern's next time for
    /// `--cron` (a nightly job does not run on every restart).
    fn first_wait(&self) -> Result<Duration, String> {
        match self {
            Schedule::Every(_) => Ok(Duration::ZERO),
            Schedule::Cron(_) => self.wait_after(Instant::now()),
        }
    }

    /// How long from now until the run after one that started at `started` and ended now.
    fn wait_after(&self, started: Instant) -> Result<Duration, String> {
        match self {
            Schedule::Every(period) => Ok(period.saturating_sub(started.elapsed())),
            Schedule::Cron(cron) => {
                let now = chrono::Local::now();
                let next = cron
                    .find_next_occurrence(&now, false)
                    .map_err(|e| format!("--cron: no next time: {e}"))?;
                Ok((next - now).to_std().unwrap_or_default())
            }
        }
    }
}

enum Message {
    Done(ScriptResult),
    Stop { code: i32 },
}

/// The time `wait` from now: the clock time, with the date when it is not today.
fn clock_in(wait: Duration) -> String {
    let now = chrono::Local::now();
    let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
    if at.date_naive() == now.date_naive() {
        at.format("%H:%M:%S").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// Runs the script on `schedule` until Ctrl-C or SIGTERM; returns the exit code.
pub(crate) fn run(
    runtime: &tokio::runtime::Runtime,
    session: &Session,
    file: &Path,
    args: Vec<String>,
    schedule: Schedule,
) -> i32 {
    // A schedule runs for weeks: a steady footprint matters more than a scan's speed.
    crate::allocator::return_freed_memory_at_once();
    let (sender, receiver) = channel();
    let signals = sender.clone();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let registered = runtime.block_on(async {
            (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            )
        });
        if let (Ok(mut interrupts), Ok(mut terminates)) = registered {
            runtime.spawn(async move {
                let code = tokio::select! {
                    _ = interrupts.recv() => crate::failure::EXIT_INTERRUPTED,
                    _ = terminates.recv() => crate::failure::EXIT_OK,
                };
                let _ = signals.send(Message::Stop { code });
            });
        }
    }
    #[cfg(not(unix))]
    runtime.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = signals.send(Message::Stop {
                code: crate::failure::EXIT_INTERRUPTED,
            });
        }
    });
    let name = file.display().to_string();
    let base = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| Path::new(".").to_path_buf(), Path::to_path_buf);
    let mut runs = 0u64;
    let first = match schedule.first_wait() {
        Ok(wait) => wait,
        Err(e) => {
            log::error(&format!("tdc: {e}"));
            return crate::failure::EXIT_USAGE;
        }
    };
    if !first.is_zero() {
        log::info(&format!("first run at {}", clock_in(first)));
        if let Ok(Message::Stop { code }) = receiver.recv_timeout(first) {
            return code;
        }
    }
    loop {
        runs += 1;
        crate::status::run_started();
        let started = Instant::now();
        log::info(&format!("run {runs}: {name}"));
        // Read and compiled again each run: the file may have changed in between.
        let evaluation = match crate::script::engine::read_script_file(file) {
            Ok(source) => Evaluation::compile(&name, source).map_err(|d| d.to_string()),
            Err(e) => Err(format!("tdc: cannot read {name}: {e}")),
        };
        match evaluation {
            Err(message) => {
                crate::status::run_ended(false);
                log::error(&message);
                log::warn("failed; the next run goes on");
            }
            Ok(evaluation) => {
                session.host.reset_interrupt();
                let done = sender.clone();
                let engine = script_engine(&session.host, &base, LoadedFiles::default());
                let scope = script_scope(session.dialer.clone(), &args, &base);
                let evaluation = std::sync::Arc::new(evaluation);
                if let Err(e) = evaluation.spawn(engine, scope, move |outcome| {
                    let _ = done.send(Message::Done(outcome));
                }) {
                    log::error(&format!("tdc: cannot start the script: {e}"));
                    return crate::failure::EXIT_SCRIPT;
                }
                match receiver.recv() {
                    Ok(Message::Done(outcome)) => report(outcome, started, &evaluation),
                    Ok(Message::Stop { code }) => {
                        session.host.interrupt();
                        // The script stops within milliseconds of an interrupt.
                        let _ = receiver.recv_timeout(Duration::from_secs(2));
                        log::info(&format!("stopped during run {runs}"));
                        return code;
                    }
                    Err(_) => return crate::failure::EXIT_SCRIPT,
                }
            }
        }
        let wait = match schedule.wait_after(started) {
            Ok(wait) => wait,
            Err(e) => {
                log::error(&format!("tdc: {e}"));
                return crate::failure::EXIT_USAGE;
            }
        };
        if wait.is_zero() {
            log::warn("the run took longer than its period: the next starts now");
        } else {
            log::info(&format!("next run at {}", clock_in(wait)));
        }
        match receiver.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(Message::Stop { code }) => return code,
            Ok(Message::Done(_)) | Err(RecvTimeoutError::Disconnected) => {}
        }
    }
}

fn report(outcome: ScriptResult, started: Instant, evaluation: &Evaluation) {
    let ms = started.elapsed().as_millis();
    match outcome {
        Ok(_) => {
            crate::status::run_ended(true);
            log::info(&format!("ok ({ms} ms)"));
        }
        Err(error) => {
            crate::status::run_ended(false);
            log::error(&evaluation.diagnostic(&error).to_string());
            log::warn(&format!("failed ({ms} ms); the next run goes on"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_read_with_clear_errors() {
        assert!(
            matches!(Schedule::every("15m"), Ok(Schedule::Every(d)) if d == Duration::from_secs(900))
        );
        assert!(Schedule::every("0s").unwrap_err().contains("longer than 0"));
        assert!(Schedule::every("soon")
            .unwrap_err()
            .starts_with("--every: 'soon' is not a duration"));
        assert!(Schedule::cron("*/15 * * * *").is_ok());
        assert!(Schedule::cron("@hourly").is_ok());
        assert!(Schedule::cron("*/10 * * * * *")
            .unwrap_err()
            .contains("has 6 fields; a cron pattern has five"));
        assert_eq!(
            Schedule::cron("0 0 31 2 *").unwrap_err(),
            "--cron: '0 0 31 2 *' never matches"
        );
        assert!(Schedule::cron("61 * * * *")
            .unwrap_err()
            .starts_with("--cron: '61 * * * *' is not a cron pattern"));
    }

    #[test]
    fn a_run_longer_than_its_period_is_followed_at_once_not_stacked() {
        let every = Schedule::Every(Duration::from_secs(1));
        let started = Instant::now() - Duration::from_secs(5);
        assert_eq!(every.wait_after(started).unwrap(), Duration::ZERO);
        let wait = Schedule::cron("* * * * *")
            .unwrap()
            .wait_after(Instant::now())
            .unwrap();
        assert!(wait <= Duration::from_secs(60), "{wait:?}");
    }
}
