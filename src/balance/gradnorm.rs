//! GradNorm: task weights that equalise the tasks' gradient norms on the last shared layer.
//!
//! Chen, Badrinarayanan, Lee & Rabinovich, "GradNorm: Gradient Normalization for Adaptive
//! Loss Balancing in Deep Multitask Networks", ICML 2018 (Algorithm 1).
//!
//! The layer W is the **last entry of `shared`** passed to [`super::Balancer::backward`]
//! (the weight of the last shared layer, whose gradient every task reaches). With weights
//! w_k(t), Σ_k w_k = K:
//!
//! ```text
//! network gradient   ∇θ Σ_k w_k L_k                                   (w_k constant)
//! G_k   = ‖∇_W (w_k L_k)‖ = w_k·n_k,      n_k = ‖∇_W L_k‖
//! Ḡ     = (1/K) Σ_k G_k
//! L̃_k   = L_k(t) / L_k(0),                 r_k = L̃_k / ((1/K) Σ_j L̃_j)
//! L_grad = Σ_k |G_k − Ḡ·r_k^α|                                        (target Ḡ·r_k^α constant)
//! w_k   ← max(w_k − η_w·∂L_grad/∂w_k, w_min)
//! w_k   ← K·w_k / Σ_j w_j
//! ```
//!
//! α ≥ 0 is the asymmetry: the larger α, the harder tasks that train slowly (large r_k)
//! are pushed. `L_k(0)` is the task's loss at the first step where it is positive; until
//! then `L̃_k = 1`. The floor `w_min > 0` (not in the paper) keeps a weight from crossing
//! zero when η_w is large; the renormalisation after it keeps Σ w = K.
//!
//! # Derivation
//!
//! W receives `∇_W (w_k L_k) = w_k ∇_W L_k` from task k, and `w_k ≥ 0`, so
//! `G_k = w_k·n_k` with `n_k = ‖∇_W L_k‖` computed from one backward pass of `L_k` alone.
//! With the target `T_k = Ḡ·r_k^α` held constant (Algorithm 1 detaches it),
//! `∂|G_k − T_k|/∂G_k = sign(G_k − T_k)` and `∂G_k/∂w_k = n_k`; no other term of L_grad
//! depends on w_k, so
//!
//! ```text
//! ∂L_grad/∂w_k = sign(G_k − T_k)·n_k
//! ```
//!
//! which is what [`gradnorm_update`] subtracts, times η_w. A task whose weighted
//! gradient norm is above its target loses weight; one below gains it.

use super::grads::{dot, TaskGrads};
use super::StepInfo;
use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::{check_finite, Error, Result};

/// Settings of GradNorm.
#[derive(Clone, Debug, PartialEq)]
pub struct GradNormConfig {
    /// Asymmetry α ≥ 0 (the paper uses 0.12 to 1.5; 1.5 on NYUv2).
    pub alpha: f32,
    /// Learning rate η_w > 0 of the task weights (plain gradient descent on L_grad).
    pub lr: f32,
    /// Floor w_min > 0 applied before renormalising.
    pub min_weight: f32,
}

impl Default for GradNormConfig {
    fn default() -> Self {
        GradNormConfig {
            alpha: 1.5,
            lr: 0.025,
            min_weight: 1e-3,
        }
    }
}

impl GradNormConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |what: String, message: &str| {
            Err(Error::Config {
                what,
                message: message.into(),
            })
        };
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return bad(
                format!("GradNorm alpha = {}", self.alpha),
                "must be a finite number ≥ 0 (try 1.5; 0 equalises the raw gradient norms)",
            );
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(
                format!("GradNorm lr = {}", self.lr),
                "the task-weight learning rate must be a finite number > 0 (try 0.025)",
            );
        }
        if !(self.min_weight.is_finite() && self.min_weight > 0.0) {
            return bad(
                format!("GradNorm min_weight = {}", self.min_weight),
                "must be a finite number > 0 (try 1e-3)",
            );
        }
        Ok(())
    }
}

