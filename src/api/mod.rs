//! The async dialer client: Basic or Digest auth (see `auth`), retries by operation, answer decoding, and one file per
//! endpoint group. The filter grammar it writes (and the sandbox reads) is in `query`.

pub(crate) mod audit;
pub(crate) mod auth;
mod calls;
mod campaign_leads;
mod campaigns;
pub(crate) mod error;
mod leads;
pub(crate) use leads::journal;

use crate::terminal::sink::errln;
mod listing;
pub(crate) mod models;
pub(crate) mod pacer;
pub(crate) mod query;
pub(crate) mod raw_path;
pub(crate) mod scan;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

pub(crate) use crate::api::auth::AuthMode;
use crate::api::auth::{Authenticator, Credentials};
pub(crate) use crate::api::campaign_leads::{MASS_ASSIGN_PATH, MOVE_PATH, UPDATE_PATH};
pub(crate) use crate::api::campaigns::CLONE_PATH;
pub(crate) use crate::api::error::{ApiError, ErrorKind};
pub(crate) use crate::api::leads::{
    AddLeadsOptions, BulkError, Inserted, DEFAULT_CHUNK, LEADS_PATH,
};
pub(crate) use crate::api::listing::{MAX_BYTES_HELD, MAX_PAGES_AHEAD, MAX_PAGES_HELD};
pub(crate) use crate::api::raw_path::{RawPath, RawPathError};
use crate::secret::Secret;

/// The largest answer the client reads by default (a guard against a runaway or hostile
/// server).
pub(crate) const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// Whether a request may be sent again after a failure. Decided per operation, not per HTTP
/// method: clone is a GET that creates a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Reads, mass-assign and update-campaign-leads: repeating them changes nothing more.
    Safe,
    /// Sent once; a failure is reported as it is.
    Never,
}

/// How failed safe requests are retried: with capped exponential backoff and full jitter
/// (or the server's `Retry-After`) until `budget` is spent, and at most `attempts` times.
#[derive(Debug, Clone)]
pub(crate) struct RetryPolicy {
    pub(crate) attempts: u32,
    pub(crate) base_delay: Duration,
    pub(crate) max_delay: Duration,
    /// Time from the first attempt after which no retry is started.
    pub(crate) budget: Duration,
}

/// The default time a request (or an import's chunk) keeps being retried.
pub(crate) const DEFAULT_RETRY_BUDGET: Duration = Duration::from_secs(60);

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: u32::MAX,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            budget: DEFAULT_RETRY_BUDGET,
        }
    }
}

impl RetryPolicy {
    /// Whether a retry that would start `wait` from now still fits the budget of a request
    /// first tried at `started`, as attempt `attempt + 1`.
    pub(crate) fn allows(&self, started: std::time::Instant, attempt: u32, wait: Duration) -> bool {
        attempt < self.attempts.max(1) && started.elapsed() + wait <= self.budget
    }
}

/// What a `Client` is made from.
#[derive(Debug, Clone)]
pub(crate) struct ClientOptions {
    pub(crate) base_url: url::Url,
    pub(crate) user: String,
    pub(crate) password: Secret,
    /// Where the password came from, for the hint of a 401 (never the password).
    pub(crate) password_source: String,
    pub(crate) auth: AuthMode,
    pub(crate) timeout: Duration,
    pub(crate) concurrency: usize,
    /// The most requests a second, across the whole connection.
    pub(crate) max_rps: Option<f64>,
    /// `Some(profile)` when the profile is read-only: mutating calls are refused.
    pub(crate) read_only: Option<String>,
    pub(crate) retry: RetryPolicy,
    pub(crate) ca_file: Option<std::path::PathBuf>,
    pub(crate) proxy: Option<String>,
    pub(crate) connect_timeout: Duration,
    /// The largest answer read; a larger one is an error.
    pub(crate) max_response_bytes: usize,
    /// Where mutating requests are recorded, if anywhere.
    pub(crate) audit: Option<audit::AuditLog>,
    /// `-v`: one line per request and answer on stderr (never headers or credentials).
    pub(crate) verbose: bool,
}

