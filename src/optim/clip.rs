//! Gradient clipping by global L2 norm (PyTorch's `clip_grad_norm_`).
//!
//! # Derivation
//!
//! The global norm is taken over every gradient scalar the next optimiser step will read:
//! the dense block and the touched rows of every table (untouched rows have gradient 0
//! and add nothing):
//!
//! ```text
//! ‖g‖ = √( Σ_dense g_i² + Σ_tables Σ_touched rows Σ_j g_rj² )     (summed in f64)
//! ```
//!
//! If ‖g‖ > c (the bound `max_norm`), every gradient is multiplied by one common factor,
//! which keeps the direction of the full gradient and sets its length to (just under) c:
//!
//! ```text
//! s = c / (‖g‖ + 10⁻⁶)       g ← s·g       so ‖s·g‖ = c·‖g‖/(‖g‖ + 10⁻⁶) ≤ c
//! ```
//!
//! The 10⁻⁶ is PyTorch's guard against division by 0. When ‖g‖ ≤ c nothing is changed.
//! The code computes exactly: `norm = sqrt(Σ g²)` in f64 → f32; if `norm > c`,
//! `g *= c / (norm + 1e-6)` on the dense block and on every table's touched rows.

use crate::autograd::ParamStore;
use crate::error::{Error, Result};

/// Global L2 norm of all gradients: dense block and touched table rows (f64 sum).
pub fn grad_norm(store: &ParamStore) -> f32 {
    let sq = |xs: &[f32]| xs.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>();
    let dense = sq(store.dense_grad());
    let tables: f64 = store.tables().iter().map(|t| sq(t.grad.values())).sum();
    (dense + tables).sqrt() as f32
}

/// Scales every gradient by `max_norm / (norm + 1e-6)` when the global L2 norm exceeds
/// `max_norm`; returns the norm measured **before** clipping.
///
/// Errors: `max_norm` not finite or ≤ 0 ([`Error::Config`]); a non-finite gradient norm
/// ([`Error::Value`]: some gradient is NaN or infinite, and scaling would not repair it).
pub fn clip_grad_norm(store: &mut ParamStore, max_norm: f32) -> Result<f32> {
    if !(max_norm.is_finite() && max_norm > 0.0) {
        return Err(Error::Config {
            what: format!("`max_norm` = {max_norm} for gradient clipping"),
            message: "must be a finite number > 0 (e.g. 1.0 or 5.0); to disable clipping, do not call clip_grad_norm".into(),
        });
    }
    let norm = grad_norm(store);
    if !norm.is_finite() {
        return Err(Error::Value {
            op: "clip_grad_norm",
            what: "global gradient L2 norm".into(),
            position: 0,
            value: norm as f64,
            expected: "a finite number; some gradient is NaN or infinite: lower the learning rate or check the inputs and losses".into(),
        });
    }
    if norm > max_norm {
        let s = max_norm / (norm + 1e-6); // s = c / (‖g‖ + 10⁻⁶)
        store.dense_mut().1.iter_mut().for_each(|g| *g *= s);
        for table in store.tables_mut() {
            table.grad.scale(s);
        }
    }
    Ok(norm)
}
