//! Row selection: pick rows of a node by index (a gather from a graph value rather than
//! from an embedding table).
//!
//! ```text
//! forward: y_n = x[idx_n]          x: (R, C), idx: (N,), y: (N, C)
//! ```
//!
//! Sequence models use it to look items up in an item matrix that is itself computed
//! (ID embedding + projected text vector) and to keep only the positions that carry a
//! target before the (N, V) catalogue logits. Indices may repeat and need not be sorted.
//!
//! # Derivation
//!
//! `y_nc = x_{idx_n, c}`, so `∂y_nc/∂x_rc = 1[idx_n = r]` and, summing over the rows that
//! picked r,
//!
//! ```text
//! ∂L/∂x_r = Σ_{n : idx_n = r} dy_n        (dx[idx_n, :] += dy[n, :])
//! ```

use crate::autograd::{one, Graph, Node, Op, Var};
use crate::error::{Error, Result};

/// `out[n, :] = x[idx[n], :]`; `out`: (N, C), `x`: (R, C).
pub fn select_rows_forward(out: &mut [f32], x: &[f32], idx: &[u32], c: usize) {
    for (n, &r) in idx.iter().enumerate() {
        let r = r as usize;
        out[n * c..(n + 1) * c].copy_from_slice(&x[r * c..(r + 1) * c]);
    }
}

/// `dx[idx[n], :] += dout[n, :]`.
pub fn select_rows_backward(dx: &mut [f32], dout: &[f32], idx: &[u32], c: usize) {
    for (n, &r) in idx.iter().enumerate() {
        let r = r as usize;
        dx[r * c..(r + 1) * c]
            .iter_mut()
            .zip(&dout[n * c..(n + 1) * c])
            .for_each(|(g, dy)| *g += dy);
    }
}

impl Graph {
    /// Rows `idx` of `a`: `(R, C) → (idx.len(), C)`; an index ≥ R is an `Error::Index`.
    pub fn select_rows(&mut self, a: Var, idx: &[u32]) -> Result<Var> {
        self.check("select_rows", a)?;
        let (r, c) = self.shape(a);
        if let Some(p) = idx.iter().position(|&i| i as usize >= r) {
            return Err(Error::Index {
                op: "select_rows",
                position: p,
                index: idx[p] as u64,
                bound: r,
            });
        }
        let needs = self.any_grad(&[a]);
        let out = self.push(Op::SelectRows { a }, idx.len(), c, needs);
        let (node, inputs) = self.split(out);
        select_rows_forward(&mut node.value, &inputs[a.index()].value, idx, c);
        node.idx.extend_from_slice(idx);
        Ok(out)
    }
}

pub(crate) fn backward(node: &Node, head: &mut [Node], a: Var) {
    let ia = one(head, a);
    if let Some(dx) = ia.grad {
        select_rows_backward(dx, &node.grad, &node.idx, ia.cols);
    }
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: none (no device lowering yet).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

use crate::ops::registry::{OpKind, SelectRows};
use crate::ops::tape_op::{no_device_lowering, BackwardCx, TapeOp};

impl TapeOp for SelectRows {
    fn kind(&self) -> OpKind {
        OpKind::SelectRows
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.a);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.head, self.a)
    }
    no_device_lowering!();
}
