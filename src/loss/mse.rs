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

use super::opts::{check_opts, check_targets, coefficients};
use super::LossOpts;
use crate::autograd::{one, Graph, Node, Op, Var};
use crate::error::{check_finite, Result};

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

impl Graph {
    /// Mean squared error between `pred` (B, C) and `targets` (B·C values), reduced to a
    /// `(1, 1)` scalar with optional per-sample weights and label mask.
    pub fn mse_loss(&mut self, pred: Var, targets: &[f32], opts: LossOpts<'_>) -> Result<Var> {
        self.check("mse_loss", pred)?;
        let (b, c) = self.shape(pred);
        check_targets("mse_loss", targets, b * c)?;
        if self.computes() {
            check_finite("mse_loss", "prediction", self.value(pred))?;
        }
        check_opts("mse_loss", b, opts)?;
        let needs = self.any_grad(&[pred]);
        let out = self.push(Op::Mse { pred }, 1, 1, needs);
        let computes = self.computes();
        let (node, inputs) = self.split(out);
        coefficients(b, opts, &mut node.aux);
        node.aux.extend_from_slice(targets);
        if !computes {
            return Ok(out);
        }
        let (coef, y) = node.aux.split_at(b);
        node.value[0] = mse_forward(&inputs[pred.index()].value, y, coef, b, c);
        Ok(out)
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
