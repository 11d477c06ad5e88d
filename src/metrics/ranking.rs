//! Top-k ranking metrics for one user, their means over users, and the ranking helpers of
//! full-ranking evaluation.
//!
//! ranked: (L,) item ids, best first    relevant: (R,) item ids    scores: (V,) one per item
//!
//! Relevance is binary: an item is relevant iff its id is in `relevant` (duplicates there
//! count once). Ranks are 1-based. Every per-user metric is an error when `relevant` is
//! empty (recall and NDCG are 0/0; drop users without held-out items before evaluating),
//! when `k = 0`, or when an item id appears twice in `ranked`.
//!
//! **Ties.** [`rank_of`] and [`rank_among`] count ties *against* the target: every other
//! item whose score equals the target's ranks ahead of it. A model that scores all items
//! alike thus gets the worst rank, not a lucky one, and the rank does not depend on item
//! ids. [`top_k`] must put tied items in some order and uses the id: higher score first,
//! then smaller id; so `rank_of(t) ≥ 1 + (position of t in top_k)`, with equality unless
//! `t` ties with a smaller id.

use std::collections::HashSet;

use super::check;
use crate::error::{Error, Result};

/// Hit rate at k: `HR@k = 1[ ∃ i ≤ k : r_i ∈ R ]` (1.0 or 0.0).
pub fn hit_rate_at_k(ranked: &[u64], relevant: &[u64], k: usize) -> Result<f64> {
    let (top, rel) = prepare("hit_rate_at_k", ranked, relevant, k)?;
    Ok(if top.iter().any(|r| rel.contains(r)) {
        1.0
    } else {
        0.0
    })
}

/// Recall at k: `Recall@k = |{r_1..r_k} ∩ R| / |R|`.
pub fn recall_at_k(ranked: &[u64], relevant: &[u64], k: usize) -> Result<f64> {
    let (top, rel) = prepare("recall_at_k", ranked, relevant, k)?;
    let hits = top.iter().filter(|r| rel.contains(r)).count();
    Ok(hits as f64 / rel.len() as f64)
}

/// Normalised discounted cumulative gain at k, binary relevance:
///
/// ```text
/// DCG@k  = Σ_{i=1}^{min(k, L)}      1[r_i ∈ R] / log₂(i + 1)
/// IDCG@k = Σ_{i=1}^{min(|R|, k)}    1 / log₂(i + 1)
/// NDCG@k = DCG@k / IDCG@k
/// ```
///
/// A single hit at rank 3 with `|R| = 1` gives `1/log₂ 4 = 0.5`. Same as scikit-learn's
/// `ndcg_score(y_true, y_score, k=k)` when the scores have no ties.
pub fn ndcg_at_k(ranked: &[u64], relevant: &[u64], k: usize) -> Result<f64> {
    let (top, rel) = prepare("ndcg_at_k", ranked, relevant, k)?;
    let dcg: f64 = (1..=top.len())
        .filter(|&i| rel.contains(&top[i - 1]))
        .map(discount)
        .sum();
    let idcg: f64 = (1..=rel.len().min(k)).map(discount).sum();
    Ok(dcg / idcg)
}

/// Reciprocal rank of the first relevant item: `RR = 1 / min{i : r_i ∈ R}`, 0 if none is
/// in the list. The mean over users is the MRR; pass `&ranked[..k]` for MRR@k.
pub fn mrr(ranked: &[u64], relevant: &[u64]) -> Result<f64> {
    let (top, rel) = prepare("mrr", ranked, relevant, ranked.len().max(1))?;
    Ok(top
        .iter()
        .position(|r| rel.contains(r))
        .map_or(0.0, |i| 1.0 / (i + 1) as f64))
}

/// `(1/U) Σ_u metric(ranked_u, relevant_u)`, e.g.
/// `mean_over_users(&ranked, &relevant, |r, rel| ndcg_at_k(r, rel, 10))`. An error of one
/// user is returned with that user's index. Errors also on no users or lists of different
/// lengths.
pub fn mean_over_users<A, B, F>(ranked: &[A], relevant: &[B], metric: F) -> Result<f64>
where
    A: AsRef<[u64]>,
    B: AsRef<[u64]>,
    F: Fn(&[u64], &[u64]) -> Result<f64>,
{
    check::same_len(
        "mean_over_users",
        "relevant lists",
        relevant.len(),
        ranked.len(),
    )?;
    check::non_empty("mean_over_users", ranked.len())?;
    let mut sum = 0f64;
    for (u, (r, rel)) in ranked.iter().zip(relevant).enumerate() {
        sum += metric(r.as_ref(), rel.as_ref()).map_err(|e| Error::Config {
            what: format!("ranking of user {u} (0-based)"),
            message: e.to_string(),
        })?;
    }
    Ok(sum / ranked.len() as f64)
}

