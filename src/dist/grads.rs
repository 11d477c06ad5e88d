//! What a data-parallel step does with the collectives of [`GradientSync`]: which rows a
//! rank takes, how its task losses are weighted, and how gradients are summed.
//!
//! # Derivation
//!
//! A task's loss over a global batch of B rows (`loss` module: `c_i = m_i·w_i / Σ_j m_j`,
//! here without per-sample weights) is
//!
//! ```text
//! L_k = (1/N_k) Σ_{i ∈ batch} m_ik ℓ_ik              N_k = Σ_{i ∈ batch} m_ik
//!     = Σ_r (1/N_k) Σ_{i ∈ rows of r} m_ik ℓ_ik      (the rows split over the P ranks)
//!     = Σ_r L_k^r
//! ```
//! so rank r's part of the loss is its masked sum divided by the *global* count N_k, not
//! by its own n_rk (a mean of per-rank means would weight a row by 1/(P·n_rk): wrong
//! whenever masks or the last, short batch make n_rk differ). With the loss module's
//! per-sample weights `w_i = n_rk / N_k` (constant over the rank's rows),
//! `c_i = m_ik · (n_rk/N_k) / n_rk = m_ik / N_k`: exactly that. AITM's extra term is a
//! plain mean over the B rows, so rank r's part is its mean times `B_r / B`.
//! The balanced objective with fixed (or DWA's per-epoch) weights is linear in the task
//! losses, `J = Σ_k w_k L_k = Σ_r Σ_k w_k L_k^r = Σ_r J^r`, so
//!
//! ```text
//! ∂J/∂θ = Σ_r ∂J^r/∂θ
//! ```
//! the plain sum of the ranks' gradients — one all-reduce with sum and no scaling after
//! it. Uncertainty weighting (`+ s_k` would be counted P times), GradNorm and PCGrad (not
//! linear in the per-task gradients) are refused on P > 1 (`check_supported`).
//! Embedding gradients are row-sparse: each rank sends the ids of the rows it touched
//! and their gradient rows; every rank adds them per id in rank order, so all ranks hold
//! the same sum and the touched rows come in the global batch's first-touch order.

use super::GradientSync;
use crate::autograd::ParamStore;
use crate::balance::StepInfo;
use crate::data::features::EncodedBatch;
use crate::error::{Error, Result};

/// Rank `rank`'s part of a global batch `chunk` of B rows on `size` ranks: rows
/// `[⌊r·B/P⌋, ⌊(r+1)·B/P⌋)`, so parts differ by at most one row and cover the batch in
/// rank order.
pub fn local_rows(chunk: &[usize], rank: usize, size: usize) -> &[usize] {
    let b = chunk.len();
    &chunk[b * rank / size..b * (rank + 1) / size]
}

/// The loss weights of one rank's rows (module docs).
#[derive(Clone, Debug, Default)]
pub struct LossWeights {
    /// Per task k, `n_rk / N_k` for each of the rank's rows.      // K × (B_r,)
    pub rows: Vec<Vec<f32>>,
    /// `B_r / B`: the factor of AITM's extra term.
    pub extra: f32,
    /// `[n_r1 … n_rK, B_r]`, then the sums over ranks: reused every step.
    counts: Vec<f32>,
}

/// Fills `w` for `batch`, this rank's rows: one all-reduce of K + 1 counts.
pub fn loss_weights(
    sync: &mut dyn GradientSync,
    batch: &EncodedBatch,
    w: &mut LossWeights,
) -> Result<()> {
    let k = batch.mask.len();
    w.counts.clear();
    // counts of labelled rows are integers ≤ 2^24, exact in f32
    w.counts
        .extend(batch.mask.iter().map(|m| m.iter().sum::<f32>()));
    w.counts.push(batch.rows as f32);
    let local: Vec<f32> = w.counts.clone();
    sync.all_reduce_sum(&mut w.counts)?;
    w.rows.resize(k, Vec::new());
    for (t, rows) in w.rows.iter_mut().enumerate() {
        let (n, total) = (local[t] as f64, w.counts[t] as f64);
        let s = if total > 0.0 { (n / total) as f32 } else { 0.0 };
        rows.clear();
        rows.resize(batch.rows, s);
    }
    let (b_r, b) = (local[k] as f64, w.counts[k] as f64);
    w.extra = if b > 0.0 { (b_r / b) as f32 } else { 0.0 };
    Ok(())
}