#[derive(Debug)]
pub(crate) struct Client {
    http: reqwest::Client,
    authenticator: Authenticator,
    pacer: pacer::Pacer,
    /// Requests sent so far (every attempt, every answered challenge).
    requests: std::sync::atomic::AtomicU64,
    /// The `Date` of the last answer, as seconds since the epoch (for `tdc doctor`).
    last_date: std::sync::atomic::AtomicI64,
    /// Whether the host has answered anything yet: until it has, a failure to connect is
    /// not retried.
    answered: std::sync::atomic::AtomicBool,
    /// When the last line saying that a request is being retried was printed.
    retry_told: std::sync::Mutex<Option<std::time::Instant>>,
    options: ClientOptions,
}

/// How long retrying goes on in silence before a line on stderr says so.
const QUIET_RETRYING: Duration = Duration::from_secs(2);

/// The least time between two lines saying that requests are being retried.
const RETRY_LINE_EVERY: Duration = Duration::from_secs(5);

/// The body of a request.
pub(crate) enum Body<'a> {
    None,
    Json(&'a Value),
}

/// Readies TLS for every HTTP client of the process (ring's cryptography, so that building
/// tdc needs no C toolchain); certificates are still checked against the system's trust
/// store. Cheap to call again.
pub fn tls_ready() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Why a client cannot be made from its options.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetupError {
    #[error("cannot read ca_file {}: {source}", path.display())]
    CaFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("ca_file {} is not a PEM certificate: {source}", path.display())]
    Certificate {
        path: std::path::PathBuf,
        source: reqwest::Error,
    },
    #[error("bad proxy '{proxy}': {source}")]
    Proxy {
        proxy: String,
        source: reqwest::Error,
    },
    #[error("cannot build the HTTP client: {0}")]
    Build(reqwest::Error),
}

