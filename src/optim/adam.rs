//! Adam (Kingma & Ba, 2015) and AdamW (Loshchilov & Hutter, 2019), following PyTorch's
//! `torch.optim.Adam` (L2 weight decay) and `torch.optim.AdamW` (decoupled weight decay).
//!
//! # Update rule
//!
//! Step count t = 1, 2, … (global, one per [`Optimizer::step`]); for every scalar θ with
//! gradient ∇θL, β1, β2 ∈ [0, 1), ε > 0, weight decay λ ≥ 0:
//!
//! ```text
//! Adam  (decoupled = false):  g ← ∇θL + λ·θ            L2 penalty (λ/2)·‖θ‖² in the gradient
//! AdamW (decoupled = true):   g ← ∇θL;  θ ← θ·(1 − lr·λ)   decay applied to θ directly
//! m ← β1·m + (1 − β1)·g                                  first moment, m₀ = 0
//! v ← β2·v + (1 − β2)·g²                                 second moment, v₀ = 0
//! m̂ = m / (1 − β1ᵗ),   v̂ = v / (1 − β2ᵗ)                bias correction
//! θ ← θ − lr·m̂ / (√v̂ + ε)
//! ```
//!
//! Bias correction: unrolling the recursion, `m_t = (1 − β1)·Σ_{i=1..t} β1^(t−i)·g_i`. If the
//! g_i share a mean `E[g]`, then `E[m_t] = E[g]·(1 − β1)·Σ_{j=0..t−1} β1^j = E[g]·(1 − β1ᵗ)`;
//! dividing by (1 − β1ᵗ) removes the bias towards the zero initial value (same for v).
//!
//! Adam vs AdamW: with the L2 form, λ·θ enters m and v and is then divided by √v̂, so
//! parameters with large gradients are decayed less. AdamW shrinks θ by the factor
//! (1 − lr·λ) outside the adaptive scaling, so every parameter decays at the same rate
//! (PyTorch's convention: the decay is multiplied by lr). With λ = 0 both are identical.
//!
//! ## Embedding tables (lazy Adam)
//!
//! Only rows in `SparseGrad::touched()` are updated, with the rule above applied to the
//! row's slices of θ, g, m and v. Untouched rows keep θ, m and v bit for bit (no moment
//! decay, no weight decay), as TensorFlow's `LazyAdam`; the cost is O(touched rows · D).
//! The bias correction still uses the global t, so a row first touched at a late step t
//! moves by about `lr·(1 − β1)/√(1 − β2)·sign(g)` (≈ 3.16·lr for the default betas) rather
//! than dense Adam's first step `lr·sign(g)`.
//!
//! The code computes, per element, exactly (bc1 = 1 − β1ᵗ, bc2 = 1 − β2ᵗ, in f64 then f32):
//! `gi = g + λ·θ (Adam) | θ *= 1 − lr·λ (AdamW); m = β1·m + (1−β1)·gi;
//! v = β2·v + (1−β2)·gi²; θ −= lr·(m/bc1) / (√(v/bc2) + ε)`.

use super::state::State;
use super::{check_lr, check_range, OptimState, Optimizer};
use crate::autograd::{ParamId, ParamStore};
use crate::error::{Error, Result};
use rayon::prelude::*;

/// Hyper-parameters of [`Adam`]. `Default`: β1 = 0.9, β2 = 0.999, ε = 1e-8, λ = 0, Adam.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// β1 ∈ [0, 1), decay of the first moment.
    pub beta1: f32,
    /// β2 ∈ [0, 1), decay of the second moment.
    pub beta2: f32,
    /// ε > 0, added to √v̂.
    pub eps: f32,
    /// λ ≥ 0, weight decay (L2 when `decoupled` is false, AdamW when true).
    pub weight_decay: f32,
    /// `true`: AdamW (decoupled weight decay); `false`: Adam with L2 weight decay.
    pub decoupled: bool,
}

impl Default for AdamConfig {
    fn default() -> AdamConfig {
        AdamConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
        }
    }
}

impl AdamConfig {
    /// AdamW with decoupled weight decay λ and the default betas and ε.
    pub fn adamw(weight_decay: f32) -> AdamConfig {
        AdamConfig {
            weight_decay,
            decoupled: true,
            ..AdamConfig::default()
        }
    }

