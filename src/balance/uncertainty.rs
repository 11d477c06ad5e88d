//! Uncertainty weighting: each task's loss is weighted by a learned homoscedastic noise.
//!
//! Kendall, Gal & Cipolla, "Multi-Task Learning Using Uncertainty to Weigh Losses for
//! Scene Geometry and Semantics", CVPR 2018 (eq. 7 and 10).
//!
//! One learned log-variance `s_k = log σ_k²` per task, a `(1, 1)` dense parameter named
//! `balance.log_var.{k}` in the model's store, trained by the model's optimiser with the
//! rest of the network and **not clamped**:
//!
//! ```text
//! regression      ½·e^(−s_k)·L_k + ½·s_k
//! classification    e^(−s_k)·L_k + ½·s_k
//! L = Σ_k (one of the two)
//! ```
//!
//! # Derivation
//!
//! *Regression.* With Gaussian noise of variance σ², `−log N(y; f, σ²) = (y − f)²/(2σ²) +
//! log σ + const`. Averaged over the batch, with `L_k` the MSE and `s = log σ²`
//! (`log σ = ½s`, `1/σ² = e^(−s)`): `½·e^(−s)·L_k + ½·s`.
//!
//! *Classification.* Kendall et al. approximate the likelihood of a softmax of logits
//! scaled by `1/σ²` as `−log p ≈ (1/σ²)·L_k + log σ`, i.e. `e^(−s)·L_k + ½·s`.
//!
//! With `c_k = ½` (regression) or `1` (classification), the term `c·e^(−s)·L + ½·s` has
//!
//! ```text
//! ∂/∂θ = c·e^(−s)·∂L/∂θ             the effective task weight is c·e^(−s)
//! ∂/∂s = −c·e^(−s)·L + ½             zero at e^(s) = 2c·L
//! ```
//!
//! so at the optimum σ_k² = e^(s_k) equals the task's loss (the MSE for regression) and
//! twice the loss for classification; a noisier task gets a smaller weight `1/(2σ²)`.
//! The term is recorded from existing ops (`scale`, `exp`, `mul`, `add`), so the engine's
//! backward pass computes exactly the two expressions above, `∂/∂s` included.

use super::{StepInfo, TaskForm};
use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::{Error, Result};

/// Settings of uncertainty weighting.
#[derive(Clone, Debug, PartialEq)]
pub struct UncertaintyConfig {
    /// Initial `s_k = log σ_k²` of every task (0: σ² = 1).
    pub init_log_var: f32,
}

impl Default for UncertaintyConfig {
    fn default() -> Self {
        UncertaintyConfig { init_log_var: 0.0 }
    }
}

impl UncertaintyConfig {
    pub fn validate(&self) -> Result<()> {
        if !self.init_log_var.is_finite() {
            return Err(Error::Config {
                what: format!("uncertainty init_log_var = {}", self.init_log_var),
                message: "must be a finite number (0 starts every task at σ² = 1)".into(),
            });
        }
        Ok(())
    }
}

/// `c_k`: ½ for regression, 1 for classification.
pub fn coefficient(form: TaskForm) -> f32 {
    match form {
        TaskForm::Regression => 0.5,
        TaskForm::Classification => 1.0,
    }
}

/// Adds one `(1, 1)` log-variance `balance.log_var.{k}` per task to `store`.
pub fn add_log_vars(
    store: &mut ParamStore,
    k: usize,
    cfg: &UncertaintyConfig,
) -> Result<Vec<ParamId>> {
    cfg.validate()?;
    (0..k)
        .map(|i| {
            store.add_dense(
                &format!("balance.log_var.{i}"),
                1,
                1,
                vec![cfg.init_log_var],
            )
        })
        .collect()
}

/// Records `Σ_k c_k·e^(−s_k)·L_k + ½·s_k`, zeroes `store`, runs backward from it.
pub fn uncertainty_backward(
    g: &mut Graph,
    store: &mut ParamStore,
    losses: &[Var],
    forms: &[TaskForm],
    log_vars: &[ParamId],
) -> Result<StepInfo> {
    let (total, weights) = uncertainty_objective(g, store, losses, forms, log_vars)?;
    store.zero_grad();
    g.backward(total, store)?;
    Ok(StepInfo::new(g.scalar(total), g, losses, weights))
}

/// Records `Σ_k c_k·e^(−s_k)·L_k + ½·s_k` (1, 1); returns it and the weights `c_k·e^(−s_k)`
/// (meaningless on a record-only tape: read them with `Balancer::weights`).
pub fn uncertainty_objective(
    g: &mut Graph,
    store: &ParamStore,
    losses: &[Var],
    forms: &[TaskForm],
    log_vars: &[ParamId],
) -> Result<(Var, Vec<f32>)> {
    let mut terms = Vec::with_capacity(losses.len());
    let mut weights = Vec::with_capacity(losses.len());
    for ((&loss, &form), &id) in losses.iter().zip(forms).zip(log_vars) {
        let c = coefficient(form);
        let s = g.param(store, id)?; // (1, 1) s_k
        let neg = g.scale(s, -1.0)?; // (1, 1) −s_k
        let prec = g.exp(neg)?; // (1, 1) e^(−s_k) = 1/σ_k²
        let wl = g.mul(loss, prec)?; // (1, 1) e^(−s_k)·L_k
        let wl = g.scale(wl, c)?; // (1, 1) c_k·e^(−s_k)·L_k
        let reg = g.scale(s, 0.5)?; // (1, 1) ½·s_k
        terms.push(g.add(wl, reg)?); // (1, 1)
        weights.push(c * g.scalar(prec));
    }
    let ones = vec![1.0; terms.len()];
    let total = g.weighted_sum(&terms, &ones)?; // (1, 1)
    Ok((total, weights))
}
