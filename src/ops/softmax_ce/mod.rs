//! Softmax cross-entropy with class indices.
//!
//! ```text
//! z: (B, V) logits, y: (B,) class ids in 0..V, c: (B,) per-sample coefficients
//! p_i = softmax(z_i)                                       (saved)
//! L = Σ_i c_i · (−ln p_{i, y_i}) = Σ_i c_i · (ln Σ_v e^(z_iv) − z_{i, y_i})
//! ```
//!
//! # Derivation
//!
//! `∂/∂z_iv ln Σ_u e^(z_iu) = p_iv` and `∂z_{i,y_i}/∂z_iv = δ_{v, y_i}`, so
//!
//! ```text
//! ∂L/∂z_iv = dL · c_i · (p_iv − δ_{v, y_i})
//! ```
//!
//! # Reference
//!
//! [`softmax_ce_forward_reference`] / [`softmax_ce_backward_reference`] (`reference.rs`)
//! are these formulas as plain f64 row loops; the fast paths (rows in parallel above
//! `PAR_MIN`) are tested against them in `tests/h16ref_softmax_ce.rs`.

use crate::autograd::{one, Node, Var};
use rayon::prelude::*;

mod reference;
pub use reference::{softmax_ce_backward_reference, softmax_ce_forward_reference};

/// Rows per rayon task (rows are independent; a row of a large vocabulary is itself a
/// long pass).
const ROWS_PER_TASK: usize = 16;
/// Below this many logits the passes stay on the calling thread.
const PAR_MIN: usize = 1 << 15;

fn parallel(n: usize) -> bool {
    n >= PAR_MIN && rayon::current_num_threads() > 1
}

/// One row: `p = softmax(z)` and the row's term `c·(lse − z_y)`, with
/// `lse = m + ln Σ_u e^(z_u − m)` from the same exponentials (summed in f64), so that
/// −ln p_y never takes the log of a probability rounded to zero.
fn ce_row(p: &mut [f32], z: &[f32], y: usize, c: f32) -> f64 {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut s = 0f64;
    for (o, &x) in p.iter_mut().zip(z) {
        *o = (x - m).exp();
        s += *o as f64;
    }
    let inv = (1.0 / s) as f32;
    p.iter_mut().for_each(|o| *o *= inv);
    let lse = m as f64 + s.ln();
    c as f64 * (lse - z[y] as f64)
}

/// Returns L and writes the softmax probabilities `p` (b, v) and each row's term of L
/// into `terms` (b). Rows run in parallel; L sums the terms in row order, so the result
/// does not depend on the thread count.
pub fn softmax_ce_forward(
    p: &mut [f32],
    terms: &mut [f64],
    z: &[f32],
    classes: &[u32],
    coef: &[f32],
    b: usize,
    v: usize,
) -> f32 {
    let rows = |(t, (pt, tt)): (usize, (&mut [f32], &mut [f64]))| {
        for (r, (pi, ti)) in pt.chunks_exact_mut(v).zip(tt.iter_mut()).enumerate() {
            let i = t * ROWS_PER_TASK + r;
            *ti = ce_row(pi, &z[i * v..(i + 1) * v], classes[i] as usize, coef[i]);
        }
    };
    let (p, terms) = (&mut p[..b * v], &mut terms[..b]);
    if parallel(b * v) {
        p.par_chunks_mut(ROWS_PER_TASK * v)
            .zip(terms.par_chunks_mut(ROWS_PER_TASK))
            .enumerate()
            .for_each(rows);
    } else {
        p.chunks_mut(ROWS_PER_TASK * v)
            .zip(terms.chunks_mut(ROWS_PER_TASK))
            .enumerate()
            .for_each(rows);
    }
    terms.iter().sum::<f64>() as f32
}

