//! The weighted sum of task losses: where multi-task backward starts.
//!
//! ```text
//! L = Σ_k λ_k · L_k        each L_k: (1, 1), λ_k ≥ 0 fixed for this step
//! ```
//!
//! # Derivation
//!
//! L is linear in each task loss: `∂L/∂L_k = λ_k`, so `dL_k += λ_k · dL`. Parameters
//! shared by several tasks then receive `Σ_k λ_k ∂L_k/∂θ` through the ordinary
//! accumulation of the backward pass.

use crate::autograd::{one, Graph, Node, Op, Var};
use crate::error::{check_finite, Dims, Error, Result};

impl Graph {
    /// `Σ_k weights[k] · losses[k]` for `(1, 1)` task losses.
    pub fn weighted_sum(&mut self, losses: &[Var], weights: &[f32]) -> Result<Var> {
        if losses.len() != weights.len() || losses.is_empty() {
            return Err(Error::Length {
                op: "weighted_sum",
                what: "weights".into(),
                len: weights.len(),
                expected: losses.len(),
            });
        }
        for &l in losses {
            self.check("weighted_sum", l)?;
            if self.dims(l) != Dims(1, 1) {
                return Err(Error::Shape {
                    op: "weighted_sum",
                    shapes: vec![self.dims(l)],
                    expected: "(1, 1) task losses".into(),
                });
            }
        }
        check_finite("weighted_sum", "task weight", weights)?;
        let needs = self.any_grad(losses);
        let out = self.push(Op::WeightedSum, 1, 1, needs);
        let (node, inputs) = self.split(out);
        let mut total = 0f64;
        for (&l, &w) in losses.iter().zip(weights) {
            total += w as f64 * inputs[l.index()].value[0] as f64;
            node.idx.push(l.slot);
            node.aux.push(w);
        }
        node.value[0] = total as f32;
        Ok(out)
    }
}

pub(crate) fn backward(node: &Node, head: &mut [Node]) {
    for (&l, &w) in node.idx.iter().zip(&node.aux) {
        if let Some(dl) = one(head, Var::slot(l)).grad {
            dl[0] += w * node.grad[0];
        }
    }
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: `fill_f32`, `axpy_w_f32` (kernels/tape.cu).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

mod lower;

use crate::ops::registry::{OpKind, WeightedSum};
use crate::ops::tape_op::{device_lowering, BackwardCx, TapeOp};

impl TapeOp for WeightedSum {
    fn kind(&self) -> OpKind {
        OpKind::WeightedSum
    }
    fn each_input(&self, node: &Node, f: &mut dyn FnMut(Var)) {
        node.idx.iter().for_each(|&p| f(Var::slot(p)));
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.head)
    }
    device_lowering!(lower::forward, lower::backward);
}
