//! Id dropout to the out-of-vocabulary row (`[train] oov_dropout = p`).
//!
//! Every categorical feature's table has V + 1 rows; row 0 is what an id gets that the
//! training split did not establish (unseen, rarer than `min_count`, missing). When every
//! value of a column is seen in training — the usual case for item ids — no training row
//! looks up row 0, so it keeps its initial random value and a cold item is scored with
//! noise. With `p > 0`, each categorical id of each training row is independently
//! replaced by 0 with probability p before the step; validation, test and `predict`
//! never drop.
//!
//! # Derivation
//!
//! Row i of feature f looks up `e_i = E[m_i · id_i]` with `m_i ~ Bernoulli(1 − p)`. The
//! gradient of the batch loss L with respect to the table accumulates per looked-up row:
//!
//! ```text
//! ∂L/∂E[j] = Σ_{i: id_i = j, m_i = 1} ∂L/∂e_i          (j ≥ 1)
//! ∂L/∂E[0] = Σ_{i: m_i = 0} ∂L/∂e_i                     (+ rows whose id was 0 already)
//! ```
//!
//! In expectation row j keeps a fraction 1 − p of its gradient (a small, uniform slow-down
//! of every id's learning rate), and row 0 receives p times the gradient of *every* row:
//! its fixed point minimises the expected loss of a row whose id is unknown, i.e. the
//! best single vector for an item drawn from the training distribution, which is exactly
//! what a cold or unseen id is scored with. It is the embedding analogue of dropout
//! without the 1/(1 − p) rescaling (there is nothing to rescale: the dropped id is
//! replaced, not zeroed). Draws are a hash of (seed, step, feature, row in batch), so a
//! run and its `--resume` see the same masks, whatever the thread count.

use crate::data::features::{splitmix64, EncodedBatch};

/// Replaces each categorical id of `batch` by 0 with probability `p`, drawn from
/// `splitmix64(seed ⊕ step-hash + f·B + i)`; `p = 0` leaves the batch as it is.
pub fn drop_ids(batch: &mut EncodedBatch, p: f64, seed: u64, step: usize) {
    if p <= 0.0 {
        return;
    }
    let base = seed ^ 0x4F4F_5644_524F_5031 ^ (step as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let b = batch.rows as u64;
    for (f, ids) in batch.cat.iter_mut().enumerate() {
        for (i, id) in ids.iter_mut().enumerate() {
            let draw = splitmix64(base.wrapping_add(f as u64 * b + i as u64));
            let u = draw as f64 / 18_446_744_073_709_551_616.0; // 2^64
            if u < p {
                *id = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(rows: usize, fc: usize) -> EncodedBatch {
        EncodedBatch {
            rows,
            cat: (0..fc).map(|_| (1..=rows as u32).collect()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn drops_about_p_of_the_ids_deterministically_and_nothing_at_zero() {
        let mut a = batch(5000, 2);
        drop_ids(&mut a, 0.1, 7, 3);
        let dropped = a.cat.iter().flatten().filter(|&&id| id == 0).count();
        // 10 000 draws, p = 0.1: mean 1000, sd 30
        assert!((880..=1120).contains(&dropped), "{dropped}");
        // a kept id is unchanged
        assert!(a.cat[0]
            .iter()
            .enumerate()
            .all(|(i, &id)| id == 0 || id == i as u32 + 1));
        let mut b = batch(5000, 2);
        drop_ids(&mut b, 0.1, 7, 3);
        assert_eq!(a, b, "same seed and step: same mask");
        let mut c = batch(5000, 2);
        drop_ids(&mut c, 0.1, 7, 4);
        assert_ne!(a, c, "another step: another mask");
        assert_ne!(a.cat[0], a.cat[1], "features draw independently");
        let mut got = batch(50, 2);
        drop_ids(&mut got, 0.0, 7, 3);
        assert_eq!(got, batch(50, 2));
    }
}
