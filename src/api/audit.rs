//! The audit log: one JSON line per mutating request, appended to
//! `$XDG_STATE_HOME/tdc/audit.jsonl` (`~/.local/state/tdc/audit.jsonl`):
//! time, profile, host, method, path, the SHA-256 of the body, and the status. It never holds
//! credentials or the body itself. Requests to the embedded sandbox are not recorded.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::ApiError;

#[derive(Debug, Clone)]
pub struct AuditLog {
    pub path: PathBuf,
    pub profile: Option<String>,
    pub host: String,
    warned: Arc<AtomicBool>,
}

/// `$XDG_STATE_HOME/tdc/audit.jsonl`.
pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".local").join("state")))
        .map(|dir| dir.join("tdc").join("audit.jsonl"))
}

impl AuditLog {
    pub fn new(path: PathBuf, profile: Option<String>, host: String) -> AuditLog {
        AuditLog {
            path,
            profile,
            host,
            warned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Appends one request; a log that cannot be written is reported once on stderr.
    pub fn record(
        &self,
        method: &str,
        path: &str,
        body: &Value,
        status: Option<u16>,
        error: Option<&ApiError>,
    ) {
        let digest = Sha256::digest(body.to_string().as_bytes());
        let line = json!({
            "time": crate::time::format_time(chrono::Utc::now().timestamp()),
            "profile": self.profile,
            "host": self.host,
            "method": method,
            "path": path,
            "body_sha256": format!("{digest:x}"),
            "status": status,
            "error": error.map(|e| e.message.clone()),
        });
        if let Err(e) = self.append(&line) {
            if !self.warned.swap(true, Ordering::SeqCst) {
                eprintln!(
                    "tdc: warning: cannot write the audit log {}: {e}",
                    self.path.display()
                );
            }
        }
    }

    fn append(&self, line: &Value) -> std::io::Result<()> {
        let mut file =
            crate::files::open_append(crate::files::Access::own("audit log"), &self.path, false)?;
        writeln!(file, "{line}")
    }
}
