//! Full-softmax cross-entropy over an item catalogue, fused with its logits: the next-item
//! loss of SASRec without the (N, V) logits matrix.
//!
//! ```text
//! H: (N, D) rows h_i      E: (R, D) item matrix; the catalogue is rows first..first+V,
//!                         e_v = E[first + v], v in 0..V
//! y: (N) classes in 0..V  c: (N) per-row coefficients (loss options; 0 = masked row)
//! z_iv = ⟨h_i, e_v⟩                                   never stored beyond one block
//! L = Σ_i c_i·(lse_i − z_{i,y_i}),  lse_i = m_i + ln Σ_v e^(z_iv − m_i),  m_i = max_v z_iv
//! ```
//!
//! The reference twin is the unfused composition `softmax_cross_entropy(H · E_catᵀ)`
//! (and its f64 loops [`catalogue_ce_reference`]); the fused kernel is `kernel.rs`.
//!
//! # Derivation
//!
//! From the softmax cross-entropy (`ops::softmax_ce`), with `p_iv = e^(z_iv − lse_i)`:
//!
//! ```text
//! ∂L/∂z_iv = c_i·(p_iv − δ_{v,y_i}) =: g_iv               G: (N, V)
//! z_iv = Σ_p h_ip·e_vp, so ∂z_iv/∂h_ip = e_vp and ∂z_iv/∂e_vp = h_ip:
//! ∂L/∂h_i = Σ_v g_iv·e_v          dH = G · E_cat     (N, V)·(V, D)
//! ∂L/∂e_v = Σ_i g_iv·h_i          dE_cat = Gᵀ · H    (V, N)·(N, D)
//! ```
//!
//! G is linear in the upstream gradient dL, and L is this op's output, so the forward pass
//! computes the two products at dL = 1 (`dH₁`, and per group of rows `dE₁⁽ᵍ⁾`) while each
//! block of G is in cache, and the backward only scales (as Liger's fused linear
//! cross-entropy does): in the forward this was `dH₁ += G_b · E`, `dE₁⁽ᵍ⁾ += G_bᵀ · H_b`,
//! so now we have
//!
//! ```text
//! dH += dL · dH₁            dE[first + v] += dL · dE₁⁽ᵍ⁾[v]   for g = 0, 1, …, G−1
//! ```
//!
//! Three GEMMs of N·V·D multiply-adds per step (one for z, two for the gradients), as the
//! unfused path, but no (N, V) logits, probabilities or logit gradients in memory, no
//! copy of the catalogue rows, and one exponential per logit.
//!
//! # Reference
//!
//! [`catalogue_ce_reference`] (`reference.rs`): the logits materialised and the formulas
//! above as f64 loops. `tests/s7sasrec_catalogue_ce.rs` holds the fused op to it and to the
//! graph's unfused composition, at sizes past `ROW_BLOCK` and `GROUPS`, with masked rows.

mod exp;
mod kernel;
mod reference;

pub use exp::{exp_nonpositive, exp_shift_sum, row_max};
pub use kernel::{catalogue_ce_forward, CeDims, CeGrads, GROUPS, ROW_BLOCK};
pub use reference::catalogue_ce_reference;

use crate::autograd::{with_two, Node, Var};
use rayon::prelude::*;

/// Item rows per task of the dE reduction in the backward.
const REDUCE_ROWS: usize = 256;

/// Adds `dl · parts[g]` to `de` (V, D) for g = 0, 1, …, G−1 in order, rows in parallel.
///
/// ```text
/// de: (V, D)   parts: (G, V, D)
/// ```
pub fn catalogue_ce_backward_items(de: &mut [f32], dl: f32, parts: &[f32], dims: CeDims) {
    let vd = dims.v * dims.d;
    let chunk = REDUCE_ROWS * dims.d.max(1);
    let add = |(c, out): (usize, &mut [f32])| {
        let (start, len) = (c * chunk, out.len());
        for part in parts.chunks_exact(vd) {
            for (o, &p) in out.iter_mut().zip(&part[start..start + len]) {
                *o += dl * p;
            }
        }
    };
    let de = &mut de[..vd];
    if vd >= 2 * chunk && rayon::current_num_threads() > 1 {
        de.par_chunks_mut(chunk).enumerate().for_each(add);
    } else {
        de.chunks_mut(chunk).enumerate().for_each(add);
    }
}

/// The node's saved state, in `aux`: coefficients (N), then dH₁ (N, D), then the dE₁
/// partials (G, V, D); classes in `idx`.
pub(crate) fn backward(
    node: &Node,
    head: &mut [Node],
    scratch: &mut Vec<f32>,
    h: Var,
    items: Var,
    first: usize,
) {
    let dl = node.grad[0];
    with_two(head, h, items, scratch, |ih, ie| {
        let (n, d) = (ih.rows, ih.cols);
        let dims = CeDims {
            n,
            d,
            v: ie.rows - first,
        };
        let (_, rest) = node.aux.split_at(n);
        let (dh1, parts) = rest.split_at(n * d);
        if let Some(dh) = ih.grad {
            for (g, &s) in dh.iter_mut().zip(dh1) {
                *g += dl * s; // dH += dL · dH₁
            }
        }
        if let Some(de) = ie.grad {
            catalogue_ce_backward_items(&mut de[first * d..], dl, parts, dims);
        }
    });
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: none (no device lowering yet; on a device, record the
// unfused `matmul` + `softmax_cross_entropy`).

use crate::ops::registry::{CatalogueCe, OpKind};
use crate::ops::tape_op::{no_device_lowering, BackwardCx, TapeOp};

impl TapeOp for CatalogueCe {
    fn kind(&self) -> OpKind {
        OpKind::CatalogueCrossEntropyLoss
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.h);
        f(self.items);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.head, cx.scratch, self.h, self.items, self.first)
    }
    no_device_lowering!();
}
