//! `POST /v1/models/{name}/recommend`: the hook through which a recommender (the
//! `mtrec recommend` machinery) answers over HTTP. Until one is plugged in with
//! [`super::ServeOptions::recommend`], the route answers 501 with a JSON error.

use super::errors::{ApiError, ApiResult};
use super::lists::Prepared;
use super::rec_request::{Front, Lists};
use super::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Answers recommendation requests for the models of a server. Called off the async
/// runtime (`spawn_blocking`), so it may run the model directly.
pub trait RecommendHook: Send + Sync + 'static {
    /// The reply to `request` (the JSON body) for the model called `model`; an
    /// [`ApiError`] (e.g. 400 naming the bad field, 404 for an unknown model) otherwise.
    fn recommend(&self, model: &str, request: Value) -> ApiResult<Value>;

    /// Reloads the seq (SASRec) model `model` from `run` (`/v1/admin/reload`, SIGHUP):
    /// `None` when this hook cannot, else the reason it failed (the old model serves
    /// on). Called off the async runtime; may block while the run loads.
    fn reload_seq(&self, _model: &str, _run: &std::path::Path) -> Option<Result<(), String>> {
        None
    }

    /// Hands `request` to the recommender without blocking and returns where its reply
    /// will come; `Err(request)` gives it back when this hook answers only through
    /// [`RecommendHook::recommend`] (the route then calls that on a blocking thread).
    /// [`OnThread`] takes it: the HTTP task awaits the reply instead of holding a
    /// blocking thread for each request in flight.
    fn submit(&self, _model: &str, request: Value) -> Result<Reply, Value> {
        Err(request)
    }

    /// Checks the JSON `body` of a request for `model` here, on the HTTP task, hands it
    /// to the recommender and returns where the reply's JSON bytes will come (written on
    /// the HTTP task too); `None` when this hook does not check bodies for `model` (the
    /// route then parses the body as a JSON value for [`RecommendHook::submit`]). The
    /// recommenders of [`super::lists::hook`] take every MMoE request this way
    /// ([`super::rec_request`]), so their threads only score.
    fn submit_body(&self, _model: &str, _body: &[u8]) -> Option<BodyReply> {
        None
    }
}

/// Where the JSON bytes of a [`RecommendHook::submit_body`] reply come.
pub type BodyReply =
    std::pin::Pin<Box<dyn std::future::Future<Output = ApiResult<Vec<u8>>> + Send>>;

/// A request as the recommender threads take it: a JSON value, or a body checked on the
/// HTTP side ([`super::rec_request::Front::check`]).
pub enum Ask {
    Json(Value),
    Checked(Box<Prepared>),
}

/// A recommender's answer: JSON for [`Ask::Json`], the lists for [`Ask::Checked`].
pub enum Answer {
    Json(Value),
    Lists(Lists),
}

/// `POST /v1/models/{name}/recommend`.
pub async fn recommend(
    State(st): State<AppState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(|e| super::kserve::body_error(e, st.limits.max_body_bytes))?;
    let Some(hook) = st.recommend.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "recommendations are not served by this build yet; use `POST /v2/models/{name}/infer` to score rows",
        ));
    };
    if let Some(reply) = hook.submit_body(&name, &body) {
        let json = reply.await?;
        return Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response());
    }
    let request: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("request body is not JSON: {e}")))?;
    let request = match hook.submit(&name, request) {
        Ok(rx) => {
            let reply = rx.await.map_err(|_| {
                ApiError::internal("the recommender's thread stopped before answering")
            })??;
            return Ok(Json(reply).into_response());
        }
        Err(request) => request,
    };
    let reply = tokio::task::spawn_blocking(move || hook.recommend(&name, request))
        .await
        .map_err(|e| ApiError::internal(format!("the recommender failed: {e}")))??;
    Ok(Json(reply).into_response())
}

/// Where the answer to a [`RecommendHook::submit`] comes.
pub type Reply = tokio::sync::oneshot::Receiver<ApiResult<Value>>;

type Sender<T> = tokio::sync::oneshot::Sender<ApiResult<T>>;

/// Sends a recommender's answer to the caller that waits for it.
type Deliver = Box<dyn FnOnce(ApiResult<Answer>) + Send>;

