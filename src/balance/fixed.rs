//! Fixed task weights: the hand-tuned linear scalarisation every multi-task paper starts from.
//!
//! ```text
//! L = Σ_k λ_k · L_k          λ_k ≥ 0 chosen before training, constant
//! ```
//!
//! # Derivation
//!
//! L is linear in each task loss, `∂L/∂L_k = λ_k`, so one backward pass from the
//! [`Graph::weighted_sum`] node gives every parameter `∂L/∂θ = Σ_k λ_k ∂L_k/∂θ`
//! (see `src/ops/weighted_sum/mod.rs`).

use super::StepInfo;
use crate::autograd::{Graph, ParamStore, Var};
use crate::error::{Error, Result};

/// Checks K finite weights `λ_k ≥ 0`.
pub fn validate(weights: &[f32], k: usize) -> Result<()> {
    if weights.len() != k || weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
        return Err(Error::Config {
            what: "fixed task weights".into(),
            message: format!("need one finite weight ≥ 0 per task ({k} tasks), got {weights:?}"),
        });
    }
    Ok(())
}

/// Zeroes `store`, then backward from `Σ_k weights[k]·L_k`.
pub fn fixed_backward(
    g: &mut Graph,
    store: &mut ParamStore,
    losses: &[Var],
    weights: &[f32],
) -> Result<StepInfo> {
    let total = g.weighted_sum(losses, weights)?; // (1, 1)
    store.zero_grad();
    g.backward(total, store)?;
    Ok(StepInfo::new(g.scalar(total), g, losses, weights.to_vec()))
}

/// [`fixed_backward`] writing into an existing `info`, reusing its buffers: no
/// allocation once they have grown to K.
pub fn fixed_backward_into(
    g: &mut Graph,
    store: &mut ParamStore,
    losses: &[Var],
    weights: &[f32],
    info: &mut StepInfo,
) -> Result<()> {
    let total = g.weighted_sum(losses, weights)?; // (1, 1)
    store.zero_grad();
    g.backward(total, store)?;
    info.objective = g.scalar(total);
    info.task_losses.clear();
    info.task_losses.extend(losses.iter().map(|&l| g.scalar(l)));
    info.weights.clear();
    info.weights.extend_from_slice(weights);
    info.cosines = None;
    Ok(())
}