impl Client {
    pub(crate) fn new(options: ClientOptions) -> Result<Client, SetupError> {
        tls_ready();
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .pool_max_idle_per_host(options.concurrency.max(1) * 2)
            .user_agent(concat!("tdc/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &options.ca_file {
            let pem =
                crate::files::read(crate::files::Access::own("ca_file"), path).map_err(|e| {
                    SetupError::CaFile {
                        path: path.clone(),
                        source: e.into(),
                    }
                })?;
            let certificate =
                reqwest::Certificate::from_pem(&pem).map_err(|source| SetupError::Certificate {
                    path: path.clone(),
                    source,
                })?;
            builder = builder.add_root_certificate(certificate);
        }
        // The environment's proxy settings are not taken whole: a proxy receives a plain
        // http:// request as it is, its Authorization header included. Through one named by
        // the environment only https goes, as a CONNECT that shows the proxy the host and
        // nothing more. A profile's own `proxy` was chosen for this dialer and carries both.
        builder = builder.no_proxy();
        if let Some(proxy) = &options.proxy {
            let proxy = reqwest::Proxy::all(proxy).map_err(|source| SetupError::Proxy {
                proxy: proxy.clone(),
                source,
            })?;
            builder = builder.proxy(proxy);
        } else if let Some(proxy) = https_proxy_from_env() {
            builder = builder.proxy(proxy);
        }
        let http = builder.build().map_err(SetupError::Build)?;
        let authenticator =
            Authenticator::new(options.auth, options.user.clone(), options.password.clone());
        let pacer = pacer::Pacer::new(options.concurrency, options.max_rps, options.verbose);
        Ok(Client {
            http,
            authenticator,
            pacer,
            requests: std::sync::atomic::AtomicU64::new(0),
            last_date: std::sync::atomic::AtomicI64::new(0),
            answered: std::sync::atomic::AtomicBool::new(false),
            retry_told: std::sync::Mutex::new(None),
            options,
        })
    }

    /// The largest answer read (`max_response_mb`).
    pub(crate) fn max_response_bytes(&self) -> usize {
        self.options.max_response_bytes
    }

    pub(crate) fn base_url(&self) -> &url::Url {
        &self.options.base_url
    }

    /// The most requests this connection may have in flight (the profile's `concurrency`).
    pub(crate) fn concurrency(&self) -> usize {
        self.options.concurrency.max(1)
    }

    /// How many requests the adaptive window allows in flight now (at most `concurrency`).
    pub(crate) fn window(&self) -> usize {
        self.pacer.limit()
    }

    /// The dialer's clock at its last answer (its `Date` header), if it sent one.
    pub(crate) fn last_server_date(&self) -> Option<i64> {
        Some(self.last_date.load(std::sync::atomic::Ordering::Relaxed)).filter(|d| *d > 0)
    }

    /// How many requests this connection has sent.
    pub(crate) fn requests_sent(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn url_for(&self, path_and_query: &str) -> String {
        let base = self.options.base_url.as_str().trim_end_matches('/');
        format!("{base}{path_and_query}")
    }

    /// Refuses a mutating call on a read-only profile.
    pub(crate) fn check_writable(&self, method: &str, path: &str) -> Result<(), ApiError> {
        match &self.options.read_only {
            Some(profile) => Err(ApiError::new(
                ErrorKind::Refused,
                method,
                path,
                format!("refused: profile '{profile}' is read-only"),
            )),
            None => Ok(()),
        }
    }

    /// Sends a request and returns the raw answer body of a 2xx, retrying safe requests.
    pub(crate) async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Body<'_>,
        retry: Retry,
    ) -> Result<Vec<u8>, ApiError> {
        let cap = self.options.max_response_bytes;
        self.send_limited(method, path_and_query, body, retry, cap)
            .await
    }

    /// [`Client::send`], reading at most `cap` bytes of answer.
    pub(crate) async fn send_limited(
        &self,
        method: Method,
        path_and_query: &str,
        body: Body<'_>,
        retry: Retry,
        cap: usize,
    ) -> Result<Vec<u8>, ApiError> {
        let path = path_and_query
            .split_once('?')
            .map_or(path_and_query, |(p, _)| p);
        let started = std::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let slot = self.pacer.acquire().await;
            let sent = std::time::Instant::now();
            let result = self
                .send_once(&method, path_and_query, path, &body, cap)
                .await;
            drop(slot);
            let (signal, why) = self.signal_of(&result, sent.elapsed());
            self.pacer.record(signal, why);
            let error = match result {
                Ok(bytes) => return Ok(bytes),
                Err(error) => error,
            };
            let retryable = match error.kind {
                _ if error.permanent => false,
                ErrorKind::Connect => true,
                ErrorKind::Transport | ErrorKind::Timeout => retry == Retry::Safe,
                ErrorKind::Status => {
                    retry == Retry::Safe && error.status.is_some_and(|s| s >= 500 || s == 429)
                }
                _ => false,
            };
            let wait = match self.retry_wait(started, attempt, &error) {
                Some(wait) if retryable => wait,
                _ => return Err(error),
            };
            tracing_retry(self.options.verbose, &method, path, &error, wait);
            self.pause_before_retry(started, &error, wait).await;
        }
    }