    /// Checks every field; the error names the field and a valid range.
    pub fn validate(&self) -> Result<()> {
        check_range(
            "beta1",
            self.beta1,
            0.0,
            1.0,
            false,
            "the usual value is 0.9",
        )?;
        check_range(
            "beta2",
            self.beta2,
            0.0,
            1.0,
            false,
            "the usual value is 0.999",
        )?;
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(crate::error::Error::Config {
                what: format!("`eps` = {}", self.eps),
                message: "must be a finite number > 0; the usual value is 1e-8".into(),
            });
        }
        check_range(
            "weight_decay",
            self.weight_decay,
            0.0,
            f32::INFINITY,
            false,
            "use 0 to disable, or e.g. 0.01 for AdamW",
        )
    }
}

/// Adam / AdamW optimiser; see the module documentation for the update rule.
#[derive(Clone, Debug)]
pub struct Adam {
    cfg: AdamConfig,
    /// Global step count t (number of completed steps).
    t: u64,
    /// First moment m, allocated on the first step.
    m: State,
    /// Second moment v, allocated on the first step.
    v: State,
}

impl Adam {
    /// A new optimiser; fails with [`crate::Error::Config`] naming the bad field.
    pub fn new(cfg: AdamConfig) -> Result<Adam> {
        cfg.validate()?;
        Ok(Adam {
            cfg,
            t: 0,
            m: State::default(),
            v: State::default(),
        })
    }

    /// AdamW with decoupled weight decay λ = `weight_decay` and default betas and ε.
    pub fn adamw(weight_decay: f32) -> Result<Adam> {
        Adam::new(AdamConfig::adamw(weight_decay))
    }

    pub fn config(&self) -> &AdamConfig {
        &self.cfg
    }

    /// Number of steps taken so far (t of the last step).
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// First and second moments (m, v) of parameter `id` (row-major, a table's full
    /// `(N, D)`); `None` before the first step or for an id not in `store`.
    pub fn moments(&self, store: &ParamStore, id: ParamId) -> Option<(&[f32], &[f32])> {
        Some((self.m.of(store, id)?, self.v.of(store, id)?))
    }
}

/// Access for a copy of the optimiser that runs elsewhere (`crate::device`).
impl Adam {
    /// Sets the step count t (the device copy took the steps).
    pub(crate) fn set_steps(&mut self, t: u64) {
        self.t = t;
    }

    /// First and second moments of parameter `id`, writable; allocated for `store` if
    /// this optimiser has not stepped yet.
    pub(crate) fn moments_mut(
        &mut self,
        store: &mut ParamStore,
        id: ParamId,
    ) -> Result<(&mut [f32], &mut [f32])> {
        let m = self.m.of_mut(store, id)?;
        let v = self.v.of_mut(store, id)?;
        Ok((m, v))
    }
}

/// Scalars per rayon task of the dense update.
const PAR_CHUNK: usize = 1 << 14;
/// Below this many dense scalars the update stays on the calling thread.
const PAR_MIN: usize = 1 << 16;

/// Per-step scalars shared by every element: lr, bc1 = 1 − β1ᵗ, bc2 = 1 − β2ᵗ.
#[derive(Clone, Copy, Debug)]
pub struct StepScalars {
    /// Learning rate of this step.
    pub lr: f32,
    /// 1 − β1ᵗ.
    pub bc1: f32,
    /// 1 − β2ᵗ.
    pub bc2: f32,
}

/// The Adam / AdamW update on one contiguous run of scalars (a dense block or a table row).
///
/// `theta`, `g`, `m`, `v`: (n,).
pub fn adam_update(
    theta: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    cfg: &AdamConfig,
    s: StepScalars,
) {
    debug_assert!(theta.len() == g.len() && m.len() == g.len() && v.len() == g.len());
    let (b1, b2, eps, wd) = (cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay);
    let (coupled_wd, decay) = if cfg.decoupled {
        (0.0, 1.0 - s.lr * wd)
    } else {
        (wd, 1.0)
    };
    for (((t, &gi), mi), vi) in theta.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let gi = gi + coupled_wd * *t; // Adam: g ← ∇θL + λ·θ
        if cfg.decoupled {
            *t *= decay; // AdamW: θ ← θ·(1 − lr·λ)
        }
        *mi = b1 * *mi + (1.0 - b1) * gi; // m ← β1·m + (1 − β1)·g
        *vi = b2 * *vi + (1.0 - b2) * gi * gi; // v ← β2·v + (1 − β2)·g²
        let m_hat = *mi / s.bc1; // m̂ = m / (1 − β1ᵗ)
        let v_hat = *vi / s.bc2; // v̂ = v / (1 − β2ᵗ)
        *t -= s.lr * m_hat / (v_hat.sqrt() + eps); // θ ← θ − lr·m̂/(√v̂ + ε)
    }
}

