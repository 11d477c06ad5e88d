//! Softmax cross-entropy with class indices.
//!
//! ```text
//! z: (B, V) logits, y: (B,) class ids in 0..V, c: (B,) per-sample coefficients
//! p_i = softmax(z_i)                                       (saved)
//! L = Σ_i c_i · (−ln p_{i, y_i}) = Σ_i c_i · (ln Σ_v e^(z_iv) − z_{i, y_i})
//! ```
//!
//! # Derivation
//!
//! `∂/∂z_iv ln Σ_u e^(z_iu) = p_iv` and `∂z_{i,y_i}/∂z_iv = δ_{v, y_i}`, so
//!
//! ```text
//! ∂L/∂z_iv = dL · c_i · (p_iv − δ_{v, y_i})
//! ```

use super::opts::coefficients;
use super::LossOpts;
use crate::autograd::{one, Graph, Node, Op, Var};
use crate::error::{check_finite, Error, Result};
use crate::ops::softmax::softmax_row;

/// Returns L and writes the softmax probabilities `p` (b, v).
pub fn softmax_ce_forward(
    p: &mut [f32],
    z: &[f32],
    classes: &[u32],
    coef: &[f32],
    b: usize,
    v: usize,
) -> f32 {
    let mut l = 0f64;
    for i in 0..b {
        let zi = &z[i * v..(i + 1) * v];
        softmax_row(&mut p[i * v..(i + 1) * v], zi);
        // −ln p_y computed as lse − z_y (no log of a rounded-to-zero probability).
        let m = zi.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let lse = m + zi.iter().map(|&x| (x as f64 - m).exp()).sum::<f64>().ln();
        l += coef[i] as f64 * (lse - zi[classes[i] as usize] as f64);
    }
    l as f32
}

/// `dz += dl · c_i · (p − onehot(y))`.
pub fn softmax_ce_backward(
    dz: &mut [f32],
    dl: f32,
    p: &[f32],
    classes: &[u32],
    coef: &[f32],
    b: usize,
    v: usize,
) {
    for i in 0..b {
        let k = dl * coef[i];
        for u in 0..v {
            let onehot = if u == classes[i] as usize { 1.0 } else { 0.0 };
            dz[i * v + u] += k * (p[i * v + u] - onehot);
        }
    }
}

impl Graph {
    /// Cross-entropy of `softmax(logits)` (B, V) against class ids (B), reduced to a
    /// `(1, 1)` scalar with optional per-sample weights and label mask.
    pub fn softmax_cross_entropy(
        &mut self,
        logits: Var,
        classes: &[u32],
        opts: LossOpts<'_>,
    ) -> Result<Var> {
        self.check("softmax_cross_entropy", logits)?;
        let (b, v) = self.shape(logits);
        if classes.len() != b {
            return Err(Error::Length {
                op: "softmax_cross_entropy",
                what: "class ids".into(),
                len: classes.len(),
                expected: b,
            });
        }
        if let Some(i) = classes.iter().position(|&y| y as usize >= v) {
            return Err(Error::Index {
                op: "softmax_cross_entropy",
                position: i,
                index: classes[i] as u64,
                bound: v,
            });
        }
        check_finite("softmax_cross_entropy", "logit", self.value(logits))?;
        let needs = self.any_grad(&[logits]);
        let out = self.push(Op::SoftmaxCe { logits }, 1, 1, needs);
        let (node, inputs) = self.split(out);
        coefficients("softmax_cross_entropy", b, opts, &mut node.aux)?;
        node.aux.resize(b + b * v, 0.0);
        node.idx.extend_from_slice(classes);
        let (coef, p) = node.aux.split_at_mut(b);
        node.value[0] = softmax_ce_forward(p, &inputs[logits.index()].value, classes, coef, b, v);
        Ok(out)
    }
}

pub(crate) fn backward(node: &Node, head: &mut [Node], logits: Var) {
    let iz = one(head, logits);
    let (b, v) = (iz.rows, iz.cols);
    if let Some(dz) = iz.grad {
        let (coef, p) = node.aux.split_at(b);
        softmax_ce_backward(dz, node.grad[0], p, &node.idx, coef, b, v);
    }
}