    /// How long to wait before attempt `attempt + 1`: the server's `Retry-After` if it gave
    /// one, else capped exponential backoff with full jitter (anywhere from nothing to the
    /// cap, so clients that failed together do not come back together).
    pub(crate) fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let policy = &self.options.retry;
        let cap = policy
            .base_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(policy.max_delay);
        retry_after
            .unwrap_or_else(|| cap.mul_f64(fastrand::f64()))
            .min(Duration::from_secs(30))
    }

    /// What an answer says about the dialer's load.
    fn signal_of(
        &self,
        result: &Result<Vec<u8>, ApiError>,
        took: Duration,
    ) -> (pacer::Signal, &'static str) {
        match result {
            Ok(_) if took < self.options.timeout / 2 => (pacer::Signal::Clean, "clean answers"),
            Ok(_) => (pacer::Signal::Congestion, "slow answers"),
            Err(e) if e.kind == ErrorKind::Timeout => (pacer::Signal::Congestion, "a time-out"),
            Err(e) if e.status == Some(429) => (pacer::Signal::Congestion, "429 too many requests"),
            Err(e) if e.status.is_some_and(|s| s >= 500) => {
                (pacer::Signal::Congestion, "a server error")
            }
            Err(_) => (pacer::Signal::Neutral, ""),
        }
    }

    fn trace_failure(&self, error: &ApiError) {
        if self.options.verbose {
            errln!("tdc: < {error}");
        }
    }

    /// How long to wait before retrying after `error` (attempt `attempt` of an operation
    /// begun at `started`), or `None` when the retry budget or the attempts are spent, or
    /// when the host could not be reached and has never answered: a wrong address, a port
    /// nothing listens on or a TLS failure is one line at once, not a minute of silence.
    pub(crate) fn retry_wait(
        &self,
        started: std::time::Instant,
        attempt: u32,
        error: &ApiError,
    ) -> Option<Duration> {
        if error.kind == ErrorKind::Connect
            && !self.answered.load(std::sync::atomic::Ordering::Relaxed)
        {
            return None;
        }
        let wait = self.backoff(attempt, error.retry_after);
        self.options
            .retry
            .allows(started, attempt, wait)
            .then_some(wait)
    }

    /// Waits `wait` before retrying after `error` an operation begun at `started`. Once the
    /// retrying outlasts a couple of seconds, a line on stderr says what failed and until
    /// when it is retried (`retry_budget_s`), one line every few seconds at most, however
    /// many requests are retrying.
    pub(crate) async fn pause_before_retry(
        &self,
        started: std::time::Instant,
        error: &ApiError,
        wait: Duration,
    ) {
        if started.elapsed() + wait >= QUIET_RETRYING {
            let mut told = self.retry_told.lock().unwrap_or_else(|e| e.into_inner());
            if told.is_none_or(|at| at.elapsed() >= RETRY_LINE_EVERY) {
                *told = Some(std::time::Instant::now());
                let left = self.options.retry.budget.saturating_sub(started.elapsed());
                let until = chrono::Local::now()
                    + chrono::Duration::from_std(left).unwrap_or(chrono::Duration::zero());
                crate::terminal::log::tdc_line(
                    "warn",
                    &format!("{error}; retrying until {}", until.format("%H:%M:%S")),
                );
            }
        }
        tokio::time::sleep(wait).await;
    }

    /// Sends a request once, answering the server's Digest challenge when it asks for one.
    ///
    /// Redirects are followed by hand, and only where nothing can leak: a `GET` to the same
    /// scheme, host and port, five at most. A redirect to another host is refused (the
    /// credentials and the request would go there), and so is a redirected write (its body
    /// is never re-sent to another address). `-v` shows each redirect.
    async fn send_once(
        &self,
        method: &Method,
        path_and_query: &str,
        path: &str,
        body: &Body<'_>,
        cap: usize,
    ) -> Result<Vec<u8>, ApiError> {
        let method_name = method.as_str();
        let refused =
            |message: String| ApiError::new(ErrorKind::Refused, method_name, path, message);
        let mut url = reqwest::Url::parse(&self.url_for(path_and_query))
            .map_err(|e| refused(format!("not a valid request URL: {e}")))?;
        let started = std::time::Instant::now();
        let mut challenges_answered = 0;
        let mut redirects = 0;
        // A 401 that offers Digest and not Basic: what a Basic-only connection must be told.
        let mut digest_only = false;
        let mut response = loop {
            let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
            let mut request = self.http.request(method.clone(), url.clone());
            request = match self.authenticator.credentials(method_name, target) {
                Credentials::None => request,
                Credentials::Basic => request.basic_auth(
                    self.authenticator.user(),
                    Some(self.authenticator.password().expose()),
                ),
                Credentials::Header(value) => request.header(reqwest::header::AUTHORIZATION, value),
            };
            if let Body::Json(value) = body {
                request = request.json(value);
            }
            if self.options.verbose {
                errln!("tdc: > {method_name} {path_and_query}");
            }
            self.requests
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let response = request
                .send()
                .await
                .map_err(|e| transport_error(method_name, path, &e))
                .inspect_err(|e| {
                    crate::status::request(method_name, None);
                    self.trace_failure(e)
                })?;
            crate::status::request(method_name, Some(response.status().as_u16()));
            self.answered
                .store(true, std::sync::atomic::Ordering::Relaxed);
            if response.status().is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| url.join(v).ok());
                let Some(next) = location else {
                    break response;
                };
                let shown = crate::config::redact_urls_in(next.as_str());
                let shown = crate::terminal::sanitize::for_terminal(&shown).into_owned();
                if self.options.verbose {
                    errln!(
                        "tdc: < {} {method_name} {path}: redirected to {shown}",
                        response.status().as_u16()
                    );
                }
                if method != Method::GET {
                    return Err(refused(format!(
                        "the dialer redirected this write to {shown}; refused: a request body is never re-sent to another address"
                    )));
                }
                if !crate::wire::origin::same_origin(&next, &url) {
                    return Err(refused(format!(
                        "the dialer redirected to another host ({shown}); not followed, so the credentials stay with {}",
                        url.host_str().unwrap_or("the dialer")
                    )));
                }
                redirects += 1;
                if redirects > 5 {
                    return Err(refused("more than 5 redirects; not followed".into()));
                }
                url = next;
                continue;
            }
            if response.status() != StatusCode::UNAUTHORIZED || challenges_answered >= 2 {
                break response;
            }
            let offered: Vec<&str> = response
                .headers()
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            let offers = |scheme: &str| {
                offered.iter().any(|v| {
                    v.trim_start()
                        .get(..scheme.len())
                        .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
                })
            };
            digest_only = offers("digest") && !offers("basic");
            if !self.authenticator.accept_challenge(&offered) {
                break response;
            }
            challenges_answered += 1;
            if self.options.verbose {
                errln!("tdc: < 401 {method_name} {path}: answering the server's Digest challenge");
            }
        };
        let status = response.status();
        if let Some(date) = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
        {
            self.last_date
                .store(date.timestamp(), std::sync::atomic::Ordering::Relaxed);
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after_of);
        let too_large = || {
            ApiError::new(
                ErrorKind::BadResponse,
                method_name,
                path,
                format!(
                    "the answer is larger than {}; refusing to read it",
                    size_text(cap)
                ),
            )
        };
        let announced = response.content_length().unwrap_or(0);
        if announced > cap as u64 {
            return Err(too_large());
        }
        // With a length announced, one buffer of that size. Without one, the chunks are kept
        // as they come (no buffer doubling and copying, which took an endless answer to three
        // times the cap) and joined at the end; past the cap, reading stops.
        let mut known = (announced > 0).then(|| Vec::with_capacity(announced as usize));
        let mut chunks = Vec::new();
        let mut read = 0usize;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    read += chunk.len();
                    if read > cap {
                        return Err(too_large());
                    }
                    match known.as_mut() {
                        Some(buffer) => buffer.extend_from_slice(&chunk),
                        None => chunks.push(chunk),
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let mut error = transport_error(method_name, path, &e);
                    error.message = format!("the answer was cut off: {}", error.message);
                    self.trace_failure(&error);
                    return Err(error);
                }
            }
        }
        let bytes = match known {
            Some(buffer) => buffer,
            None if chunks.len() == 1 => chunks.pop().map(Vec::from).unwrap_or_default(),
            None => {
                let mut joined = Vec::with_capacity(read);
                for chunk in chunks.drain(..) {
                    joined.extend_from_slice(&chunk);
                }
                joined
            }
        };
        if self.options.verbose {
            errln!(
                "tdc: < {} {method_name} {path} ({} ms, {} bytes)",
                status.as_u16(),
                started.elapsed().as_millis(),
                bytes.len()
            );
        }
        if status.is_success() {
            return Ok(bytes);
        }
        let mut message = error_message(status, &content_type, &bytes);
        if let Some(hint) = self.refusal_hint(status, &content_type, &bytes, digest_only) {
            message = format!("{message}: {hint}");
        }
        let mut error = ApiError::status(method_name, path, status.as_u16(), message);
        error.retry_after = retry_after;
        Err(error)
    }

    /// What to do about a refusal: the scheme to set when the dialer asked for Digest and the
    /// connection sends Basic only, else who was sent for a 401; the IP allow-list for a 403
    /// that came before the API (an HTML page). Never the password itself.
    fn refusal_hint(
        &self,
        status: StatusCode,
        content_type: &str,
        body: &[u8],
        digest_only: bool,
    ) -> Option<String> {
        match status {
            StatusCode::UNAUTHORIZED if digest_only && self.authenticator.mode() == AuthMode::Basic => {
                Some("the dialer asks for Digest authentication and this connection sends Basic only (auth = \"basic\"); set auth = \"digest\" or \"auto\" in the profile".to_string())
            }
            StatusCode::UNAUTHORIZED => Some(format!(
                "the dialer refused user '{}' (password {}; {} authentication); check them with `tdc config`",
                self.authenticator.user(),
                self.options.password_source,
                self.authenticator.scheme()
            )),
            StatusCode::FORBIDDEN if is_html(content_type, body) => Some(format!(
                "the dialer refused this machine before the API answered; API users can be limited to an IP allow-list: ask the dialer's admin to add this machine's public address to the allow-list of API user '{}'",
                self.authenticator.user()
            )),
            _ => None,
        }
    }

    /// Sends a request and decodes its JSON answer.
    pub(crate) async fn json(
        &self,
        method: Method,
        path_and_query: &str,
        body: Body<'_>,
        retry: Retry,
    ) -> Result<Value, ApiError> {
        let method_name = method.as_str().to_string();
        let bytes = self.send(method, path_and_query, body, retry).await?;
        let path = path_and_query
            .split_once('?')
            .map_or(path_and_query, |(p, _)| p);
        decode_json(&method_name, path, &bytes)
    }

    /// Sends a request that changes data: refused on a read-only profile, recorded in the
    /// audit log (method, path, a digest of the body, the status; never credentials), and
    /// refused on a remote dialer when that log cannot be written.
    pub(crate) async fn mutate(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        retry: Retry,
    ) -> Result<Value, ApiError> {
        self.mutate_with(method, path, Body::Json(body), retry, |b| {
            serde_json::from_slice(b)
        })
        .await
    }

    /// [`Client::mutate`], parsing the answer with `parse`.
    pub(crate) async fn mutate_with<T>(
        &self,
        method: Method,
        path: &str,
        body: Body<'_>,
        retry: Retry,
        parse: impl FnOnce(&[u8]) -> Result<T, serde_json::Error>,
    ) -> Result<T, ApiError> {
        let endpoint = path.split_once('?').map_or(path, |(p, _)| p);
        self.check_writable(method.as_str(), endpoint)?;
        let audit = match &self.options.audit {
            Some(log) => Some(log.open(method.as_str(), endpoint)?),
            None => None,
        };
        let method_name = method.as_str().to_string();
        static NO_BODY: Value = Value::Null;
        let audited: &Value = match &body {
            Body::Json(value) => value,
            Body::None => &NO_BODY,
        };
        let result = match self.send(method, path, body, retry).await {
            Ok(bytes) => decode_with(&method_name, endpoint, &bytes, parse),
            Err(error) => Err(error),
        };
        if let Some(audit) = audit {
            let status = match &result {
                Ok(_) => Some(200),
                Err(e) => e.status,
            };
            audit.record(&method_name, path, audited, status, result.as_ref().err());
        }
        result
    }

    /// A raw path as it will be sent: checked, and parsed onto this dialer's URL.
    pub(crate) fn raw_path(&self, raw: &str) -> Result<RawPath, RawPathError> {
        RawPath::parse(&self.options.base_url, raw)
    }

    /// `GET` any path: the raw escape hatch. A path that changes state goes the way of every
    /// write (read-only refusal, audit, sent once); only the API's known reads are retried.
    pub(crate) async fn get_raw(&self, path: &RawPath) -> Result<Value, ApiError> {
        if path.changes_state() {
            return self
                .mutate_with(Method::GET, path.as_str(), Body::None, Retry::Never, |b| {
                    serde_json::from_slice(b)
                })
                .await;
        }
        let retry = if path.is_known_read() {
            Retry::Safe
        } else {
            Retry::Never
        };
        self.json(Method::GET, path.as_str(), Body::None, retry)
            .await
    }

    /// `PUT`/`POST` any path: the raw escape hatch, as every write (read-only refusal, audit),
    /// sent once.
    pub(crate) async fn send_raw(
        &self,
        method: Method,
        path: &RawPath,
        body: &Value,
    ) -> Result<Value, ApiError> {
        self.mutate(method, path.as_str(), body, Retry::Never).await
    }
}

