//! Optimisers, gradient clipping and learning-rate schedules.
//!
//! An [`Optimizer`] reads the gradients in a [`ParamStore`] and moves its values:
//!
//! - [`Sgd`]: plain, momentum, Nesterov momentum, L2 weight decay (PyTorch `SGD`).
//! - [`Adam`]: Adam with L2 weight decay (PyTorch `Adam`) or decoupled weight decay
//!   (AdamW, PyTorch `AdamW`), chosen by [`AdamConfig::decoupled`].
//! - [`clip_grad_norm`]: rescales all gradients so their global L2 norm is at most a bound.
//! - [`LrSchedule`]: linear warm-up followed by a constant, step or cosine schedule; the
//!   training loop passes `schedule.lr_at(step)` to [`Optimizer::step`].
//!
//! ## Layout of the optimiser state
//!
//! The state mirrors the store (llm.c): one flat `Vec<f32>` for all dense parameters, laid
//! out exactly like [`ParamStore::dense_mut`], so a dense step is one loop over
//! `(θ, g, state)`; and one `Vec<f32>` of the table's full size `(N, D)` per embedding
//! table. It is allocated lazily on the first [`Optimizer::step`], from the store's sizes;
//! stepping a store of a different layout afterwards is an error.
//!
//! ## Dense and row-sparse (lazy) updates
//!
//! Dense parameters are updated every step. Embedding tables have row-sparse gradients
//! ([`crate::autograd::SparseGrad`]): only the rows in `touched()` are read or written,
//! with the same per-element update as a dense parameter, so the step costs
//! O(touched rows · D), never O(N · D). For momentum and Adam this is the *lazy* variant
//! (TensorFlow's `LazyAdam`): the state of an untouched row is left as it is instead of
//! being decayed, and weight decay reaches a row only when the row is touched. Adam's bias
//! correction uses the global step count. See the `# Update rule` sections of [`sgd`] and
//! [`adam`].

pub mod adam;
pub mod clip;
pub mod freeze;
pub mod schedule;
pub mod sgd;
mod state;

pub use adam::{Adam, AdamConfig};
pub use clip::{clip_grad_norm, grad_norm};
pub use freeze::Frozen;
pub use schedule::{LrSchedule, Schedule};
pub use sgd::{Sgd, SgdConfig};

use crate::autograd::ParamStore;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// Something that updates the parameters of a store from their gradients.
pub trait Optimizer {
    /// One update of every parameter in `store` with learning rate `lr`, reading the
    /// current gradients (which are left unchanged). Dense parameters are all updated;
    /// table rows only where the gradient touched them.
    fn step(&mut self, store: &mut ParamStore, lr: f32) -> Result<()>;

    /// Short name for logs and reports (`"sgd"`, `"adam"`, `"adamw"`).
    fn name(&self) -> &'static str;

    /// This optimiser as Adam / AdamW, the optimiser the device step runs (`None` for
    /// the others).
    fn as_adam_mut(&mut self) -> Option<&mut Adam> {
        None
    }

    /// This optimiser as SGD (`None` for the others).
    fn as_sgd_mut(&mut self) -> Option<&mut Sgd> {
        None
    }

    /// The parameters this optimiser leaves unchanged ([`Frozen`]); none by default.
    fn frozen(&self) -> &[crate::autograd::ParamId] {
        &[]
    }

    /// The optimiser's state, for a checkpoint: one tensor per parameter and kind of state
    /// (`adam.m/<name>`, `adam.v/<name>`, `sgd.velocity/<name>`; none before the first
    /// step) and scalars such as Adam's step count. Borrows the state, copies nothing.
    /// The default is an optimiser without state.
    fn export_state<'a>(&'a self, store: &ParamStore) -> OptimState<'a> {
        let _ = store;
        OptimState::default()
    }

    /// Replaces the state by one [`Optimizer::export_state`] gave for a store with the
    /// same parameter names and shapes, so that the next steps equal those of the
    /// optimiser that exported it. Errors name every missing, unexpected or misshapen
    /// tensor; on error the state is as before the first step.
    fn import_state(&mut self, store: &ParamStore, state: &OptimState<'_>) -> Result<()> {
        let _ = store;
        if state.tensors.is_empty() && state.scalars.is_empty() {
            return Ok(());
        }
        Err(Error::Config {
            what: format!("{} optimiser state", self.name()),
            message: "this optimiser keeps no state, but state was given; resume with the optimiser that wrote it".into(),
        })
    }
}

/// One tensor of optimiser state: `name` is `<kind>/<parameter name>` (e.g.
/// `adam.m/mmoe.gate.0.w`), `shape` the parameter's `[rows, cols]`, `values` row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct StateTensor<'a> {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: &'a [f32],
}

/// The complete state of an optimiser (see [`Optimizer::export_state`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptimState<'a> {
    pub tensors: Vec<StateTensor<'a>>,
    /// Scalars as text, e.g. `adam.step` = `"120"` (a u64 does not fit an f32 tensor).
    pub scalars: BTreeMap<String, String>,
}

/// The learning rate must be a finite number ≥ 0 (0 is allowed: a frozen step).
pub(crate) fn check_lr(optimiser: &'static str, lr: f32) -> Result<()> {
    if lr.is_finite() && lr >= 0.0 {
        Ok(())
    } else {
        Err(Error::Config {
            what: format!("learning rate `lr` = {lr} passed to {optimiser}::step"),
            message: "must be a finite number >= 0; check the learning-rate schedule (base_lr, warmup_steps)".into(),
        })
    }
}

/// `value` must be finite and inside `[lo, hi)` (or `[lo, hi]` when `hi_inclusive`).
pub(crate) fn check_range(
    what: &str,
    value: f32,
    lo: f32,
    hi: f32,
    hi_inclusive: bool,
    advice: &str,
) -> Result<()> {
    let ok = value.is_finite()
        && value >= lo
        && if hi_inclusive {
            value <= hi
        } else {
            value < hi
        };
    if ok {
        Ok(())
    } else {
        let close = if hi_inclusive { ']' } else { ')' };
        Err(Error::Config {
            what: format!("`{what}` = {value}"),
            message: format!("must lie in [{lo}, {hi}{close}; {advice}"),
        })
    }
}
