//! The recommend route's recommender: for every served run whose `config.toml` has a
//! `[recommend]` section, a [`Recommender`] (the machinery of `mtrec recommend`) answers
//! `POST /v1/models/{name}/recommend` with the same lists as the command; for every
//! served `mtrec seq` run, a [`SeqRecommender`] answers from an item history
//! ([`super::seq`]).
//!
//! Request (JSON; every key but `user` optional):
//!
//! ```text
//! { "user": "196",                        the user's id (string or integer)
//!   "features": { "gender": "M" },        user-side values; missing ones come from the
//!                                         user's training rows
//!   "candidates": ["242", "302"],         default: the whole catalogue
//!   "k": 10,                              default 10, at most MAX_K
//!   "fusion": { "kind": "product", "weights": { "like": 1.0 } },   default: the run's
//!   "exclude_history": true }             default: the run's [recommend] setting
//! ```
//!
//! Reply: `{ "model_name", "user", "items": [{ "rank", "item", "score", "tasks": {task:
//! value} }] }`, the task values as in `mtrec recommend`'s output (probability for a
//! binary task, value for a regression task).
//!
//! The recommenders live on threads of their own ([`super::recommend::on_threads_batched`],
//! `--recommend-threads`, each thread with its own copy): a model is not `Send`. A
//! thread takes every request queued behind the first (up to [`MAX_BATCH`]) and scores
//! each model's share in one pass ([`Recommender::recommend_many`]; the same lists as
//! one at a time). They are loaded once at start; `/admin/reload` and SIGHUP
//! swap the scoring models of `/infer` and the seq models ([`SeqReloads`]), not the
//! MMoE recommenders.

use super::errors::{ApiError, ApiResult};
use super::rec_request::{Front, Lists};
use super::recommend::{on_threads_batched, Answer, Ask, OnThread};
use crate::config::recommend::FusionConfig;
use crate::error::Result;
use crate::recommend::batch::Ask as UserAsk;
use crate::recommend::seq::SeqRecommender;
use crate::recommend::{Fusion, Ranked, Recommender, Request, Scoring};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The longest list a request may ask for.
pub const MAX_K: usize = 1000;

/// Loads a recommender for each run of `runs` (name, folder) that has a `[recommend]`
/// section, reading its data under `data_dir`, on the recommender thread; with
/// `scoring` as [`Recommender::set_scoring`] takes it (default: the two-tower split for
/// MMoE runs).
///
/// `threads` recommender threads (at least 1), each with its own copy of every
/// recommender, answer requests at once.
pub fn hook(
    runs: Vec<(String, PathBuf)>,
    data_dir: PathBuf,
    scoring: Scoring,
    threads: usize,
) -> Result<OnThread> {
    let reloads = Arc::new(SeqReloads {
        data_dir: data_dir.clone(),
        wanted: Mutex::new(BTreeMap::new()),
    });
    let on_thread = reloads.clone();
    // the HTTP side's request checking, from the first thread's recommenders (every
    // thread loads the same runs)
    let fronts = Arc::new(Mutex::new(None::<BTreeMap<String, Arc<Front>>>));
    let fronts_in = fronts.clone();
    let mut hook = on_threads_batched(threads, MAX_BATCH, move || {
        let reloads = on_thread.clone();
        let mut recs: BTreeMap<String, Option<Recommender>> = BTreeMap::new();
        let mut seqs: BTreeMap<String, (u64, SeqRecommender)> = BTreeMap::new();
        for (name, dir) in &runs {
            if crate::recommend::seq::is_seq_run(dir)? {
                seqs.insert(name.clone(), (0, SeqRecommender::load(dir, &data_dir)?));
                eprintln!("model `{name}` (mtrec seq): recommendations from an item history on /v1/models/{name}/recommend");
                continue;
            }
            let cfg = crate::config::RunConfig::from_file(
                crate::ensemble::config_dir(dir).join("config.toml"),
                &[],
            )?;
            let rec = match cfg.recommend {
                Some(rc) => {
                    let mut r = Recommender::load(dir, &data_dir, rc)?;
                    r.set_scoring(scoring)?;
                    Some(r)
                }
                None => None,
            };
            if rec.is_some() {
                eprintln!("model `{name}`: recommendations on /v1/models/{name}/recommend");
            }
            recs.insert(name.clone(), rec);
        }
        let mut fronts = fronts_in.lock().unwrap_or_else(|p| p.into_inner());
        if fronts.is_none() {
            *fronts = Some(
                (recs.iter())
                    .filter_map(|(n, r)| Some((n.clone(), Arc::new(Front::of(r.as_ref()?)))))
                    .collect(),
            );
        }
        drop(fronts);
        let data_dir = data_dir.clone();
        Ok(move |calls: Vec<(String, Ask)>| {
            for (model, _) in &calls {
                if let Some(cur) = seqs.get_mut(model) {
                    reloads.catch_up(model, cur, &data_dir);
                }
            }
            answer_batch(&recs, &seqs, calls)
        })
    })?;
    hook.seq_reloads = Some(reloads);
    hook.fronts = (fronts.lock().unwrap_or_else(|p| p.into_inner()).take()).unwrap_or_default();
    Ok(hook)
}