enum Call {
    Json(String, Value, Sender<Value>),
    Checked(String, Box<Prepared>, Sender<Lists>),
}

impl Call {
    /// The model and the request; where the answer goes.
    fn split(self) -> ((String, Ask), Deliver) {
        let bug =
            || ApiError::internal("the recommender answered in the wrong form; this is a bug");
        match self {
            Call::Json(m, v, tx) => (
                (m, Ask::Json(v)),
                Box::new(move |a| {
                    let _ = tx.send(a.and_then(|a| match a {
                        Answer::Json(v) => Ok(v),
                        Answer::Lists(_) => Err(bug()),
                    }));
                }),
            ),
            Call::Checked(m, p, tx) => (
                (m, Ask::Checked(p)),
                Box::new(move |a| {
                    let _ = tx.send(a.and_then(|a| match a {
                        Answer::Lists(l) => Ok(l),
                        Answer::Json(_) => Err(bug()),
                    }));
                }),
            ),
        }
    }
}

/// A [`RecommendHook`] whose recommender lives on a thread of its own: for a
/// recommender that is not `Send` (a model is `Box<dyn MultiTaskModel>`). `make` builds
/// it on that thread; calls are answered there one at a time, in arrival order.
pub struct OnThread {
    tx: std::sync::mpsc::Sender<Call>,
    /// Hot reload of the seq models on the threads (set by [`super::lists::hook`]).
    pub(crate) seq_reloads: Option<std::sync::Arc<super::lists::SeqReloads>>,
    /// Per MMoE model, the request checking of the HTTP side (set by
    /// [`super::lists::hook`]; [`RecommendHook::submit_body`]).
    pub(crate) fronts: BTreeMap<String, Arc<Front>>,
}

/// Starts the thread and builds the recommender with `make`; returns once it is built
/// (or with `make`'s error).
pub fn on_thread<R, F>(make: F) -> crate::error::Result<OnThread>
where
    F: FnOnce() -> crate::error::Result<R> + Send + 'static,
    R: FnMut(&str, Value) -> ApiResult<Value> + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel::<Call>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("recommender".into())
        .spawn(move || {
            let mut rec = match make() {
                Ok(r) => r,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            while let Ok(call) = rx.recv() {
                let ((model, ask), reply) = call.split();
                reply(match ask {
                    Ask::Json(request) => rec(&model, request).map(Answer::Json),
                    Ask::Checked(_) => Err(ApiError::internal(
                        "this recommender takes JSON values only; this is a bug",
                    )),
                });
            }
        })
        .map_err(|e| crate::error::Error::Config {
            what: "recommender thread".into(),
            message: format!("could not be started: {e}"),
        })?;
    ready_rx.recv().map_err(|_| crate::error::Error::Config {
        what: "recommender".into(),
        message: "its thread stopped while building it; this is a bug".into(),
    })??;
    Ok(OnThread {
        tx,
        seq_reloads: None,
        fronts: BTreeMap::new(),
    })
}

/// [`on_thread`] with `n` threads (at least 1), each building its own recommender with
/// `make`; a call goes to whichever thread is free (they share one queue), so `n`
/// requests are answered at once. Returns once every thread has built its recommender
/// (or with the first error).
pub fn on_threads<R, F>(n: usize, make: F) -> crate::error::Result<OnThread>
where
    F: Fn() -> crate::error::Result<R> + Send + Sync + 'static,
    R: FnMut(&str, Value) -> ApiResult<Value> + 'static,
{
    on_threads_batched(n, 1, move || {
        let mut rec = make()?;
        Ok(move |calls: Vec<(String, Ask)>| {
            calls
                .into_iter()
                .map(|(model, ask)| match ask {
                    Ask::Json(request) => rec(&model, request).map(Answer::Json),
                    Ask::Checked(_) => Err(ApiError::internal(
                        "this recommender takes JSON values only; this is a bug",
                    )),
                })
                .collect()
        })
    })
}

