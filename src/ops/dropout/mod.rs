//! Inverted dropout.
//!
//! ```text
//! training:   y = x ⊙ m,   m_ij = 1/(1−p) with probability 1−p, else 0     x, y: (R, C)
//! evaluation: y = x        (no node is recorded)
//! ```
//! Scaling the kept values by 1/(1−p) keeps E[y] = x, so evaluation needs no rescaling.
//! The mask comes from the graph's seeded RNG: the same seed gives the same masks.
//!
//! # Derivation
//!
//! With the mask fixed, y is linear in x: `∂y_ij/∂x_ij = m_ij`, so `∂L/∂x = dy ⊙ m`.

use crate::autograd::{one, Graph, Node, Op, Var};
use crate::error::{Error, Result};
use ndarray_rand::rand::Rng;

/// `out = inp ⊙ mask`.
pub fn dropout_forward(out: &mut [f32], inp: &[f32], mask: &[f32]) {
    for i in 0..out.len() {
        out[i] = inp[i] * mask[i];
    }
}

/// `dinp += dout ⊙ mask`.
pub fn dropout_backward(dinp: &mut [f32], dout: &[f32], mask: &[f32]) {
    for i in 0..dinp.len() {
        dinp[i] += dout[i] * mask[i];
    }
}

impl Graph {
    /// Drops each element with probability `p` in training mode (scaling the rest by
    /// 1/(1−p)); returns `a` itself in evaluation mode or when `p == 0`.
    pub fn dropout(&mut self, a: Var, p: f32) -> Result<Var> {
        self.check("dropout", a)?;
        if !(0.0..1.0).contains(&p) {
            return Err(Error::Value {
                op: "dropout",
                what: "probability p".into(),
                position: 0,
                value: p as f64,
                expected: "0 ≤ p < 1".into(),
            });
        }
        if !self.is_training() || p == 0.0 {
            return Ok(a);
        }
        let (r, c) = self.shape(a);
        let needs = self.any_grad(&[a]);
        let out = self.push(Op::Dropout { a }, r, c, needs);
        let keep = 1.0 / (1.0 - p);
        let mut mask = std::mem::take(&mut self.nodes[out.index()].aux);
        // The stream of `r·c` draws `rng.gen::<f32>()`, in bulk: each draw is one u32 `u`
        // of the generator, giving `(u >> 8)·2⁻²⁴`, so filling u32s and converting them is
        // the same masks as drawing one float at a time, without a call per element. The
        // u32s live in the node's (otherwise unused) `idx` buffer, emptied afterwards.
        let mut bits = std::mem::take(&mut self.nodes[out.index()].idx);
        bits.resize(r * c, 0);
        self.rng.fill(&mut bits[..]);
        let unit = 1.0 / (1u32 << 24) as f32;
        mask.extend(bits.iter().map(|&u| {
            if unit * ((u >> 8) as f32) < p {
                0.0
            } else {
                keep
            }
        }));
        bits.clear();
        let computes = self.computes();
        let (node, inputs) = self.split(out);
        node.aux = mask; // drawn in record-only mode too: the device replays the same masks
        node.idx = bits;
        if computes {
            dropout_forward(&mut node.value, &inputs[a.index()].value, &node.aux);
        }
        Ok(out)
    }
}

pub(crate) fn backward(node: &Node, head: &mut [Node], a: Var) {
    if let Some(da) = one(head, a).grad {
        dropout_backward(da, &node.grad, &node.aux);
    }
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: `dropout_fwd_f32`, `dropout_bwd_f32`
// (kernels/elementwise.cu).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

mod lower;

use crate::ops::registry::{Dropout, OpKind};
use crate::ops::tape_op::{device_lowering, BackwardCx, TapeOp};

impl TapeOp for Dropout {
    fn kind(&self) -> OpKind {
        OpKind::Dropout
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.head, self.a)
    }
    device_lowering!(lower::forward, lower::backward);
}
