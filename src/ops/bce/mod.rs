//! Binary cross-entropy from logits.
//!
//! ```text
//! z, y: (B, C), y ∈ [0, 1]      c: (B,) per-sample coefficients (see `loss`)
//! ℓ(z, y) = −y·ln σ(z) − (1−y)·ln(1 − σ(z))
//!         = max(z, 0) − z·y + ln(1 + e^(−|z|))          (the form computed)
//! L = Σ_i c_i · (1/C) Σ_j ℓ(z_ij, y_ij)
//! ```
//! The second form never exponentiates a positive number and never takes the log of
//! something that rounds to 0, so it is exact for |z| up to 1e4 and beyond.
//!
//! # Derivation
//!
//! With `ln σ(z) = −ln(1 + e^(−z))` and `ln(1 − σ(z)) = −z − ln(1 + e^(−z))`,
//! `ℓ = (1 − y)·z + ln(1 + e^(−z))`, so
//! `∂ℓ/∂z = (1 − y) − e^(−z)/(1 + e^(−z)) = (1 − y) − (1 − σ(z)) = σ(z) − y`:
//!
//! ```text
//! ∂L/∂z_ij = dL · c_i · (1/C) · (σ(z_ij) − y_ij)
//! ```

use crate::autograd::{one, Node, UnaryFn, Var};
use crate::ops::unary::f as unary_f;

/// ℓ(z, y) in the stable form, in f64.
#[inline]
pub fn bce_term(z: f32, y: f32) -> f64 {
    let (z, y) = (z as f64, y as f64);
    z.max(0.0) - z * y + (-z.abs()).exp().ln_1p()
}

/// Returns L for logits `z` and targets `y`, both `(b, c)`.
pub fn bce_forward(z: &[f32], y: &[f32], coef: &[f32], b: usize, c: usize) -> f32 {
    let mut l = 0f64;
    for i in 0..b {
        let row: f64 = (0..c).map(|j| bce_term(z[i * c + j], y[i * c + j])).sum();
        l += coef[i] as f64 * row / c as f64;
    }
    l as f32
}

/// `dz += dl · c_i · (1/C) · (σ(z) − y)`.
pub fn bce_backward(
    dz: &mut [f32],
    dl: f32,
    z: &[f32],
    y: &[f32],
    coef: &[f32],
    b: usize,
    c: usize,
) {
    for i in 0..b {
        let k = dl * coef[i] / c as f32;
        for j in 0..c {
            dz[i * c + j] += k * (unary_f(UnaryFn::Sigmoid, z[i * c + j]) - y[i * c + j]);
        }
    }
}

pub(crate) fn backward(node: &Node, head: &mut [Node], logits: Var) {
    let iz = one(head, logits);
    let (b, c) = (iz.rows, iz.cols);
    if let Some(dz) = iz.grad {
        let (coef, y) = node.aux.split_at(b);
        bce_backward(dz, node.grad[0], iz.value, y, coef, b, c);
    }
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: `bce_fwd_f32`, `bce_bwd_f32` (kernels/loss.cu).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

mod lower;

use crate::ops::registry::{BceLogits, OpKind};
use crate::ops::tape_op::{device_lowering, BackwardCx, TapeOp};

impl TapeOp for BceLogits {
    fn kind(&self) -> OpKind {
        OpKind::BceWithLogitsLoss
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.logits);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.head, self.logits)
    }
    device_lowering!(lower::forward, lower::backward);
}
