//! The audit log: one JSON line per mutating request, appended to
//! `$XDG_STATE_HOME/tdc/audit.jsonl` (`~/.local/state/tdc/audit.jsonl`):
//! time, profile, host, method, path, the SHA-256 of the body, and the status. It never holds
//! credentials or the body itself. Requests to the embedded sandbox are not recorded.
//!
//! The log is opened before its request is sent. One that cannot be written refuses a change
//! to a remote dialer (one that would go unrecorded is not made); on loopback it is reported
//! once on stderr and the change is sent.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{ApiError, ErrorKind};

use crate::terminal::sink::errln;

#[derive(Debug, Clone)]
pub(crate) struct AuditLog {
    pub(crate) path: PathBuf,
    pub(crate) profile: Option<String>,
    pub(crate) host: String,
    /// Neither the embedded sandbox nor loopback: an unwritable log refuses the change.
    remote: bool,
    warned: Arc<AtomicBool>,
}

/// The log opened for one request, before it is sent.
pub(crate) struct Opened<'a> {
    log: &'a AuditLog,
    /// `None` when the log cannot be written (already reported).
    file: Option<std::fs::File>,
}

/// `$XDG_STATE_HOME/tdc/audit.jsonl`.
pub(crate) fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".local").join("state")))
        .map(|dir| dir.join("tdc").join("audit.jsonl"))
}

impl AuditLog {
    pub(crate) fn new(
        path: PathBuf,
        profile: Option<String>,
        host: String,
        remote: bool,
    ) -> AuditLog {
        AuditLog {
            path,
            profile,
            host,
            remote,
            warned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Opens the log for `method path`, before it is sent: refused on a remote dialer when the
    /// log cannot be written.
    pub(crate) fn open(&self, method: &str, path: &str) -> Result<Opened<'_>, ApiError> {
        let opened = self.path.parent().map_or(Ok(()), std::fs::create_dir_all);
        let append = || {
            crate::files::open_append(crate::files::Access::own("audit log"), &self.path, false)
                .map_err(std::io::Error::from)
        };
        match opened.and_then(|()| append()) {
            Ok(file) => Ok(Opened {
                log: self,
                file: Some(file),
            }),
            Err(e) if self.remote => Err(ApiError::new(
                ErrorKind::Refused,
                method,
                path,
                format!(
                    "cannot write the audit log {}: {e}; refused: a change to a remote dialer is sent only when it can be recorded",
                    self.path.display()
                ),
            )),
            Err(e) => {
                self.warn(&e);
                Ok(Opened {
                    log: self,
                    file: None,
                })
            }
        }
    }

    fn warn(&self, error: &std::io::Error) {
        if !self.warned.swap(true, Ordering::SeqCst) {
            errln!(
                "tdc: warning: cannot write the audit log {}: {error}",
                self.path.display()
            );
        }
    }
}

impl Opened<'_> {
    /// Appends the request as sent, and its outcome; a failed write is reported once on
    /// stderr (the request has gone by then).
    pub(crate) fn record(
        self,
        method: &str,
        path: &str,
        body: &Value,
        status: Option<u16>,
        error: Option<&ApiError>,
    ) {
        let Some(mut file) = self.file else {
            return;
        };
        let log = self.log;
        let digest = Sha256::digest(body.to_string().as_bytes());
        let line = json!({
            "time": crate::time::format_time(chrono::Utc::now().timestamp()),
            "profile": log.profile,
            "host": log.host,
            "method": method,
            "path": path,
            "body_sha256": format!("{digest:x}"),
            "status": status,
            "error": error.map(|e| e.message.clone()),
        });
        if let Err(e) = writeln!(file, "{line}") {
            log.warn(&e);
        }
    }
}
