//! Evaluation of a sequence model on held-out next items.
//!
//! **Protocol.** For each user the model reads the history (its last `max_len` items) and
//! scores every item of the catalogue, ids 1..=V (full ranking, no sampled negatives). The
//! target's rank counts ties against it (`metrics::rank_of`: rank = 1 + #{j ≠ t : s_j ≥ s_t}),
//! so the result does not depend on item ids and a constant scorer gets the worst rank.
//! Nothing is excluded from the ranking: items the user has already seen stay in, as in the
//! P5 and SASRec full-ranking protocol on Amazon Beauty (a repeat purchase is a valid answer).
//! HR@k = mean 1[rank ≤ k], NDCG@k = mean 1[rank ≤ k]/log₂(rank + 1), k ∈ {5, 10}.
//!
//! Where the data has ratings, the rating head is scored by RMSE and the like head
//! (like = rating ≥ 4) by AUC, both on the held-out interaction (history, target item).

use crate::autograd::{Graph, ParamStore};
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

/// Ranks every holdout's target against the catalogue (see the module documentation).
pub fn evaluate(
    model: &SasRec,
    store: &ParamStore,
    g: &mut Graph,
    holdouts: &[Holdout],
    text: Option<&[f32]>,
    batch_size: usize,
) -> Result<SeqMetrics> {
    let was_training = g.is_training();
    g.set_training(false);
    let mut ranking = FullRanking::new(&[5, 10])?;
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
        let ranks: Vec<Result<usize>> = batch
            .targets
            .par_iter()
            .enumerate()
            .map(|(n, &t)| crate::metrics::rank_of(t as usize - 1, &scores[n * v..(n + 1) * v]))
            .collect();
        for r in ranks {
            ranking.add_rank(r?);
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
    Ok(SeqMetrics {
        users: ranking.users(),
        hr5: get(ranking.hit_rate(5)),
        ndcg5: get(ranking.ndcg(5)),
        hr10: get(ranking.hit_rate(10)),
        ndcg10: get(ranking.ndcg(10)),
        mrr: get(ranking.mrr()),
        rating_rmse: if pred_r.is_empty() {
            None
        } else {
            Some(rmse(&pred_r, &true_r)?)
        },
        like_auc: if like_s.is_empty() {
            None
        } else {
            auc(&like_s, &like_y).ok()
        },
    })
}