/// GradNorm's state: the weights w_k(t) and the initial losses L_k(0).
#[derive(Clone, Debug)]
pub struct GradNormState {
    pub cfg: GradNormConfig,
    /// w_k(t), Σ = K.
    pub weights: Vec<f32>,
    /// L_k(0) (0 until the task has had a positive loss).
    pub initial_losses: Vec<f32>,
    grads: TaskGrads,
}

impl GradNormState {
    pub fn new(cfg: GradNormConfig, k: usize) -> Result<GradNormState> {
        cfg.validate()?;
        Ok(GradNormState {
            cfg,
            weights: vec![1.0; k],
            initial_losses: vec![0.0; k],
            grads: TaskGrads::new(),
        })
    }
}

/// One step of Algorithm 1 given the losses `L_k(t)` and norms `n_k = ‖∇_W L_k‖`:
/// returns the new weights `w(t+1)` (Σ = K). `initial_losses` is updated where a task
/// has its first positive loss.
pub fn gradnorm_update(
    cfg: &GradNormConfig,
    weights: &[f32],
    initial_losses: &mut [f32],
    losses: &[f32],
    norms: &[f32],
) -> Vec<f32> {
    let k = weights.len();
    for (l0, &l) in initial_losses.iter_mut().zip(losses) {
        if *l0 <= 0.0 && l > 0.0 {
            *l0 = l;
        }
    }
    // L̃_k = L_k(t)/L_k(0);  r_k = L̃_k / mean(L̃)
    let ratio: Vec<f64> = losses
        .iter()
        .zip(initial_losses.iter())
        .map(|(&l, &l0)| if l0 > 0.0 { l as f64 / l0 as f64 } else { 1.0 })
        .collect();
    let mean_ratio = ratio.iter().sum::<f64>() / k as f64;
    // G_k = w_k·n_k;  Ḡ = mean G_k
    let gk: Vec<f64> = weights
        .iter()
        .zip(norms)
        .map(|(&w, &n)| w as f64 * n as f64)
        .collect();
    let gbar = gk.iter().sum::<f64>() / k as f64;
    let mut w: Vec<f64> = (0..k)
        .map(|i| {
            let r = if mean_ratio > 0.0 {
                ratio[i] / mean_ratio
            } else {
                1.0
            };
            let target = gbar * r.powf(cfg.alpha as f64); // constant
                                                          // ∂L_grad/∂w_k = sign(G_k − target_k)·n_k
            let diff = gk[i] - target;
            let sign = if diff > 0.0 {
                1.0
            } else if diff < 0.0 {
                -1.0
            } else {
                0.0
            };
            let dw = sign * norms[i] as f64;
            (weights[i] as f64 - cfg.lr as f64 * dw).max(cfg.min_weight as f64)
        })
        .collect();
    let total: f64 = w.iter().sum();
    w.iter_mut().for_each(|x| *x *= k as f64 / total);
    w.into_iter().map(|x| x as f32).collect()
}

/// Zeroes `store`, leaves `∇θ Σ_k w_k(t) L_k` in it (one backward pass per task), then
/// moves the weights to `w(t+1)`. `layer` is W, the last shared layer's weight.
/// Returns the objective `Σ_k w_k(t) L_k` and the weights `w(t)` used.
pub fn gradnorm_backward(
    state: &mut GradNormState,
    g: &mut Graph,
    store: &mut ParamStore,
    losses: &[Var],
    layer: ParamId,
) -> Result<StepInfo> {
    let used = state.weights.clone();
    state.grads.compute(g, store, losses, &[layer], &used)?;
    let task_losses: Vec<f32> = losses.iter().map(|&l| g.scalar(l)).collect();
    check_finite("GradNorm", "task loss", &task_losses)?;
    let norms: Vec<f32> = (0..losses.len())
        .map(|k| dot(state.grads.task(k), state.grads.task(k)).sqrt() as f32)
        .collect();
    let objective = task_losses.iter().zip(&used).map(|(l, w)| l * w).sum();
    state.weights = gradnorm_update(
        &state.cfg,
        &used,
        &mut state.initial_losses,
        &task_losses,
        &norms,
    );
    Ok(StepInfo {
        objective,
        task_losses,
        weights: used,
        cosines: None,
    })
}
