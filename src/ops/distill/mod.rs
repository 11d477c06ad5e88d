//! Knowledge distillation of a binary task: BCE between the student's and the teacher's
//! tempered probabilities, scaled by T² (Hinton, Vinyals & Dean, "Distilling the
//! Knowledge in a Neural Network", 2015).
//!
//! ```text
//! z: (B, C) student logits   z_t: (B, C) teacher logits (constants)   T > 0
//! p_ij = σ(z_t,ij / T)                                  the soft labels (computed once)
//! ℓ(z, p) = T² · bce(z/T, p)
//!         = T² · (max(z/T, 0) − (z/T)·p + ln(1 + e^(−|z/T|)))
//! L = Σ_i c_i · (1/C) Σ_j ℓ(z_ij, p_ij)               c: (B,) as in every loss
//! ```
//!
//! The T² keeps the gradient's scale independent of T: for large T,
//! `σ(z/T) − σ(z_t/T) ≈ (z − z_t)/(4T)`, so without it the gradient would shrink like 1/T².
//!
//! # Derivation
//!
//! With u = z/T, `∂bce(u, p)/∂u = σ(u) − p` (see `ops::bce`) and `∂u/∂z = 1/T`, so
//! `∂ℓ/∂z = T² · (1/T) · (σ(z/T) − p) = T · (σ(z/T) − σ(z_t/T))`:
//!
//! ```text
//! ∂L/∂z_ij = dL · c_i · (1/C) · T · (σ(z_ij/T) − p_ij)
//! ```
//! It is 0 exactly where the student's tempered probability equals the teacher's.

use super::bce::bce_term;
use crate::autograd::{one, Node, UnaryFn, Var};
use crate::ops::unary::f as unary_f;

/// The constants of one distillation loss, stored in its node's `aux` in this order:
/// `coef`, then `p`, then T.
#[derive(Clone, Copy, Debug)]
pub struct SoftTargets<'a> {
    /// Per-row weights c_i: (B,).
    pub coef: &'a [f32],
    /// Soft labels p_ij = σ(z_t,ij / T): (B, C).
    pub p: &'a [f32],
    /// Temperature T > 0.
    pub t: f32,
}

impl<'a> SoftTargets<'a> {
    /// Splits a node's `aux` (coef (B,), p (B, C), T) into its parts.
    pub(crate) fn from_aux(aux: &'a [f32], b: usize, c: usize) -> Self {
        let (coef, rest) = aux.split_at(b);
        let (p, t) = rest.split_at(b * c);
        SoftTargets { coef, p, t: t[0] }
    }
}

/// Returns L for student logits `z` (B, C) against the soft targets `tg`.
pub fn distill_bce_forward(z: &[f32], tg: SoftTargets<'_>, b: usize, c: usize) -> f32 {
    let SoftTargets { coef, p, t } = tg;
    let t2 = (t as f64) * (t as f64);
    let mut l = 0f64;
    for i in 0..b {
        let row: f64 = (0..c)
            .map(|j| t2 * bce_term(z[i * c + j] / t, p[i * c + j]))
            .sum();
        l += coef[i] as f64 * row / c as f64;
    }
    l as f32
}

/// `dz += dl · c_i · (1/C) · T · (σ(z/T) − p)`; `dz`, `z`: (B, C), `dl` = ∂(total)/∂L.
pub fn distill_bce_backward(
    dz: &mut [f32],
    dl: f32,
    z: &[f32],
    tg: SoftTargets<'_>,
    b: usize,
    c: usize,
) {
    let SoftTargets { coef, p, t } = tg;
    for i in 0..b {
        let k = dl * coef[i] * t / c as f32;
        for j in 0..c {
            dz[i * c + j] += k * (unary_f(UnaryFn::Sigmoid, z[i * c + j] / t) - p[i * c + j]);
        }
    }
}

pub(crate) fn backward(node: &Node, head: &mut [Node], logits: Var) {
    let iz = one(head, logits);
    let (b, c) = (iz.rows, iz.cols);
    if let Some(dz) = iz.grad {
        let tg = SoftTargets::from_aux(&node.aux, b, c);
        distill_bce_backward(dz, node.grad[0], iz.value, tg, b, c);
    }
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: none (no device lowering yet).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

use crate::ops::registry::{DistillBce, OpKind};
use crate::ops::tape_op::{no_device_lowering, BackwardCx, TapeOp};

impl TapeOp for DistillBce {
    fn kind(&self) -> OpKind {
        OpKind::DistillBceLoss
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.logits);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.head, self.logits)
    }
    no_device_lowering!();
}
