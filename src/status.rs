//! How an unattended run is doing, for the ops team's monitoring: `--status-addr ADDR` serves
//! `/metrics` (OpenMetrics text, which Prometheus scrapes, from the Prometheus project's own
//! `prometheus-client`) and `/healthz` (200 while healthy; 503 during an outage or after the
//! last run failed).
//!
//! The figures are the process's, as every Prometheus client keeps them: requests to the
//! dialer by method and status, retries, records handed by followers per resource, follow lag
//! (seconds from a call's end to its handing), the last success, script errors, reloads and
//! outage seconds. They are counted whether or not a server shows them (a few atomic adds).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    retries: Counter,
    records: Family<Labels, Counter>,
    lag: Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    last_success: Gauge<i64, AtomicI64>,
    script_errors: Counter,
    reloads: Counter,
    runs: Counter,
    outage_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    in_outage: Gauge<i64, AtomicI64>,
    /// The last run (of a schedule or a watch) failed.
    failing: AtomicBool,
    outage_since: std::sync::Mutex<Option<Instant>>,
    /// Up to when the outage's seconds were added to `outage_seconds`.
    outage_counted: std::sync::Mutex<Instant>,
}

fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let mut registry = Registry::with_prefix("tdc");
        let metrics = Metrics {
            requests: Family::default(),
            retries: Counter::default(),
            records: Family::default(),
            lag: Family::default(),
            last_success: Gauge::default(),
            script_errors: Counter::default(),
            reloads: Counter::default(),
            runs: Counter::default(),
            outage_seconds: Counter::default(),
            in_outage: Gauge::default(),
            failing: AtomicBool::new(false),
            outage_since: std::sync::Mutex::new(None),
            outage_counted: std::sync::Mutex::new(Instant::now()),
            registry: Registry::default(),
        };
        registry.register(
            "requests",
            "Requests to the dialer, by method and status (0: no answer)",
            metrics.requests.clone(),
        );
        registry.register(
            "retries",
            "Requests to the dialer sent again after no answer, a 5xx or a 429",
            metrics.retries.clone(),
        );
        registry.register(
            "records",
            "Records handed to scripts by followers, by resource",
            metrics.records.clone(),
        );
        registry.register(
            "follow_lag_seconds",
            "Seconds from the end of the last call handed to its handing, by resource",
            metrics.lag.clone(),
        );
        registry.register(
            "last_success_timestamp_seconds",
            "When a follower's poll or a run last succeeded (seconds since the epoch)",
            metrics.last_success.clone(),
        );
        registry.register(
            "script_errors",
            "Runs that ended with an error",
            metrics.script_errors.clone(),
        );
        registry.register(
            "reloads",
            "New versions of a followed script taken in by watch mode",
            metrics.reloads.clone(),
        );
        registry.register("runs", "Runs of a scheduled job", metrics.runs.clone());
        registry.register(
            "outage_seconds",
            "Seconds the dialer could not be reached while a follower waited for it",
            metrics.outage_seconds.clone(),
        );
        registry.register(
            "outage",
            "1 while a follower waits for a dialer that cannot be reached",
            metrics.in_outage.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A request to the dialer got `status` (`None`: no answer).
pub(crate) fn request(method: &str, status: Option<u16>) {
    let labels = vec![
        ("method", method.to_string()),
        ("status", status.unwrap_or(0).to_string()),
    ];
    metrics().requests.get_or_create(&labels).inc();
}

pub(crate) fn retry() {
    metrics().retries.inc();
}

/// A follower handed a record of `resource` that ended at `end` (seconds since the epoch).
pub(crate) fn record(resource: &str, end: Option<i64>) {
    let m = metrics();
    let labels = vec![("resource", resource.to_string())];
    m.records.get_or_create(&labels).inc();
    if let Some(end) = end {
        m.lag
            .get_or_create(&labels)
            .set((now() - end).max(0) as f64);
    }
}

/// A poll or a run succeeded.
pub(crate) fn success() {
    metrics().last_success.set(now());
}

/// A run (of a schedule or of watch mode) started.
pub(crate) fn run_started() {
    metrics().runs.inc();
}

/// A run ended: a failure makes `/healthz` answer 503 until a run succeeds.
pub(crate) fn run_ended(ok: bool) {
    let m = metrics();
    if ok {
        success();
    } else {
        m.script_errors.inc();
    }
    m.failing.store(!ok, Ordering::SeqCst);
}

pub(crate) fn reload() {
    metrics().reloads.inc();
}

/// An outage that began at `since` (the first request that went unanswered, which the
/// connection's own retries kept trying before it counted as an outage).
pub(crate) fn outage_began(since: Instant) {
    let m = metrics();
    m.in_outage.set(1);
    *m.outage_since.lock().unwrap_or_else(|e| e.into_inner()) = Some(since);
    *m.outage_counted.lock().unwrap_or_else(|e| e.into_inner()) = since;
    outage_goes_on();
}

/// Adds the outage's seconds so far to `tdc_outage_seconds_total` (called while it lasts,
/// so that a scrape during an outage sees it grow).
pub(crate) fn outage_goes_on() {
    let m = metrics();
    if m.outage_since
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_none()
    {
        return;
    }
    let mut counted = m.outage_counted.lock().unwrap_or_else(|e| e.into_inner());
    m.outage_seconds.inc_by(counted.elapsed().as_secs_f64());
    *counted = Instant::now();
}

pub(crate) fn outage_ended() {
    outage_goes_on();
    let m = metrics();
    m.in_outage.set(0);
    *m.outage_since.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// The metrics in the OpenMetrics text format.
pub(crate) fn encode() -> String {
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &metrics().registry);
    text
}

/// `/healthz`: healthy, or why not.
pub(crate) fn health() -> Result<(), String> {
    let m = metrics();
    if let Some(since) = *m.outage_since.lock().unwrap_or_else(|e| e.into_inner()) {
        return Err(format!(
            "the dialer cannot be reached (for {} s)",
            since.elapsed().as_secs()
        ));
    }
    if m.failing.load(Ordering::SeqCst) {
        return Err("the last run failed".into());
    }
    Ok(())
}

/// Serves `/metrics` and `/healthz` on `addr` until the runtime stops; the bound address.
pub(crate) async fn serve(addr: std::net::SocketAddr) -> std::io::Result<std::net::SocketAddr> {
    use axum::http::{header, StatusCode};
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(|| async {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    encode(),
                )
            }),
        )
        .route(
            "/healthz",
            get(|| async {
                match health() {
                    Ok(()) => (StatusCode::OK, "ok\n".to_string()),
                    Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
                }
            }),
        );
    if !addr.ip().is_loopback() {
        crate::terminal::log::warn(&format!(
            "--status-addr {addr} can be reached from other machines: its metrics name your dialer's traffic"
        ));
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figures_are_written_as_openmetrics() {
        request("GET", Some(200));
        record("cdrs", Some(now() - 3));
        let text = encode();
        assert!(
            text.contains("tdc_requests_total{method=\"GET\",status=\"200\"}"),
            "{text}"
        );
        assert!(
            text.contains("tdc_records_total{resource=\"cdrs\"}"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE tdc_follow_lag_seconds gauge"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
