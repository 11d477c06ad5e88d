//! Evaluation of a sequence model on held-out next items.
//!
//! **Protocol.** For each user the model reads the history (its last `max_len` items) and
//! scores every item of the catalogue, ids 1..=V (full ranking, no sampled negatives). The
//! target's rank counts ties against it (`metrics::rank_of`: rank = 1 + #{j ≠ t : s_j ≥ s_t}),
//! so the result does not depend on item ids and a constant scorer gets the worst rank.
//! By default nothing is excluded from the ranking: items the user has already seen stay
//! in, as in the P5 and SASRec full-ranking protocol on Amazon Beauty (a repeat purchase is
//! a valid answer). With `train.exclude_history = true` the history items other than the
//! target leave the ranking, rank = 1 + #{j ≠ t, j ∉ H : s_j ≥ s_t} — for the model here and
//! for the `transition` / `popularity` baselines alike (`baselines::transition::rank_excluding`).
//! HR@k = mean 1[rank ≤ k], NDCG@k = mean 1[rank ≤ k]/log₂(rank + 1), k ∈ {5, 10}.
//!
//! **Transition prior** (`model.transition_prior = [β₁, β₂, …]`, FPMC's idea of adding a
//! first-order Markov term to the sequence model's score). With `c(a, j)` the times item j
//! directly followed item a in the training sequences (`baselines::Transitions`, the
//! counts of the `transition` baseline) and a the last history item, the score ranked is
//!
//! ```text
//! s_j = F·M_jᵀ + β · ln(1 + c(a, j))          (N, V)
//! ```
//!
//! β = 0 is the model alone. The prior adds no parameter to train: β is chosen among 0 and
//! the listed values by validation NDCG@10 ([`evaluate_rule`] scores every β in one pass),
//! then the test targets are scored once with that β.
//!
//! Where the data has ratings, the rating head is scored by RMSE and the like head
//! (like = rating ≥ 4) by AUC, both on the held-out interaction (history, target item).

use crate::autograd::{Graph, ParamStore};
use crate::baselines::Transitions;
use crate::data::sequences::{Holdout, SeqBatch};
use crate::error::Result;
use crate::metrics::{auc, rmse, FullRanking};
use crate::models::sasrec::SasRec;
use rayon::prelude::*;
use serde::Serialize;

/// Metrics of one evaluation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeqMetrics {
    pub users: usize,
    pub hr5: f64,
    pub ndcg5: f64,
    pub hr10: f64,
    pub ndcg10: f64,
    pub mrr: f64,
    /// RMSE of the rating head on the held-out interactions.
    pub rating_rmse: Option<f64>,
    /// AUC of the like head (like = rating ≥ 4).
    pub like_auc: Option<f64>,
}

/// Rating at or above which an interaction counts as a like.
pub const LIKE_THRESHOLD: f32 = 4.0;

/// How targets are ranked beyond the model's own scores (see the module documentation).
#[derive(Clone, Debug, Default)]
pub struct RankRule<'a> {
    /// Leave the history items other than the target out of the ranking.
    pub exclude_history: bool,
    /// Counts of the transition prior; `None`: no prior (every weight acts as 0).
    pub prior: Option<&'a Transitions>,
    /// The prior weights β to score; one [`SeqMetrics`] each. Empty: β = 0 alone.
    pub weights: Vec<f32>,
}

/// Ranks every holdout's target against the catalogue (see the module documentation).
pub fn evaluate(
    model: &SasRec,
    store: &ParamStore,
    g: &mut Graph,
    holdouts: &[Holdout],
    text: Option<&[f32]>,
    batch_size: usize,
) -> Result<SeqMetrics> {
    let mut m = evaluate_rule(
        model,
        store,
        g,
        holdouts,
        text,
        batch_size,
        &RankRule::default(),
    )?;
    Ok(m.remove(0))
}

/// The rank of target index `t` in `row` (model scores, (V,)) after adding `beta` times
/// the sparse `prior` (`(index, ln(1 + c))`) and, with `exclude`, leaving out the history
/// items other than the target. The naive form: the adjusted row is built in full, the
/// excluded items set to −∞, and `metrics::rank_of` counts `s_j ≥ s_t`.
pub fn rank_with(
    t: usize,
    row: &[f32],
    prior: &[(usize, f32)],
    beta: f32,
    exclude: Option<&[u32]>,
) -> Result<usize> {
    let mut s = row.to_vec(); // (V,)
    add_prior(&mut s, prior, beta);
    for &h in exclude.unwrap_or_default() {
        let j = (h as usize).wrapping_sub(1);
        if j != t && j < s.len() {
            s[j] = f32::NEG_INFINITY;
        }
    }
    crate::metrics::rank_of(t, &s)
}

/// The score the run ranks, in place: `s_j += β · ln(1 + c(a, j))` for the sparse
/// `prior` of `Transitions::log_prior` (`(j, ln(1 + c))`, the items that followed a);
/// β = 0 leaves `row` as it is. The one home of the prior's formula (module docs): the
/// evaluation ranks with it ([`rank_with`]), and so do `mtrec recommend`, `serve` and
/// `predict` (`recommend::seq`, [`super::pairs`]).
pub fn add_prior(row: &mut [f32], prior: &[(usize, f32)], beta: f32) {
    if beta == 0.0 {
        return;
    }
    for &(j, p) in prior {
        if let Some(x) = row.get_mut(j) {
            *x += beta * p; // (V,)
        }
    }
}

