//! Next-item baselines of `mtrec seq`: `popularity` (how often each item occurs in the
//! training sequences) and `transition` (first-order item-to-item counts, popularity
//! breaking ties and standing in where the last item has no recorded successor).
//!
//! # Derivation
//!
//! From the training part of every sequence (the items the model trains on), with
//! `n_j` = occurrences of item j, `N = Σ_j n_j` and `c(a, b)` = times b directly follows
//! a, the score of candidate j after a history whose last item is a:
//!
//! ```text
//! popularity:  s_j = n_j
//! transition:  s_j = c(a, j) + n_j / (N + 1)
//! ```
//!
//! Since `0 ≤ n_j / (N + 1) < 1` and counts are integers, every item that followed a
//! ranks above every item that did not; among equal counts (in particular all zero when a
//! never had a successor, or the history is empty) the more popular item ranks first:
//! a lexicographic back-off to popularity. The code ranks by the integer
//! `(N + 1)·s_j = (N + 1)·c(a, j) + n_j` in f64 (exact; f32 would merge close scores). The ranks are taken exactly as the model's
//! (`crate::train::seq::eval`: full ranking over items 1..=V, ties against the target).
//!
//! **Transition prior of the model** (`model.transition_prior`): the same counts, as
//! `p_a(j) = ln(1 + c(a, j))`, added to SASRec's next-item score with a weight β chosen on
//! validation ([`Transitions::log_prior`]; `crate::train::seq::eval`).
//!
//! **History exclusion** (`train.exclude_history`): with it, the items of the user's
//! history other than the target leave the ranking, for the model and these baselines
//! alike: rank = 1 + #{j ≠ t, j ∉ H : s_j ≥ s_t} ([`rank_excluding`]).

use crate::data::sequences::Holdout;
use crate::error::Result;
use crate::metrics::FullRanking;
use rayon::prelude::*;
use std::collections::HashMap;

/// Counts from training sequences; items are ids 1..=V.
#[derive(Clone, Debug, PartialEq)]
pub struct Transitions {
    /// V.
    pub num_items: usize,
    /// n_j at index j (index 0 unused).
    pub count: Vec<u64>,
    /// c(a, b): successors of a with their counts.
    pub next: HashMap<u32, HashMap<u32, u64>>,
}

/// HR and NDCG of one next-item baseline (the model's `SeqMetrics` fields of the same name).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct NextItemMetrics {
    pub users: usize,
    pub hr5: f64,
    pub ndcg5: f64,
    pub hr10: f64,
    pub ndcg10: f64,
    pub mrr: f64,
}

impl Transitions {
    /// Counts items and consecutive pairs of `seqs` (oldest first; ids in 1..=V).
    pub fn fit<'a>(seqs: impl IntoIterator<Item = &'a [u32]>, num_items: usize) -> Transitions {
        let mut t = Transitions {
            num_items,
            count: vec![0; num_items + 1],
            next: HashMap::new(),
        };
        for s in seqs {
            for &j in s {
                if let Some(c) = t.count.get_mut(j as usize) {
                    *c += 1;
                }
            }
            for w in s.windows(2) {
                *t.next.entry(w[0]).or_default().entry(w[1]).or_default() += 1;
            }
        }
        t
    }

    /// s_j = n_j for items 1..=V at index j − 1.
    pub fn popularity_scores(&self) -> Vec<f64> {
        self.count[1..].iter().map(|&n| n as f64).collect()
    }

    /// (N + 1)·s_j = (N + 1)·c(a, j) + n_j for items 1..=V at index j − 1, a = the last
    /// item of `history` (popularity alone when it is empty or a never had a successor).
    /// Scaled by N + 1 so that every score is an integer, exact in f64 below 2^53.
    pub fn transition_scores(&self, history: &[u32]) -> Vec<f64> {
        let scale = self.count.iter().sum::<u64>() as f64 + 1.0;
        let mut s = self.popularity_scores();
        if let Some(next) = history.last().and_then(|a| self.next.get(a)) {
            for (&b, &c) in next {
                if let Some(x) = s.get_mut((b as usize).wrapping_sub(1)) {
                    *x += c as f64 * scale;
                }
            }
        }
        s
    }

    /// The transition prior after `history`: `(j − 1, ln(1 + c(a, j)))` for every item j
    /// that followed a = the last item of `history` in training (empty when nothing did);
    /// sorted by item so the sums it feeds are reproducible.
    pub fn log_prior(&self, history: &[u32]) -> Vec<(usize, f32)> {
        let mut p: Vec<(usize, f32)> = history
            .last()
            .and_then(|a| self.next.get(a))
            .map(|next| {
                next.iter()
                    .filter(|&(&b, _)| b >= 1 && (b as usize) <= self.num_items)
                    .map(|(&b, &c)| (b as usize - 1, (c as f64).ln_1p() as f32))
                    .collect()
            })
            .unwrap_or_default();
        p.sort_unstable_by_key(|&(j, _)| j);
        p
    }
}

