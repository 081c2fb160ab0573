//! `tdc run --watch`: re-run a script when it or a module it imported changes.
//!
//! - The watched set is the script plus every file its last run imported, rebuilt after each
//!   run. Parent folders are watched (so write-temp-then-rename saves are seen) and events are
//!   kept only when a path equals a watched file, whatever the event kind; editor swap and
//!   backup files never match.
//! - A burst of events becomes one run: a trailing quiet period of [`QUIET`], restarted by
//!   every event.
//! - A change during a run stops it (script and in-flight request) and starts a new one;
//!   with `--on-busy queue` the running one finishes first.
//! - On the embedded sandbox each run starts from the same dataset, generated once and copied
//!   per run; `--keep-state` carries data across runs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::Watcher;
use rhai::EvalAltResult;

use crate::sandbox::{Sandbox, SandboxOptions};
use crate::script::engine::{script_engine, script_scope, LoadedFiles};
use crate::script::evaluation::{Evaluation, ScriptResult};
use crate::script::Dialer;
use crate::session::Session;
use crate::terminal::log;
use crate::terminal::sink::{errln, errs};

/// The quiet period that closes a burst of file events.
pub(crate) const QUIET: Duration = Duration::from_millis(100);

/// How long a follower being replaced may take to finish the record in hand before it is
/// interrupted (that record is then handed again to the new version).
const BOUNDARY_WAIT: Duration = Duration::from_secs(30);

pub(crate) struct WatchOptions {
    pub(crate) file: PathBuf,
    pub(crate) args: Vec<String>,
    /// `--on-busy queue`: let a running script finish before the next run.
    pub(crate) queue: bool,
    pub(crate) clear: bool,
    pub(crate) poll: Option<Duration>,
    pub(crate) keep_state: bool,
    /// `-w PATH`: data files or folders whose changes re-run the script too.
    pub(crate) extra: Vec<PathBuf>,
}

enum Message {
    Changed(Vec<PathBuf>),
    Done(ScriptResult, Duration),
    Interrupt,
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The folder of a file, for watching.
fn folder_of(file: &Path) -> PathBuf {
    file.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

struct Watch<'a> {
    runtime: &'a tokio::runtime::Runtime,
    session: &'a Session,
    options: WatchOptions,
    file: PathBuf,
    sender: Sender<Message>,
    watcher: Box<dyn Watcher>,
    watched_folders: BTreeSet<PathBuf>,
    tracked: BTreeSet<PathBuf>,
    /// Folders given with `-w`: a change anywhere under them counts.
    extra_folders: Vec<PathBuf>,
    loaded: LoadedFiles,
    running: bool,
    /// The version that runs (or ran last): its errors point into its own source.
    evaluation: Option<Arc<Evaluation>>,
    cancelled: bool,
    /// A follower asked to stop at a record boundary is interrupted at this time.
    hard_stop: Option<Instant>,
    rerun: bool,
    runs: u64,
    changed: BTreeSet<PathBuf>,
    run_sandbox: Option<Sandbox>,
}

impl Watch<'_> {
    /// Watches the folders of the tracked files, and only those (besides `-w` folders).
    fn update_watches(&mut self) {
        let wanted: BTreeSet<PathBuf> = self
            .tracked
            .iter()
            .map(|f| folder_of(f))
            .filter(|folder| !self.extra_folders.iter().any(|e| folder.starts_with(e)))
            .collect();
        for old in self.watched_folders.difference(&wanted) {
            let _ = self.watcher.unwatch(old);
        }
        for new in wanted.difference(&self.watched_folders) {
            if let Err(e) = self.watcher.watch(new, notify::RecursiveMode::NonRecursive) {
                errln!("tdc: cannot watch {}: {e}", new.display());
            }
        }
        self.watched_folders = wanted;
    }

    /// The dialer of the next run: on the embedded sandbox without --keep-state, a fresh
    /// sandbox with a copy of the generated data.
    fn dialer_for_run(&mut self) -> Result<Dialer, crate::session::SessionError> {
        let (Some(dataset), false) = (&self.session.dataset, self.options.keep_state) else {
            return Ok(self.session.dialer.clone());
        };
        if let Some(previous) = self.run_sandbox.take() {
            self.runtime.block_on(previous.stop());
        }
        let sandbox = self.runtime.block_on(Sandbox::start_with(
            SandboxOptions::default(),
            dataset.clone(),
        ))?;
        let dialer =
            Dialer::on_sandbox(&sandbox.url(), &self.session.connection, &self.session.host);
        self.run_sandbox = Some(sandbox);
        Ok(dialer?)
    }

