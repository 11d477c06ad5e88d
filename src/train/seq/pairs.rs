//! Scores of given (history, item) pairs by a sequence model: what `mtrec predict` writes
//! for an `mtrec seq` run.
//!
//! ```text
//! F        = encoder output at the last position of the history        (N, D)
//! S        = F · M[1..]ᵀ                                               (N, V)
//! logit    = S[n, i − 1]                      the next-item score of item i
//! R        = S + β · ln(1 + c(a, ·))           the score the run ranks: its transition
//!                                              prior after the last history item a
//!                                              (`eval::add_prior`; R = S without one)
//! score    = R[n, i − 1]
//! next     = exp(score − logsumexp_j R[n, j])  P(next = i), softmax over the catalogue
//! rank     = 1 + #{j ≠ i : R[n, j] ≥ score}    ties against the item, the run's history
//!                                              exclusion (`eval::rank_with`)
//! rating   = rating head on F ‖ M[i]           MovieLens runs
//! like     = σ(like head on F ‖ M[i])          MovieLens runs
//! ```
//!
//! The batches are those of [`super::evaluate`] (same padding, same batch size) and the
//! ranking rule is the run's (`rule`: its prior weight, its `train.exclude_history`), so a
//! held-out target's `rank` here is the rank the run's test metrics were computed from.

use super::eval::{add_prior, rank_with, RankRule};
use crate::autograd::{Graph, ParamStore};
use crate::data::sequences::{Holdout, SeqBatch};
use crate::error::Result;
use crate::models::sasrec::SasRec;

/// The scores of one pair; see the module documentation.
#[derive(Clone, Debug, PartialEq)]
pub struct PairScore {
    pub logit: f32,
    /// The score ranked: `logit` plus the transition prior (equal to it without one).
    pub score: f32,
    pub next: f64,
    pub rank: usize,
    pub rating: Option<f32>,
    pub like: Option<f32>,
}

/// Scores every holdout's `target` after its `history` (ratings are not read), ranked
/// under `rule` with its first weight (β = 0 when it lists none); `text` as
/// [`SasRec::forward`] takes it.
pub fn score_pairs(
    model: &SasRec,
    store: &ParamStore,
    holdouts: &[Holdout],
    text: Option<&[f32]>,
    rule: &RankRule<'_>,
    batch_size: usize,
) -> Result<Vec<PairScore>> {
    let beta = rule.weights.first().copied().unwrap_or(0.0);
    let mut g = Graph::new(0);
    g.set_training(false);
    let v = model.cfg.num_items;
    let mut out = Vec::with_capacity(holdouts.len());
    for chunk in holdouts.chunks(batch_size.max(1)) {
        let refs: Vec<&Holdout> = chunk.iter().collect();
        let batch = SeqBatch::eval(&refs, model.cfg.max_len);
        g.reset();
        let hidden = model.forward(&mut g, store, &batch.input(), text)?;
        let logits = model.next_item_logits(&mut g, hidden)?; // (N, V)
        let rating = model.rating(&mut g, store, hidden, &batch.targets)?; // (N, 1)
        let like = model.like(&mut g, store, hidden, &batch.targets)?; // (N, 1)
        let s = g.value(logits);
        for ((n, &t), h) in batch.targets.iter().enumerate().zip(chunk) {
            let logits = &s[n * v..(n + 1) * v];
            let mut row = logits.to_vec(); // (V,)
            if let Some(p) = rule.prior {
                add_prior(&mut row, &p.log_prior(&h.history), beta);
            }
            let i = t as usize - 1;
            let lse = log_sum_exp(&row);
            let exclude = rule.exclude_history.then_some(h.history.as_slice());
            out.push(PairScore {
                logit: logits[i],
                score: row[i],
                next: (row[i] as f64 - lse).exp(),
                rank: rank_with(i, &row, &[], 0.0, exclude)?,
                rating: rating.map(|r| g.value(r)[n]),
                like: like.map(|z| 1.0 / (1.0 + (-g.value(z)[n]).exp())),
            });
        }
    }
    Ok(out)
}

/// `ln Σ_j exp(s_j)`, shifted by the maximum, summed in f64.
fn log_sum_exp(row: &[f32]) -> f64 {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    m + row.iter().map(|&s| (s as f64 - m).exp()).sum::<f64>().ln()
}
