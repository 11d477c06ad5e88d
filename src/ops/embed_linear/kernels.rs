//! The row kernels of the factorised layer: the per-id products U, the lookup sums of
//! the forward pass and the per-id sums of the backward pass.
//!
//! The sums gather whole rows of a matrix at data-dependent row indices. They walk the
//! columns in blocks of W (32 columns; 8 for layers of at most 8 outputs, such as MMoE's
//! gates) with the block's accumulators in registers, so one column strip of the source
//! (rows × W floats) is what must stay in cache. With a row stride of 2 KiB (N = 512)
//! every row of a strip falls into the same few L2 sets and the strip does not stay; wide
//! sources are therefore stored with a padded stride ([`padded`]: N rounded up to 32,
//! plus 16), which spreads a strip over all sets. Measured on the census shapes (29
//! tables, B = 1,024, N = 512, one thread): 1.9 ms for the lookup with a 2 KiB stride,
//! 0.7 ms with the padded one.
//!
//! Each kernel has a portable body (plain loops over fixed-size blocks, the reference)
//! and an AVX2 + FMA twin chosen at run time like the GEMM's micro-kernel.

use crate::ops::gemm::{detect, Kernel};

/// Column block of the wide kernels.
const WIDE: usize = 32;
/// Column block (and whole row) of the narrow kernels, for n ≤ 8.
const NARROW: usize = 8;

/// Row stride of a gathered source with `n` columns: 8 for n ≤ 8 (one block, one row);
/// otherwise a whole number of 32-column blocks (reads of the last block stay inside the
/// row) plus 16 floats (one 64-byte line), so that consecutive rows do not map to the
/// same cache sets. A multiple of 8 (narrow) or 16 (wide): rows stay 32- or 64-byte
/// aligned when the buffer is 64-byte aligned.
pub(super) fn padded(n: usize) -> usize {
    if n <= NARROW {
        NARROW
    } else {
        n.next_multiple_of(WIDE) + 16
    }
}

/// `init + Σ_{j ∈ rows} src[j·ld + c .. + W]`, two accumulator sets (even and odd list
/// positions) for twice the independent add chains, then added.
fn block_sum<const W: usize>(
    init: [f32; W],
    src: &[f32],
    ld: usize,
    c: usize,
    rows: &[u32],
) -> [f32; W] {
    let row = |j: u32| -> &[f32; W] { src[j as usize * ld + c..][..W].try_into().expect("block") };
    let (mut a, mut b) = (init, [0.0f32; W]);
    let mut pairs = rows.chunks_exact(2);
    for p in &mut pairs {
        let (s0, s1) = (row(p[0]), row(p[1]));
        for q in 0..W {
            a[q] += s0[q];
            b[q] += s1[q];
        }
    }
    if let [j] = pairs.remainder() {
        let s0 = row(*j);
        for q in 0..W {
            a[q] += s0[q];
        }
    }
    for q in 0..W {
        a[q] += b[q];
    }
    a
}

/// Lookup: `z_i = bias + Σ_k U[inv[i·nf + k]]` for the rows of `z` (stride n); `u` has
/// row stride `ld = padded(n)`.
fn lookup_body<const W: usize>(
    z: &mut [f32],
    bias: &[f32],
    u: &[f32],
    ld: usize,
    inv: &[u32],
    nf: usize,
    n: usize,
) {
    for c in (0..n).step_by(W) {
        let w = W.min(n - c);
        let mut b0 = [0.0f32; W];
        b0[..w].copy_from_slice(&bias[c..c + w]);
        for (i, zi) in z.chunks_exact_mut(n).enumerate() {
            let acc = block_sum(b0, u, ld, c, &inv[i * nf..(i + 1) * nf]);
            zi[c..c + w].copy_from_slice(&acc[..w]);
        }
    }
}