    fn start_run(&mut self) {
        self.runs += 1;
        if self.options.clear {
            errs!("\x1b[2J\x1b[H");
        }
        let changed: Vec<String> = self
            .changed
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        self.changed.clear();
        if changed.is_empty() {
            log::info(&format!("run {}: {}", self.runs, self.file.display()));
        } else {
            log::info(&format!(
                "run {}: changed {}",
                self.runs,
                changed.join(", ")
            ));
        }
        let source = match crate::script::engine::read_script_file(&self.file) {
            Ok(source) => source,
            Err(_) => {
                log::info(&format!("waiting for {} to come back", self.file.display()));
                return;
            }
        };
        let dialer = match self.dialer_for_run() {
            Ok(dialer) => dialer,
            Err(e) => {
                log::warn(&format!("cannot start the sandbox: {e}"));
                return;
            }
        };
        self.session.host.reset_interrupt();
        crate::status::run_started();
        self.loaded = LoadedFiles::default();
        let name = self.options.file.display().to_string();
        let evaluation = match Evaluation::compile(&name, source) {
            Ok(evaluation) => Arc::new(evaluation),
            Err(diagnostic) => {
                // As a run that failed at once: the same lines, the same files watched.
                crate::status::run_ended(false);
                log::error(&diagnostic.to_string());
                log::warn("failed (0 ms)");
                self.update_watches();
                return;
            }
        };
        let base = folder_of(&self.file);
        let engine = script_engine(&self.session.host, &base, self.loaded.clone());
        let scope = script_scope(dialer, &self.options.args, &base);
        let sender = self.sender.clone();
        let started = Instant::now();
        match evaluation.spawn(engine, scope, move |outcome| {
            let _ = sender.send(Message::Done(outcome, started.elapsed()));
        }) {
            Ok(_) => {
                self.evaluation = Some(evaluation);
                self.running = true;
                self.cancelled = false;
            }
            Err(e) => log::warn(&format!("cannot start the script: {e}")),
        }
    }

    fn finish_run(&mut self, outcome: ScriptResult, elapsed: Duration) {
        self.running = false;
        self.hard_stop = None;
        let ms = elapsed.as_millis();
        match outcome {
            Ok(_) => {
                crate::status::run_ended(true);
                log::info(&format!("ok ({ms} ms)"))
            }
            Err(e) if is_reload(&e) => log::info(&format!(
                "stopped between two records after {ms} ms for the new version"
            )),
            Err(e) if matches!(*e, EvalAltResult::ErrorTerminated(..)) && self.cancelled => {
                log::info(&format!("cancelled after {ms} ms: a watched file changed"))
            }
            Err(e) => {
                crate::status::run_ended(false);
                // Against the source that ran, not the file as it is now.
                if let Some(evaluation) = &self.evaluation {
                    log::error(&evaluation.diagnostic(&e).to_string());
                }
                log::warn(&format!("failed ({ms} ms)"));
            }
        }
        let imported: Vec<PathBuf> = self
            .loaded
            .lock()
            .map(|l| l.iter().map(|p| absolute(p)).collect())
            .unwrap_or_default();
        let extra_files = self
            .options
            .extra
            .iter()
            .map(|p| absolute(p))
            .filter(|p| !p.is_dir());
        self.tracked = std::iter::once(self.file.clone())
            .chain(imported)
            .chain(extra_files)
            .collect();
        self.update_watches();
    }

    /// Every script file of the last run (the script and what it imported) compiles; else
    /// the first error, as `tdc check` shows it.
    fn compile_error(&self) -> Option<String> {
        self.tracked
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
            .find_map(|file| {
                let source = crate::script::engine::read_script_file(file).ok()?;
                let name = if *file == self.file {
                    self.options.file.display().to_string()
                } else {
                    file.display().to_string()
                };
                Evaluation::compile(&name, source)
                    .err()
                    .map(|diagnostic| diagnostic.to_string())
            })
    }

    /// A batch of changes is complete: run now, or stop or wait for the running script.
    fn on_batch(&mut self) {
        if self.running && self.session.host.is_following() {
            // A follower is replaced only by a version that compiles, and only between two
            // records: the new one resumes from the cursor the old one committed.
            if let Some(error) = self.compile_error() {
                log::error(&error);
                log::warn("the new version does not compile; the running one goes on");
                self.changed.clear();
                return;
            }
            self.rerun = true;
            crate::status::reload();
            if !self.options.queue && !self.cancelled {
                self.cancelled = true;
                self.hard_stop = Some(Instant::now() + BOUNDARY_WAIT);
                self.session.host.stop_at_boundary();
            }
            return;
        }
        if !self.running {
            self.start_run();
        } else {
            self.rerun = true;
            if !self.options.queue && !self.cancelled {
                self.cancelled = true;
                self.session.host.interrupt();
            }
        }
    }

