//! `popularity`: per task, the item's mean label in training, shrunk toward the global
//! mean. For a binary task that is the item's positive rate (its output is the logit of
//! it); for a regression task the item's mean value.
//!
//! # Derivation
//!
//! With `n_i` labelled training rows of item i, label sum `s_i = Σ_{r∈i} y_r` and the
//! global mean `ȳ = Σ_r y_r / n`, the estimate is the posterior mean of a Beta (binary) or
//! normal (regression) prior centred on ȳ worth α pseudo-rows:
//!
//! ```text
//! m_i = (s_i + α·ȳ) / (n_i + α)
//! ```
//!
//! An item never seen in training (n_i = 0) gets `m_i = ȳ`; α = 0 gives the raw mean.
//! Binary tasks report `z_i = ln(p / (1 − p))` with `p = clamp(m_i, 1e-6, 1 − 1e-6)`,
//! since the metrics read logits. Id 0 (out of vocabulary) is one more bucket, as in the
//! model's embedding tables.

use super::scan::{Columns, Scan};
use crate::config::TaskType;

/// Fitted item means of one task.
#[derive(Clone, Debug, PartialEq)]
pub struct Popularity {
    /// ȳ over the task's labelled training rows (0 when there is none).
    pub global: f64,
    /// m_i by item id; ids past the end were not seen in training.
    pub item: Vec<f64>,
    pub kind: TaskType,
}

/// Smallest / largest probability turned into a logit.
pub const P_CLAMP: f64 = 1e-6;

/// ln(p / (1 − p)) of `p` clamped to [1e-6, 1 − 1e-6].
pub fn logit(p: f64) -> f64 {
    let p = p.clamp(P_CLAMP, 1.0 - P_CLAMP);
    (p / (1.0 - p)).ln()
}

impl Popularity {
    /// Fits on the labelled rows (`mask[r] > 0`) of one task: item ids, labels.
    pub fn fit(items: &[u32], y: &[f32], mask: &[f32], kind: TaskType, alpha: f64) -> Popularity {
        let cols = Columns {
            users: items,
            items,
            y,
            mask,
        };
        Popularity::fit_scan(&cols, kind, alpha)
    }

    /// [`Popularity::fit`] in one pass over the chunks of `rows` (their item ids; the
    /// sums run in row order, so any chunking gives the same bits).
    pub fn fit_scan(rows: &dyn Scan, kind: TaskType, alpha: f64) -> Popularity {
        let (mut sum, mut n) = (Vec::<f64>::new(), Vec::<f64>::new()); // (V,) each
        let (mut total, mut count) = (0f64, 0f64);
        rows.scan(&mut |_, items, y, mask| {
            for ((&i, &yr), &m) in items.iter().zip(y).zip(mask) {
                let i = i as usize;
                if i >= sum.len() {
                    // V = the largest item id + 1, labelled or not
                    sum.resize(i + 1, 0.0);
                    n.resize(i + 1, 0.0);
                }
                if m > 0.0 {
                    sum[i] += yr as f64;
                    n[i] += 1.0;
                    total += yr as f64;
                    count += 1.0;
                }
            }
        });
        let global = if count > 0.0 { total / count } else { 0.0 };
        let item = sum
            .iter()
            .zip(&n)
            .map(|(&s, &c)| {
                if c + alpha > 0.0 {
                    (s + alpha * global) / (c + alpha)
                } else {
                    global
                }
            })
            .collect();
        Popularity { global, item, kind }
    }

    /// m_i of item `i` (ȳ when unseen).
    pub fn mean(&self, i: u32) -> f64 {
        self.item.get(i as usize).copied().unwrap_or(self.global)
    }

    /// The raw output for item `i`: m_i, or its logit for a binary task.
    pub fn output(&self, i: u32) -> f32 {
        let m = self.mean(i);
        match self.kind {
            TaskType::Binary => logit(m) as f32,
            TaskType::Regression => m as f32,
        }
    }
}
