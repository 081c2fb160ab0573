//! The sandbox dialer: a local twin of the TD dialer API over real HTTP (axum on tokio).
//!
//! Requests need the credentials `sandbox` / `sandbox`, by Basic or (with `--auth digest`)
//! Digest authentication (see [`auth`]). Each connection is served by hyper with a
//! per-connection control (see [`Connection`]) so that the `reset` and `lost` faults can close
//! the socket with no response, as a real network would.

pub(crate) mod admission;
pub(crate) mod auth;
pub(crate) mod dataset;
pub(crate) mod error;
pub(crate) mod faults;
pub(crate) mod listing;
pub(crate) mod live;
pub(crate) mod numbers;
pub(crate) mod recording;
pub(crate) mod routes;
pub(crate) mod store;
pub(crate) mod users;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

pub(crate) use crate::sandbox::auth::AuthScheme;
pub(crate) use crate::sandbox::numbers::NumberStyle;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::sandbox::dataset::Cdr;
use crate::sandbox::error::{SandboxError, SandboxResult};
use crate::sandbox::faults::{Fault, FaultSpec};
use crate::sandbox::store::Store;
use crate::terminal::sink::errln;

pub(crate) const USER: &str = "sandbox";
pub(crate) const PASSWORD: &str = "sandbox";

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    pub addr: SocketAddr,
    pub seed: u64,
    pub leads: usize,
    pub cdrs: usize,
    pub latency: Duration,
    pub faults: FaultSpec,
    pub state_file: Option<PathBuf>,
    /// How numbers are written in answers.
    pub numbers: NumberStyle,
    /// Basic, or Digest authentication.
    pub auth: AuthScheme,
    /// New calls a minute on the wall clock (0: the data never changes by itself).
    pub live_per_minute: u32,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 1,
            leads: dataset::DEFAULT_LEADS,
            cdrs: dataset::DEFAULT_CDRS,
            latency: Duration::ZERO,
            faults: FaultSpec::default(),
            state_file: None,
            numbers: NumberStyle::from_env(),
            auth: AuthScheme::from_env(),
            live_per_minute: 0,
        }
    }
}

pub(crate) use crate::sandbox::dataset::Dataset;
use crate::sandbox::dataset::SavedState;

pub(crate) struct AppState {
    store: RwLock<Store>,
    /// Every CDR in id order: the generated ones, then live calls (appended and completed
    /// while the sandbox runs).
    cdrs: RwLock<Vec<Cdr>>,
    generated_cdrs: usize,
    seed: u64,
    generated_leads: usize,
    latency: Duration,
    faults: FaultSpec,
    rng: Mutex<fastrand::Rng>,
    state_file: Option<PathBuf>,
    numbers: NumberStyle,
    auth: auth::Verifier,
}