    fn run(&mut self, receiver: Receiver<Message>) -> i32 {
        self.update_watches();
        self.start_run();
        let mut deadline: Option<Instant> = None;
        loop {
            let wake = match (deadline, self.hard_stop) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let message = match wake {
                Some(at) => receiver.recv_timeout(at.saturating_duration_since(Instant::now())),
                None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            if self.hard_stop.is_some_and(|at| at <= Instant::now()) {
                self.hard_stop = None;
                log::warn(&format!(
                    "the follower did not reach a record boundary in {} s; interrupting it",
                    BOUNDARY_WAIT.as_secs()
                ));
                self.session.host.interrupt();
            }
            match message {
                Ok(Message::Changed(paths)) => {
                    let relevant: Vec<PathBuf> = paths
                        .into_iter()
                        .map(|p| absolute(&p))
                        .filter(|p| {
                            self.tracked.contains(p)
                                || self.extra_folders.iter().any(|f| p.starts_with(f))
                        })
                        .collect();
                    if !relevant.is_empty() {
                        self.changed.extend(relevant);
                        deadline = Some(Instant::now() + QUIET);
                    }
                }
                Ok(Message::Done(outcome, elapsed)) => {
                    self.finish_run(outcome, elapsed);
                    // Nobody reads what runs would say any more: the edge says why.
                    if crate::terminal::sink::is_broken() {
                        if let Some(sandbox) = self.run_sandbox.take() {
                            self.runtime.block_on(sandbox.stop());
                        }
                        return crate::failure::EXIT_SCRIPT;
                    }
                    if self.rerun && deadline.is_none() {
                        self.rerun = false;
                        self.start_run();
                    }
                }
                Ok(Message::Interrupt) => {
                    if self.running {
                        self.session.host.interrupt();
                        // The script stops within milliseconds; wait for it briefly.
                        let until = Instant::now() + Duration::from_secs(2);
                        while let Ok(message) =
                            receiver.recv_timeout(until.saturating_duration_since(Instant::now()))
                        {
                            if matches!(message, Message::Done(..)) {
                                break;
                            }
                        }
                    }
                    if let Some(sandbox) = self.run_sandbox.take() {
                        self.runtime.block_on(sandbox.stop());
                    }
                    return crate::failure::EXIT_INTERRUPTED;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if deadline.is_some_and(|at| at <= Instant::now()) {
                        deadline = None;
                        self.on_batch();
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return crate::failure::EXIT_SCRIPT,
            }
        }
    }
}

/// Whether a run ended because a follower stopped at a record boundary for a new version.
fn is_reload(error: &EvalAltResult) -> bool {
    matches!(error, EvalAltResult::ErrorTerminated(value, _)
        if value.read_lock::<rhai::ImmutableString>().is_some_and(|v| v.as_str() == crate::script::RELOAD))
}

/// Whether an event can mean new content. Reads (a run reading its own script) cannot; the
/// kinds of a save vary by editor and platform, so everything else counts.
fn writes(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode};
    match kind {
        notify::EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        notify::EventKind::Access(_) => false,
        _ => true,
    }
}

/// Watches and re-runs until Ctrl-C; returns the exit code.
pub(crate) fn watch(
    runtime: &tokio::runtime::Runtime,
    session: &Session,
    options: WatchOptions,
) -> i32 {
    let (sender, receiver) = channel();
    let events = sender.clone();
    let handler = move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            if writes(&event.kind) {
                let _ = events.send(Message::Changed(event.paths));
            }
        }
    };
    let watcher: Box<dyn Watcher> = match options.poll {
        Some(interval) => {
            let config = notify::Config::default()
                .with_poll_interval(interval)
                .with_compare_contents(true);
            match notify::PollWatcher::new(handler, config) {
                Ok(w) => Box::new(w),
                Err(e) => {
                    errln!("tdc: cannot watch files: {e}");
                    return crate::failure::EXIT_USAGE;
                }
            }
        }
        None => match notify::recommended_watcher(handler) {
            Ok(w) => Box::new(w),
            Err(e) => {
                errln!("tdc: cannot watch files: {e} (try --poll 500)");
                return crate::failure::EXIT_USAGE;
            }
        },
    };
    // Registered before the first run, so an early Ctrl-C is never lost.
    let interrupt = sender.clone();
    #[cfg(unix)]
    let registered = runtime
        .block_on(async {
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        })
        .ok();
    runtime.spawn(async move {
        #[cfg(unix)]
        if let Some(mut interrupts) = registered {
            interrupts.recv().await;
            let _ = interrupt.send(Message::Interrupt);
            return;
        }
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = interrupt.send(Message::Interrupt);
        }
    });
    let file = absolute(&options.file);
    let extra_folders: Vec<PathBuf> = options
        .extra
        .iter()
        .map(|p| absolute(p))
        .filter(|p| p.is_dir())
        .collect();
    let mut watcher = watcher;
    for folder in &extra_folders {
        if let Err(e) = watcher.watch(folder, notify::RecursiveMode::Recursive) {
            errln!("tdc: cannot watch {}: {e}", folder.display());
        }
    }
    let tracked = std::iter::once(file.clone())
        .chain(
            options
                .extra
                .iter()
                .map(|p| absolute(p))
                .filter(|p| !p.is_dir()),
        )
        .collect();
    let mut state = Watch {
        runtime,
        session,
        tracked,
        extra_folders,
        file,
        options,
        sender,
        watcher,
        watched_folders: BTreeSet::new(),
        loaded: LoadedFiles::default(),
        running: false,
        evaluation: None,
        cancelled: false,
        hard_stop: None,
        rerun: false,
        runs: 0,
        changed: BTreeSet::new(),
        run_sandbox: None,
    };
    state.run(receiver)
}
