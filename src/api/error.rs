//! The client's error: what was asked (method, path), what came back (status, the server's
//! message), and what kind of failure it was, so that scripts and exit codes can tell.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// The server answered with a non-2xx status.
    Status,
    /// No connection could be made; nothing was sent.
    Connect,
    /// The request may have reached the server but no full answer came back.
    Transport,
    /// No answer in time.
    Timeout,
    /// A 2xx answer that is not what the API documents (not JSON, empty, wrong shape).
    BadResponse,
    /// Stopped by Ctrl-C.
    Interrupted,
    /// Refused before sending: a read-only profile, or a bad argument.
    Refused,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) kind: ErrorKind,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) status: Option<u16>,
    pub(crate) message: String,
    /// What the server's `Retry-After` asked for, if anything.
    pub(crate) retry_after: Option<std::time::Duration>,
    /// A failure that retrying will not mend (the host name does not resolve).
    pub(crate) permanent: bool,
}

/// A page's task that stopped before its answer (cancelled, or it panicked): the page is
/// missing, which a listing must not take for its end.
impl From<tokio::task::JoinError> for ApiError {
    fn from(error: tokio::task::JoinError) -> Self {
        let kind = match error.is_cancelled() {
            true => ErrorKind::Interrupted,
            false => ErrorKind::Transport,
        };
        ApiError::new(
            kind,
            "GET",
            "(listing)",
            format!("a page's task stopped: {error}"),
        )
    }
}

impl ApiError {
    pub(crate) fn new(
        kind: ErrorKind,
        method: &str,
        path: &str,
        message: impl fmt::Display,
    ) -> Self {
        ApiError {
            kind,
            method: method.to_string(),
            path: path.to_string(),
            status: None,
            message: message.to_string(),
            retry_after: None,
            permanent: false,
        }
    }

    pub(crate) fn status(
        method: &str,
        path: &str,
        status: u16,
        message: impl fmt::Display,
    ) -> Self {
        ApiError {
            status: Some(status),
            ..ApiError::new(ErrorKind::Status, method, path, message)
        }
    }

    /// `METHOD /path`, as scripts see it in `err.endpoint`.
    pub(crate) fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Whether the server certainly did not apply the request: no connection was made, or it
    /// answered with a 4xx (a refusal, or 429 "too many requests").
    pub(crate) fn not_applied(&self) -> bool {
        self.kind == ErrorKind::Connect
            || self.kind == ErrorKind::Refused
            || (self.kind == ErrorKind::Status
                && self.status.is_some_and(|s| (400..500).contains(&s)))
    }

    /// Whether the request may have been applied by the server although no answer came.
    pub(crate) fn outcome_unknown(&self) -> bool {
        matches!(self.kind, ErrorKind::Transport | ErrorKind::Timeout)
            || (self.kind == ErrorKind::Status && self.status.is_some_and(|s| s >= 500))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(
                f,
                "{} {}: {} {}",
                self.method, self.path, status, self.message
            ),
            None => write!(f, "{} {}: {}", self.method, self.path, self.message),
        }
    }
}

impl std::error::Error for ApiError {}
