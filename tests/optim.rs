//! Optimisers, clipping and schedules checked against values computed by hand.
//!
//! Each expected number is derived in a comment from the update rule in the
//! `# Update rule` / `# Derivation` section of the file under test (src/optim/*.rs).
//! One module per file of src/optim; shared helpers are here.

use mtrec::autograd::{ParamId, ParamStore};
use mtrec::optim::*;

#[path = "optim/adam.rs"]
mod adam;
#[path = "optim/clip.rs"]
mod clip;
#[path = "optim/errors.rs"]
mod errors;
#[path = "optim/lazy.rs"]
mod lazy;
#[path = "optim/schedule.rs"]
mod schedule;
#[path = "optim/sgd.rs"]
mod sgd;

pub(crate) const TOL: f32 = 1e-6;

/// A store with one dense parameter `w` of the given values.
pub(crate) fn dense_store(init: &[f32]) -> (ParamStore, ParamId) {
    let mut store = ParamStore::new();
    let w = store.add_dense("w", 1, init.len(), init.to_vec()).unwrap();
    (store, w)
}

pub(crate) fn set_grad(store: &mut ParamStore, id: ParamId, g: &[f32]) {
    store.grad_mut(id).unwrap().copy_from_slice(g);
}

pub(crate) fn assert_all_close(got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= TOL as f64,
            "element {i}: got {g}, expected {w}"
        );
    }
}

/// Runs `opt` for one step per gradient in `grads` with learning rate `lr`.
pub(crate) fn run(
    opt: &mut dyn Optimizer,
    store: &mut ParamStore,
    id: ParamId,
    grads: &[&[f32]],
    lr: f32,
) {
    for g in grads {
        set_grad(store, id, g);
        opt.step(store, lr).unwrap();
    }
}
