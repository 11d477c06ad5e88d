//! Embedding gather: look up one table row per sample.
//!
//! ```text
//! forward: y_b = T[idx_b]          T: (V, D), idx: (B,), y: (B, D)
//! ```
//!
//! # Derivation
//!
//! `y_bd = T_{idx_b, d}`, so `∂y_bd/∂T_rd = 1[idx_b = r]` and
//!
//! ```text
//! ∂L/∂T_r = Σ_{b : idx_b = r} dy_b
//! ```
//!
//! Rows no sample looked up get zero gradient, so the gradient is **row-sparse**: the
//! backward adds into [`crate::autograd::SparseGrad`], touching at most B of the V rows.
//!
//! # Reference
//!
//! [`gather_forward_reference`] / [`gather_backward_reference`] (`reference.rs`) copy and
//! add element by element at every width (the backward into a dense table); the `D = 8`
//! fixed-size copy of [`gather_forward`] is tested against them in `tests/h16ref_gather.rs`.

use crate::autograd::{Graph, Node, Op, ParamId, ParamStore, Var};
use crate::error::{Error, Result};

mod reference;
pub use reference::{gather_backward_reference, gather_forward_reference};

/// `out[b, :] = table[idx[b], :]`; `out`: (B, D), `table`: (V, D).
pub fn gather_forward(out: &mut [f32], table: &[f32], idx: &[u32], dim: usize) {
    if dim == 8 {
        // The common embedding width as a fixed-size copy (two vector moves, no memcpy call).
        for (o, &r) in out.chunks_exact_mut(8).zip(idx) {
            let src: &[f32; 8] = table[r as usize * 8..(r as usize + 1) * 8]
                .try_into()
                .expect("8 values");
            o.copy_from_slice(src);
        }
        return;
    }
    for (b, &r) in idx.iter().enumerate() {
        out[b * dim..(b + 1) * dim]
            .copy_from_slice(&table[r as usize * dim..(r as usize + 1) * dim]);
    }
}

/// `dtable[idx[b], :] += dout[b, :]` into a row-sparse gradient.
pub fn gather_backward(
    dtable: &mut crate::autograd::SparseGrad,
    dout: &[f32],
    idx: &[u32],
    width: usize,
) {
    for (b, &r) in idx.iter().enumerate() {
        let row = dtable.row_mut(r);
        row.iter_mut()
            .zip(&dout[b * width..(b + 1) * width])
            .for_each(|(g, dy)| *g += dy);
    }
}

impl Graph {
    /// Rows `idx` of the embedding table `table`: `(idx.len(), D)`.
    pub fn gather(&mut self, store: &ParamStore, table: ParamId, idx: &[u32]) -> Result<Var> {
        store.check("gather", table)?;
        let info = store.info(table);
        if store.sparse_grad(table).is_none() {
            return Err(Error::Handle {
                op: "gather",
                message: format!(
                    "`{}` is a dense parameter; create embedding tables with ParamStore::add_table",
                    info.name
                ),
            });
        }
        let (v, width) = (info.rows, info.cols);
        if let Some(p) = idx.iter().position(|&r| r as usize >= v) {
            return Err(Error::Index {
                op: "gather",
                position: p,
                index: idx[p] as u64,
                bound: v,
            });
        }
        // gather_forward writes every element: no zero-fill first.
        let out = self.push_overwritten(Op::Gather { table }, idx.len(), width, true);
        let computes = self.computes();
        let node = &mut self.nodes[out.index()];
        if computes {
            gather_forward(&mut node.value, store.value(table), idx, width);
        }
        node.idx.extend_from_slice(idx);
        Ok(out)
    }
}

pub(crate) fn backward(node: &Node, store: &mut ParamStore, table: ParamId) {
    if let Some(dt) = store.sparse_grad_mut(table) {
        gather_backward(dt, &node.grad, &node.idx, node.cols);
    }
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: `gather_fwd_f32`, `gather_bwd_f32` (kernels/embedding.cu).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

mod lower;

use crate::ops::registry::{Gather, OpKind};
use crate::ops::tape_op::{device_lowering, BackwardCx, TapeOp};

impl TapeOp for Gather {
    fn kind(&self) -> OpKind {
        OpKind::Gather
    }
    fn each_input(&self, _node: &Node, _f: &mut dyn FnMut(Var)) {
        // no node input: the table's gradient goes to the store
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.store, self.table)
    }
    device_lowering!(lower::forward, lower::backward);
}
