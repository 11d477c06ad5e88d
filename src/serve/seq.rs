//! `mtrec serve` for an `mtrec seq` run (SASRec): `POST /v1/models/{name}/recommend`
//! ranks the whole catalogue (or an allow-list) from an item history, the lists of
//! `mtrec recommend` on that run ([`crate::recommend::seq`]: encoder → one row of
//! `F · Mᵀ` → top-K, history left out).
//!
//! Request (JSON; exactly one of `history` and `user`):
//!
//! ```text
//! { "history": ["B012", "B007", 42],     the items, oldest first, original ids
//!                                         (strings, or integers written as ids)
//!   "user": "U001",                       or: the user's sequence in the run's data
//!   "candidates": ["B001", "B002"],       default: the whole catalogue
//!   "k": 10,                              default 10, at most MAX_K
//!   "exclude_history": true }             default true (`mtrec recommend`'s default)
//! ```
//!
//! Reply: `{ "model_name", "user"?, "items": [{ "rank", "item", "score", "tasks":
//! {"next_item": p} }], "unknown_history"?, "unknown_candidates"? }`: `score` is the
//! score the run ranks by, the next-item logit `⟨F_u, M_i⟩` plus, for a run whose
//! evaluation chose a transition prior β > 0, `β · ln(1 + c(a, i))` after the history's
//! last item a (`recommend::seq`); `next_item` is its softmax over the whole catalogue,
//! as in `mtrec recommend`'s output. History ids not in the catalogue are left out of the
//! history (the prior then follows the last known item) and counted in `unknown_history`
//! (the model has no embedding for them). Runs with text items are served as ID runs:
//! their item matrix is computed once at load.
//!
//! A seq model has no `/infer` (its input is a list of items, not a row of features);
//! `GET /v2/models/{name}` describes the recommend route instead.

use super::errors::{ApiError, ApiResult};
use super::lists::MAX_K;
use crate::recommend::seq::{log_sum_exp, SeqRecommender};
use serde_json::{json, Value};
use std::path::PathBuf;

/// What the HTTP handlers know of a served seq run (the model lives on the recommender
/// threads).
#[derive(Clone, Debug)]
pub struct SeqInfo {
    pub run: PathBuf,
    /// Catalogue size V (from `ids.json`; `None` for a run written before it).
    pub num_items: Option<usize>,
    /// The encoder reads the last `max_len` items of a history.
    pub max_len: usize,
    pub dim: usize,
    /// `model.item_input`: `"id"`, `"text"` or `"text+id"`.
    pub item_input: String,
    /// The transition prior weight β the run ranks with (`summary.json`); `None`: none.
    pub transition_prior: Option<f32>,
}

impl SeqInfo {
    /// Reads what metadata needs from `run/config.toml` and `run/ids.json`, without the
    /// data (the recommender threads load the whole run).
    pub fn read(run: PathBuf) -> crate::error::Result<SeqInfo> {
        let cfg = crate::train::seq::SeqRunConfig::from_file(&run.join("config.toml"), &[])?;
        let ids = crate::data::sequences::IdMaps::read(&run)?;
        Ok(SeqInfo {
            num_items: ids.map(|i| i.items.len().saturating_sub(1)),
            max_len: cfg.data.max_len,
            dim: cfg.model.dim,
            item_input: cfg.model.item_input.clone(),
            transition_prior: crate::recommend::seq::prior_weight(&run)?.filter(|&w| w != 0.0),
            run,
        })
    }

    /// `GET /v2/models/{name}` of a seq run.
    pub fn metadata(&self, name: &str) -> Value {
        json!({
            "name": name,
            "versions": [],
            "platform": "mtrec-seq",
            "inputs": [{ "name": "history", "datatype": "BYTES", "shape": [-1] }],
            "outputs": [
                { "name": "items", "datatype": "BYTES", "shape": [-1] },
                { "name": "next_item", "datatype": "FP32", "shape": [-1] },
            ],
            "parameters": {
                "run": self.run.display().to_string(),
                "model": "sasrec",
                "num_items": self.num_items,
                "max_len": self.max_len,
                "dim": self.dim,
                "item_input": self.item_input,
                "transition_prior": self.transition_prior,
                "recommend": format!("/v1/models/{name}/recommend"),
                "infer": "not served: a sequence model ranks from an item history; POST it to the recommend route",
            },
        })
    }
}

/// A string, or an integer written as one.
fn id_text(v: &Value, field: &str) -> ApiResult<String> {
    match v {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        _ => Err(ApiError::bad_request(format!(
            "`{field}`: {v} is not an item id; expected a non-empty string or an integer"
        ))),
    }
}

fn id_list(v: &Value, field: &str, may_be_empty: bool) -> ApiResult<Vec<String>> {
    match v {
        Value::Array(a) if may_be_empty || !a.is_empty() => {
            a.iter().map(|x| id_text(x, field)).collect()
        }
        _ => Err(ApiError::bad_request(format!(
            "`{field}`: {v} is not a {}list of item ids",
            if may_be_empty { "" } else { "non-empty " }
        ))),
    }
}

