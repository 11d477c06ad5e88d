//! The reference matrix product: plain loops, one output row at a time.
//!
//! This is the kernel the packed GEMM is tested against (`tests/gemm.rs`), and the path
//! [`super::gemm`] takes for products too small to repay packing. Each output element is
//! summed in `p = 0..K` order by one thread, so the result is independent of the thread count.

use rayon::prelude::*;

/// Products smaller than this many multiply-adds run on one thread.
const PAR_MIN_FLOPS: usize = 1 << 15;

/// `out += op(A) · op(B)` by plain loops (the reference). `out`: (M, N); `a`: (M, K), or
/// (K, M) if `ta`; `b`: (K, N), or (N, K) if `tb`. Rows of `out` are computed
/// independently (in parallel for large products).
#[allow(clippy::too_many_arguments)]
pub fn matmul_naive(
    out: &mut [f32],
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
) {
    naive_rows(out, a, b, m, k, n, ta, tb, m * n * k >= PAR_MIN_FLOPS);
}

/// [`matmul_naive`] with the choice of threading made by the caller.
#[allow(clippy::too_many_arguments)]
pub(super) fn naive_rows(
    out: &mut [f32],
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
    parallel: bool,
) {
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
