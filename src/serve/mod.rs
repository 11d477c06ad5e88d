//! `mtrec serve`: trained runs behind HTTP.
//!
//! ```text
//! HTTP (tokio + axum)                        batcher thread per model
//! ─────────────────────────────────────      ─────────────────────────────────
//! metrics → auth → timeout → handler   ──►   bounded queue (503 when full)
//!   parse + check the request (400)           gather ≤ max_batch_rows rows
//!   build the raw table                       within max_delay of the first
//!   await the reply                    ◄──    encode, one forward pass, split
//! ```
//!
//! Endpoints: the Open Inference Protocol ([`kserve`]: `/v2/health/*`,
//! `/v2/models/{name}`, `/v2/models/{name}/infer`), `/v1/models/{name}/recommend`
//! ([`recommend`]), `/v1/admin/reload` ([`reload`]) and `/metrics` ([`metrics`]).
//! Every reply but a 200 is `{"error": "..."}`. See docs/serving.md.

pub mod auth;
pub mod batcher;
pub mod busy_poll;
pub mod client;
pub mod ensemble;
pub mod errors;
pub mod http;
pub mod kserve;
pub mod lists;
pub mod load;
pub mod metrics;
pub mod model;
pub mod rec_request;
pub mod recommend;
pub mod reload;
pub mod seq;
pub mod text;

use crate::error::{Error, Result};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use batcher::{BatchConfig, ModelHandle};
use errors::{ApiError, ApiResult};
use metrics::Metrics;
use recommend::RecommendHook;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Per-request limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest request body in bytes (413 above).
    pub max_body_bytes: usize,
    /// Most rows in one inference request (400 above).
    pub max_rows: usize,
    /// Time from arrival to reply (504 after).
    pub timeout: Duration,
    /// Requests being read, checked or scored at once, over all models (503 above):
    /// with `max_body_bytes` it bounds the memory of requests in flight.
    pub max_inflight: usize,
}

/// Everything `mtrec serve` starts from.
pub struct ServeOptions {
    /// (model name, run folder).
    pub runs: Vec<(String, PathBuf)>,
    pub addr: SocketAddr,
    /// The bearer token clients must send.
    pub token: Vec<u8>,
    pub limits: Limits,
    pub batch: BatchConfig,
    /// Answers `/v1/models/{name}/recommend` (501 without).
    pub recommend: Option<Arc<dyn RecommendHook>>,
}

/// What every handler sees.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub models: BTreeMap<String, ModelHandle>,
    pub token: Vec<u8>,
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
    pub recommend: Option<Arc<dyn RecommendHook>>,
    /// Served `mtrec seq` runs (no `/infer`; recommend from a history), by name.
    pub seq: BTreeMap<String, std::sync::RwLock<seq::SeqInfo>>,
    inflight: Arc<tokio::sync::Semaphore>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Inner {
    /// The model called `name`, or 404 listing the served ones.
    pub fn model(&self, name: &str) -> ApiResult<&ModelHandle> {
        if self.seq.contains_key(name) {
            return Err(ApiError::bad_request(format!(
                "model `{name}` is a sequence model (mtrec seq): it has no feature rows to score; POST an item history to /v1/models/{name}/recommend"
            )));
        }
        self.models.get(name).ok_or_else(|| {
            let names: Vec<&str> = self
                .models
                .keys()
                .chain(self.seq.keys())
                .map(String::as_str)
                .collect();
            ApiError::not_found(format!(
                "no model `{name}`; this server serves: {}",
                names.join(", ")
            ))
        })
    }
}

/// The route label of a path for metrics: a fixed name, so that clients cannot grow
/// the label set.
fn route_of(path: &str) -> &'static str {
    let p = path.trim_end_matches('/');
    if p.starts_with("/v2/health") {
        "health"
    } else if p == "/metrics" {
        "metrics"
    } else if p.starts_with("/v2/models/") && p.ends_with("/infer") {
        "infer"
    } else if p.starts_with("/v2/models/") || p == "/v2" {
        "metadata"
    } else if p.starts_with("/v1/models/") && p.ends_with("/recommend") {
        "recommend"
    } else if p.starts_with("/v1/admin/") {
        "admin"
    } else {
        "other"
    }
}

/// Paths answered without a token: the liveness and readiness probes.
fn is_public(path: &str) -> bool {
    matches!(path, "/v2/health/live" | "/v2/health/ready")
}

/// Outermost layer: counts every reply by route and code, with its latency.
async fn count(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = route_of(req.uri().path());
    let resp = next.run(req).await;
    st.metrics
        .request(route, resp.status().as_u16(), start.elapsed().as_secs_f64());
    resp
}

