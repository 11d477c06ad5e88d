//! Stochastic gradient descent with momentum, Nesterov momentum and weight decay,
//! following PyTorch's `torch.optim.SGD` (dampening 0).
//!
//! # Update rule
//!
//! For every scalar θ with gradient ∇θL, learning rate lr, momentum μ ∈ [0, 1) and weight
//! decay λ ≥ 0:
//!
//! ```text
//! g ← ∇θL + λ·θ                 L2 weight decay: the gradient of L + (λ/2)·‖θ‖²
//! v ← μ·v + g                   velocity; v starts at 0, so v₁ = g₁ (PyTorch's buf = g)
//! d = g + μ·v   if nesterov     look-ahead direction
//! d = v         otherwise       (μ = 0: d = v = g, and no velocity is stored)
//! θ ← θ − lr·d
//! ```
//!
//! Why `g + μ·v` is Nesterov momentum: Sutskever et al. (2013) take the gradient at the
//! look-ahead point θ + μ·v'. Substituting θ' = θ − lr·μ·v (the parameters "already moved
//! by the momentum") and keeping ∇L(θ') ≈ g, the iteration in θ' becomes
//! `v ← μ·v + g; θ' ← θ' − lr·(g + μ·v)`, which is what PyTorch and this file compute.
//!
//! ## Embedding tables (lazy)
//!
//! Only rows listed in `SparseGrad::touched()` are updated, with the same rule applied to
//! the row's slice of θ, g and v. An untouched row keeps its value *and* its velocity (no
//! `v ← μ·v` decay, no weight decay) until it is next touched: the lazy variant, which
//! costs O(touched rows · D) per step. With μ = 0 and λ = 0 it equals dense SGD exactly,
//! since an untouched row's gradient is 0.
//!
//! The code computes, per element, exactly:
//! `gi = g[i] + λ·θ[i]; v[i] = μ·v[i] + gi; θ[i] -= lr·(nesterov ? gi + μ·v[i] : v[i])`.

use super::state::State;
use super::{check_lr, check_range, OptimState, Optimizer};
use crate::autograd::{ParamId, ParamStore};
use crate::error::{Error, Result};

/// Hyper-parameters of [`Sgd`]. `Default` is plain SGD (no momentum, no weight decay).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct SgdConfig {
    /// μ ∈ [0, 1); 0 disables momentum.
    pub momentum: f32,
    /// Nesterov momentum; requires `momentum > 0`.
    pub nesterov: bool,
    /// λ ≥ 0, L2 penalty added to the gradient.
    pub weight_decay: f32,
}

impl SgdConfig {
    /// Checks every field; the error names the field and a valid range.
    pub fn validate(&self) -> Result<()> {
        check_range(
            "momentum",
            self.momentum,
            0.0,
            1.0,
            false,
            "typical values are 0 (plain SGD) or 0.9",
        )?;
        check_range(
            "weight_decay",
            self.weight_decay,
            0.0,
            f32::INFINITY,
            false,
            "use 0 to disable, or a small value such as 1e-4",
        )?;
        if self.nesterov && self.momentum == 0.0 {
            return Err(Error::Config {
                what: "`nesterov` = true".into(),
                message:
                    "needs `momentum` > 0 (it is 0); set momentum (e.g. 0.9) or nesterov = false"
                        .into(),
            });
        }
        Ok(())
    }
}

/// SGD optimiser; see the module documentation for the update rule.
#[derive(Clone, Debug)]
pub struct Sgd {
    cfg: SgdConfig,
    /// Velocity v, allocated on the first step when μ > 0.
    velocity: State,
}

impl Sgd {
    /// A new optimiser; fails with [`Error::Config`] naming the bad field.
    pub fn new(cfg: SgdConfig) -> Result<Sgd> {
        cfg.validate()?;
        Ok(Sgd {
            cfg,
            velocity: State::default(),
        })
    }

    pub fn config(&self) -> &SgdConfig {
        &self.cfg
    }

    /// Whether the velocity exists (a step with momentum was taken, or it was imported).
    pub(crate) fn has_velocity(&self) -> bool {
        self.velocity.sizes.is_some()
    }