/// Hot reload of served seq runs. A seq model lives on every recommender thread (it is
/// not `Send`), so a reload is recorded here, as a new generation of the model with its
/// folder, once [`SeqReloads::reload`] has checked that the folder loads; each thread
/// loads it before its next request for that model (no request is dropped: they wait
/// meanwhile, as in the `/infer` batcher's reload).
pub struct SeqReloads {
    data_dir: PathBuf,
    /// Model name → (generation, run folder) asked for.
    wanted: Mutex<BTreeMap<String, (u64, PathBuf)>>,
}

impl SeqReloads {
    /// Loads `run` for `model` (with the server's data) to check it, then has every
    /// recommender thread take it. On failure the reason, and the old model serves on.
    pub fn reload(&self, model: &str, run: &Path) -> std::result::Result<(), String> {
        SeqRecommender::load(run, &self.data_dir).map_err(|e| {
            format!(
                "reload of model `{model}` from {} failed: {e}; still serving the model loaded before",
                run.display()
            )
        })?;
        let mut w = self.wanted.lock().unwrap_or_else(|p| p.into_inner());
        let e = w.entry(model.to_string()).or_insert((0, run.to_path_buf()));
        e.0 += 1;
        e.1 = run.to_path_buf();
        Ok(())
    }

    /// Loads the newest generation of `model` into `cur` if `cur` is older; a folder
    /// that no longer loads (changed since it was checked) keeps `cur`, logged.
    fn catch_up(&self, model: &str, cur: &mut (u64, SeqRecommender), data_dir: &Path) {
        let want = {
            let w = self.wanted.lock().unwrap_or_else(|p| p.into_inner());
            w.get(model).cloned()
        };
        let Some((generation, run)) = want.filter(|(g, _)| *g > cur.0) else {
            return;
        };
        cur.0 = generation;
        match SeqRecommender::load(&run, data_dir) {
            Ok(r) => cur.1 = r,
            Err(e) => eprintln!(
                "serve: reload of model `{model}` from {} failed on a recommender thread: {e}; still serving the model loaded before",
                run.display()
            ),
        }
    }
}

/// Requests taken by a recommender thread at once, at most: a batch is what queued
/// while the thread was busy (no waiting for more), scored in one pass per model.
pub const MAX_BATCH: usize = 32;

/// A request checked against its model, ready to be scored (on the recommender thread
/// for a JSON value, on the HTTP side by [`Front::check`] for a body).
#[derive(Debug)]
pub struct Prepared {
    pub(crate) q: Query,
    pub(crate) fusion: Fusion,
    /// Catalogue indices of `candidates`, and how many were not in the catalogue.
    pub(crate) allow: Option<(Vec<u32>, usize)>,
    pub(crate) exclude_history: bool,
}