/// [`evaluate`] under `rule`: one [`SeqMetrics`] per prior weight of `rule.weights` (the
/// encoder runs once; the ranking is repeated per weight). Rating RMSE and like AUC do not
/// depend on the rule and are the same in every element.
pub fn evaluate_rule(
    model: &SasRec,
    store: &ParamStore,
    g: &mut Graph,
    holdouts: &[Holdout],
    text: Option<&[f32]>,
    batch_size: usize,
    rule: &RankRule<'_>,
) -> Result<Vec<SeqMetrics>> {
    let was_training = g.is_training();
    g.set_training(false);
    let weights: Vec<f32> = if rule.weights.is_empty() {
        vec![0.0]
    } else {
        rule.weights.clone()
    };
    let mut rankings = weights
        .iter()
        .map(|_| FullRanking::new(&[5, 10]))
        .collect::<Result<Vec<_>>>()?;
    let (mut pred_r, mut true_r, mut like_s, mut like_y) = (vec![], vec![], vec![], vec![]);
    let max_len = model.cfg.max_len;
    for chunk in holdouts.chunks(batch_size.max(1)) {
        let refs: Vec<&Holdout> = chunk.iter().collect();
        let batch = SeqBatch::eval(&refs, max_len);
        g.reset();
        let out = model.forward(g, store, &batch.input(), text)?;
        let logits = model.next_item_logits(g, out)?; // (N, V)
        let v = model.cfg.num_items;
        let scores = g.value(logits);
        // ranks[n][w]: holdout n under weight w
        let ranks: Vec<Result<Vec<usize>>> = chunk
            .par_iter()
            .zip(batch.targets.par_iter())
            .enumerate()
            .map(|(n, (h, &t))| {
                let row = &scores[n * v..(n + 1) * v];
                let prior = rule.prior.map(|p| p.log_prior(&h.history));
                let exclude = rule.exclude_history.then_some(h.history.as_slice());
                weights
                    .iter()
                    .map(|&beta| {
                        let p = prior.as_deref().unwrap_or_default();
                        if p.is_empty() && exclude.is_none() {
                            crate::metrics::rank_of(t as usize - 1, row)
                        } else {
                            rank_with(t as usize - 1, row, p, beta, exclude)
                        }
                    })
                    .collect()
            })
            .collect();
        for r in ranks {
            for (ranking, rank) in rankings.iter_mut().zip(r?) {
                ranking.add_rank(rank);
            }
        }
        if let Some(ratings) = &batch.ratings {
            if let Some(p) = model.rating(g, store, out, &batch.targets)? {
                pred_r.extend_from_slice(g.value(p));
                true_r.extend_from_slice(ratings);
            }
            if let Some(z) = model.like(g, store, out, &batch.targets)? {
                like_s.extend_from_slice(g.value(z));
                like_y.extend(ratings.iter().map(|&r| f32::from(r >= LIKE_THRESHOLD)));
            }
        }
    }
    g.set_training(was_training);
    let get = |x: Option<f64>| x.unwrap_or(0.0);
    let rating_rmse = if pred_r.is_empty() {
        None
    } else {
        Some(rmse(&pred_r, &true_r)?)
    };
    let like_auc = if like_s.is_empty() {
        None
    } else {
        auc(&like_s, &like_y).ok()
    };
    Ok(rankings
        .iter()
        .map(|ranking| SeqMetrics {
            users: ranking.users(),
            hr5: get(ranking.hit_rate(5)),
            ndcg5: get(ranking.ndcg(5)),
            hr10: get(ranking.hit_rate(10)),
            ndcg10: get(ranking.ndcg(10)),
            mrr: get(ranking.mrr()),
            rating_rmse,
            like_auc,
        })
        .collect())
}

/// Scores the best epoch's model on all validation and test targets. With
/// `model.transition_prior`, β is chosen among 0 and the listed weights by validation
/// NDCG@10 (the first best wins, so 0 unless a prior helps) and the test targets are scored
/// with it once; returns the record of that choice for `summary.json` as well.
pub fn final_scores(
    cfg: &super::SeqRunConfig,
    model: &SasRec,
    store: &ParamStore,
    g: &mut Graph,
    split: &crate::data::sequences::Split,
    text: Option<&[f32]>,
    counts: &Transitions,
) -> Result<(SeqMetrics, SeqMetrics, Option<serde_json::Value>)> {
    let exclude_history = cfg.train.exclude_history;
    let candidates = &cfg.model.transition_prior;
    if candidates.is_empty() {
        let rule = RankRule {
            exclude_history,
            ..RankRule::default()
        };
        let valid = evaluate_rule(model, store, g, &split.valid, text, 256, &rule)?.remove(0);
        let test = evaluate_rule(model, store, g, &split.test, text, 256, &rule)?.remove(0);
        return Ok((valid, test, None));
    }
    let mut weights = vec![0.0f32];
    weights.extend(candidates.iter().filter(|&&b| b != 0.0));
    let rule = RankRule {
        exclude_history,
        prior: Some(counts),
        weights: weights.clone(),
    };
    let valids = evaluate_rule(model, store, g, &split.valid, text, 256, &rule)?;
    let mut best = 0;
    for (i, v) in valids.iter().enumerate() {
        if v.ndcg10 > valids[best].ndcg10 {
            best = i;
        }
    }
    let beta = weights[best];
    let rule = RankRule {
        weights: vec![beta],
        ..rule
    };
    let test = evaluate_rule(model, store, g, &split.test, text, 256, &rule)?.remove(0);
    let record = serde_json::json!({
        "weights": weights,
        "valid_ndcg10": valids.iter().map(|v| v.ndcg10).collect::<Vec<_>>(),
        "weight": beta,
        "rule": "s_j = F·M_j + weight · ln(1 + c(a, j)), c counted on the training sequences, a = the last history item; weight chosen by validation NDCG@10",
    });
    Ok((valids[best].clone(), test, Some(record)))
}