/// Means over users of the four per-user metrics, from [`ranking_summary`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RankingSummary {
    /// Number of users averaged over.
    pub users: usize,
    /// Mean [`hit_rate_at_k`].
    pub hit_rate: f64,
    /// Mean [`recall_at_k`].
    pub recall: f64,
    /// Mean [`ndcg_at_k`].
    pub ndcg: f64,
    /// Mean [`mrr`] of the top k (MRR@k).
    pub mrr: f64,
}

/// HR@k, Recall@k, NDCG@k and MRR@k, each averaged over users with [`mean_over_users`].
pub fn ranking_summary<A, B>(ranked: &[A], relevant: &[B], k: usize) -> Result<RankingSummary>
where
    A: AsRef<[u64]>,
    B: AsRef<[u64]>,
{
    check::positive_k("ranking_summary", k)?;
    Ok(RankingSummary {
        users: ranked.len(),
        hit_rate: mean_over_users(ranked, relevant, |r, rel| hit_rate_at_k(r, rel, k))?,
        recall: mean_over_users(ranked, relevant, |r, rel| recall_at_k(r, rel, k))?,
        ndcg: mean_over_users(ranked, relevant, |r, rel| ndcg_at_k(r, rel, k))?,
        mrr: mean_over_users(ranked, relevant, |r, rel| mrr(&r[..k.min(r.len())], rel))?,
    })
}

/// Rank of item `target` among all items (full ranking), ties against the target:
///
/// ```text
/// rank = 1 + #{ j ≠ t : s_j ≥ s_t }
/// ```
///
/// To leave out items the user has already seen, set their scores to `-∞` first (they then
/// rank below any finite target). Errors: `target` out of range, or a NaN score.
pub fn rank_of(target: usize, scores: &[f32]) -> Result<usize> {
    if target >= scores.len() {
        return Err(Error::Index {
            op: "rank_of",
            position: 0,
            index: target as u64,
            bound: scores.len(),
        });
    }
    check::no_nan("rank_of", "score", scores)?;
    let s_t = scores[target];
    Ok(scores.iter().filter(|&&s| s >= s_t).count()) // counts t itself: the "1 +"
}

/// Rank of a target score among the scores of other items (e.g. sampled negatives), ties
/// against the target: `rank = 1 + #{ j : o_j ≥ s_t }`. Errors: a NaN score.
pub fn rank_among(target_score: f32, others: &[f32]) -> Result<usize> {
    check::no_nan("rank_among", "target score", &[target_score])?;
    check::no_nan("rank_among", "score of another item", others)?;
    Ok(1 + others.iter().filter(|&&s| s >= target_score).count())
}

/// `HR@k` of a single relevant item at `rank`: `1[rank ≤ k]`.
pub fn hit_at_rank(rank: usize, k: usize) -> f64 {
    if rank >= 1 && rank <= k {
        1.0
    } else {
        0.0
    }
}

/// `NDCG@k` of a single relevant item at `rank` (IDCG = 1): `1[rank ≤ k] / log₂(rank + 1)`.
pub fn ndcg_at_rank(rank: usize, k: usize) -> f64 {
    if rank >= 1 && rank <= k {
        discount(rank)
    } else {
        0.0
    }
}

/// Ids (indices into `scores`) of the `min(k, V)` highest scores, best first; ties go to
/// the smaller id. O(V + k log k). Errors: `k = 0` or a NaN score.
pub fn top_k(scores: &[f32], k: usize) -> Result<Vec<u64>> {
    check::positive_k("top_k", k)?;
    check::no_nan("top_k", "score", scores)?;
    // total order: score descending, then id ascending (no NaN, so partial_cmp is total)
    let order = |&a: &usize, &b: &usize| scores[b].partial_cmp(&scores[a]).unwrap().then(a.cmp(&b));
    let mut ids: Vec<usize> = (0..scores.len()).collect();
    let k = k.min(ids.len());
    if k < ids.len() {
        ids.select_nth_unstable_by(k, order);
        ids.truncate(k);
    }
    ids.sort_unstable_by(order);
    Ok(ids.into_iter().map(|i| i as u64).collect())
}