/// 1 + #{j ≠ t : s_j ≥ s_t}: `metrics::rank_of`'s rule (ties against the target) on f64
/// scores, which keep the transition scores exact.
pub fn rank_of(target: usize, scores: &[f64]) -> Result<usize> {
    let st = *scores
        .get(target)
        .ok_or_else(|| crate::error::Error::Config {
            what: "next-item target".into(),
            message: format!(
                "item index {target} is outside the catalogue of {} items",
                scores.len()
            ),
        })?;
    Ok(1 + scores
        .iter()
        .enumerate()
        .filter(|&(j, &s)| j != target && s >= st)
        .count())
}

/// [`rank_of`] with the history items other than the target left out of the ranking:
/// `1 + #{j ≠ t, j ∉ H : s_j ≥ s_t}`, H = the distinct item ids of `history` (1-based,
/// score index id − 1). Computed as `rank_of` less the excluded items that tie or beat
/// the target, each counted once however often it occurs in the history.
pub fn rank_excluding(target: usize, scores: &[f64], history: &[u32]) -> Result<usize> {
    let r = rank_of(target, scores)?;
    let st = scores[target];
    let mut seen: Vec<usize> = history
        .iter()
        .map(|&h| (h as usize).wrapping_sub(1))
        .filter(|&j| j != target && j < scores.len())
        .collect();
    seen.sort_unstable();
    seen.dedup();
    Ok(r - seen.iter().filter(|&&j| scores[j] >= st).count())
}

/// Ranks every holdout's target under `scores(history)` (full ranking, ties against the
/// target) and returns HR@5/10, NDCG@5/10 and MRR.
pub fn evaluate(
    holdouts: &[Holdout],
    scores: impl Fn(&[u32]) -> Vec<f64> + Sync,
) -> Result<NextItemMetrics> {
    evaluate_ranked(holdouts, false, scores)
}

/// [`evaluate`], with `exclude_history` leaving each user's history items other than the
/// target out of the ranking ([`rank_excluding`]).
pub fn evaluate_ranked(
    holdouts: &[Holdout],
    exclude_history: bool,
    scores: impl Fn(&[u32]) -> Vec<f64> + Sync,
) -> Result<NextItemMetrics> {
    let mut ranking = FullRanking::new(&[5, 10])?;
    let ranks: Vec<Result<usize>> = holdouts
        .par_iter()
        .map(|h| {
            let t = (h.target as usize).wrapping_sub(1);
            let s = scores(&h.history);
            if exclude_history {
                rank_excluding(t, &s, &h.history)
            } else {
                rank_of(t, &s)
            }
        })
        .collect();
    for r in ranks {
        ranking.add_rank(r?);
    }
    let get = |x: Option<f64>| x.unwrap_or(0.0);
    Ok(NextItemMetrics {
        users: ranking.users(),
        hr5: get(ranking.hit_rate(5)),
        ndcg5: get(ranking.ndcg(5)),
        hr10: get(ranking.hit_rate(10)),
        ndcg10: get(ranking.ndcg(10)),
        mrr: get(ranking.mrr()),
    })
}
