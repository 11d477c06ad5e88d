//! Dynamic micro-batching: one thread per model takes requests off a bounded queue,
//! gathers those that arrive within `max_delay` of the first (up to `max_batch_rows`
//! rows), scores them in one forward pass on mtrec's CPU kernels and sends each request
//! its rows. A full queue is a 503 at once instead of memory that grows without bound.
//! The HTTP runtime runs a model only for a request of at most [`INLINE_MAX_ROWS`] rows
//! that is the only one being scored ([`ModelHandle::try_inline`], on a per-thread copy).
//!
//! The model lives on its thread (it is not `Send`), so a reload is a message to that
//! thread too: it loads the new run between two batches, and on failure keeps the old
//! model (see [`super::reload`]).

use super::errors::{ApiError, ApiResult};
use super::metrics::Metrics;
use super::model::{load, Loaded, Schema};
use crate::data::features::{Bags, Encoded};
use crate::data::ingest::RawTable;
use axum::http::StatusCode;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Batching and queue settings (the `mtrec serve` flags of the same names).
#[derive(Clone, Copy, Debug)]
pub struct BatchConfig {
    /// A batch closes once it holds this many rows.
    pub max_batch_rows: usize,
    /// ... or this long after its first request arrived.
    pub max_delay: Duration,
    /// Requests waiting per model; one more is refused with 503.
    pub queue: usize,
    /// Test hook: sleep this long before each batch (a slow model).
    pub test_delay: Duration,
}

/// A request's scores: `out[k][i]` for the tasks of `schema`.
pub struct Scores {
    pub schema: Arc<Schema>,
    pub out: Vec<Vec<f32>>,
}

struct Job {
    table: RawTable,
    arrived: Instant,
    reply: oneshot::Sender<ApiResult<Scores>>,
}

enum Msg {
    Score(Job),
    Reload {
        run: PathBuf,
        reply: oneshot::Sender<Result<Arc<Schema>, String>>,
    },
}

/// The handlers' side of one model's batcher.
#[derive(Clone)]
pub struct ModelHandle {
    tx: SyncSender<Msg>,
    depth: Arc<AtomicUsize>,
    schema: Arc<RwLock<Arc<Schema>>>,
    /// Bumped by every successful reload: the HTTP threads' inline copies reload then.
    generation: Arc<AtomicU64>,
    /// Requests may be scored inline ([`ModelHandle::try_inline`]): no batching delay
    /// and no test delay were asked for.
    inline: bool,
    /// Inference requests of this model being scored (inline or queued or in a pass).
    active: Arc<AtomicUsize>,
}