/// `1 / log₂(i + 1)` for the 1-based rank `i`.
fn discount(i: usize) -> f64 {
    1.0 / ((i + 1) as f64).log2()
}

/// Checks a user's input and returns the top `min(k, L)` of `ranked` and the relevant set.
fn prepare<'a>(
    op: &'static str,
    ranked: &'a [u64],
    relevant: &[u64],
    k: usize,
) -> Result<(&'a [u64], HashSet<u64>)> {
    check::positive_k(op, k)?;
    let rel: HashSet<u64> = relevant.iter().copied().collect();
    if rel.is_empty() {
        return Err(Error::Config {
            what: format!("{op} input"),
            message: "the user has no relevant items, so the metric is undefined; \
                      leave users without held-out items out of the evaluation"
                .into(),
        });
    }
    let mut seen = HashSet::with_capacity(ranked.len());
    if let Some(i) = ranked.iter().position(|r| !seen.insert(*r)) {
        return Err(Error::Value {
            op,
            what: "ranked item id".into(),
            position: i,
            value: ranked[i] as f64,
            expected: "each item at most once in a ranked list".into(),
        });
    }
    Ok((&ranked[..k.min(ranked.len())], rel))
}

/// HR@k and NDCG@k of single-target full rankings, accumulated user by user (sequential
/// recommendation: one held-out next item per user, ranked against the whole catalogue).
///
/// Each user contributes the rank of its target from [`rank_of`] (ties count against the
/// target, so a constant scorer gets the worst rank), then `HR@k = mean 1[rank ≤ k]` and
/// `NDCG@k = mean 1[rank ≤ k] / log₂(rank + 1)`. Nothing is excluded from the ranking:
/// to leave out items the user has seen, set their scores to `-∞` before [`Self::add_scores`].
#[derive(Clone, Debug, PartialEq)]
pub struct FullRanking {
    ks: Vec<usize>,
    hits: Vec<f64>,
    ndcg: Vec<f64>,
    users: usize,
    reciprocal: f64,
}

impl FullRanking {
    /// An empty accumulator for the cut-offs `ks` (each ≥ 1).
    pub fn new(ks: &[usize]) -> Result<FullRanking> {
        for &k in ks {
            check::positive_k("FullRanking::new", k)?;
        }
        Ok(FullRanking {
            ks: ks.to_vec(),
            hits: vec![0.0; ks.len()],
            ndcg: vec![0.0; ks.len()],
            users: 0,
            reciprocal: 0.0,
        })
    }

    /// Adds one user whose target is at 1-based `rank`.
    pub fn add_rank(&mut self, rank: usize) {
        for (i, &k) in self.ks.iter().enumerate() {
            self.hits[i] += hit_at_rank(rank, k);
            self.ndcg[i] += ndcg_at_rank(rank, k);
        }
        self.reciprocal += 1.0 / rank.max(1) as f64;
        self.users += 1;
    }

    /// Adds one user from the scores of every item and the target's index; returns the rank.
    pub fn add_scores(&mut self, target: usize, scores: &[f32]) -> Result<usize> {
        let rank = rank_of(target, scores)?;
        self.add_rank(rank);
        Ok(rank)
    }

    /// Users added so far.
    pub fn users(&self) -> usize {
        self.users
    }

    /// Mean HR@k over the users added (`None` if k is not one of the cut-offs or no user).
    pub fn hit_rate(&self, k: usize) -> Option<f64> {
        let i = self.ks.iter().position(|&x| x == k)?;
        (self.users > 0).then(|| self.hits[i] / self.users as f64)
    }

    /// Mean NDCG@k over the users added (`None` if k is not one of the cut-offs or no user).
    pub fn ndcg(&self, k: usize) -> Option<f64> {
        let i = self.ks.iter().position(|&x| x == k)?;
        (self.users > 0).then(|| self.ndcg[i] / self.users as f64)
    }

    /// Mean reciprocal rank over the users added (full list, no cut-off).
    pub fn mrr(&self) -> Option<f64> {
        (self.users > 0).then(|| self.reciprocal / self.users as f64)
    }
}