/// The environment's proxy for https (`HTTPS_PROXY`, then `ALL_PROXY`, either case), with
/// its `NO_PROXY` exceptions.
fn https_proxy_from_env() -> Option<reqwest::Proxy> {
    // Inside a CGI request `HTTP_*` variables come from the request's headers: reqwest's own
    // reading of the environment takes no proxy there, and neither does tdc.
    if std::env::var_os("REQUEST_METHOD").is_some() {
        return None;
    }
    let value = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))?;
    // A value reqwest cannot use is passed over, as its own reading of the environment does.
    reqwest::Proxy::https(value.trim())
        .ok()
        .map(|proxy| proxy.no_proxy(reqwest::NoProxy::from_env()))
}

/// A byte count as people read it: `256 MiB`, `8 MiB`, `512 KiB`.
fn size_text(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MiB", bytes / 1024 / 1024)
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after_of(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(wait.max(0) as u64))
}

fn tracing_retry(verbose: bool, method: &Method, path: &str, error: &ApiError, wait: Duration) {
    crate::status::retry();
    if verbose {
        errln!(
            "tdc: retrying {method} {path} in {} ms after: {}",
            wait.as_millis(),
            error.message
        );
    }
}

fn transport_error(method: &str, path: &str, error: &reqwest::Error) -> ApiError {
    use std::error::Error;
    let mut cause = String::new();
    let mut unresolved = false;
    let mut source = error.source();
    while let Some(inner) = source {
        cause = inner.to_string();
        unresolved |= cause.contains("dns error") || cause.contains("failed to lookup address");
        source = inner.source();
    }
    let kind = if error.is_connect() {
        ErrorKind::Connect
    } else if error.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Transport
    };
    let message = match kind {
        ErrorKind::Connect => format!("cannot connect: {cause}"),
        ErrorKind::Timeout => "no answer in time (timed out)".to_string(),
        _ if cause.is_empty() => format!("the connection failed: {error}"),
        _ => format!("the connection failed: {cause}"),
    };
    // reqwest's own words quote the URL, which may be a redirect's.
    let message = crate::config::redact_urls_in(&message).into_owned();
    ApiError {
        permanent: kind == ErrorKind::Connect && unresolved,
        ..ApiError::new(kind, method, path, message)
    }
}