impl AppState {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    fn read_cdrs(&self) -> std::sync::RwLockReadGuard<'_, Vec<Cdr>> {
        self.cdrs.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_cdrs(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Cdr>> {
        self.cdrs.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a change on the store and, when it succeeds, saves the state file.
    fn mutate<T>(&self, change: impl FnOnce(&mut Store) -> SandboxResult<T>) -> SandboxResult<T> {
        let mut store = self.store.write().unwrap_or_else(|e| e.into_inner());
        let out = change(&mut store)?;
        self.save_store(&store);
        Ok(out)
    }

    /// Saves the state file now, if there is one.
    fn save_state(&self) {
        self.save_store(&self.read());
    }

    fn save_store(&self, store: &Store) {
        if let Some(path) = &self.state_file {
            if let Err(e) = self.save(store, path) {
                errln!(
                    "tdc sandbox: could not save state to {}: {e}",
                    path.display()
                );
            }
        }
    }

    /// Writes the state file whole or not at all: a temporary file of its own (mode 0600: it
    /// holds lead data), flushed to disk, then renamed over the old one.
    fn save(&self, store: &Store, path: &std::path::Path) -> std::io::Result<()> {
        use std::io::Write;
        let saved = SavedState {
            seed: self.seed,
            generated_leads: self.generated_leads,
            cdrs: self.generated_cdrs,
            store: store.clone(),
            live_cdrs: self.read_cdrs()[self.generated_cdrs..].to_vec(),
        };
        let text = serde_json::to_vec(&saved)?;
        let access = crate::files::Access::own("--state");
        Ok(crate::files::write_whole(access, path, |file| {
            file.write_all(&text)
        })?)
    }
}

/// Per-connection control: a request may ask for its connection to be dropped with no
/// response (`lost`), or reset (`reset`).
#[derive(Clone, Default)]
struct Connection {
    drop_now: Arc<Notify>,
    reset: Arc<AtomicBool>,
}

/// A running sandbox.
pub struct Sandbox {
    pub(crate) addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// Why a sandbox did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot read state file {}: {source}", path.display())]
    ReadState {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("state file {} is not a sandbox state: {source}", path.display())]
    BadState {
        path: std::path::PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read the listening address: {0}")]
    Address(std::io::Error),
    #[error("dataset generation failed: {0}")]
    Generation(tokio::task::JoinError),
}

impl Sandbox {
    /// Binds `options.addr`, generates (or loads) the data and starts serving.
    pub async fn start(options: SandboxOptions) -> Result<Sandbox, StartError> {
        let opts = options.clone();
        let dataset = tokio::task::spawn_blocking(move || {
            Dataset::load_or_generate(opts.state_file.as_deref(), opts.seed, opts.leads, opts.cdrs)
        })
        .await
        .map_err(StartError::Generation)??;
        Sandbox::start_with(options, dataset).await
    }

    /// Starts serving a dataset made beforehand.
    pub(crate) async fn start_with(
        options: SandboxOptions,
        dataset: Dataset,
    ) -> Result<Sandbox, StartError> {
        let listener =
            TcpListener::bind(options.addr)
                .await
                .map_err(|source| StartError::Listen {
                    addr: options.addr,
                    source,
                })?;
        let addr = listener.local_addr().map_err(StartError::Address)?;
        let state = Arc::new(AppState {
            store: RwLock::new(dataset.store),
            cdrs: RwLock::new(Arc::unwrap_or_clone(dataset.cdrs)),
            generated_cdrs: dataset.generated_cdrs,
            seed: dataset.seed,
            generated_leads: dataset.generated_leads,
            latency: options.latency,
            faults: options.faults,
            rng: Mutex::new(fastrand::Rng::with_seed(dataset.seed)),
            state_file: options.state_file,
            numbers: options.numbers,
            auth: auth::Verifier::new(options.auth),
        });
        let shutdown = CancellationToken::new();
        if options.live_per_minute > 0 {
            tokio::spawn(live::run(
                state.clone(),
                options.live_per_minute,
                shutdown.clone(),
            ));
        }
        let router = router(state);
        let task = tokio::spawn(accept_loop(listener, router, shutdown.clone()));
        Ok(Sandbox {
            addr,
            shutdown,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting and closes every connection.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// A client must send a request's headers within this time, or its connection is closed (a
/// slow or half-sent request cannot hold a connection open).
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The most connections served at once; more wait to be accepted.
pub(crate) const MAX_CONNECTIONS: usize = 512;

async fn accept_loop(listener: TcpListener, router: axum::Router, shutdown: CancellationToken) {
    let mut connections = tokio::task::JoinSet::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let per_address = Arc::new(admission::PerAddress::default());
    loop {
        let slot = tokio::select! {
            _ = shutdown.cancelled() => break,
            slot = slots.clone().acquire_owned() => slot,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, address_slot) = match accepted {
            Ok((stream, peer)) => match per_address.admit(peer.ip()) {
                Some(address_slot) => (stream, address_slot),
                // Closed at once: that address holds its share of the slots.
                None => continue,
            },
            Err(_) => {
                // Out of file handles, most likely: pause instead of spinning on the error.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let control = Connection::default();
        let router = router.clone();
        let request_control = control.clone();
        let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            let (router, control) = (router.clone(), request_control.clone());
            async move {
                // The body is read whole, in time, before any route sees the request: a
                // client dripping it cannot hold its connection past the deadline.
                let (parts, body) = request.into_parts();
                let body = match admission::read_body(axum::body::Body::new(body)).await {
                    Ok(body) => body,
                    Err(answer) => return Ok(answer),
                };
                let mut request = Request::from_parts(parts, axum::body::Body::from(body));
                request.extensions_mut().insert(control);
                tower::ServiceExt::oneshot(router, request).await
            }
        });
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let socket = socket2::SockRef::from(&stream).try_clone().ok();
            let io = hyper_util::rt::TokioIo::new(stream);
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(true)
                .serve_connection(io, service);
            tokio::select! {
                _ = connection => {}
                _ = control.drop_now.notified() => {
                    if control.reset.load(Ordering::SeqCst) {
                        if let Some(socket) = &socket {
                            let _ = socket.set_linger(Some(Duration::ZERO));
                        }
                    }
                }
                _ = shutdown.cancelled() => {}
            }
            drop(socket);
            drop(slot);
            drop(address_slot);
        });
        while connections.try_join_next().is_some() {}
    }
    connections.shutdown().await;
}

fn router(state: Arc<AppState>) -> axum::Router {
    routes::router()
        .fallback(|| async { SandboxError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            SandboxError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this route",
            )
        })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .merge(routes::public_router())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            numbers::restyle_answer,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), inject_faults))
        .with_state(state)
}

async fn inject_faults(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }
    let fault = if state.faults.is_empty() {
        None
    } else {
        let draw = state.rng.lock().unwrap_or_else(|e| e.into_inner()).f64();
        state.faults.pick(draw)
    };
    let control = request.extensions().get::<Connection>().cloned();
    match fault {
        None => next.run(request).await,
        Some(Fault::ServerError) => SandboxError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "injected fault: server error",
        )
        .into_response(),
        Some(Fault::TooManyRequests) => {
            let mut response = SandboxError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "injected fault: too many requests",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            response
        }
        Some(Fault::Slow) => {
            tokio::time::sleep(faults::SLOW_DELAY).await;
            next.run(request).await
        }
        Some(kind @ (Fault::Reset | Fault::Lost)) => {
            if kind == Fault::Lost {
                let _applied = next.run(request).await;
            }
            match control {
                Some(control) => {
                    control.reset.store(kind == Fault::Reset, Ordering::SeqCst);
                    control.drop_now.notify_one();
                    std::future::pending::<Response>().await
                }
                None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }
        }
    }
}