/// Counts a request in [`ModelHandle::enter`]'s `active` until dropped.
pub struct Active(Arc<AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Requests of at most this many rows may be scored inline.
pub const INLINE_MAX_ROWS: usize = 16;

thread_local! {
    /// This HTTP thread's copies of the models it scored inline: handle id →
    /// (generation, model).
    static INLINE: std::cell::RefCell<std::collections::HashMap<usize, (u64, Loaded)>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

impl ModelHandle {
    /// Loads `run` as `name` on a new batcher thread; returns when it is loaded (or
    /// with the reason it could not be).
    pub fn start(
        name: &str,
        run: PathBuf,
        cfg: BatchConfig,
        metrics: Arc<Metrics>,
    ) -> crate::error::Result<ModelHandle> {
        let (tx, rx) = sync_channel::<Msg>(cfg.queue.max(1));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let depth = Arc::new(AtomicUsize::new(0));
        let name_owned = name.to_string();
        let thread_depth = depth.clone();
        std::thread::Builder::new()
            .name(format!("batcher-{name}"))
            .spawn(move || {
                let loaded = match load(&name_owned, &run) {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(loaded.schema.clone()));
                run_batcher(loaded, rx, cfg, thread_depth, metrics);
            })
            .map_err(|e| crate::error::Error::Config {
                what: "batcher thread".into(),
                message: format!("could not be started: {e}"),
            })?;
        let schema = ready_rx.recv().map_err(|_| crate::error::Error::Config {
            what: format!("model `{name}`"),
            message: "its loader stopped without a result; this is a bug".into(),
        })??;
        Ok(ModelHandle {
            tx,
            depth,
            schema: Arc::new(RwLock::new(schema)),
            generation: Arc::new(AtomicU64::new(0)),
            inline: cfg.max_delay.is_zero() && cfg.test_delay.is_zero(),
            active: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The schema of the model now serving.
    pub fn schema(&self) -> Arc<Schema> {
        self.schema
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Requests waiting in the queue.
    pub fn queue_depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }

    /// Queues `table` for scoring; 503 when the queue is full.
    pub fn submit(&self, table: RawTable) -> ApiResult<oneshot::Receiver<ApiResult<Scores>>> {
        let (reply, rx) = oneshot::channel();
        let job = Job {
            table,
            arrived: Instant::now(),
            reply,
        };
        self.depth.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(Msg::Score(job)) {
            Ok(()) => Ok(rx),
            Err(e) => {
                self.depth.fetch_sub(1, Ordering::Relaxed);
                Err(match e {
                    TrySendError::Full(_) => ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the model's request queue is full (--queue); retry after a short wait",
                    ),
                    TrySendError::Disconnected(_) => {
                        ApiError::internal("the model's batcher has stopped")
                    }
                })
            }
        }
    }

    /// Loads `run` in place of the serving model, between two batches. Blocks; call it
    /// off the async runtime. On failure the old model keeps serving.
    pub fn reload_blocking(&self, run: PathBuf) -> Result<Arc<Schema>, String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Msg::Reload { run, reply })
            .map_err(|_| "the model's batcher has stopped".to_string())?;
        let schema = rx
            .blocking_recv()
            .map_err(|_| "the model's batcher stopped during the reload".to_string())??;
        *self.schema.write().unwrap_or_else(|p| p.into_inner()) = schema.clone();
        self.generation.fetch_add(1, Ordering::Release);
        Ok(schema)
    }

    /// Counts an inference request as being scored until the guard is dropped (hold it
    /// until the scores are there): [`ModelHandle::try_inline`] scores inline only a
    /// request that is the only one.
    pub fn enter(&self) -> Active {
        self.active.fetch_add(1, Ordering::AcqRel);
        Active(self.active.clone())
    }

    /// Scores `table` right here, on the calling (HTTP) thread, when it is the only
    /// request of the model being scored (taken [`ModelHandle::enter`]; none queued, none
    /// in a pass, none inline elsewhere): a request alone has nobody to share a pass with, and the
    /// hand-off to the batcher thread and back is most of a 1-row request's time. Each
    /// thread keeps its own copy of the model (a model is not `Send`), loaded at its
    /// first inline request and again after a reload. `None`: queue it instead (other
    /// requests are being scored, so it may share their next pass; the request is large; batching was asked to wait
    /// (`--max-delay-ms`), or this thread's copy does not load).
    pub fn try_inline(&self, table: &RawTable, metrics: &Metrics) -> Option<ApiResult<Scores>> {
        if !self.inline
            || table.num_rows() > INLINE_MAX_ROWS
            || self.active.load(Ordering::Acquire) > 1
            || self.depth.load(Ordering::Relaxed) > 0
        {
            return None;
        }
        let id = Arc::as_ptr(&self.generation) as usize;
        let generation = self.generation.load(Ordering::Acquire);
        INLINE.with(|cell| {
            let mut models = cell.try_borrow_mut().ok()?;
            if models.get(&id).is_none_or(|(g, _)| *g != generation) {
                let schema = self.schema();
                let loaded = load(&schema.name, &schema.run).ok()?;
                models.insert(id, (generation, loaded));
            }
            let (_, loaded) = models.get_mut(&id)?;
            let enc = match loaded.schema.encode(table) {
                Ok(enc) => enc,
                Err(e) => return Some(Err(e)),
            };
            metrics.batch(enc.len(), 1);
            metrics.inline_pass();
            Some(match loaded.score(&enc) {
                Ok(out) => Ok(Scores {
                    schema: loaded.schema.clone(),
                    out,
                }),
                Err(e) => Err(ApiError::internal(format!("scoring failed: {e}"))),
            })
        })
    }
}

fn run_batcher(
    mut loaded: Loaded,
    rx: Receiver<Msg>,
    cfg: BatchConfig,
    depth: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
) {
    // Ends when every handle is dropped (the server has shut down).
    while let Ok(msg) = rx.recv() {
        let first = match msg {
            Msg::Score(job) => job,
            Msg::Reload { run, reply } => {
                reload(&mut loaded, run, reply, &metrics);
                continue;
            }
        };
        depth.fetch_sub(1, Ordering::Relaxed);
        let deadline = first.arrived + cfg.max_delay;
        let mut rows = first.table.num_rows();
        let mut jobs = vec![first];
        let mut pending_reload = None;
        while rows < cfg.max_batch_rows {
            let left = deadline.saturating_duration_since(Instant::now());
            let next = if left.is_zero() {
                rx.try_recv().map_err(|_| RecvTimeoutError::Timeout)
            } else {
                rx.recv_timeout(left)
            };
            match next {
                Ok(Msg::Score(job)) => {
                    depth.fetch_sub(1, Ordering::Relaxed);
                    rows += job.table.num_rows();
                    jobs.push(job);
                }
                Ok(Msg::Reload { run, reply }) => {
                    pending_reload = Some((run, reply));
                    break;
                }
                Err(_) => break,
            }
        }
        if !cfg.test_delay.is_zero() {
            std::thread::sleep(cfg.test_delay);
        }
        score_batch(&mut loaded, jobs, &metrics);
        if let Some((run, reply)) = pending_reload {
            reload(&mut loaded, run, reply, &metrics);
        }
    }
}

fn reload(
    loaded: &mut Loaded,
    run: PathBuf,
    reply: oneshot::Sender<Result<Arc<Schema>, String>>,
    metrics: &Metrics,
) {
    let name = loaded.schema.name.clone();
    let result = match load(&name, &run) {
        Ok(new) => {
            *loaded = new;
            metrics.reloads(true);
            eprintln!("serve: model `{name}` reloaded from {}", run.display());
            Ok(loaded.schema.clone())
        }
        Err(e) => {
            metrics.reloads(false);
            let reason = format!(
                "reload of model `{name}` from {} failed: {e}; still serving {}",
                run.display(),
                loaded.schema.run.display()
            );
            eprintln!("serve: {reason}");
            Err(reason)
        }
    };
    let _ = reply.send(result);
}

/// Encodes each job (a job whose values the pipeline refuses gets its 400 alone),
/// scores the rest in one pass and hands every job its rows.
fn score_batch(loaded: &mut Loaded, jobs: Vec<Job>, metrics: &Metrics) {
    let mut parts = Vec::with_capacity(jobs.len());
    let mut replies = Vec::with_capacity(jobs.len());
    for job in jobs {
        if job.reply.is_closed() {
            continue; // its client is gone (timed out): nobody reads the reply
        }
        match loaded.schema.encode(&job.table) {
            Ok(enc) => {
                parts.push(enc);
                replies.push(job.reply);
            }
            Err(e) => {
                let _ = job.reply.send(Err(e));
            }
        }
    }
    if parts.is_empty() {
        return;
    }
    let batch = concat(&parts);
    metrics.batch(batch.len(), parts.len());
    match loaded.score(&batch) {
        Ok(out) => {
            let mut start = 0;
            for (part, reply) in parts.iter().zip(replies) {
                let end = start + part.len();
                let mine = out.iter().map(|o| o[start..end].to_vec()).collect();
                start = end;
                let _ = reply.send(Ok(Scores {
                    schema: loaded.schema.clone(),
                    out: mine,
                }));
            }
        }
        Err(e) => {
            let err = ApiError::internal(format!("scoring failed: {e}"));
            for reply in replies {
                let _ = reply.send(Err(err.clone()));
            }
        }
    }
}

/// The rows of `parts` one after the other (all encoded by the same spec).
pub fn concat(parts: &[Encoded]) -> Encoded {
    let first = &parts[0];
    let mut out = Encoded::empty(first.n_cat, first.bags.len(), first.n_num, first.n_tasks);
    for p in parts {
        out.cat.extend_from_slice(&p.cat);
        out.num.extend_from_slice(&p.num);
        out.labels.extend_from_slice(&p.labels);
        out.mask.extend_from_slice(&p.mask);
        out.source.extend_from_slice(&p.source);
        for (o, b) in out.bags.iter_mut().zip(&p.bags) {
            append_bags(o, b);
        }
    }
    out.text = super::text::concat(parts);
    out
}

fn append_bags(out: &mut Bags, b: &Bags) {
    for r in 0..b.len() {
        out.push(b.bag(r));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ingest::RowSource;

    fn src() -> RowSource {
        RowSource { file: 0, line: 1 }
    }

    #[test]
    fn concat_keeps_every_row_in_order() {
        let mut a = Encoded::empty(1, 1, 1, 1);
        a.cat = vec![3, 4];
        a.num = vec![0.5, 0.25];
        a.labels = vec![0.0, 0.0];
        a.mask = vec![0.0, 0.0];
        a.source = vec![src(); 2];
        a.bags[0].push(&[1, 2]);
        a.bags[0].push(&[]);
        let mut b = Encoded::empty(1, 1, 1, 1);
        b.cat = vec![7];
        b.num = vec![-1.0];
        b.labels = vec![0.0];
        b.mask = vec![0.0];
        b.source = vec![src()];
        b.bags[0].push(&[5]);
        let c = concat(&[a.clone(), b.clone()]);
        assert_eq!(c.len(), 3);
        assert_eq!(c.cat, vec![3, 4, 7]);
        assert_eq!(c.num, vec![0.5, 0.25, -1.0]);
        assert_eq!(c.bags[0].bag(0), &[1, 2]);
        assert!(c.bags[0].bag(1).is_empty());
        assert_eq!(c.bags[0].bag(2), &[5]);
        assert_eq!(c.select(&[2]), b);
        assert_eq!(c.select(&[0, 1]), a);
    }
}
