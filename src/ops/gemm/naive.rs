//! The reference matrix product: plain loops, one output row at a time.
//!
//! This is the kernel the packed GEMM is tested against (`tests/gemm.rs`), and the path
//! [`super::gemm_accumulate`] takes for products too small to repay packing. Each output element is
//! summed in `p = 0..K` order by one thread, so the result is independent of the thread count.

use super::Gemm;
use rayon::prelude::*;

/// Products smaller than this many multiply-adds run on one thread.
pub(super) const PAR_MIN_FLOPS: usize = 1 << 15;

/// `out += op(A) · op(B)` by plain loops (the reference, [`super::GemmPath::Reference`]),
/// rows of `out` computed independently (in parallel if `parallel`). `out`: (M, N); `a`:
/// (M, K), or (K, M) if `trans_a`; `b`: (K, N), or (N, K) if `trans_b`.
pub(super) fn naive_rows(out: &mut [f32], a: &[f32], b: &[f32], g: Gemm, parallel: bool) {
    let Gemm {
        m,
        k,
        n,
        trans_a: ta,
        trans_b: tb,
    } = g;
    debug_assert_eq!(out.len(), m * n);
    debug_assert_eq!(a.len(), m * k);
    debug_assert_eq!(b.len(), k * n);
    if m == 0 || n == 0 {
        return;
    }
    let row = |i: usize, out_row: &mut [f32]| match (ta, tb) {
        // C[i,:] += Σ_p A[i,p] · B[p,:]   (contiguous axpy over B's rows)
        (false, false) => {
            for p in 0..k {
                let aip = a[i * k + p];
                let b_row = &b[p * n..(p + 1) * n];
                out_row
                    .iter_mut()
                    .zip(b_row)
                    .for_each(|(o, &bv)| *o += aip * bv);
            }
        }
        // C[i,:] += Σ_p A[p,i] · B[p,:]   (A stored (K, M))
        (true, false) => {
            for p in 0..k {
                let api = a[p * m + i];
                let b_row = &b[p * n..(p + 1) * n];
                out_row
                    .iter_mut()
                    .zip(b_row)
                    .for_each(|(o, &bv)| *o += api * bv);
            }
        }
        // C[i,j] += A[i,:] · B[j,:]       (B stored (N, K): dot products of rows)
        (false, true) => {
            let a_row = &a[i * k..(i + 1) * k];
            for (j, o) in out_row.iter_mut().enumerate() {
                let b_row = &b[j * k..(j + 1) * k];
                *o += a_row.iter().zip(b_row).map(|(x, y)| x * y).sum::<f32>();
            }
        }
        // C[i,j] += Σ_p A[p,i] · B[j,p]
        (true, true) => {
            for (j, o) in out_row.iter_mut().enumerate() {
                let b_row = &b[j * k..(j + 1) * k];
                *o += (0..k).map(|p| a[p * m + i] * b_row[p]).sum::<f32>();
            }
        }
    };
    if parallel && m > 1 {
        out.par_chunks_mut(n)
            .enumerate()
            .for_each(|(i, r)| row(i, r));
    } else {
        out.chunks_mut(n).enumerate().for_each(|(i, r)| row(i, r));
    }
}