/// The answers to `calls` (model, request), in order: each MMoE model's requests are
/// scored in one pass ([`Recommender::recommend_many`]: each list as the request alone
/// gets it), seq requests one at a time; a bad request gets its error alone. A request
/// checked on the HTTP side ([`Ask::Checked`]) gets its lists, written there.
fn answer_batch(
    recs: &BTreeMap<String, Option<Recommender>>,
    seqs: &BTreeMap<String, (u64, SeqRecommender)>,
    calls: Vec<(String, Ask)>,
) -> Vec<ApiResult<Answer>> {
    let mut out: Vec<Option<ApiResult<Answer>>> = calls.iter().map(|_| None).collect();
    // (call, request, written on the HTTP side)
    let mut groups: BTreeMap<String, Vec<(usize, Prepared, bool)>> = BTreeMap::new();
    for (j, (model, ask)) in calls.into_iter().enumerate() {
        let request = match ask {
            Ask::Checked(p) if matches!(recs.get(&model), Some(Some(_))) => {
                groups.entry(model).or_default().push((j, *p, true));
                continue;
            }
            Ask::Checked(_) => {
                out[j] = Some(Err(ApiError::not_found(format!(
                    "no model named `{model}`"
                ))));
                continue;
            }
            Ask::Json(request) => request,
        };
        if let Some((_, r)) = seqs.get(&model) {
            out[j] = Some(super::seq::answer(r, &model, &request).map(Answer::Json));
            continue;
        }
        match prepare(recs, &model, &request) {
            Ok(p) => groups.entry(model).or_default().push((j, p, false)),
            Err(e) => out[j] = Some(Err(e)),
        }
    }
    for (model, ps) in groups {
        let r = recs[&model]
            .as_ref()
            .expect("prepared against a recommender");
        let asks: Vec<UserAsk<'_>> = ps
            .iter()
            .map(|(_, p, _)| UserAsk {
                user: &p.q.user,
                features: &p.q.features,
                req: Request {
                    k: p.q.k,
                    fusion: &p.fusion,
                    candidates: p.allow.as_ref().map(|(f, _)| f.as_slice()),
                    exclude_history: p.exclude_history,
                    max_per_value: r.rec.diversity.as_ref().map(|div| div.max_per_value),
                },
            })
            .collect();
        let lists = r.recommend_many(&asks);
        drop(asks);
        for ((j, p, written_there), list) in ps.into_iter().zip(lists) {
            out[j] = Some(match list {
                Ok(list) if written_there => Ok(Answer::Lists(Lists {
                    unknown: p.allow.as_ref().map_or(0, |(_, u)| *u),
                    user: p.q.user,
                    list,
                })),
                Ok(list) => Ok(Answer::Json(reply(r, &model, p, &list))),
                Err(e) => Err(ApiError::bad_request(e.to_string())),
            });
        }
    }
    out.into_iter()
        .map(|o| o.expect("every call answered"))
        .collect()
}

fn prepare(
    recs: &BTreeMap<String, Option<Recommender>>,
    model: &str,
    request: &Value,
) -> ApiResult<Prepared> {
    let r = match recs.get(model) {
        None => return Err(ApiError::not_found(format!("no model named `{model}`"))),
        Some(None) => {
            return Err(ApiError::not_found(format!(
                "model `{model}` serves no recommendations: its config.toml has no [recommend] section (see docs/recommend.md)"
            )))
        }
        Some(Some(r)) => r,
    };
    let q = parse(request)?;
    let fusion_cfg = q.fusion.clone().unwrap_or_else(|| r.rec.fusion.clone());
    let fusion = Fusion::new(&fusion_cfg, &r.model.cfg.tasks)
        .map_err(|e| ApiError::bad_request(format!("`fusion`: {e}")))?;
    let allow = q.candidates.as_ref().map(|ids| r.item_indices(ids));
    if let Some((found, unknown)) = &allow {
        if found.is_empty() {
            return Err(ApiError::bad_request(format!(
                "`candidates`: none of the {unknown} ids is in the catalogue"
            )));
        }
    }
    let exclude_history = q.exclude_history.unwrap_or(r.rec.exclude_history);
    Ok(Prepared {
        q,
        fusion,
        allow,
        exclude_history,
    })
}

