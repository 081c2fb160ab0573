//! The Rhai host: the engine, the bindings (one file per API area), and the bridge from
//! synchronous script functions to the async client.
//!
//! Scripts run on a plain thread of their own; a binding that talks to the dialer blocks that
//! thread on the shared tokio runtime (`Host::block_on`), racing the request against the
//! evaluation's cancellation token so that Ctrl-C stops it at once.

mod aggregate;
mod assert;
mod cdr;
pub(crate) mod chart;
pub(crate) mod convert;
pub(crate) mod csv;
mod dialer;
pub(crate) mod engine;
mod env;
pub(crate) mod evaluation;
pub mod fast_json;
mod follow;
#[cfg(test)]
mod helper_tests;
mod json;
mod notify;
pub(crate) mod permissions;
mod phone;
mod query;
pub(crate) mod recording;
pub(crate) mod table;
mod time;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rhai::{Dynamic, EvalAltResult, Map, Position};
use tokio_util::sync::CancellationToken;

use crate::api::{ApiError, BulkError, ErrorKind};
use crate::config::ConfigFile;

pub(crate) use convert::{dynamic_to_json, json_to_dynamic, scalar_text, NotJson};

/// What a fallible script function returns. Named like Rhai's own alias so that signatures in
/// help and editor definitions show the value type.
pub(crate) type RhaiResultOf<T> = Result<T, Box<EvalAltResult>>;
pub(crate) use dialer::{Dialer, DialerError};
pub(crate) use follow::{Follow, RELOAD};
pub(crate) use query::Query;
pub(crate) use recording::Recording;

/// Everything bindings share: the runtime, cancellation, dry-run, and what `dialer(profile)`
/// needs to build other connections.
pub(crate) struct Host {
    handle: tokio::runtime::Handle,
    cancel: Mutex<CancellationToken>,
    interrupted: AtomicBool,
    /// Asks a follower to end at its next record boundary (a new version of its script is
    /// ready): cancelled once, renewed with the interrupt.
    boundary: Mutex<CancellationToken>,
    /// A follower ran in this evaluation, so a reload should let it end at a boundary.
    following: AtomicBool,
    /// `-v`: requests of script functions (webhooks) are traced like the dialer's.
    verbose: AtomicBool,
    dry_run: AtomicBool,
    assume_yes: bool,
    /// What its scripts may touch: nothing until the command that made it says.
    powers: permissions::Powers,
    config: Option<(std::path::PathBuf, ConfigFile)>,
    locale: Mutex<Locale>,
}

/// Where a script's day words (`today`, `yesterday`) and national phone numbers are read:
/// the profile's `timezone` and `default_region`. A host starts with neither (UTC, and
/// national numbers need their country code) until its session sets them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Locale {
    pub(crate) zone: Option<chrono_tz::Tz>,
    pub(crate) region: Option<phonenumber::country::Id>,
}

impl Locale {
    /// The locale of the host of the engine a native function was called from (the default
    /// in an engine without a host).
    pub(crate) fn of(ctx: &rhai::NativeCallContext) -> Locale {
        dialer::HostTag::of(ctx)
            .map(|host| host.locale())
            .unwrap_or_default()
    }
}

impl Host {
    pub(crate) fn new(
        handle: tokio::runtime::Handle,
        config: Option<(std::path::PathBuf, ConfigFile)>,
        dry_run: bool,
        assume_yes: bool,
    ) -> Arc<Host> {
        Arc::new(Host {
            handle,
            cancel: Mutex::new(CancellationToken::new()),
            interrupted: AtomicBool::new(false),
            boundary: Mutex::new(CancellationToken::new()),
            following: AtomicBool::new(false),
            verbose: AtomicBool::new(false),
            dry_run: AtomicBool::new(dry_run),
            assume_yes,
            powers: permissions::Powers::default(),
            config,
            locale: Mutex::new(Locale::default()),
        })
    }

    /// The zone and region this host's scripts read times and phones in.
    pub(crate) fn locale(&self) -> Locale {
        *self.locale.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_locale(&self, locale: Locale) {
        *self.locale.lock().unwrap_or_else(|e| e.into_inner()) = locale;
    }

    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }

    fn token(&self) -> CancellationToken {
        self.cancel
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stops the running evaluation and its in-flight request.
    pub(crate) fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        self.token().cancel();
    }

    pub(crate) fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// Readies the host for a new evaluation after an interrupted one (a token cancels once).
    pub(crate) fn reset_interrupt(&self) {
        *self.cancel.lock().unwrap_or_else(|e| e.into_inner()) = CancellationToken::new();
        *self.boundary.lock().unwrap_or_else(|e| e.into_inner()) = CancellationToken::new();
        self.interrupted.store(false, Ordering::SeqCst);
        self.following.store(false, Ordering::SeqCst);
    }

