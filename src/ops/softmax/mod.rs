//! Row softmax and log-softmax.
//!
//! ```text
//! softmax:      y_ij = exp(x_ij − m_i) / Σ_k exp(x_ik − m_i)        x, y: (R, C)
//! log-softmax:  y_ij = x_ij − m_i − ln Σ_k exp(x_ik − m_i)
//! ```
//! `m_i = max_k x_ik` cancels in exact arithmetic and keeps every exponent ≤ 0, so
//! neither overflows for any finite input.
//!
//! # Derivation
//!
//! Softmax: `∂y_ij/∂x_il = y_ij·(δ_jl − y_il)`, so
//!
//! ```text
//! ∂L/∂x_il = Σ_j dy_ij · y_ij (δ_jl − y_il) = y_il · (dy_il − Σ_j dy_ij y_ij)
//! ```
//!
//! Log-softmax: `∂y_ij/∂x_il = δ_jl − softmax_il`, so
//!
//! ```text
//! ∂L/∂x_il = dy_il − softmax_il · Σ_j dy_ij,    softmax_il = exp(y_il)
//! ```

use crate::autograd::{one, Graph, Node, Op, Var};
use crate::error::Result;

/// Softmax of one row into `out`.
pub fn softmax_row(out: &mut [f32], x: &[f32]) {
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut z = 0f32;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = (v - m).exp();
        z += *o;
    }
    let inv = 1.0 / z;
    out.iter_mut().for_each(|o| *o *= inv);
}

/// `out = softmax(inp)` per row; `(r, c)`.
pub fn softmax_forward(out: &mut [f32], inp: &[f32], r: usize, c: usize) {
    for i in 0..r {
        softmax_row(&mut out[i * c..(i + 1) * c], &inp[i * c..(i + 1) * c]);
    }
}

/// `dinp += y ⊙ (dout − ⟨dout, y⟩_row)` with `y` the forward output.
pub fn softmax_backward(dinp: &mut [f32], dout: &[f32], out: &[f32], r: usize, c: usize) {
    for i in 0..r {
        let (y, dy) = (&out[i * c..(i + 1) * c], &dout[i * c..(i + 1) * c]);
        let dot: f32 = y.iter().zip(dy).map(|(a, b)| a * b).sum();
        for j in 0..c {
            dinp[i * c + j] += y[j] * (dy[j] - dot);
        }
    }
}

/// `out = log_softmax(inp)` per row.
pub fn log_softmax_forward(out: &mut [f32], inp: &[f32], r: usize, c: usize) {
    for i in 0..r {
        let x = &inp[i * c..(i + 1) * c];
        let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let lse = m + x.iter().map(|&v| (v - m).exp()).sum::<f32>().ln();
        out[i * c..(i + 1) * c]
            .iter_mut()
            .zip(x)
            .for_each(|(o, &v)| *o = v - lse);
    }
}

/// `dinp += dout − exp(y)·Σ_row dout` with `y` the forward output.
pub fn log_softmax_backward(dinp: &mut [f32], dout: &[f32], out: &[f32], r: usize, c: usize) {
    for i in 0..r {
        let dy = &dout[i * c..(i + 1) * c];
        let s: f32 = dy.iter().sum();
        for j in 0..c {
            dinp[i * c + j] += dy[j] - out[i * c + j].exp() * s;
        }
    }
}

impl Graph {
    /// Softmax over each row.
    pub fn softmax(&mut self, a: Var) -> Result<Var> {
        self.check("softmax", a)?;
        let (r, c) = self.shape(a);
        let needs = self.any_grad(&[a]);
        let out = self.push(Op::Softmax { a }, r, c, needs);
        if !self.computes() {
            return Ok(out);
        }
        let (node, inputs) = self.split(out);
        softmax_forward(&mut node.value, &inputs[a.index()].value, r, c);
        Ok(out)
    }

    /// Log-softmax over each row.
    pub fn log_softmax(&mut self, a: Var) -> Result<Var> {
        self.check("log_softmax", a)?;
        let (r, c) = self.shape(a);
        let needs = self.any_grad(&[a]);
        let out = self.push(Op::LogSoftmax { a }, r, c, needs);
        if !self.computes() {
            return Ok(out);
        }
        let (node, inputs) = self.split(out);
        log_softmax_forward(&mut node.value, &inputs[a.index()].value, r, c);
        Ok(out)
    }
}

pub(crate) fn softmax_backward_node(node: &Node, head: &mut [Node], a: Var) {
    if let Some(da) = one(head, a).grad {
        softmax_backward(da, &node.grad, &node.value, node.rows, node.cols);
    }
}

pub(crate) fn log_softmax_backward_node(node: &Node, head: &mut [Node], a: Var) {
    if let Some(da) = one(head, a).grad {
        log_softmax_backward(da, &node.grad, &node.value, node.rows, node.cols);
    }
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: `softmax_fwd_f32`, `softmax_bwd_f32`, `log_softmax_fwd_f32`,
// `log_softmax_bwd_f32` (kernels/softmax.cu).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

mod lower;

use crate::ops::registry::{LogSoftmax, OpKind, Softmax};
use crate::ops::tape_op::{device_lowering, BackwardCx, TapeOp};

impl TapeOp for Softmax {
    fn kind(&self) -> OpKind {
        OpKind::Softmax
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        softmax_backward_node(cx.node, cx.head, self.a)
    }
    device_lowering!(lower::softmax_forward, lower::softmax_backward);
}

impl TapeOp for LogSoftmax {
    fn kind(&self) -> OpKind {
        OpKind::LogSoftmax
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        log_softmax_backward_node(cx.node, cx.head, self.a)
    }
    device_lowering!(lower::log_softmax_forward, lower::log_softmax_backward);
}
