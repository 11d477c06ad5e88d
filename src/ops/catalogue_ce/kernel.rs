//! The fused kernel: logits block by block, the log-sum-exp of each row, and (when the
//! graph needs gradients) the gradients at `dL = 1` while each block is in cache.
//!
//! ```text
//! rows in blocks of ROW_BLOCK; blocks in G = min(GROUPS, blocks) fixed groups  ← rayon
//!   for each block (rows r0..r1) of the group, in order:
//!     Z   = H[r0..r1] · Eᵀ                      (rb, V)  the task's only big buffer
//!     per row: m = max Z_i;  Z_i ← e^(Z_i − m);  s = Σ Z_i;  lse = m + ln s
//!              term_i = c_i·(lse − z_{i,y_i})
//!     with grads:  Z_i ← c_i·Z_i/s;  Z_{i,y_i} −= c_i          (G of the derivation)
//!                  dH₁[r0..r1] += Z · E          (rb, V)·(V, D)
//!                  dE₁⁽ᵍ⁾     += Zᵀ · H[r0..r1]  (V, rb)·(rb, D)
//! ```
//!
//! The three products are the packed GEMM on the task's thread
//! ([`gemm_accumulate_serial`]): the groups are the parallelism. The split into blocks
//! and groups depends only on N, every sum runs in a fixed order (rows of a block in the
//! GEMM's K order, blocks of a group in order, groups added in order by the backward), so
//! the results are the same bits for any thread count.

use super::exp::{exp_shift_sum, row_max};
use crate::ops::gemm::{gemm_accumulate_serial, Gemm};
use rayon::prelude::*;
use std::cell::RefCell;

/// Rows per logits block: a multiple of the GEMM's 6-row register tile, small enough that
/// a block of a 12k catalogue (36 · 12,101 floats = 1.7 MB) stays near the core.
pub const ROW_BLOCK: usize = 36;
/// Most groups of blocks (parallel tasks); each holds one (V, D) partial of dE.
pub const GROUPS: usize = 8;

thread_local! {
    /// This thread's logits block, grown once to (ROW_BLOCK, V).
    static BLOCK: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// One group's work: its index, its rows of `terms`, and (with gradients) its rows of
/// dH₁ and its dE₁ partial.
type GroupTask<'a> = (usize, &'a mut [f64], Option<(&'a mut [f32], &'a mut [f32])>);

/// Sizes of one fused loss: N rows of H, width D, V catalogue items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CeDims {
    pub n: usize,
    pub d: usize,
    pub v: usize,
}

impl CeDims {
    /// Number of row blocks.
    pub fn blocks(&self) -> usize {
        self.n.div_ceil(ROW_BLOCK)
    }

    /// Number of groups, G (the dE partials).
    pub fn groups(&self) -> usize {
        self.blocks().clamp(1, GROUPS)
    }

    /// First row of group `g` (g in 0..=G).
    pub fn group_row(&self, g: usize) -> usize {
        (g * self.blocks() / self.groups() * ROW_BLOCK).min(self.n)
    }
}

/// Where the forward writes the gradients at `dL = 1`.
pub struct CeGrads<'a> {
    /// `(N, D)`: `G · E`, accumulated (zero on entry).
    pub dh: &'a mut [f32],
    /// `(G, V, D)`: group g's `Gᵀ · H` over its rows, accumulated (zero on entry).
    pub de_parts: &'a mut [f32],
}

/// Returns `L = Σ_i c_i·(lse_i − z_{i,y_i})` and writes each row's term to `terms` (N);
/// with `grads`, also the gradients at `dL = 1` (see the module docs).
///
/// ```text
/// h: (N, D)   cat: (V, D) the catalogue rows of the item matrix
/// classes: (N) in 0..V   coef: (N) the c_i (0 for a masked row)
/// ```
pub fn catalogue_ce_forward(
    terms: &mut [f64],
    grads: Option<CeGrads<'_>>,
    h: &[f32],
    cat: &[f32],
    classes: &[u32],
    coef: &[f32],
    dims: CeDims,
) -> f32 {
    let CeDims { n, d, v } = dims;
    assert!(h.len() == n * d && cat.len() == v * d && classes.len() == n && coef.len() == n);
    let terms = &mut terms[..n];
    let groups = dims.groups();
    // One task per group: its rows of `terms` and dH₁, and its dE₁ partial.
    let mut tasks: Vec<GroupTask<'_>> = Vec::with_capacity(groups);
    let mut rest_t: &mut [f64] = &mut *terms;
    let mut rest_g = grads.map(|g| (g.dh, g.de_parts));
    for g in 0..groups {
        let rows = dims.group_row(g + 1) - dims.group_row(g);
        let (t, tr) = rest_t.split_at_mut(rows);
        rest_t = tr;
        let mine = match rest_g.take() {
            Some((dh, de)) => {
                let (dh_g, dh_r) = dh.split_at_mut(rows * d);
                let (de_g, de_r) = de.split_at_mut(v * d);
                rest_g = Some((dh_r, de_r));
                Some((dh_g, de_g))
            }
            None => None,
        };
        tasks.push((g, t, mine));
    }
    let run = |(g, t, mut gr): GroupTask<'_>| {
        let g0 = dims.group_row(g);
        let g1 = dims.group_row(g + 1);
        BLOCK.with(|buf| {
            let mut buf = buf.borrow_mut();
            for r0 in (g0..g1).step_by(ROW_BLOCK) {
                let r1 = (r0 + ROW_BLOCK).min(g1);
                let rb = r1 - r0;
                if buf.len() < rb * v {
                    buf.resize(rb * v, 0.0);
                }
                let z = &mut buf[..rb * v]; // (rb, V)
                z.fill(0.0);
                let hb = &h[r0 * d..r1 * d]; // (rb, D)
                                             // Z (rb, V) += H_b (rb, D) · Eᵀ (D, V)
                gemm_accumulate_serial(z, hb, cat, Gemm::new(rb, d, v).trans_b(true));
                for (r, zi) in z.chunks_exact_mut(v).enumerate() {
                    let i = r0 + r;
                    let y = classes[i] as usize;
                    let zy = zi[y];
                    let m = row_max(zi);
                    let s = exp_shift_sum(zi, m); // zi ← e^(z − m)
                    let lse = m as f64 + s.ln();
                    t[i - g0] = coef[i] as f64 * (lse - zy as f64);
                    if gr.is_some() {
                        // in the forward this was p = e^(z − m)/s, so now g = c·(p − δ_y)
                        let k = (coef[i] as f64 / s) as f32;
                        zi.iter_mut().for_each(|x| *x *= k);
                        zi[y] -= coef[i];
                    }
                }
                if let Some((dh, de)) = gr.as_mut() {
                    let dhb = &mut dh[(r0 - g0) * d..(r1 - g0) * d]; // (rb, D)
                                                                     // dH₁ (rb, D) += G_b (rb, V) · E (V, D)
                    gemm_accumulate_serial(dhb, z, cat, Gemm::new(rb, v, d));
                    // dE₁⁽ᵍ⁾ (V, D) += G_bᵀ (V, rb) · H_b (rb, D)
                    gemm_accumulate_serial(de, z, hb, Gemm::new(v, rb, d).trans_a(true));
                }
            }
        });
    };
    if groups > 1 && rayon::current_num_threads() > 1 {
        tasks.into_par_iter().for_each(run);
    } else {
        tasks.into_iter().for_each(run);
    }
    // L sums the row terms in row order: the same bits for any thread count
    terms.iter().sum::<f64>() as f32
}