/// Buffers of [`sync_gradients`], kept between steps.
#[derive(Clone, Debug, Default)]
pub struct SyncBuffers {
    /// `[dense gradients (n), task losses (K), objective]`, summed in place.
    flat: Vec<f32>,
    /// Per table: its touched-row count, then the ids (this rank's, then all ranks').
    ids: Vec<u32>,
    all_ids: Vec<u32>,
    /// The touched rows' gradients (this rank's, then all ranks').  // (Σ touched, D)
    rows: Vec<f32>,
    all_rows: Vec<f32>,
    id_counts: Vec<usize>,
    row_counts: Vec<usize>,
}

/// Sums the gradients of `store` and the losses in `info` over all ranks: after it every
/// rank holds the gradient and losses of the global batch (module docs).
pub fn sync_gradients(
    sync: &mut dyn GradientSync,
    store: &mut ParamStore,
    info: &mut StepInfo,
    buf: &mut SyncBuffers,
) -> Result<()> {
    // dense: one flat buffer, one all-reduce
    let n = store.dense_grad().len();
    let k = info.task_losses.len();
    buf.flat.clear();
    buf.flat.extend_from_slice(store.dense_grad());
    buf.flat.extend_from_slice(&info.task_losses);
    buf.flat.push(info.objective);
    sync.all_reduce_sum(&mut buf.flat)?;
    store.dense_mut().1.copy_from_slice(&buf.flat[..n]);
    info.task_losses.copy_from_slice(&buf.flat[n..n + k]);
    info.objective = buf.flat[n + k];

    // row-sparse: [count_t, ids of t] for every table t, and the rows
    let tables = store.tables();
    if tables.is_empty() {
        return Ok(());
    }
    buf.ids.clear();
    buf.rows.clear();
    for t in tables {
        buf.ids.push(t.grad.touched().len() as u32);
        buf.ids.extend_from_slice(t.grad.touched());
        buf.rows.extend_from_slice(t.grad.values());
    }
    sync.all_gather_u32(&buf.ids, &mut buf.all_ids, &mut buf.id_counts)?;
    sync.all_gather_f32(&buf.rows, &mut buf.all_rows, &mut buf.row_counts)?;
    for t in store.tables_mut() {
        t.grad.clear();
    }
    let (mut at_id, mut at_row) = (0usize, 0usize);
    for r in 0..buf.id_counts.len() {
        let (id_end, row_end) = (at_id + buf.id_counts[r], at_row + buf.row_counts[r]);
        for t in store.tables_mut() {
            let cols = t.grad.cols();
            let touched = *buf.all_ids.get(at_id).ok_or_else(|| garbled(r))? as usize;
            at_id += 1;
            if at_id + touched > id_end || at_row + touched * cols > row_end {
                return Err(garbled(r));
            }
            for &id in &buf.all_ids[at_id..at_id + touched] {
                if id as usize >= t.value.len() / cols.max(1) {
                    return Err(garbled(r));
                }
                let src = &buf.all_rows[at_row..at_row + cols];
                t.grad
                    .row_mut(id)
                    .iter_mut()
                    .zip(src)
                    .for_each(|(d, s)| *d += s);
                at_row += cols;
            }
            at_id += touched;
        }
        if at_id != id_end || at_row != row_end {
            return Err(garbled(r));
        }
    }
    Ok(())
}

/// Rank `r` sent embedding gradients of another layout: the ranks run different models.
fn garbled(r: usize) -> Error {
    Error::Config {
        what: "data-parallel training".into(),
        message: format!(
            "rank {r} sent embedding gradients that do not match this rank's tables: every rank must run the same mtrec build with the same config and data"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_rows_split_a_batch_in_rank_order_and_differ_by_at_most_one() {
        let chunk: Vec<usize> = (100..107).collect();
        let parts: Vec<&[usize]> = (0..3).map(|r| local_rows(&chunk, r, 3)).collect();
        assert_eq!(parts.concat(), chunk);
        let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
        assert_eq!(lens, vec![2, 2, 3]);
        assert_eq!(local_rows(&chunk, 0, 1), &chunk[..]);
    }
}