/// The server's own words for a failed request, control characters and newlines made visible
/// (they reach terminals and logs, inside one error line).
fn error_message(status: StatusCode, content_type: &str, body: &[u8]) -> String {
    crate::terminal::sanitize::for_one_line(&server_words(status, content_type, body)).into_owned()
}

fn server_words(status: StatusCode, content_type: &str, body: &[u8]) -> String {
    let reason = status.canonical_reason().unwrap_or("error").to_lowercase();
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        for key in ["message", "error", "errors", "detail"] {
            match map.get(key) {
                Some(Value::String(text)) if !text.is_empty() => return text.clone(),
                Some(other @ (Value::Object(_) | Value::Array(_))) => return other.to_string(),
                _ => {}
            }
        }
    }
    if is_html(content_type, body) {
        return format!("{reason} (the server answered with an HTML page)");
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return reason;
    }
    let snippet: String = text.chars().take(200).collect();
    format!("{reason}: {snippet}")
}

fn is_html(content_type: &str, body: &[u8]) -> bool {
    content_type.contains("html") || body.trim_ascii_start().starts_with(b"<")
}

fn decode_json(method: &str, path: &str, bytes: &[u8]) -> Result<Value, ApiError> {
    decode_with(method, path, bytes, |b| serde_json::from_slice(b))
}

