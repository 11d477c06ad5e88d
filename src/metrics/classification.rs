//! Binary-classification metrics: ROC AUC, group AUC (per user), log-loss and the
//! confusion matrix at a threshold.
//!
//! scores, probs, labels: (N,)    users: (N,)    labels are exactly 0 or 1.
//!
//! All counts are integers and all sums f64, so results do not depend on the order of
//! the rows (AUC and GAUC are exact rationals up to the final division).

use super::check;
use crate::error::{Error, Result};

/// Clipping used by [`log_loss`]: `p` is replaced by `clamp(p, ε, 1 − ε)` with `ε = 1e-7`.
pub const LOG_LOSS_EPS: f64 = 1e-7;

/// Exact area under the ROC curve, with ties counted as ½ (the Mann–Whitney U statistic).
///
/// ```text
/// AUC = (1 / (n₊ n₋)) Σ_{i: y_i=1} Σ_{j: y_j=0} ( 1[s_i > s_j] + ½·1[s_i = s_j] )
/// ```
///
/// which equals `(R₊ − n₊(n₊+1)/2) / (n₊ n₋)` with `R₊` the sum of the positives' average
/// ranks. Computed in O(N log N): the rows are sorted by score and, walking the groups of
/// equal scores upwards, a group with `p` positives and `q` negatives above `b` negatives
/// adds `p·(2b + q)` to `2U`; the result is `2U / (2 n₊ n₋)`.
///
/// Errors: lengths differ, a label is not 0/1, a score is NaN (±∞ are fine), or there is
/// no positive or no negative (AUC is undefined).
pub fn auc(scores: &[f32], labels: &[f32]) -> Result<f64> {
    check_scores_labels("auc", scores, labels)?;
    let mut rows: Vec<usize> = (0..scores.len()).collect();
    auc_of_rows(scores, labels, &mut rows).ok_or_else(|| one_class_error("auc", labels))
}

/// Group AUC: the result of [`gauc`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gauc {
    /// `Σ_u n_u·AUC_u / Σ_u n_u` over the users used.
    pub value: f64,
    /// Users with at least one positive and one negative (their AUC is defined).
    pub users_used: usize,
    /// Users with only positives or only negatives, left out of `value`.
    pub users_skipped: usize,
}

/// Group AUC: each user's [`auc`], weighted by that user's number of impressions.
///
/// ```text
/// GAUC = Σ_{u ∈ U'} n_u · AUC_u  /  Σ_{u ∈ U'} n_u
/// ```
///
/// where `n_u` is the number of rows of user `u` and `U'` the users with both a positive
/// and a negative; the other users are skipped and counted in `users_skipped`.
///
/// Errors: as [`auc`] for the rows (lengths, labels, NaN scores), `users` of another
/// length, or no user with both classes.
pub fn gauc(scores: &[f32], labels: &[f32], users: &[u64]) -> Result<Gauc> {
    check_scores_labels("gauc", scores, labels)?;
    check::same_len("gauc", "users", users.len(), scores.len())?;
    let mut rows: Vec<usize> = (0..scores.len()).collect();
    rows.sort_by_key(|&i| users[i]); // stable: rows of one user stay in input order
    let (mut weighted, mut impressions) = (0f64, 0u64);
    let (mut used, mut skipped) = (0usize, 0usize);
    let mut start = 0;
    while start < rows.len() {
        let user = users[rows[start]];
        let end = start
            + rows[start..]
                .iter()
                .take_while(|&&i| users[i] == user)
                .count();
        let n_u = (end - start) as u64;
        match auc_of_rows(scores, labels, &mut rows[start..end]) {
            Some(a) => {
                weighted += n_u as f64 * a;
                impressions += n_u;
                used += 1;
            }
            None => skipped += 1,
        }
        start = end;
    }
    if used == 0 {
        return Err(Error::Config {
            what: "gauc input".into(),
            message: format!(
                "none of the {skipped} users has both a positive and a negative label, so no \
                 per-user AUC is defined; evaluate on more impressions per user or use auc"
            ),
        });
    }
    Ok(Gauc {
        value: weighted / impressions as f64,
        users_used: used,
        users_skipped: skipped,
    })
}

/// Mean binary cross-entropy of probabilities, clipped to `[ε, 1 − ε]` ([`LOG_LOSS_EPS`]):
///
/// ```text
/// log_loss = −(1/N) Σ_i [ y_i ln p̂_i + (1 − y_i) ln(1 − p̂_i) ],   p̂_i = clamp(p_i, ε, 1 − ε)
/// ```
///
/// computed in f64 from the f32 inputs. Errors: lengths differ, no rows, a label is not
/// 0/1, or a probability is NaN or outside `[0, 1]` (pass `σ(logit)`, not the logit).
pub fn log_loss(probs: &[f32], labels: &[f32]) -> Result<f64> {
    check::same_len("log_loss", "labels", labels.len(), probs.len())?;
    check::non_empty("log_loss", probs.len())?;
    check::binary_labels("log_loss", labels)?;
    if let Some(i) = probs.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(Error::Value {
            op: "log_loss",
            what: "probability".into(),
            position: i,
            value: probs[i] as f64,
            expected: "a probability in [0, 1]; apply the sigmoid to logits first".into(),
        });
    }
    let sum: f64 = probs
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = (p as f64).clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS);
            if y == 1.0 {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    Ok(sum / probs.len() as f64)
}