/// The reply to `request` for the seq run `r` served as `model`.
pub fn answer(r: &SeqRecommender, model: &str, request: &Value) -> ApiResult<Value> {
    let obj = request.as_object().ok_or_else(|| {
        ApiError::bad_request(
            "the body must be a JSON object with `history` (item ids, oldest first) or `user`",
        )
    })?;
    const KEYS: [&str; 5] = ["history", "user", "candidates", "k", "exclude_history"];
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown field `{k}`; expected one of {} (model `{model}` is a sequence model: it ranks from an item history, no features)",
            KEYS.join(", ")
        )));
    }
    let (user, history, unknown_history) = requested_history(r, obj)?;
    let k = requested_k(obj)?;
    let exclude = requested_exclude(obj)?;
    let (allow, unknown_candidates) = requested_candidates(r, obj)?;
    let hidden = r
        .hidden(&[history.as_slice()])
        .map_err(|e| ApiError::internal(format!("the sequence encoder failed: {e}")))?;
    let mut row = r.scores(&hidden); // (V)
    r.add_prior(&mut row, &history); // the run's transition prior, if it ranks with one
    let lse = log_sum_exp(&row);
    let ex: &[u32] = if exclude { &history } else { &[] };
    let keys = r.item_keys();
    let items: Vec<Value> = r
        .top_k(&mut row, ex, allow.as_deref(), k)
        .into_iter()
        .enumerate()
        .map(|(rank, (score, item))| {
            json!({
                "rank": rank + 1,
                "item": keys[item as usize],
                "score": score,
                "tasks": { "next_item": (score as f64 - lse).exp() as f32 },
            })
        })
        .collect();
    let mut reply = json!({ "model_name": model, "items": items });
    if let Some(u) = user {
        reply["user"] = json!(u);
    }
    if unknown_history > 0 {
        reply["unknown_history"] = json!(unknown_history);
    }
    if unknown_candidates > 0 {
        reply["unknown_candidates"] = json!(unknown_candidates);
    }
    Ok(reply)
}

type Object = serde_json::Map<String, Value>;

/// The request's user (when it names one), its history as model item ids, and how many
/// history ids the catalogue does not know.
fn requested_history(
    r: &SeqRecommender,
    obj: &Object,
) -> ApiResult<(Option<String>, Vec<u32>, usize)> {
    let present = |k: &str| obj.get(k).is_some_and(|v| !v.is_null());
    Ok(match (present("history"), present("user")) {
        (true, true) => {
            return Err(ApiError::bad_request(
                "both `history` and `user` are given; expected one: the items themselves, or a user of the run's data",
            ))
        }
        (false, false) => {
            return Err(ApiError::bad_request(
                "`history` is missing; give the user's items, oldest first (or `user`: a user of the run's data)",
            ))
        }
        (true, false) => {
            let ids = id_list(&obj["history"], "history", true)?;
            let mut seq = Vec::with_capacity(ids.len());
            let mut unknown = 0usize;
            for id in &ids {
                match r.data.item_id(id) {
                    Some(i) => seq.push(i),
                    None => unknown += 1,
                }
            }
            (None, seq, unknown)
        }
        (false, true) => {
            let u = id_text(&obj["user"], "user")?;
            let Some(n) = r.data.users.iter().position(|x| *x == u) else {
                return Err(ApiError::not_found(format!(
                    "`user`: `{u}` has no sequence in the run's data; send its `history` instead"
                )));
            };
            (Some(u), r.data.seqs[n].clone(), 0)
        }
    })
}

/// The list length `k` (10 when absent).
fn requested_k(obj: &Object) -> ApiResult<usize> {
    Ok(match obj.get("k") {
        None | Some(Value::Null) => 10,
        Some(v) => match v.as_u64() {
            Some(k) if (1..=MAX_K as u64).contains(&k) => k as usize,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "`k`: {v} is not a list length; expected an integer from 1 to {MAX_K}"
                )))
            }
        },
    })
}

/// Whether the history is left out of the list (true when absent).
fn requested_exclude(obj: &Object) -> ApiResult<bool> {
    match obj.get("exclude_history") {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(ApiError::bad_request(format!(
            "`exclude_history`: {v} is not true or false"
        ))),
    }
}

/// The allow-list of candidates as a mask over the V items (None: every item), and how
/// many candidate ids the catalogue does not know.
fn requested_candidates(r: &SeqRecommender, obj: &Object) -> ApiResult<(Option<Vec<bool>>, usize)> {
    let mut unknown_candidates = 0usize;
    let allow = match obj.get("candidates") {
        None | Some(Value::Null) => None,
        Some(c) => {
            let mut mask = vec![false; r.num_items()];
            let mut found = 0usize;
            for id in id_list(c, "candidates", false)? {
                match r.data.item_id(&id) {
                    Some(i) => {
                        mask[i as usize - 1] = true;
                        found += 1;
                    }
                    None => unknown_candidates += 1,
                }
            }
            if found == 0 {
                return Err(ApiError::bad_request(format!(
                    "`candidates`: none of the {unknown_candidates} ids is in the catalogue"
                )));
            }
            Some(mask)
        }
    };
    Ok((allow, unknown_candidates))
}