/// Decodes a JSON answer with `parse`, describing an empty body, an HTML page, cut-off or
/// invalid JSON in words.
pub(crate) fn decode_with<T>(
    method: &str,
    path: &str,
    bytes: &[u8],
    parse: impl FnOnce(&[u8]) -> Result<T, serde_json::Error>,
) -> Result<T, ApiError> {
    let bad = |message: String| ApiError::new(ErrorKind::BadResponse, method, path, message);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    match start.map(|i| bytes[i]) {
        None => {
            return Err(bad(
                "the server answered with an empty body, not JSON".into()
            ))
        }
        Some(b'<') => return Err(bad("the server answered with an HTML page, not JSON".into())),
        Some(_) => {}
    }
    parse(bytes).map_err(|e| {
        if e.is_eof() {
            bad(format!("the answer's JSON is cut off ({e})"))
        } else {
            bad(format!("the answer is not valid JSON ({e})"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_answers_are_described() {
        let err = decode_json("GET", "/api/cdrs", b"").unwrap_err();
        assert!(err.message.contains("empty body"));
        let err = decode_json("GET", "/api/cdrs", b"<html>").unwrap_err();
        assert!(err.message.contains("HTML page"));
        let err = decode_json("GET", "/api/cdrs", b"{\"cdrs\": [").unwrap_err();
        assert!(err.message.contains("cut off"), "{}", err.message);
        let err = decode_json("GET", "/api/cdrs", b"{nope}").unwrap_err();
        assert!(err.message.contains("not valid JSON"), "{}", err.message);
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_a_date() {
        assert_eq!(retry_after_of("3"), Some(Duration::from_secs(3)));
        let soon = chrono::Utc::now() + chrono::Duration::seconds(5);
        let wait = retry_after_of(&soon.to_rfc2822()).unwrap();
        assert!(
            wait > Duration::from_secs(3) && wait <= Duration::from_secs(5),
            "{wait:?}"
        );
        assert_eq!(
            retry_after_of("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after_of("soon"), None);
    }

    #[test]
    fn server_messages_are_used() {
        let m = error_message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "application/json",
            br#"{"success":false,"message":"lead 0: unknown field 'x'"}"#,
        );
        assert_eq!(m, "lead 0: unknown field 'x'");
        let m = error_message(
            StatusCode::BAD_GATEWAY,
            "text/html",
            b"<html>bad gateway</html>",
        );
        assert_eq!(m, "bad gateway (the server answered with an HTML page)");
        assert_eq!(error_message(StatusCode::NOT_FOUND, "", b""), "not found");
    }
}
