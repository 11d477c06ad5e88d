//! Matrix–vector products: the `M = 1` or `N = 1` cases of `C += op(A)·op(B)`.
//!
//! A task head's output layer is `(B, D)·(D, 1)`, and its weight gradient
//! `(D, B)·(B, 1)`: a packed GEMM would pad the single column to a 16-wide tile and pack
//! a whole matrix to use each element once. These loops read each matrix element once,
//! contiguously, either as a dot product (16 independent lanes, reduced in a fixed order)
//! or as an axpy over stored rows (vectorised over the output). One thread, so the
//! result is the same for any thread count.

use super::Gemm;

/// Width of the lane-parallel dot product (4 SSE or 2 AVX registers of partial sums).
const LANES: usize = 16;

/// `Σ_p x[p]·y[p]` with LANES partial sums (lane `l` takes `p ≡ l mod LANES`), reduced
/// pairwise in a fixed order, plus the tail in order.
pub(crate) fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (xs, ys) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    let tail: f32 = xs
        .remainder()
        .iter()
        .zip(ys.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (xc, yc) in xs.zip(ys) {
        for ((s, &a), &b) in acc.iter_mut().zip(xc).zip(yc) {
            *s += a * b;
        }
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            acc[l] += acc[l + width];
        }
    }
    acc[0] + tail
}

/// `out += Σ_p w[p] · rows[p]` where `rows` is row-major (len(w), out.len()).
fn axpy_rows(out: &mut [f32], w: &[f32], rows: &[f32]) {
    for (&wp, row) in w.iter().zip(rows.chunks_exact(out.len())) {
        for (o, &r) in out.iter_mut().zip(row) {
            *o += wp * r;
        }
    }
}

/// `out += op(A)·op(B)` when `m == 1` or `n == 1`; returns false (doing nothing) otherwise.
pub(super) fn gemv(out: &mut [f32], a: &[f32], b: &[f32], g: Gemm) -> bool {
    let Gemm {
        m,
        k,
        n,
        trans_a: ta,
        trans_b: tb,
    } = g;
    if n == 1 {
        // op(B) is a K-vector whether stored (K, 1) or (1, K).
        if ta {
            // A stored (K, M): out (M) += Σ_p b[p] · A[p, :]
            axpy_rows(out, b, a);
        } else {
            // out[i] += A[i, :] · b
            for (o, row) in out.iter_mut().zip(a.chunks_exact(k)) {
                *o += dot(row, b);
            }
        }
        true
    } else if m == 1 {
        // op(A) is a K-vector whether stored (1, K) or (K, 1).
        if tb {
            // B stored (N, K): out[j] += B[j, :] · a
            for (o, row) in out.iter_mut().zip(b.chunks_exact(k)) {
                *o += dot(row, a);
            }
        } else {
            // out (N) += Σ_p a[p] · B[p, :]
            axpy_rows(out, a, b);
        }
        true
    } else {
        false
    }
}