/// [`on_threads`] whose recommenders answer batches: a free thread takes the first
/// waiting call and every call queued behind it, up to `max_batch` (no waiting for
/// more: a batch is what arrived while the threads were busy), and `rec` returns one
/// answer per call, in order: [`Answer::Json`] to an [`Ask::Json`], [`Answer::Lists`]
/// to an [`Ask::Checked`].
pub fn on_threads_batched<R, F>(
    n: usize,
    max_batch: usize,
    make: F,
) -> crate::error::Result<OnThread>
where
    F: Fn() -> crate::error::Result<R> + Send + Sync + 'static,
    R: FnMut(Vec<(String, Ask)>) -> Vec<ApiResult<Answer>> + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel::<Call>();
    let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
    let make = std::sync::Arc::new(make);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (n, max_batch) = (n.max(1), max_batch.max(1));
    for i in 0..n {
        let (rx, make, ready_tx) = (rx.clone(), make.clone(), ready_tx.clone());
        std::thread::Builder::new()
            .name(format!("recommender-{i}"))
            .spawn(move || {
                let mut rec = match make() {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                loop {
                    // the lock is held only while waiting for the next call and taking
                    // those queued behind it
                    let Ok(q) = rx.lock() else { break };
                    let Ok(first) = q.recv() else { break };
                    let mut calls = vec![first];
                    while calls.len() < max_batch {
                        match q.try_recv() {
                            Ok(c) => calls.push(c),
                            Err(_) => break,
                        }
                    }
                    drop(q);
                    let mut replies = Vec::with_capacity(calls.len());
                    let asks: Vec<(String, Ask)> = calls
                        .into_iter()
                        .map(|call| {
                            let (ask, reply) = call.split();
                            replies.push(reply);
                            ask
                        })
                        .collect();
                    let answers = rec(asks);
                    debug_assert_eq!(answers.len(), replies.len());
                    for (reply, a) in replies.into_iter().zip(answers) {
                        reply(a);
                    }
                }
            })
            .map_err(|e| crate::error::Error::Config {
                what: "recommender thread".into(),
                message: format!("could not be started: {e}"),
            })?;
    }
    for _ in 0..n {
        ready_rx.recv().map_err(|_| crate::error::Error::Config {
            what: "recommender".into(),
            message: "its thread stopped while building it; this is a bug".into(),
        })??;
    }
    Ok(OnThread {
        tx,
        seq_reloads: None,
        fronts: BTreeMap::new(),
    })
}

impl RecommendHook for OnThread {
    fn recommend(&self, model: &str, request: Value) -> ApiResult<Value> {
        let stopped = || ApiError::internal("the recommender's thread has stopped");
        let rx = self.submit(model, request).map_err(|_| stopped())?;
        rx.blocking_recv().map_err(|_| stopped())?
    }

    /// Queues the call for the recommender threads; `Err(request)` once they stopped.
    fn submit(&self, model: &str, request: Value) -> Result<Reply, Value> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        match self.tx.send(Call::Json(model.to_string(), request, reply)) {
            Ok(()) => Ok(rx),
            Err(std::sync::mpsc::SendError(Call::Json(_, request, _))) => Err(request),
            Err(_) => unreachable!("a JSON call comes back as sent"),
        }
    }

    /// Checks `body` on the calling (HTTP) task for a model with a front, queues the
    /// checked request and writes the reply's JSON when the lists come back.
    fn submit_body(&self, model: &str, body: &[u8]) -> Option<BodyReply> {
        let front = self.fronts.get(model)?.clone();
        let checked = match front.check(body) {
            Ok(p) => p,
            Err(e) => return Some(Box::pin(std::future::ready(Err(e)))),
        };
        let (reply, rx) = tokio::sync::oneshot::channel();
        let name = model.to_string();
        let sent = self
            .tx
            .send(Call::Checked(name.clone(), Box::new(checked), reply));
        Some(Box::pin(async move {
            sent.map_err(|_| ApiError::internal("the recommender's thread has stopped"))?;
            let lists = rx.await.map_err(|_| {
                ApiError::internal("the recommender's thread stopped before answering")
            })??;
            Ok(front.write(&name, &lists))
        }))
    }

    fn reload_seq(&self, model: &str, run: &std::path::Path) -> Option<Result<(), String>> {
        self.seq_reloads.as_ref().map(|r| r.reload(model, run))
    }
}
