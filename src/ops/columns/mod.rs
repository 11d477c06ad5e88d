//! Column concatenation and column slicing.
//!
//! ```text
//! concat: y = [x¹ | x² | … | xⁿ]      xᵏ: (R, Cₖ)  →  y: (R, Σ Cₖ)
//! slice:  y = x[:, s .. s+L]          x: (R, C)    →  y: (R, L)
//! ```
//! Embedding outputs of many fields are concatenated into one feature row; an expert
//! block `(B, E·D)` is sliced back into experts.
//!
//! # Derivation
//!
//! Both only move values, each output element being one input element:
//!
//! ```text
//! concat: ∂L/∂xᵏ_ij = dy_{i, oₖ+j}    (oₖ = C₁ + … + Cₖ₋₁, the block's column offset)
//! slice:  ∂L/∂x_{i, s+j} += dy_ij, other columns receive nothing
//! ```
//!
//! # Reference
//!
//! [`concat_cols_reference`], [`slice_cols_reference`] and [`copy_cols_backward_reference`]
//! (`reference.rs`) move element by element at every width; the 8-wide copy of
//! [`copy_cols_forward`] is tested against them in `tests/h16ref_columns.rs`.

use crate::autograd::{one, Graph, Node, Op, Var};
use crate::error::{Dims, Error, Result};

mod reference;
pub use reference::{concat_cols_reference, copy_cols_backward_reference, slice_cols_reference};

/// Copies `inp` `(r, c_in)` into columns `off .. off+c_in` of `out` `(r, c_out)`.
pub fn copy_cols_forward(
    out: &mut [f32],
    inp: &[f32],
    r: usize,
    c_out: usize,
    c_in: usize,
    off: usize,
) {
    if c_in == 8 {
        // The common embedding width as a fixed-size copy (no memcpy call per row).
        for i in 0..r {
            let src: [f32; 8] = inp[i * 8..(i + 1) * 8].try_into().expect("8 values");
            out[i * c_out + off..i * c_out + off + 8].copy_from_slice(&src);
        }
        return;
    }
    for i in 0..r {
        out[i * c_out + off..i * c_out + off + c_in]
            .copy_from_slice(&inp[i * c_in..(i + 1) * c_in]);
    }
}

/// `dinp += dout[:, off .. off+c_in]`: the backward of both concat and slice.
pub fn copy_cols_backward(
    dinp: &mut [f32],
    dout: &[f32],
    r: usize,
    c_out: usize,
    c_in: usize,
    off: usize,
) {
    for i in 0..r {
        let src = &dout[i * c_out + off..i * c_out + off + c_in];
        dinp[i * c_in..(i + 1) * c_in]
            .iter_mut()
            .zip(src)
            .for_each(|(d, s)| *d += s);
    }
}

impl Graph {
    /// `[a | b | …]`: inputs side by side; all must have the same number of rows.
    pub fn concat_cols(&mut self, parts: &[Var]) -> Result<Var> {
        if parts.is_empty() {
            return Err(Error::Shape {
                op: "concat_cols",
                shapes: vec![],
                expected: "at least one input".into(),
            });
        }
        for &p in parts {
            self.check("concat_cols", p)?;
        }
        let rows = self.shape(parts[0]).0;
        if parts.iter().any(|&p| self.shape(p).0 != rows) {
            let shapes: Vec<Dims> = parts.iter().map(|&p| self.dims(p)).collect();
            return Err(Error::Shape {
                op: "concat_cols",
                shapes,
                expected: format!("every input to have {rows} rows"),
            });
        }
        let cols: usize = parts.iter().map(|&p| self.shape(p).1).sum();
        let needs = self.any_grad(parts);
        // The parts cover every column: no zero-fill first.
        let out = self.push_overwritten(Op::ConcatCols, rows, cols, needs);
        let computes = self.computes();
        let (node, inputs) = self.split(out);
        let mut off = 0;
        for &p in parts {
            let x = &inputs[p.index()];
            if computes {
                copy_cols_forward(&mut node.value, &x.value, rows, cols, x.cols, off);
            }
            off += x.cols;
            node.idx.push(p.slot);
        }
        Ok(out)
    }

    /// Columns `start .. start+len` of `a`.
    pub fn slice_cols(&mut self, a: Var, start: usize, len: usize) -> Result<Var> {
        self.check("slice_cols", a)?;
        let (r, c) = self.shape(a);
        if start + len > c || len == 0 {
            return Err(Error::Shape {
                op: "slice_cols",
                shapes: vec![Dims(r, c)],
                expected: format!(
                    "a non-empty column range inside 0..{c}, got {start}..{}",
                    start + len
                ),
            });
        }
        let needs = self.any_grad(&[a]);
        let out = self.push(Op::SliceCols { a, start }, r, len, needs);
        if !self.computes() {
            return Ok(out);
        }
        let (node, inputs) = self.split(out);
        let x = &inputs[a.index()].value;
        for i in 0..r {
            node.value[i * len..(i + 1) * len]
                .copy_from_slice(&x[i * c + start..i * c + start + len]);
        }
        Ok(out)
    }
}

pub(crate) fn concat_backward(node: &Node, head: &mut [Node]) {
    let mut off = 0;
    for &p in &node.idx {
        let ip = one(head, Var::slot(p));
        let c_in = ip.cols;
        if let Some(dp) = ip.grad {
            copy_cols_backward(dp, &node.grad, node.rows, node.cols, c_in, off);
        }
        off += c_in;
    }
}

pub(crate) fn slice_backward(node: &Node, head: &mut [Node], a: Var, start: usize) {
    let ia = one(head, a);
    let (r, c) = (ia.rows, ia.cols);
    if let Some(da) = ia.grad {
        // Slice's backward is concat's forward-pattern in reverse: scatter dy into columns start..start+L.
        for i in 0..r {
            let src = &node.grad[i * node.cols..(i + 1) * node.cols];
            da[i * c + start..i * c + start + node.cols]
                .iter_mut()
                .zip(src)
                .for_each(|(d, s)| *d += s);
        }
    }
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: `copy_cols_f32` (kernels/tape.cu); a fused gather:
// `gather_bwd_f32`.
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

mod lower;

use crate::ops::registry::{ConcatCols, OpKind, SliceCols};
use crate::ops::tape_op::{device_lowering, BackwardCx, TapeOp};

impl TapeOp for ConcatCols {
    fn kind(&self) -> OpKind {
        OpKind::ConcatCols
    }
    fn each_input(&self, node: &Node, f: &mut dyn FnMut(Var)) {
        node.idx.iter().for_each(|&p| f(Var::slot(p)));
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        concat_backward(cx.node, cx.head)
    }
    device_lowering!(lower::concat_forward, lower::concat_backward);
}

impl TapeOp for SliceCols {
    fn kind(&self) -> OpKind {
        OpKind::SliceCols
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        slice_backward(cx.node, cx.head, self.a, self.start)
    }
    device_lowering!(lower::slice_forward, lower::slice_backward);
}