fn reply(r: &Recommender, model: &str, p: Prepared, list: &[Ranked]) -> Value {
    let tasks: Vec<&str> = r.model.cfg.tasks.iter().map(|t| t.name.as_str()).collect();
    let items: Vec<Value> = list
        .iter()
        .enumerate()
        .map(|(rank, x)| {
            let per_task: serde_json::Map<String, Value> = tasks
                .iter()
                .zip(&x.tasks)
                .map(|(t, v)| (t.to_string(), json!(v)))
                .collect();
            json!({
                "rank": rank + 1,
                "item": r.catalogue.ids[x.item as usize],
                "score": x.score,
                "tasks": per_task,
            })
        })
        .collect();
    let mut reply = json!({ "model_name": model, "user": p.q.user, "items": items });
    if let Some((_, unknown)) = p.allow.filter(|(_, u)| *u > 0) {
        reply["unknown_candidates"] = json!(unknown);
    }
    reply
}

/// A request's fields, checked.
#[derive(Debug)]
pub(crate) struct Query {
    pub(crate) user: String,
    pub(crate) features: BTreeMap<String, String>,
    pub(crate) candidates: Option<Vec<String>>,
    pub(crate) k: usize,
    pub(crate) fusion: Option<FusionConfig>,
    pub(crate) exclude_history: Option<bool>,
}

/// A string, or an integer written as one (ids are often numbers in JSON).
fn id_text(v: &Value, field: &str) -> ApiResult<String> {
    match v {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        _ => Err(ApiError::bad_request(format!(
            "`{field}`: {v} is not an id; expected a non-empty string or an integer"
        ))),
    }
}

pub(crate) fn parse(request: &Value) -> ApiResult<Query> {
    let obj = request.as_object().ok_or_else(|| {
        ApiError::bad_request("the body must be a JSON object with at least `user`")
    })?;
    const KEYS: [&str; 6] = [
        "user",
        "features",
        "candidates",
        "k",
        "fusion",
        "exclude_history",
    ];
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown field `{k}`; expected one of {}",
            KEYS.join(", ")
        )));
    }
    let user = id_text(
        obj.get("user")
            .ok_or_else(|| ApiError::bad_request("`user` is missing; give the user's id"))?,
        "user",
    )?;
    let mut features = BTreeMap::new();
    match obj.get("features") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (name, v) in m {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => n.to_string(),
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "`features.{name}`: {v} is not a value; expected a string or a finite number"
                        )))
                    }
                };
                features.insert(name.clone(), text);
            }
        }
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "`features`: {v} is not an object; expected {{\"feature\": value, ...}}"
            )))
        }
    }
    let candidates = match obj.get("candidates") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if !a.is_empty() => Some(
            a.iter()
                .map(|v| id_text(v, "candidates"))
                .collect::<ApiResult<Vec<_>>>()?,
        ),
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "`candidates`: {v} is not a non-empty list of item ids"
            )))
        }
    };
    let k = match obj.get("k") {
        None | Some(Value::Null) => 10,
        Some(v) => match v.as_u64() {
            Some(k) if (1..=MAX_K as u64).contains(&k) => k as usize,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "`k`: {v} is not a list length; expected an integer from 1 to {MAX_K}"
                )))
            }
        },
    };
    let fusion = match obj.get("fusion") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value::<FusionConfig>(v.clone())
                .map_err(|e| ApiError::bad_request(format!("`fusion`: {e}")))?,
        ),
    };
    let exclude_history = match obj.get("exclude_history") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "`exclude_history`: {v} is not true or false"
            )))
        }
    };
    Ok(Query {
        user,
        features,
        candidates,
        k,
        fusion,
        exclude_history,
    })
}
