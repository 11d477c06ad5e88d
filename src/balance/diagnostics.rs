//! How much the tasks conflict: pairwise cosine similarity of task gradients on the
//! shared parameters.
//!
//! ```text
//! cos_kj = ⟨g_k, g_j⟩ / (‖g_k‖·‖g_j‖)        g_k = ∇_shared L_k, (P,)
//! ```
//!
//! `cos_kj < 0` means a step along task j's gradient increases task k's loss to first
//! order (the "conflicting gradients" of Yu et al., 2020). The diagonal is 1; a pair in
//! which one gradient is zero has cosine 0 (no direction, no conflict).

use super::grads::{dot, TaskGrads};
use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::Result;

/// `(K, K)` row-major cosine matrix of the rows of a `(K, P)` gradient matrix.
pub fn cosine_matrix(grads: &[f32], k: usize) -> Vec<f32> {
    let p = grads.len().checked_div(k).unwrap_or(0);
    let row = |i: usize| &grads[i * p..(i + 1) * p];
    let norms: Vec<f64> = (0..k).map(|i| dot(row(i), row(i)).sqrt()).collect();
    let mut out = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            out[i * k + j] = if i == j {
                1.0
            } else if norms[i] == 0.0 || norms[j] == 0.0 {
                0.0
            } else {
                (dot(row(i), row(j)) / (norms[i] * norms[j])) as f32
            };
        }
    }
    out
}

/// The `(K, K)` row-major matrix of cosine similarities between the task gradients
/// `∇_shared L_k` on the dense parameters `shared`, from one backward pass per task over
/// the recorded graph `g`.
///
/// It overwrites the store's gradients: afterwards `store` holds the plain sum
/// `Σ_k ∇θ L_k` (call it before [`super::Balancer::backward`], which zeroes the store).
pub fn task_gradient_cosines(
    g: &mut Graph,
    store: &mut ParamStore,
    losses: &[Var],
    shared: &[ParamId],
) -> Result<Vec<f32>> {
    let mut tg = TaskGrads::new();
    let ones = vec![1.0; losses.len()];
    tg.compute(g, store, losses, shared, &ones)?;
    Ok(cosine_matrix(&tg.shared, tg.k))
}