    /// The velocity of parameter `id`, writable; allocated for `store` if needed.
    pub(crate) fn velocity_mut(
        &mut self,
        store: &mut ParamStore,
        id: ParamId,
    ) -> Result<&mut [f32]> {
        self.velocity.of_mut(store, id)
    }

    /// Velocity v of parameter `id` (row-major, a table's full `(N, D)`); `None` before the
    /// first step, without momentum, or for an id not in `store`.
    pub fn velocity(&self, store: &ParamStore, id: ParamId) -> Option<&[f32]> {
        self.velocity.of(store, id)
    }
}

/// The SGD update on one contiguous run of scalars (a whole dense block or one table row).
///
/// `theta`, `g`: (n,); `v`: (n,) velocity, or empty when `cfg.momentum == 0`.
pub(crate) fn sgd_update(theta: &mut [f32], g: &[f32], v: &mut [f32], cfg: &SgdConfig, lr: f32) {
    debug_assert_eq!(theta.len(), g.len());
    let (mu, wd) = (cfg.momentum, cfg.weight_decay);
    if mu == 0.0 {
        for (t, &gi) in theta.iter_mut().zip(g) {
            let gi = gi + wd * *t; // g ← ∇θL + λ·θ
            *t -= lr * gi; // θ ← θ − lr·g
        }
        return;
    }
    debug_assert_eq!(v.len(), g.len());
    for ((t, &gi), vi) in theta.iter_mut().zip(g).zip(v.iter_mut()) {
        let gi = gi + wd * *t; // g ← ∇θL + λ·θ
        *vi = mu * *vi + gi; // v ← μ·v + g
        let d = if cfg.nesterov { gi + mu * *vi } else { *vi };
        *t -= lr * d; // θ ← θ − lr·d
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, store: &mut ParamStore, lr: f32) -> Result<()> {
        check_lr("Sgd", lr)?;
        let cfg = self.cfg;
        let has_v = cfg.momentum != 0.0;
        if has_v {
            self.velocity.ensure("Sgd", store)?;
        }
        let mut empty: [f32; 0] = [];

        // Dense block: one flat loop over (θ, g, v).
        let (theta, g) = store.dense_mut(); // (P,), (P,)
        let v: &mut [f32] = if has_v {
            &mut self.velocity.dense
        } else {
            &mut empty
        };
        sgd_update(theta, g, v, &cfg, lr);

        // Tables: touched rows only.
        for (ti, table) in store.tables_mut().iter_mut().enumerate() {
            let grad = &table.grad;
            for (k, &r) in grad.touched().iter().enumerate() {
                let g_row = grad.row(k); // (D,)
                let width = g_row.len();
                let range = r as usize * width..(r as usize + 1) * width;
                let v_row: &mut [f32] = if has_v {
                    &mut self.velocity.tables[ti][range.clone()]
                } else {
                    &mut empty
                };
                sgd_update(&mut table.value[range], g_row, v_row, &cfg, lr);
            }
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        "sgd"
    }

    fn as_sgd_mut(&mut self) -> Option<&mut Sgd> {
        Some(self)
    }

    /// `sgd.velocity/<name>` for every parameter once a step with momentum was taken;
    /// nothing without momentum.
    fn export_state<'a>(&'a self, store: &ParamStore) -> OptimState<'a> {
        OptimState {
            tensors: self.velocity.export(store, "sgd.velocity"),
            scalars: Default::default(),
        }
    }

    fn import_state(&mut self, store: &ParamStore, state: &OptimState<'_>) -> Result<()> {
        let fail = |message: String| Error::Config {
            what: "Sgd state".into(),
            message,
        };
        let foreign: Vec<&str> = state
            .tensors
            .iter()
            .map(|x| x.name.as_str())
            .filter(|n| !n.starts_with("sgd.velocity/"))
            .collect();
        if !foreign.is_empty() {
            self.velocity = State::default();
            return Err(fail(format!(
                "has tensors that are not SGD velocities: {foreign:?}; resume with the optimiser that wrote them"
            )));
        }
        let has_v = self
            .velocity
            .import("Sgd", store, "sgd.velocity", &state.tensors)?;
        if has_v && self.cfg.momentum == 0.0 {
            self.velocity = State::default();
            return Err(fail(
                "has a velocity but this optimiser has momentum 0; resume with the momentum it was trained with".into(),
            ));
        }
        Ok(())
    }
}
