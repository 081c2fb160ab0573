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
mod convert;
mod csv;
mod dialer;
pub mod engine;
mod env;
pub mod fast_json;
mod follow;
#[cfg(test)]
mod helper_tests;
mod json;
mod notify;
pub mod permissions;
mod query;
pub(crate) mod recording;
pub mod table;
mod text;
mod time;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rhai::{Dynamic, EvalAltResult, Map, Position};
use tokio_util::sync::CancellationToken;

use crate::api::{ApiError, BulkError, Client, ErrorKind};
use crate::config::{ConfigFile, Connection};

pub use convert::{dynamic_to_json, json_to_dynamic, scalar_text, NotJson, MAX_JSON_DEPTH};

/// What a fallible script function returns. Named like Rhai's own alias so that signatures in
/// help and editor definitions show the value type.
pub type RhaiResultOf<T> = Result<T, Box<EvalAltResult>>;
pub use dialer::{Dialer, DialerError};
pub use follow::{Follow, RELOAD};
pub use query::Query;
pub use recording::Recording;

/// Everything bindings share: the runtime, cancellation, dry-run, and what `dialer(profile)`
/// needs to build other connections.
pub struct Host {
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
    config: Option<(std::path::PathBuf, ConfigFile)>,
}

impl Host {
    pub fn new(
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
            config,
        })
    }

    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }

    fn token(&self) -> CancellationToken {
        self.cancel
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stops the running evaluation and its in-flight request.
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        self.token().cancel();
    }

    pub fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// Readies the host for a new evaluation after an interrupted one (a token cancels once).
    pub fn reset_interrupt(&self) {
        *self.cancel.lock().unwrap_or_else(|e| e.into_inner()) = CancellationToken::new();
        *self.boundary.lock().unwrap_or_else(|e| e.into_inner()) = CancellationToken::new();
        self.interrupted.store(false, Ordering::SeqCst);
        self.following.store(false, Ordering::SeqCst);
    }

    /// Asks a running follower to end when its loop body has finished with the current
    /// record (see `follow`); other scripts are not affected.
    pub fn stop_at_boundary(&self) {
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
    pub fn is_following(&self) -> bool {
        self.following.load(Ordering::SeqCst)
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run.load(Ordering::SeqCst)
    }

    /// `--yes`: changes to remote dialers need no confirmation.
    pub fn assume_yes(&self) -> bool {
        self.assume_yes
    }

    pub fn set_verbose(&self, on: bool) {
        self.verbose.store(on, Ordering::SeqCst);
    }

    pub fn verbose(&self) -> bool {
        self.verbose.load(Ordering::SeqCst)
    }

    pub fn set_dry_run(&self, on: bool) {
        self.dry_run.store(on, Ordering::SeqCst);
    }

    pub fn config(&self) -> Option<(&std::path::Path, &ConfigFile)> {
        self.config.as_ref().map(|(p, c)| (p.as_path(), c))
    }

    /// Runs a future to completion on the runtime, or returns `None` when interrupted.
    pub fn block_on<T>(&self, future: impl Future<Output = T>) -> Option<T> {
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
    pub fn call<T>(
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

/// The uncatchable error that ends an interrupted evaluation.
pub fn terminated() -> Box<EvalAltResult> {
    EvalAltResult::ErrorTerminated(Dynamic::from("interrupted"), Position::NONE).into()
}

/// The map a script catches for an API error: `#{status, endpoint, message}`.
pub fn api_error_map(error: &ApiError) -> Map {
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

pub fn api_error(error: ApiError) -> Box<EvalAltResult> {
    if error.kind == ErrorKind::Interrupted {
        return terminated();
    }
    EvalAltResult::ErrorRuntime(Dynamic::from_map(api_error_map(&error)), Position::NONE).into()
}

/// A bulk failure: the API error's map plus the input positions of each outcome.
pub fn bulk_error(error: BulkError) -> Box<EvalAltResult> {
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
pub fn script_error(message: impl std::fmt::Display) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(Dynamic::from(message.to_string()), Position::NONE).into()
}

/// Makes the client for a resolved connection whose target is a URL.
pub fn client_for(connection: &Connection, base_url: url::Url) -> Result<Arc<Client>, DialerError> {
    connection.require_user(&base_url)?;
    let password = connection
        .password
        .clone()
        .ok_or_else(|| DialerError::NoPassword {
            user: connection.user.clone(),
            url: base_url.to_string(),
        })?;
    let options = crate::api::ClientOptions {
        base_url: base_url.clone(),
        user: connection.user.clone(),
        password,
        password_source: connection.password_source(),
        auth: connection.auth,
        timeout: connection.timeout,
        concurrency: connection.concurrency,
        max_rps: connection.max_rps,
        read_only: connection
            .read_only
            .then(|| connection.profile.clone().unwrap_or_default()),
        retry: crate::api::RetryPolicy {
            attempts: connection.attempts,
            budget: connection.retry_budget,
            ..crate::api::RetryPolicy::default()
        },
        ca_file: connection.ca_file.clone(),
        proxy: connection.proxy.clone(),
        connect_timeout: connection.connect_timeout,
        max_response_bytes: connection.max_response_bytes,
        verbose: connection.verbose,
        audit: match connection.target {
            crate::config::Target::Embedded => None,
            crate::config::Target::Url(_) => {
                crate::api::audit::default_path(&|name| std::env::var(name).ok()).map(|path| {
                    crate::api::audit::AuditLog::new(
                        path,
                        connection.profile.clone(),
                        base_url.host_str().unwrap_or("").to_string(),
                        connection.is_remote(),
                    )
                })
            }
        },
    };
    Ok(Arc::new(Client::new(options)?))
}
