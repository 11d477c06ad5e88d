//! PCGrad: project away the conflicting part of each task's gradient.
//!
//! Yu, Kumar, Gupta, Levine, Hausman & Finn, "Gradient Surgery for Multi-Task Learning",
//! NeurIPS 2020 (Algorithm 1).
//!
//! On the shared dense parameters, flattened into one vector of P scalars:
//!
//! ```text
//! g_k = ∇_shared L_k                                   one backward per task, (P,)
//! for each task k:  g_k^PC = g_k
//!     for j in a random order of the other tasks:
//!         if g_k^PC · g_j < 0:
//!             g_k^PC ← g_k^PC − (g_k^PC · g_j / ‖g_j‖²)·g_j     against the ORIGINAL g_j
//! ∇_shared = Σ_k g_k^PC
//! ```
//!
//! Every other parameter gets the plain sum `Σ_k ∇θ L_k`: task-specific parameters
//! receive a gradient from their own task only, so there is nothing to project. This
//! includes **embedding tables**, even when all tasks read them: their row-sparse
//! gradients are summed, never projected (list only dense parameters in `shared`).
//! The order of the other tasks is drawn from a generator seeded by [`PcGradConfig::seed`]
//! and advanced every step, so a run is reproducible.
//!
//! # Derivation
//!
//! The projection of `g` onto the normal plane of `g_j` is `g − (g·g_j/‖g_j‖²)·g_j`; its
//! dot product with `g_j` is `g·g_j − (g·g_j/‖g_j‖²)·‖g_j‖² = 0`, so right after that
//! projection task k's update no longer increases task j's loss to first order. The
//! condition `g·g_j < 0` implies `g_j ≠ 0`, so the division is safe.
//!
//! With two tasks there is one possible order and the result is closed form:
//!
//! ```text
//! if g₁·g₂ < 0:  ∇ = g₁ + g₂ − (g₁·g₂)·(g₁/‖g₁‖² + g₂/‖g₂‖²)
//! else:          ∇ = g₁ + g₂
//! ```
//!
//! With K ≥ 3 a later projection (against g_j′) can bring back a conflict with an earlier
//! g_j: after `g″ = g′ − b·g_j′` (b < 0), `g″·g_j = −b·(g_j′·g_j)`, negative when g_j and
//! g_j′ conflict with each other. When the other tasks' gradients do not conflict among
//! themselves, every projection adds `−b·(g_j′·g_j) ≥ 0`, so the final `g_k^PC` has a
//! non-negative dot product with every `g_j` (tested both ways).

use super::diagnostics::cosine_matrix;
use super::grads::{dot, TaskGrads};
use super::StepInfo;
use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::Result;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::seq::SliceRandom;
use ndarray_rand::rand::SeedableRng;

/// Settings of PCGrad.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PcGradConfig {
    /// Seeds the random order of the other tasks.
    pub seed: u64,
}

/// `g ← g − (g·g_j/‖g_j‖²)·g_j` if `g·g_j < 0`; returns whether it projected.
pub fn project_if_conflicting(g: &mut [f32], g_j: &[f32]) -> bool {
    let dot_gj = dot(g, g_j);
    if dot_gj >= 0.0 {
        return false;
    }
    let coef = (dot_gj / dot(g_j, g_j)) as f32; // g·g_j / ‖g_j‖²
    for (x, &y) in g.iter_mut().zip(g_j) {
        *x -= coef * y;
    }
    true
}

/// For each task k, the other tasks in a random order drawn from `rng`.
pub fn random_orders(k: usize, rng: &mut StdRng) -> Vec<Vec<usize>> {
    (0..k)
        .map(|i| {
            let mut o: Vec<usize> = (0..k).filter(|&j| j != i).collect();
            o.shuffle(rng);
            o
        })
        .collect()
}

/// Gradient surgery on the `(K, P)` task gradients `grads` with the given orders:
/// returns the projected `(K, P)` gradients `g_k^PC` and the number of projections made.
pub fn pcgrad_surgery(grads: &[f32], k: usize, orders: &[Vec<usize>]) -> (Vec<f32>, usize) {
    let p = grads.len().checked_div(k).unwrap_or(0);
    let mut out = grads.to_vec(); // (K, P)
    let mut n = 0;
    for (i, order) in orders.iter().enumerate().take(k) {
        let gi = &mut out[i * p..(i + 1) * p];
        for &j in order {
            n += project_if_conflicting(gi, &grads[j * p..(j + 1) * p]) as usize;
        }
    }
    (out, n)
}

/// PCGrad's state: the order generator and the per-task gradient workspace.
#[derive(Clone, Debug)]
pub struct PcGradState {
    pub cfg: PcGradConfig,
    rng: StdRng,
    grads: TaskGrads,
    /// Projections made in the last step (diagnostic).
    pub last_projections: usize,
    /// Steps taken: how far `rng` has advanced (one draw of orders per step), so that a
    /// resumed run can bring a fresh generator to the same point.
    pub steps: u64,
}

impl PcGradState {
    pub fn new(cfg: PcGradConfig) -> PcGradState {
        PcGradState {
            rng: StdRng::seed_from_u64(cfg.seed),
            cfg,
            grads: TaskGrads::new(),
            last_projections: 0,
            steps: 0,
        }
    }

    /// Restarts the order generator from the seed and advances it by `steps` steps of
    /// `k` tasks: the state after those steps, without their gradients.
    pub fn replay(&mut self, k: usize, steps: u64) {
        self.rng = StdRng::seed_from_u64(self.cfg.seed);
        for _ in 0..steps {
            random_orders(k, &mut self.rng);
        }
        self.steps = steps;
    }
}

/// Zeroes `store`; leaves `Σ_k g_k^PC` in the shared dense parameters and `Σ_k ∇θ L_k`
/// in every other parameter. `StepInfo::cosines` holds the task-gradient cosines before
/// surgery.
pub fn pcgrad_backward(
    state: &mut PcGradState,
    g: &mut Graph,
    store: &mut ParamStore,
    losses: &[Var],
    shared: &[ParamId],
) -> Result<StepInfo> {
    let k = losses.len();
    let ones = vec![1.0; k];
    state.grads.compute(g, store, losses, shared, &ones)?;
    let orders = random_orders(k, &mut state.rng);
    state.steps += 1;
    let (projected, n) = pcgrad_surgery(&state.grads.shared, k, &orders); // (K, P)
    state.last_projections = n;
    let p = state.grads.p;
    // ∇_shared = Σ_k g_k^PC                                                     (P,)
    let mut sum = vec![0f32; p];
    for row in projected.chunks_exact(p) {
        for (s, &x) in sum.iter_mut().zip(row) {
            *s += x;
        }
    }
    state.grads.write_shared(store, &sum);
    let mut info = StepInfo::new(0.0, g, losses, ones);
    info.objective = info.task_losses.iter().sum();
    info.cosines = Some(cosine_matrix(&state.grads.shared, k));
    Ok(info)
}