/// Confusion matrix of the decision `ŷ_i = 1[s_i ≥ t]` against the labels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Confusion {
    /// `#{ŷ = 1, y = 1}`
    pub true_pos: u64,
    /// `#{ŷ = 1, y = 0}`
    pub false_pos: u64,
    /// `#{ŷ = 0, y = 0}`
    pub true_neg: u64,
    /// `#{ŷ = 0, y = 1}`
    pub false_neg: u64,
}

impl Confusion {
    /// Counts with rows predicted positive iff `score ≥ threshold` (so probabilities with
    /// `threshold = 0.5` predict 1 at exactly 0.5). Errors: lengths differ, no rows, a label
    /// not 0/1, a NaN score or a NaN threshold.
    pub fn at_threshold(scores: &[f32], labels: &[f32], threshold: f32) -> Result<Confusion> {
        check::same_len("confusion", "labels", labels.len(), scores.len())?;
        check::non_empty("confusion", scores.len())?;
        check::binary_labels("confusion", labels)?;
        check::no_nan("confusion", "score", scores)?;
        check::no_nan("confusion", "threshold", &[threshold])?;
        let mut c = Confusion::default();
        for (&s, &y) in scores.iter().zip(labels) {
            match (s >= threshold, y == 1.0) {
                (true, true) => c.true_pos += 1,
                (true, false) => c.false_pos += 1,
                (false, false) => c.true_neg += 1,
                (false, true) => c.false_neg += 1,
            }
        }
        Ok(c)
    }

    /// `N = TP + FP + TN + FN`.
    pub fn total(&self) -> u64 {
        self.true_pos + self.false_pos + self.true_neg + self.false_neg
    }

    /// `(TP + TN) / N`, 0 when `N = 0`.
    pub fn accuracy(&self) -> f64 {
        ratio(self.true_pos + self.true_neg, self.total())
    }

    /// `TP / (TP + FP)`, 0 when nothing is predicted positive (scikit-learn `zero_division=0`).
    pub fn precision(&self) -> f64 {
        ratio(self.true_pos, self.true_pos + self.false_pos)
    }

    /// `TP / (TP + FN)`, 0 when there is no positive label (`zero_division=0`).
    pub fn recall(&self) -> f64 {
        ratio(self.true_pos, self.true_pos + self.false_neg)
    }

    /// `2PR / (P + R) = 2TP / (2TP + FP + FN)`, 0 when `TP = 0` (`zero_division=0`).
    pub fn f1(&self) -> f64 {
        ratio(
            2 * self.true_pos,
            2 * self.true_pos + self.false_pos + self.false_neg,
        )
    }
}

/// `a / b`, with `0 / 0 = 0`.
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Checks shared by `auc` and `gauc`: same length, labels 0/1, no NaN score.
fn check_scores_labels(op: &'static str, scores: &[f32], labels: &[f32]) -> Result<()> {
    check::same_len(op, "labels", labels.len(), scores.len())?;
    check::binary_labels(op, labels)?;
    check::no_nan(op, "score", scores)
}

/// AUC of the given rows (reordered in place by score), `None` if they lack a class.
/// Inputs are already checked: labels 0/1, no NaN score.
fn auc_of_rows(scores: &[f32], labels: &[f32], rows: &mut [usize]) -> Option<f64> {
    // no NaN, so partial_cmp is total here (and −0 = +0, as for the comparison in AUC)
    rows.sort_unstable_by(|&a, &b| scores[a].partial_cmp(&scores[b]).unwrap());
    let (mut neg_below, mut twice_u) = (0u128, 0u128);
    let mut n_pos = 0u128;
    let mut start = 0;
    while start < rows.len() {
        let s = scores[rows[start]];
        let group = rows[start..]
            .iter()
            .take_while(|&&i| scores[i] == s)
            .count();
        let p = rows[start..start + group]
            .iter()
            .filter(|&&i| labels[i] == 1.0)
            .count() as u128;
        let q = group as u128 - p;
        twice_u += p * (2 * neg_below + q); // p positives beat b negatives, tie q of them
        neg_below += q;
        n_pos += p;
        start += group;
    }
    if n_pos == 0 || neg_below == 0 {
        return None;
    }
    Some(twice_u as f64 / (2 * n_pos * neg_below) as f64)
}

fn one_class_error(op: &'static str, labels: &[f32]) -> Error {
    let pos = labels.iter().filter(|&&y| y == 1.0).count();
    let (missing, n) = if pos == 0 {
        ("positive (1)", labels.len())
    } else {
        ("negative (0)", pos)
    };
    Error::Config {
        what: format!("{op} input"),
        message: format!(
            "the labels have no {missing} among {n} rows, so AUC is undefined; \
             evaluate on a set that has both classes"
        ),
    }
}
