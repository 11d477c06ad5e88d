//! Sums and means over all elements, each row, or each column.
//!
//! ```text
//! All:  y = s·Σ_ij x_ij        (R, C) → (1, 1)
//! Rows: y_i = s·Σ_j x_ij       (R, C) → (R, 1)
//! Cols: y_j = s·Σ_i x_ij       (R, C) → (1, C)
//! s = 1 for a sum; s = 1/n for a mean over the n summed elements (RC, C or R).
//! ```
//!
//! # Derivation
//!
//! Every summed element enters its output with coefficient s, so `∂y/∂x_ij = s` for the
//! one output it feeds; the gradient broadcasts back along the reduced axis:
//!
//! ```text
//! All:  ∂L/∂x_ij = s·dy        Rows: ∂L/∂x_ij = s·dy_i        Cols: ∂L/∂x_ij = s·dy_j
//! ```
//! with s = 1 (sum), 1/(RC), 1/C or 1/R (mean).

use crate::autograd::{one, Axis, Graph, Node, Op, Var};
use crate::error::Result;

/// Output shape of a reduction of an `(r, c)` input.
pub fn reduced_dims(r: usize, c: usize, axis: Axis) -> (usize, usize) {
    match axis {
        Axis::All => (1, 1),
        Axis::Rows => (r, 1),
        Axis::Cols => (1, c),
    }
}

/// The factor s: 1 for a sum, 1/(number of reduced elements) for a mean.
pub fn mean_scale(r: usize, c: usize, axis: Axis) -> f32 {
    let n = match axis {
        Axis::All => r * c,
        Axis::Rows => c,
        Axis::Cols => r,
    };
    if n == 0 {
        0.0
    } else {
        1.0 / n as f32
    }
}

/// `out = s·Σ inp` along `axis` (accumulated in f64, then rounded once).
pub fn reduce_forward(out: &mut [f32], inp: &[f32], r: usize, c: usize, axis: Axis, s: f32) {
    match axis {
        Axis::All => out[0] = (inp.iter().map(|&x| x as f64).sum::<f64>() * s as f64) as f32,
        Axis::Rows => {
            for (i, o) in out.iter_mut().enumerate() {
                *o = (inp[i * c..(i + 1) * c]
                    .iter()
                    .map(|&x| x as f64)
                    .sum::<f64>()
                    * s as f64) as f32;
            }
        }
        Axis::Cols => {
            let mut acc = vec![0f64; c];
            for row in inp.chunks(c.max(1)).take(r) {
                acc.iter_mut().zip(row).for_each(|(a, &x)| *a += x as f64);
            }
            out.iter_mut()
                .zip(&acc)
                .for_each(|(o, a)| *o = (a * s as f64) as f32);
        }
    }
}

/// `dinp += s·dout` broadcast back along `axis`.
pub fn reduce_backward(dinp: &mut [f32], dout: &[f32], r: usize, c: usize, axis: Axis, s: f32) {
    for i in 0..r {
        for j in 0..c {
            let width = match axis {
                Axis::All => dout[0],
                Axis::Rows => dout[i],
                Axis::Cols => dout[j],
            };
            dinp[i * c + j] += s * width;
        }
    }
}

fn record(g: &mut Graph, a: Var, axis: Axis, mean: bool) -> Result<Var> {
    g.check(if mean { "mean" } else { "sum" }, a)?;
    let (r, c) = g.shape(a);
    let (orows, ocols) = reduced_dims(r, c, axis);
    let s = if mean { mean_scale(r, c, axis) } else { 1.0 };
    let op = if mean {
        Op::Mean { a, axis }
    } else {
        Op::Sum { a, axis }
    };
    let needs = g.any_grad(&[a]);
    let out = g.push(op, orows, ocols, needs);
    if !g.computes() {
        return Ok(out);
    }
    let (node, inputs) = g.split(out);
    reduce_forward(&mut node.value, &inputs[a.index()].value, r, c, axis, s);
    Ok(out)
}

impl Graph {
    /// Sum over all elements, each row or each column.
    pub fn sum(&mut self, a: Var, axis: Axis) -> Result<Var> {
        record(self, a, axis, false)
    }

    /// Mean over all elements, each row or each column.
    pub fn mean(&mut self, a: Var, axis: Axis) -> Result<Var> {
        record(self, a, axis, true)
    }
}

fn backward_scaled(node: &Node, head: &mut [Node], a: Var, axis: Axis, mean: bool) {
    let ia = one(head, a);
    let s = if mean {
        mean_scale(ia.rows, ia.cols, axis)
    } else {
        1.0
    };
    if let Some(da) = ia.grad {
        reduce_backward(da, &node.grad, ia.rows, ia.cols, axis, s);
    }
}

pub(crate) fn sum_backward(node: &Node, head: &mut [Node], a: Var, axis: Axis) {
    backward_scaled(node, head, a, axis, false)
}

pub(crate) fn mean_backward(node: &Node, head: &mut [Node], a: Var, axis: Axis) {
    backward_scaled(node, head, a, axis, true)
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: `reduce_fwd_f32`, `reduce_bwd_f32` (kernels/reduce.cu).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

mod lower;

use crate::ops::registry::{Mean, OpKind, Sum};
use crate::ops::tape_op::{device_lowering, BackwardCx, TapeOp};

impl TapeOp for Sum {
    fn kind(&self) -> OpKind {
        match self.axis {
            Axis::All => OpKind::SumAll,
            Axis::Rows => OpKind::SumRows,
            Axis::Cols => OpKind::SumCols,
        }
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        sum_backward(cx.node, cx.head, self.a, self.axis)
    }
    device_lowering!(lower::sum_forward, lower::sum_backward);
}

impl TapeOp for Mean {
    fn kind(&self) -> OpKind {
        match self.axis {
            Axis::All => OpKind::MeanAll,
            Axis::Rows => OpKind::MeanRows,
            Axis::Cols => OpKind::MeanCols,
        }
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        mean_backward(cx.node, cx.head, self.a, self.axis)
    }
    device_lowering!(lower::mean_forward, lower::mean_backward);
}