/// `dz += dl · c_i · (p − onehot(y))`, rows in parallel.
pub fn softmax_ce_backward(
    dz: &mut [f32],
    dl: f32,
    p: &[f32],
    classes: &[u32],
    coef: &[f32],
    b: usize,
    v: usize,
) {
    let rows = |(t, dt): (usize, &mut [f32])| {
        for (r, di) in dt.chunks_exact_mut(v).enumerate() {
            let i = t * ROWS_PER_TASK + r;
            let k = dl * coef[i];
            for (d, &pu) in di.iter_mut().zip(&p[i * v..(i + 1) * v]) {
                *d += k * pu;
            }
            di[classes[i] as usize] -= k; // the one-hot term
        }
    };
    let dz = &mut dz[..b * v];
    if parallel(b * v) {
        dz.par_chunks_mut(ROWS_PER_TASK * v)
            .enumerate()
            .for_each(rows);
    } else {
        dz.chunks_mut(ROWS_PER_TASK * v).enumerate().for_each(rows);
    }
}

pub(crate) fn backward(node: &Node, head: &mut [Node], logits: Var) {
    let iz = one(head, logits);
    let (b, v) = (iz.rows, iz.cols);
    if let Some(dz) = iz.grad {
        let (coef, p) = node.aux.split_at(b);
        softmax_ce_backward(dz, node.grad[0], p, &node.idx, coef, b, v);
    }
}

// ------------------------------------------------------------------ tape op
//
// Device kernels of its lowering: none yet (no device lowering; the CUDA pair
// `softmax_ce_fwd_f32` / `softmax_ce_bwd_f32` of kernels/loss.cu is not used by it yet).
// They stay in kernels/ and the device tree: several ops share them (docs/adding_an_op.md).

use crate::ops::registry::{OpKind, SoftmaxCe};
use crate::ops::tape_op::{no_device_lowering, BackwardCx, TapeOp};

impl TapeOp for SoftmaxCe {
    fn kind(&self) -> OpKind {
        OpKind::SoftmaxCrossEntropyLoss
    }
    fn each_input(&self, _node: &Node, f: &mut dyn FnMut(Var)) {
        f(self.logits);
    }
    fn backward(&self, cx: BackwardCx<'_>) {
        backward(cx.node, cx.head, self.logits)
    }
    no_device_lowering!();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A problem large enough to split among threads gives the same bits on 1 and 2
    /// threads (rows are independent; the loss sums the row terms in row order), and
    /// matches the two-pass definition.
    #[test]
    fn rows_in_parallel_are_deterministic_and_match_the_definition() {
        let (b, v) = (40, 2000);
        let z: Vec<f32> = (0..b * v)
            .map(|i| ((i * 7919) % 1000) as f32 * 0.01 - 5.0)
            .collect();
        let classes: Vec<u32> = (0..b).map(|i| (i * 37 % v) as u32).collect();
        let coef: Vec<f32> = (0..b).map(|i| 0.5 + (i % 3) as f32 * 0.25).collect();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let (mut p, mut terms, mut dz) = (vec![0.0; b * v], vec![0.0; b], vec![0.0; b * v]);
                let l = softmax_ce_forward(&mut p, &mut terms, &z, &classes, &coef, b, v);
                softmax_ce_backward(&mut dz, 1.0, &p, &classes, &coef, b, v);
                (l, p, dz)
            })
        };
        let (one, two) = (run(1), run(2));
        assert_eq!(one.0.to_bits(), two.0.to_bits());
        assert_eq!(one.1, two.1);
        assert_eq!(one.2, two.2);
        let want: f64 = (0..b)
            .map(|i| {
                let zi = &z[i * v..(i + 1) * v];
                let lse = zi.iter().map(|&x| (x as f64).exp()).sum::<f64>().ln();
                coef[i] as f64 * (lse - zi[classes[i] as usize] as f64)
            })
            .sum();
        assert!(
            (one.0 as f64 - want).abs() <= 1e-5 * want.abs(),
            "{} vs {want}",
            one.0
        );
    }
}