impl Optimizer for Adam {
    fn step(&mut self, store: &mut ParamStore, lr: f32) -> Result<()> {
        let name = if self.cfg.decoupled { "AdamW" } else { "Adam" };
        check_lr(name, lr)?;
        self.m.ensure(name, store)?;
        self.v.ensure(name, store)?;
        self.t += 1;
        let t = self.t as f64;
        let s = StepScalars {
            lr,
            bc1: (1.0 - (self.cfg.beta1 as f64).powf(t)) as f32,
            bc2: (1.0 - (self.cfg.beta2 as f64).powf(t)) as f32,
        };
        let cfg = self.cfg;

        // Dense block: one flat loop over (θ, g, m, v), all (P,).
        // Elementwise, so blocks on several threads give the same bits as one loop.
        let (theta, g) = store.dense_mut();
        if theta.len() < PAR_MIN || rayon::current_num_threads() == 1 {
            adam_update(theta, g, &mut self.m.dense, &mut self.v.dense, &cfg, s);
        } else {
            theta
                .par_chunks_mut(PAR_CHUNK)
                .zip(g.par_chunks(PAR_CHUNK))
                .zip(self.m.dense.par_chunks_mut(PAR_CHUNK))
                .zip(self.v.dense.par_chunks_mut(PAR_CHUNK))
                .for_each(|(((t, g), m), v)| adam_update(t, g, m, v, &cfg, s));
        }

        // Tables: touched rows only; row r's state is the same range as its values.
        for (ti, table) in store.tables_mut().iter_mut().enumerate() {
            let grad = &table.grad;
            let (m_tab, v_tab) = (&mut self.m.tables[ti], &mut self.v.tables[ti]); // (N, D) each
            for (k, &r) in grad.touched().iter().enumerate() {
                let g_row = grad.row(k); // (D,)
                let width = g_row.len();
                let range = r as usize * width..(r as usize + 1) * width;
                adam_update(
                    &mut table.value[range.clone()],
                    g_row,
                    &mut m_tab[range.clone()],
                    &mut v_tab[range],
                    &cfg,
                    s,
                );
            }
        }
        Ok(())
    }

    fn as_adam_mut(&mut self) -> Option<&mut Adam> {
        Some(self)
    }

    fn name(&self) -> &'static str {
        if self.cfg.decoupled {
            "adamw"
        } else {
            "adam"
        }
    }

    /// `adam.m/<name>`, `adam.v/<name>` for every parameter (none before the first step)
    /// and the scalar `adam.step` = t.
    fn export_state<'a>(&'a self, store: &ParamStore) -> OptimState<'a> {
        let mut tensors = self.m.export(store, "adam.m");
        tensors.extend(self.v.export(store, "adam.v"));
        let scalars = [("adam.step".to_string(), self.t.to_string())].into();
        OptimState { tensors, scalars }
    }

    fn import_state(&mut self, store: &ParamStore, state: &OptimState<'_>) -> Result<()> {
        let name = if self.cfg.decoupled { "AdamW" } else { "Adam" };
        let fail = |message: String| Error::Config {
            what: format!("{name} state"),
            message,
        };
        let result = (|| {
            let step = state.scalars.get("adam.step").ok_or_else(|| {
                fail("has no `adam.step`; was it written by another optimiser?".into())
            })?;
            let t: u64 = step.parse().map_err(|_| {
                fail(format!(
                    "`adam.step` = {step:?} is not a step count (an integer >= 0)"
                ))
            })?;
            let foreign: Vec<&str> = state
                .tensors
                .iter()
                .map(|x| x.name.as_str())
                .filter(|n| !n.starts_with("adam.m/") && !n.starts_with("adam.v/"))
                .collect();
            if !foreign.is_empty() {
                return Err(fail(format!(
                    "has tensors that are not Adam moments: {foreign:?}; resume with the optimiser that wrote them"
                )));
            }
            let has_m = self.m.import(name, store, "adam.m", &state.tensors)?;
            let has_v = self.v.import(name, store, "adam.v", &state.tensors)?;
            // The moments exist exactly when at least one step was taken.
            if has_m != (t > 0) || has_v != (t > 0) {
                return Err(fail(format!(
                    "`adam.step` = {t} but the moments are {}present (m) and {}present (v); the file is inconsistent",
                    if has_m { "" } else { "not " },
                    if has_v { "" } else { "not " },
                )));
            }
            self.t = t;
            Ok(())
        })();
        if result.is_err() {
            self.t = 0;
            self.m = State::default();
            self.v = State::default();
        }
        result
    }
}
