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
pub mod schedule;
pub mod sgd;
mod state;

pub use adam::{Adam, AdamConfig};
pub use clip::{clip_grad_norm, grad_norm};
pub use schedule::{LrSchedule, Schedule};
pub use sgd::{Sgd, SgdConfig};

use crate::autograd::ParamStore;
use crate::error::{Error, Result};

/// Something that updates the parameters of a store from their gradients.
pub trait Optimizer {
    /// One update of every parameter in `store` with learning rate `lr`, reading the
    /// current gradients (which are left unchanged). Dense parameters are all updated;
    /// table rows only where the gradient touched them.
    fn step(&mut self, store: &mut ParamStore, lr: f32) -> Result<()>;

    /// Short name for logs and reports (`"sgd"`, `"adam"`, `"adamw"`).
    fn name(&self) -> &'static str;
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
