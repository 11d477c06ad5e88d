//! Frozen parameters: an optimiser wrapper that leaves chosen parameters untouched.
//!
//! [`Frozen`] wraps any [`Optimizer`]. On each step it clears the gradients of the frozen
//! parameters (so a frozen table is not even visited by the lazy row update, and momentum
//! or Adam moments of a frozen parameter stay at zero), keeps a copy of their values, runs
//! the inner step, and writes the copy back. The write-back makes the guarantee exact for
//! every optimiser and every option (weight decay, AdamW's decoupled decay): a frozen
//! parameter is bit for bit the value it had before the step. The cost is one copy of the
//! frozen values per step.
//!
//! Which parameters to freeze comes from `checkpoint::transfer::freeze_groups`.

use super::{OptimState, Optimizer};
use crate::autograd::{ParamId, ParamStore};
use crate::error::Result;

/// An optimiser that skips the parameters `frozen`.
pub struct Frozen {
    inner: Box<dyn Optimizer>,
    frozen: Vec<ParamId>,
    saved: Vec<f32>,
}

impl Frozen {
    /// `inner`, with `frozen` left unchanged by every step.
    pub fn new(inner: Box<dyn Optimizer>, frozen: Vec<ParamId>) -> Frozen {
        Frozen {
            inner,
            frozen,
            saved: Vec::new(),
        }
    }

    /// The frozen parameters.
    pub fn frozen(&self) -> &[ParamId] {
        &self.frozen
    }
}

impl Optimizer for Frozen {
    /// Clears the frozen parameters' gradients, steps `inner`, restores their values.
    fn step(&mut self, store: &mut ParamStore, lr: f32) -> Result<()> {
        self.saved.clear();
        for &id in &self.frozen {
            store.check("Frozen::step", id)?;
            if let Some(g) = store.grad_mut(id) {
                g.fill(0.0);
            }
            if let Some(sg) = store.sparse_grad_mut(id) {
                sg.clear();
            }
            self.saved.extend_from_slice(store.value(id));
        }
        self.inner.step(store, lr)?;
        let mut at = 0;
        for &id in &self.frozen {
            let v = store.value_mut(id);
            let n = v.len();
            v.copy_from_slice(&self.saved[at..at + n]);
            at += n;
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn as_adam_mut(&mut self) -> Option<&mut super::Adam> {
        self.inner.as_adam_mut()
    }

    fn as_sgd_mut(&mut self) -> Option<&mut super::Sgd> {
        self.inner.as_sgd_mut()
    }

    fn frozen(&self) -> &[ParamId] {
        &self.frozen
    }

    fn export_state<'a>(&'a self, store: &ParamStore) -> OptimState<'a> {
        self.inner.export_state(store)
    }

    fn import_state(&mut self, store: &ParamStore, state: &OptimState<'_>) -> Result<()> {
        self.inner.import_state(store, state)
    }
}