/// Bearer token on every path but the health probes (401), the bound on requests in
/// flight (503), then the per-request timeout (504).
async fn guard(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if is_public(req.uri().path()) {
        return next.run(req).await;
    }
    if let Err(e) = auth::check(req.headers(), &st.token) {
        return e.into_response();
    }
    let Ok(_permit) = st.inflight.clone().try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{} requests are in flight already (--max-inflight); retry after a short wait",
                st.limits.max_inflight
            ),
        )
        .into_response();
    };
    let limit = st.limits.timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "no reply within {} ms (--timeout-ms); the server is overloaded or the batch too large",
                limit.as_millis()
            ),
        )
        .into_response(),
    }
}

async fn metrics_text(State(st): State<AppState>) -> impl IntoResponse {
    let queues: Vec<(String, usize)> = st
        .models
        .iter()
        .map(|(n, h)| (n.clone(), h.queue_depth()))
        .collect();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        st.metrics.render(&queues),
    )
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route {} {}; see docs/serving.md for the endpoints",
        req.method(),
        req.uri().path()
    ))
}

/// The router over `state` (every endpoint and layer).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v2", get(kserve::server_metadata))
        .route("/v2/health/live", get(kserve::health))
        .route("/v2/health/ready", get(kserve::health))
        .route("/v2/models/{name}", get(kserve::model_metadata))
        .route("/v2/models/{name}/ready", get(kserve::model_ready))
        .route("/v2/models/{name}/infer", post(kserve::infer))
        .route("/v1/models/{name}/recommend", post(recommend::recommend))
        .route("/v1/admin/reload", post(reload::admin_reload))
        .route("/metrics", get(metrics_text))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .layer(axum::middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

/// Loads every run, opens `opts.addr`, prints `listening on ADDR` as the first line of
/// stdout, and serves until SIGTERM or Ctrl-C; requests in flight then finish.
pub fn serve(opts: ServeOptions) -> Result<()> {
    serve_with(opts, |bound| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {bound}");
        let _ = out.flush();
    })
}

/// [`serve`] with `http.threads` threads answering HTTP (0: one per core), each with
/// its own connections and busy-polling for `http.busy_poll` after a reply
/// ([`http::run`]).
pub fn serve_on(opts: ServeOptions, http: http::HttpConfig) -> Result<()> {
    serve_runtime(opts, http, |bound| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {bound}");
        let _ = out.flush();
    })
}

/// [`serve`], calling `on_listening` with the bound address (once the signal handlers
/// are in place, so a SIGTERM or SIGHUP from then on is handled, never fatal), with
/// the default [`http::HttpConfig`].
pub fn serve_with(opts: ServeOptions, on_listening: impl FnOnce(SocketAddr)) -> Result<()> {
    serve_runtime(opts, http::HttpConfig::default(), on_listening)
}

/// [`serve_with`] on `http.threads` HTTP threads ([`http::run`]: one single-threaded
/// runtime per thread, connections spread over them; 0: one per core).
pub fn serve_runtime(
    opts: ServeOptions,
    http: http::HttpConfig,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<()> {
    let metrics = Arc::new(Metrics::new());
    let mut models = BTreeMap::new();
    let mut seq_models = BTreeMap::new();
    for (name, run) in &opts.runs {
        if models.contains_key(name) || seq_models.contains_key(name) {
            return Err(Error::Config {
                what: format!("--run {name}=..."),
                message: "names a model twice; expected one name per model (--run NAME=DIR)".into(),
            });
        }
        if crate::recommend::seq::is_seq_run(run)? {
            let info = seq::SeqInfo::read(run.clone())?;
            eprintln!(
                "serve: model `{name}` from {} (mtrec seq: recommend from an item history)",
                run.display()
            );
            seq_models.insert(name.clone(), std::sync::RwLock::new(info));
            continue;
        }
        let handle = ModelHandle::start(name, run.clone(), opts.batch, metrics.clone())?;
        let s = handle.schema();
        let tasks: Vec<&str> = s.tasks.iter().map(|(t, _)| t.as_str()).collect();
        eprintln!(
            "serve: model `{name}` from {} ({} inputs; tasks {})",
            run.display(),
            s.inputs.len(),
            tasks.join(", ")
        );
        models.insert(name.clone(), handle);
    }
    let state = AppState(Arc::new(Inner {
        models,
        token: opts.token,
        limits: opts.limits,
        metrics,
        recommend: opts.recommend,
        seq: seq_models,
        inflight: Arc::new(tokio::sync::Semaphore::new(opts.limits.max_inflight)),
    }));
    let app = router(state.clone());
    http::run(state, app, opts.addr, http, on_listening)
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
async fn shutdown_signal(mut term: tokio::signal::unix::Signal) {
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    eprintln!("serve: shutting down: finishing the requests in flight");
}