/// Per-id sums: `s_r = Σ_{i ∈ list[start[r]..start[r+1]]} dz_i` for the rows of `s`
/// (stride n; `start` begins at the first of them); `dz` has row stride `ld`.
fn per_id_body<const W: usize>(
    s: &mut [f32],
    dz: &[f32],
    ld: usize,
    start: &[u32],
    list: &[u32],
    n: usize,
) {
    for c in (0..n).step_by(W) {
        let w = W.min(n - c);
        for (r, sr) in s.chunks_exact_mut(n).enumerate() {
            let l = &list[start[r] as usize..start[r + 1] as usize];
            let acc = block_sum([0.0; W], dz, ld, c, l);
            sr[c..c + w].copy_from_slice(&acc[..w]);
        }
    }
}

/// Products: `U[r] = Σ_q e[r·d + q] · wf[q]` for the rows r of `u` (stride ld; columns
/// past n are set to 0), `e`: (rows, d), `wf`: (d, n).
fn product_body(u: &mut [f32], ld: usize, e: &[f32], width: usize, wf: &[f32], n: usize) {
    for (ur, er) in u.chunks_exact_mut(ld).zip(e.chunks_exact(width)) {
        ur.fill(0.0);
        for (q, &eq) in er.iter().enumerate() {
            for (a, &v) in ur.iter_mut().zip(&wf[q * n..(q + 1) * n]) {
                *a += eq * v;
            }
        }
    }
}