    /// Asks a running follower to end when its loop body has finished with the current
    /// record (see `follow`); other scripts are not affected.
    pub(crate) fn stop_at_boundary(&self) {
        self.boundary_token().cancel();
    }

    pub(crate) fn boundary_token(&self) -> CancellationToken {
        self.boundary
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn stopping(&self) -> bool {
        self.boundary_token().is_cancelled()
    }

    pub(crate) fn set_following(&self) {
        self.following.store(true, Ordering::SeqCst);
    }

    /// Whether the running evaluation follows a listing.
    pub(crate) fn is_following(&self) -> bool {
        self.following.load(Ordering::SeqCst)
    }

    /// What this host's scripts may touch (files, the environment, other hosts).
    pub(crate) fn powers(&self) -> &permissions::Powers {
        &self.powers
    }

    pub(crate) fn dry_run(&self) -> bool {
        self.dry_run.load(Ordering::SeqCst)
    }

    /// `--yes`: changes to remote dialers need no confirmation.
    pub(crate) fn assume_yes(&self) -> bool {
        self.assume_yes
    }

    pub(crate) fn set_verbose(&self, on: bool) {
        self.verbose.store(on, Ordering::SeqCst);
    }

    pub(crate) fn verbose(&self) -> bool {
        self.verbose.load(Ordering::SeqCst)
    }

    pub(crate) fn set_dry_run(&self, on: bool) {
        self.dry_run.store(on, Ordering::SeqCst);
    }

    pub(crate) fn config(&self) -> Option<(&std::path::Path, &ConfigFile)> {
        self.config.as_ref().map(|(p, c)| (p.as_path(), c))
    }

    /// Runs a future to completion on the runtime, or returns `None` when interrupted.
    pub(crate) fn block_on<T>(&self, future: impl Future<Output = T>) -> Option<T> {
        let token = self.token();
        if token.is_cancelled() {
            return None;
        }
        self.handle.block_on(async move {
            tokio::select! {
                out = future => Some(out),
                _ = token.cancelled() => None,
            }
        })
    }

    /// Runs an API call, turning interruption and failure into script errors.
    pub(crate) fn call<T>(
        &self,
        future: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, Box<EvalAltResult>> {
        match self.block_on(future) {
            Some(Ok(value)) => Ok(value),
            Some(Err(error)) => Err(api_error(error)),
            None => Err(terminated()),
        }
    }
}

/// The powers of the host running the calling script; outside one (an engine without a
/// host), nothing is allowed.
pub(crate) fn powers_of(ctx: &rhai::NativeCallContext) -> permissions::Powers {
    dialer::HostTag::of(ctx).map_or_else(permissions::Powers::default, |host| host.powers().clone())
}

/// The uncatchable error that ends an interrupted evaluation.
pub(crate) fn terminated() -> Box<EvalAltResult> {
    EvalAltResult::ErrorTerminated(Dynamic::from("interrupted"), Position::NONE).into()
}

/// The map a script catches for an API error: `#{status, endpoint, message}`.
pub(crate) fn api_error_map(error: &ApiError) -> Map {
    let mut map = Map::new();
    map.insert(
        "status".into(),
        error
            .status
            .map_or(Dynamic::UNIT, |s| Dynamic::from_int(s.into())),
    );
    map.insert("endpoint".into(), error.endpoint().into());
    map.insert("message".into(), error.message.clone().into());
    map
}

pub(crate) fn api_error(error: ApiError) -> Box<EvalAltResult> {
    if error.kind == ErrorKind::Interrupted {
        return terminated();
    }
    EvalAltResult::ErrorRuntime(Dynamic::from_map(api_error_map(&error)), Position::NONE).into()
}

/// A bulk failure: the API error's map plus the input positions of each outcome.
pub(crate) fn bulk_error(error: BulkError) -> Box<EvalAltResult> {
    let positions = |list: &[usize]| -> Dynamic {
        Dynamic::from_array(list.iter().map(|p| Dynamic::from_int(*p as i64)).collect())
    };
    let mut map = api_error_map(&error.error);
    map.insert("applied".into(), positions(&error.applied));
    map.insert("not_applied".into(), positions(&error.not_applied));
    map.insert("unknown".into(), positions(&error.unknown));
    // The endpoint is shown beside the message already.
    let message = format!("{} {}", error.error.message, error.accounting());
    map.insert("message".into(), message.into());
    if let Some(journal) = &error.journal {
        map.insert("journal".into(), journal.display().to_string().into());
    }
    EvalAltResult::ErrorRuntime(Dynamic::from_map(map), Position::NONE).into()
}

pub(super) fn io_error(
    function: &str,
    path: &str,
    e: impl std::fmt::Display,
) -> Box<EvalAltResult> {
    script_error(format!("{function}: {path}: {e}"))
}

/// A script error with a plain message (bad arguments and the like).
pub(crate) fn script_error(message: impl std::fmt::Display) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(Dynamic::from(message.to_string()), Position::NONE).into()
}
