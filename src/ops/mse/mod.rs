//! Mean squared error.
//!
//! ```text
//! p, y: (B, C)    c: (B,) per-sample coefficients (weights, mask; see `loss`)
//! L = Σ_i c_i · (1/C) Σ_j (p_ij − y_ij)²
//! ```
//!
//! # Derivation
//!
//! `∂(p − y)²/∂p = 2(p − y)`, so with the upstream `dL` (1 for a loss at the root):
//!
//! ```text
//! ∂L/∂p_ij = dL · c_i · (2/C) · (p_ij − y_ij)
//! ```

use crate::autograd::{one, Node, Var};

/// Returns `L` for predictions `p` and targets `y`, both `(b, c)`, coefficients `coef` (b).
pub fn mse_forward(p: &[f32], y: &[f32], coef: &[f32], b: usize, c: usize) -> f32 {
    let mut l = 0f64;
    for i in 0..b {
        let row: f64 = (0..c)
            .map(|j| ((p[i * c + j] - y[i * c + j]) as f64).powi(2))
            .sum();
        l += coef[i] as f64 * row / c as f64;
    }
    l as f32
}

/// `dp += dl · c_i · (2/C) · (p − y)`.
pub fn mse_backward(
    dp: &mut [f32],
    dl: f32,
    p: &[f32],
    y: &[f32],
    coef: &[f32],
    b: usize,
    c: usize,
) {
    for i in 0..b {
        let k = dl * coef[i] * 2.0 / c as f32;
        for j in 0..c {
            dp[i * c + j] += k * (p[i * c + j] - y[i * c + j]);
        }
    }
}

pub(crate) fn backward(node: &Node, head: &mut [Node], pred: Var) {
    let ip = one(head, pred);
    let (b, c) = (ip.rows, ip.cols);
    if let Some(dp) = ip.grad {
        let (coef, y) = node.aux.split_at(b);
        mse_backward(dp, node.grad[0], ip.value, y, coef, b, c);
    }
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: `mse_fwd_f32`, `mse_bwd_f32` (kernels/loss.cu).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

pub(crate) mod lower;

use crate::ops::registry::{Mse, OpKind};
use crate::ops::tape_op::{device_lowering, BackwardCx, TapeOp};

impl TapeOp for Mse {
    fn kind(&self) -> OpKind {
        OpKind::MseLoss
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.pred);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.head, self.pred)
    }
    device_lowering!(lower::forward, lower::backward);
}
