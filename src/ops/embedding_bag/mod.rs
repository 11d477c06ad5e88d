//! Embedding bag: the **mean** of a variable-length bag of table rows per sample
//! (multi-hot features: a movie's genres, a user's recent items).
//!
//! ```text
//! forward: y_b = (1/n_b) Σ_{j = o_b}^{o_{b+1}−1} T[ids_j]      T: (V, D), y: (B, D)
//!          n_b = o_{b+1} − o_b;  an empty bag (n_b = 0) gives y_b = 0
//! ```
//!
//! The bags are given CSR-style: `offsets` (B + 1) with `offsets[0] = 0`, non-decreasing,
//! `offsets[B] = ids.len()`; bag b is `ids[offsets[b]..offsets[b+1]]`. An id may repeat
//! within a bag; it then counts as often as it appears.
//!
//! # Derivation
//!
//! Let `c_br` be the number of times row r occurs in bag b. Then
//! `y_bd = (1/n_b) Σ_r c_br T_rd`, so `∂y_bd/∂T_rd = c_br / n_b` (and 0 across columns), and
//!
//! ```text
//! ∂L/∂T_r = Σ_b (c_br / n_b) · dy_b
//! ```
//!
//! An empty bag has no ids and contributes nothing. The code walks each occurrence
//! once, so the `c_br` copies of a repeated id each add their share:
//!
//! ```text
//! for j in o_b..o_{b+1}:   dT[ids_j] += dy_b · (1/n_b)
//! ```
//!
//! Only rows that occur in some bag are touched: the gradient is **row-sparse**
//! ([`crate::autograd::SparseGrad`]), as for `gather` (which is the bag of size 1).

use crate::autograd::{Graph, Node, Op, ParamId, ParamStore, SparseGrad, Var};
use crate::error::{Error, Result};

/// `out[b, :] = mean of table[ids[j], :]` for `j` in bag b (zeros for an empty bag).
///
/// `out`: (B, D), `table`: (V, D), `offsets`: (B + 1), `ids`: (offsets[B]).
pub fn embedding_bag_forward(
    out: &mut [f32],
    table: &[f32],
    offsets: &[u32],
    ids: &[u32],
    width: usize,
) {
    for (b, o) in offsets.windows(2).enumerate() {
        let y = &mut out[b * width..(b + 1) * width]; // (D,)
        y.fill(0.0);
        let bag = &ids[o[0] as usize..o[1] as usize];
        if bag.is_empty() {
            continue;
        }
        for &r in bag {
            let row = &table[r as usize * width..(r as usize + 1) * width];
            y.iter_mut().zip(row).for_each(|(a, t)| *a += t);
        }
        let inv = 1.0 / bag.len() as f32;
        y.iter_mut().for_each(|a| *a *= inv);
    }
}

/// `dtable[ids[j], :] += dout[b, :] / n_b` for every occurrence j of bag b, into a
/// row-sparse gradient. `dout`: (B, D).
pub fn embedding_bag_backward(
    dtable: &mut SparseGrad,
    dout: &[f32],
    offsets: &[u32],
    ids: &[u32],
    width: usize,
) {
    for (b, o) in offsets.windows(2).enumerate() {
        let bag = &ids[o[0] as usize..o[1] as usize];
        if bag.is_empty() {
            continue;
        }
        // in the forward pass this was y_b = (1/n_b) Σ_j T[ids_j], so dT[ids_j] += dy_b / n_b
        let inv = 1.0 / bag.len() as f32;
        let dy = &dout[b * width..(b + 1) * width];
        for &r in bag {
            dtable
                .row_mut(r)
                .iter_mut()
                .zip(dy)
                .for_each(|(g, dy)| *g += dy * inv);
        }
    }
}

/// Checks CSR bag boundaries: `offsets[0] = 0`, non-decreasing, `offsets[B] = n_ids`.
pub fn check_offsets(op: &'static str, offsets: &[u32], n_ids: usize) -> Result<()> {
    let expected = format!(
        "bag boundaries with offsets[0] = 0, non-decreasing, and the last = ids.len() = {n_ids}"
    );
    let bad = |position: usize, value: u32| Error::Value {
        op,
        what: "offsets".into(),
        position,
        value: value as f64,
        expected: expected.clone(),
    };
    let Some((&last, _)) = offsets.split_last() else {
        return Err(Error::Length {
            op,
            what: "offsets (B + 1 bag boundaries)".into(),
            len: 0,
            expected: 1,
        });
    };
    if offsets[0] != 0 {
        return Err(bad(0, offsets[0]));
    }
    if let Some(i) = offsets.windows(2).position(|w| w[1] < w[0]) {
        return Err(bad(i + 1, offsets[i + 1]));
    }
    if last as usize != n_ids {
        return Err(bad(offsets.len() - 1, last));
    }
    Ok(())
}

impl Graph {
    /// The mean of the table rows of each bag: `(B, D)` with `B = offsets.len() − 1`;
    /// bag b is `ids[offsets[b]..offsets[b+1]]` and an empty bag gives a zero row.
    ///
    /// Errors: `table` is not an embedding table; malformed `offsets` (see
    /// [`check_offsets`]); an id ≥ V (`Error::Index` with its position in `ids`).
    pub fn embedding_bag(
        &mut self,
        store: &ParamStore,
        table: ParamId,
        offsets: &[u32],
        ids: &[u32],
    ) -> Result<Var> {
        store.check("embedding_bag", table)?;
        let info = store.info(table);
        if store.sparse_grad(table).is_none() {
            return Err(Error::Handle {
                op: "embedding_bag",
                message: format!(
                    "`{}` is a dense parameter; create embedding tables with ParamStore::add_table",
                    info.name
                ),
            });
        }
        let (v, width) = (info.rows, info.cols);
        check_offsets("embedding_bag", offsets, ids.len())?;
        if let Some(p) = ids.iter().position(|&r| r as usize >= v) {
            return Err(Error::Index {
                op: "embedding_bag",
                position: p,
                index: ids[p] as u64,
                bound: v,
            });
        }
        let b = offsets.len() - 1;
        let out = self.push(Op::EmbeddingBag { table }, b, width, true);
        let computes = self.computes();
        let node = &mut self.nodes[out.index()];
        if computes {
            embedding_bag_forward(&mut node.value, store.value(table), offsets, ids, width);
            // (B, D)
        }
        // Saved for backward: offsets (B + 1), then ids.
        node.idx.extend_from_slice(offsets);
        node.idx.extend_from_slice(ids);
        Ok(out)
    }
}

pub(crate) fn backward(node: &Node, store: &mut ParamStore, table: ParamId) {
    let (offsets, ids) = node.idx.split_at(node.rows + 1);
    if let Some(dt) = store.sparse_grad_mut(table) {
        embedding_bag_backward(dt, &node.grad, offsets, ids, node.cols);
    }
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: `embedding_bag_fwd_f32`, `embedding_bag_bwd_f32`
// (kernels/embedding.cu).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

mod lower;

use crate::ops::registry::{EmbeddingBag, OpKind};
use crate::ops::tape_op::{device_lowering, BackwardCx, TapeOp};

impl TapeOp for EmbeddingBag {
    fn kind(&self) -> OpKind {
        OpKind::EmbeddingBag
    }
    fn each_input(&self, _node: &Node, _f: &mut dyn FnMut(Var)) {
        // no node input: the table's gradient goes to the store
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.store, self.table)
    }
    device_lowering!(lower::forward, lower::backward);
}