/// The AVX2 + FMA versions: the same loops with a block's accumulators in ymm registers
/// (two sets of W/8) and unchecked row reads. Every read stays inside the buffers the
/// safe bodies index: rows come from the plan (U rows below u_total, samples below B),
/// and reads never pass column `padded(n) ≤ ld` of a row.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    type Acc<const R: usize> = [__m256; R];

    #[inline(always)]
    unsafe fn add_row<const R: usize>(a: &mut Acc<R>, p: *const f32) {
        for (k, v) in a.iter_mut().enumerate() {
            *v = _mm256_add_ps(*v, _mm256_loadu_ps(p.add(8 * k)));
        }
    }

    /// `init + Σ_{j ∈ rows} src[j·ld + c ..]`, even and odd positions in two sets.
    #[inline(always)]
    unsafe fn block_sum<const R: usize>(
        init: Acc<R>,
        src: &[f32],
        ld: usize,
        c: usize,
        rows: &[u32],
    ) -> Acc<R> {
        let base = src.as_ptr().add(c);
        let (mut a, mut b) = (init, [_mm256_setzero_ps(); R]);
        let mut pairs = rows.chunks_exact(2);
        for p in &mut pairs {
            add_row(&mut a, base.add(p[0] as usize * ld));
            add_row(&mut b, base.add(p[1] as usize * ld));
        }
        if let [j] = pairs.remainder() {
            add_row(&mut a, base.add(*j as usize * ld));
        }
        for k in 0..R {
            a[k] = _mm256_add_ps(a[k], b[k]);
        }
        a
    }

    /// Writes the first `dst.len()` (≤ 8·R) lanes of `acc`.
    #[inline(always)]
    unsafe fn store<const R: usize>(dst: &mut [f32], acc: &Acc<R>) {
        if dst.len() == 8 * R {
            for (k, v) in acc.iter().enumerate() {
                _mm256_storeu_ps(dst.as_mut_ptr().add(8 * k), *v);
            }
        } else {
            let mut t = [0.0f32; 32];
            for (k, v) in acc.iter().enumerate() {
                _mm256_storeu_ps(t.as_mut_ptr().add(8 * k), *v);
            }
            let w = dst.len();
            dst.copy_from_slice(&t[..w]);
        }
    }

    /// The first `src.len()` (≤ 8·R) lanes from `src`, zeros after.
    #[inline(always)]
    unsafe fn load<const R: usize>(src: &[f32]) -> Acc<R> {
        let mut t = [0.0f32; 32];
        t[..src.len()].copy_from_slice(src);
        let mut a = [_mm256_setzero_ps(); R];
        for (k, v) in a.iter_mut().enumerate() {
            *v = _mm256_loadu_ps(t.as_ptr().add(8 * k));
        }
        a
    }

    /// `R` ymm registers per set: 4 (32 columns) or 1 (8 columns).
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn lookup<const R: usize>(
        z: &mut [f32],
        bias: &[f32],
        u: &[f32],
        ld: usize,
        inv: &[u32],
        nf: usize,
        n: usize,
    ) {
        for c in (0..n).step_by(8 * R) {
            let w = (8 * R).min(n - c);
            let b0 = load::<R>(&bias[c..c + w]);
            for (i, zi) in z.chunks_exact_mut(n).enumerate() {
                let acc = block_sum(b0, u, ld, c, &inv[i * nf..(i + 1) * nf]);
                store(&mut zi[c..c + w], &acc);
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn per_id<const R: usize>(
        s: &mut [f32],
        dz: &[f32],
        ld: usize,
        start: &[u32],
        list: &[u32],
        n: usize,
    ) {
        for c in (0..n).step_by(8 * R) {
            let w = (8 * R).min(n - c);
            for (r, sr) in s.chunks_exact_mut(n).enumerate() {
                let l = &list[start[r] as usize..start[r + 1] as usize];
                let acc = block_sum([_mm256_setzero_ps(); R], dz, ld, c, l);
                store(&mut sr[c..c + w], &acc);
            }
        }
    }

    /// U rows in full 32-column blocks (FMA with a broadcast of each table value); the
    /// rest of the row by the portable body.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn product(
        u: &mut [f32],
        ld: usize,
        e: &[f32],
        width: usize,
        wf: &[f32],
        n: usize,
    ) {
        let full = n / 32 * 32;
        for (ur, er) in u.chunks_exact_mut(ld).zip(e.chunks_exact(width)) {
            for c in (0..full).step_by(32) {
                let mut a = [_mm256_setzero_ps(); 4];
                for (q, &eq) in er.iter().enumerate() {
                    let bq = _mm256_set1_ps(eq);
                    let row = wf.as_ptr().add(q * n + c);
                    for (k, v) in a.iter_mut().enumerate() {
                        *v = _mm256_fmadd_ps(bq, _mm256_loadu_ps(row.add(8 * k)), *v);
                    }
                }
                store(&mut ur[c..c + 32], &a);
            }
            super::product_tail(ur, er, wf, n, full);
        }
    }
}

/// Columns `c..n` of one U row (fewer than 32), and zeros to the end of the row.
fn product_tail(ur: &mut [f32], er: &[f32], wf: &[f32], n: usize, c: usize) {
    ur[c..].fill(0.0);
    for (q, &eq) in er.iter().enumerate() {
        for (a, &v) in ur[c..n].iter_mut().zip(&wf[q * n + c..(q + 1) * n]) {
            *a += eq * v;
        }
    }
}

/// See `lookup_body`: the forward sums of one chunk of rows.
pub(super) fn lookup(
    z: &mut [f32],
    bias: &[f32],
    u: &[f32],
    ld: usize,
    inv: &[u32],
    nf: usize,
    n: usize,
) {
    let narrow = n <= NARROW;
    match detect() {
        // SAFETY: `detect` returns Avx2Fma only after checking both CPU features; see `avx2`.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma if narrow => unsafe { avx2::lookup::<1>(z, bias, u, ld, inv, nf, n) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma => unsafe { avx2::lookup::<4>(z, bias, u, ld, inv, nf, n) },
        _ if narrow => lookup_body::<NARROW>(z, bias, u, ld, inv, nf, n),
        _ => lookup_body::<WIDE>(z, bias, u, ld, inv, nf, n),
    }
}

/// See `per_id_body`: the backward sums of one chunk of U rows.
pub(super) fn per_id(s: &mut [f32], dz: &[f32], ld: usize, start: &[u32], list: &[u32], n: usize) {
    let narrow = n <= NARROW;
    match detect() {
        // SAFETY: as for `lookup`.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma if narrow => unsafe { avx2::per_id::<1>(s, dz, ld, start, list, n) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma => unsafe { avx2::per_id::<4>(s, dz, ld, start, list, n) },
        _ if narrow => per_id_body::<NARROW>(s, dz, ld, start, list, n),
        _ => per_id_body::<WIDE>(s, dz, ld, start, list, n),
    }
}

/// See `product_body`: U rows of one table.
pub(super) fn product(u: &mut [f32], ld: usize, e: &[f32], width: usize, wf: &[f32], n: usize) {
    match detect() {
        // SAFETY: as for `lookup`.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma => unsafe { avx2::product(u, ld, e, width, wf, n) },
        Kernel::Portable => product_body(u, ld, e, width, wf, n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_sum(src: &[f32], ld: usize, rows: &[u32], n: usize) -> Vec<f32> {
        (0..n)
            .map(|q| rows.iter().map(|&j| src[j as usize * ld + q]).sum())
            .collect()
    }

    /// The kernels (AVX2 where the CPU has it, and the portable bodies) against plain
    /// per-column sums and products, on a wide width with a partial block and on narrow
    /// ones. Integer-valued data: every order of summation gives the same bits.
    #[test]
    fn kernels_match_plain_sums_and_products() {
        for n in [45usize, 64, 8, 3] {
            let (rows, ld) = (7, padded(n));
            let src: Vec<f32> = (0..rows * ld)
                .map(|i| ((i * 37) % 11) as f32 - 5.0)
                .collect();
            let inv: Vec<u32> = vec![3, 1, 6, 0, 2, 5, 5]; // one row of 7 parts
            let bias: Vec<f32> = (0..n).map(|q| q as f32 * 0.5).collect();
            let want: Vec<f32> = naive_sum(&src, ld, &inv, n)
                .iter()
                .zip(&bias)
                .map(|(a, b)| a + b)
                .collect();
            let mut z = vec![0.0; n];
            lookup(&mut z, &bias, &src, ld, &inv, 7, n);
            assert_eq!(z, want, "lookup n={n}");
            z.fill(0.0);
            if n <= NARROW {
                lookup_body::<NARROW>(&mut z, &bias, &src, ld, &inv, 7, n);
            } else {
                lookup_body::<WIDE>(&mut z, &bias, &src, ld, &inv, 7, n);
            }
            assert_eq!(z, want, "portable lookup n={n}");

            let start = [0u32, 3, 3, 7];
            let mut s = vec![1.0; 3 * n];
            per_id(&mut s, &src, ld, &start, &inv, n);
            assert_eq!(
                &s[..n],
                &naive_sum(&src, ld, &inv[..3], n)[..],
                "per_id n={n}"
            );
            assert!(
                s[n..2 * n].iter().all(|&v| v == 0.0),
                "an empty list sums to 0"
            );
            assert_eq!(
                &s[2 * n..],
                &naive_sum(&src, ld, &inv[3..], n)[..],
                "per_id n={n}"
            );

            let (width, ur) = (3, 4);
            let e: Vec<f32> = (0..ur * width).map(|i| (i % 5) as f32 - 2.0).collect();
            let wf: Vec<f32> = (0..width * n).map(|i| (i % 7) as f32 - 3.0).collect();
            let mut u = vec![f32::NAN; ur * ld];
            product(&mut u, ld, &e, width, &wf, n);
            let mut u2 = vec![f32::NAN; ur * ld];
            product_body(&mut u2, ld, &e, width, &wf, n);
            for r in 0..ur {
                for q in 0..ld {
                    let want = if q < n {
                        (0..width).map(|p| e[r * width + p] * wf[p * n + q]).sum()
                    } else {
                        0.0
                    };
                    assert_eq!(u[r * ld + q], want, "product n={n} ({r}, {q})");
                    assert_eq!(u2[r * ld + q], want, "portable product n={n} ({r}, {q})");
                }
            }
        }
    }
}
