//! The row kernels of the factorised layer: the per-id products U, the lookup sums of
//! the forward pass and the per-id sums of the backward pass.
//!
//! The sums gather whole rows of a matrix at data-dependent row indices. They walk the
//! columns in blocks of [`BLOCK`] with the block's accumulators in registers, so one
//! column strip of the source (rows × 128 bytes) is what must stay in cache. With a row
//! stride of 2 KiB (N = 512) every row of a strip falls into the same few L2 sets and the
//! strip does not stay; the sources are therefore stored with a padded stride
//! [`padded`] (N rounded up to BLOCK, plus 16), which spreads a strip over all sets.
//! Measured on the census shapes (29 tables, B = 1,024, N = 512, one thread): 1.9 ms for
//! the lookup with a 2 KiB stride, 0.7 ms with the padded one.
//!
//! Each kernel has a portable body (plain loops over fixed-size blocks, the reference)
//! and an AVX2 + FMA twin chosen at run time like the GEMM's micro-kernel.

use crate::ops::gemm::{detect, Kernel};

/// Columns per register block.
pub(super) const BLOCK: usize = 32;

/// Row stride of a gathered source with `n` columns: a whole number of blocks (reads of
/// the last block stay inside the row) plus 16 floats (one 64-byte line), so that
/// consecutive rows do not map to the same cache sets. A multiple of 16: rows stay
/// 64-byte aligned when the buffer is.
pub(super) fn padded(n: usize) -> usize {
    n.next_multiple_of(BLOCK) + 16
}

/// `init + Σ_{j ∈ rows} src[j·ld + c .. + BLOCK]`, two accumulator sets (even and odd
/// list positions) for twice the independent add chains, then added.
fn block_sum(init: [f32; BLOCK], src: &[f32], ld: usize, c: usize, rows: &[u32]) -> [f32; BLOCK] {
    let (mut a, mut b) = (init, [0.0f32; BLOCK]);
    let mut pairs = rows.chunks_exact(2);
    for p in &mut pairs {
        let s0: &[f32; BLOCK] = src[p[0] as usize * ld + c..][..BLOCK]
            .try_into()
            .expect("block");
        let s1: &[f32; BLOCK] = src[p[1] as usize * ld + c..][..BLOCK]
            .try_into()
            .expect("block");
        for q in 0..BLOCK {
            a[q] += s0[q];
            b[q] += s1[q];
        }
    }
    if let [j] = pairs.remainder() {
        let s0: &[f32; BLOCK] = src[*j as usize * ld + c..][..BLOCK]
            .try_into()
            .expect("block");
        for q in 0..BLOCK {
            a[q] += s0[q];
        }
    }
    for q in 0..BLOCK {
        a[q] += b[q];
    }
    a
}

/// Lookup: `z_i = bias + Σ_k U[inv[i·nf + k]]` for the rows of `z` (stride n); `u` has
/// row stride `ld = padded(n)`.
fn lookup_body(
    z: &mut [f32],
    bias: &[f32],
    u: &[f32],
    ld: usize,
    inv: &[u32],
    nf: usize,
    n: usize,
) {
    for c in (0..n).step_by(BLOCK) {
        let w = BLOCK.min(n - c);
        let mut b0 = [0.0f32; BLOCK];
        b0[..w].copy_from_slice(&bias[c..c + w]);
        for (i, zi) in z.chunks_exact_mut(n).enumerate() {
            let acc = block_sum(b0, u, ld, c, &inv[i * nf..(i + 1) * nf]);
            zi[c..c + w].copy_from_slice(&acc[..w]);
        }
    }
}

/// Per-id sums: `s_r = Σ_{i ∈ list[start[r]..start[r+1]]} dz_i` for the rows of `s`
/// (stride n; `start` begins at the first of them); `dz` has row stride `ld`.
fn per_id_body(s: &mut [f32], dz: &[f32], ld: usize, start: &[u32], list: &[u32], n: usize) {
    for c in (0..n).step_by(BLOCK) {
        let w = BLOCK.min(n - c);
        for (r, sr) in s.chunks_exact_mut(n).enumerate() {
            let l = &list[start[r] as usize..start[r + 1] as usize];
            let acc = block_sum([0.0; BLOCK], dz, ld, c, l);
            sr[c..c + w].copy_from_slice(&acc[..w]);
        }
    }
}

/// Products: `U[r] = Σ_q e[r·d + q] · wf[q]` for the rows r of `u` (stride ld; columns
/// past n are set to 0), `e`: (rows, d), `wf`: (d, n).
fn product_body(u: &mut [f32], ld: usize, e: &[f32], d: usize, wf: &[f32], n: usize) {
    for (ur, er) in u.chunks_exact_mut(ld).zip(e.chunks_exact(d)) {
        for c in (0..n).step_by(BLOCK) {
            let w = BLOCK.min(n - c);
            let mut acc = [0.0f32; BLOCK];
            for (q, &eq) in er.iter().enumerate() {
                let row = &wf[q * n + c..q * n + c + w];
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a += eq * v;
                }
            }
            ur[c..c + BLOCK].copy_from_slice(&acc);
        }
        ur[n.next_multiple_of(BLOCK)..].fill(0.0);
    }
}

/// The AVX2 + FMA versions: the same loops with the block's accumulators as eight ymm
/// registers (two sets of four) and unchecked row reads. Every read stays inside the
/// buffers the safe bodies index: rows come from the plan, whose ids are checked when
/// the plan is built, and reads never pass column `n.next_multiple_of(BLOCK) ≤ ld`.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::BLOCK;
    use std::arch::x86_64::*;

    type Acc = [__m256; 4];

    #[inline(always)]
    unsafe fn add_row(a: &mut Acc, p: *const f32) {
        for (k, v) in a.iter_mut().enumerate() {
            *v = _mm256_add_ps(*v, _mm256_loadu_ps(p.add(8 * k)));
        }
    }

    /// `init + Σ_{j ∈ rows} src[j·ld + c ..]`, even and odd positions in two sets.
    #[inline(always)]
    unsafe fn block_sum(init: Acc, src: &[f32], ld: usize, c: usize, rows: &[u32]) -> Acc {
        let base = src.as_ptr().add(c);
        let (mut a, mut b) = (init, [_mm256_setzero_ps(); 4]);
        let mut pairs = rows.chunks_exact(2);
        for p in &mut pairs {
            add_row(&mut a, base.add(p[0] as usize * ld));
            add_row(&mut b, base.add(p[1] as usize * ld));
        }
        if let [j] = pairs.remainder() {
            add_row(&mut a, base.add(*j as usize * ld));
        }
        for k in 0..4 {
            a[k] = _mm256_add_ps(a[k], b[k]);
        }
        a
    }

    #[inline(always)]
    unsafe fn store(dst: &mut [f32], acc: &Acc) {
        if dst.len() == BLOCK {
            for (k, v) in acc.iter().enumerate() {
                _mm256_storeu_ps(dst.as_mut_ptr().add(8 * k), *v);
            }
        } else {
            let mut t = [0.0f32; BLOCK];
            for (k, v) in acc.iter().enumerate() {
                _mm256_storeu_ps(t.as_mut_ptr().add(8 * k), *v);
            }
            let w = dst.len();
            dst.copy_from_slice(&t[..w]);
        }
    }

    #[inline(always)]
    unsafe fn load(src: &[f32]) -> Acc {
        let mut t = [0.0f32; BLOCK];
        t[..src.len()].copy_from_slice(src);
        let mut a = [_mm256_setzero_ps(); 4];
        for (k, v) in a.iter_mut().enumerate() {
            *v = _mm256_loadu_ps(t.as_ptr().add(8 * k));
        }
        a
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn lookup(
        z: &mut [f32],
        bias: &[f32],
        u: &[f32],
        ld: usize,
        inv: &[u32],
        nf: usize,
        n: usize,
    ) {
        for c in (0..n).step_by(BLOCK) {
            let w = BLOCK.min(n - c);
            let b0 = load(&bias[c..c + w]);
            for (i, zi) in z.chunks_exact_mut(n).enumerate() {
                let acc = block_sum(b0, u, ld, c, &inv[i * nf..(i + 1) * nf]);
                store(&mut zi[c..c + w], &acc);
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn per_id(
        s: &mut [f32],
        dz: &[f32],
        ld: usize,
        start: &[u32],
        list: &[u32],
        n: usize,
    ) {
        for c in (0..n).step_by(BLOCK) {
            let w = BLOCK.min(n - c);
            for (r, sr) in s.chunks_exact_mut(n).enumerate() {
                let l = &list[start[r] as usize..start[r + 1] as usize];
                let acc = block_sum([_mm256_setzero_ps(); 4], dz, ld, c, l);
                store(&mut sr[c..c + w], &acc);
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn product(
        u: &mut [f32],
        ld: usize,
        e: &[f32],
        d: usize,
        wf: &[f32],
        n: usize,
    ) {
        let full = n / BLOCK * BLOCK;
        for (ur, er) in u.chunks_exact_mut(ld).zip(e.chunks_exact(d)) {
            for c in (0..full).step_by(BLOCK) {
                let mut a = [_mm256_setzero_ps(); 4];
                for (q, &eq) in er.iter().enumerate() {
                    let bq = _mm256_set1_ps(eq);
                    let row = wf.as_ptr().add(q * n + c);
                    for (k, v) in a.iter_mut().enumerate() {
                        *v = _mm256_fmadd_ps(bq, _mm256_loadu_ps(row.add(8 * k)), *v);
                    }
                }
                store(&mut ur[c..c + BLOCK], &a);
            }
            if full < n {
                super::product_tail(ur, er, wf, n, full);
            }
            ur[n.next_multiple_of(BLOCK)..].fill(0.0);
        }
    }
}

/// The columns `c..n` (fewer than a block) of one U row, and zeros to the block's end.
fn product_tail(ur: &mut [f32], er: &[f32], wf: &[f32], n: usize, c: usize) {
    let mut acc = [0.0f32; BLOCK];
    for (q, &eq) in er.iter().enumerate() {
        for (a, &v) in acc.iter_mut().zip(&wf[q * n + c..(q + 1) * n]) {
            *a += eq * v;
        }
    }
    ur[c..c + BLOCK].copy_from_slice(&acc);
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
    match detect() {
        // SAFETY: `detect` returns Avx2Fma only after checking both CPU features; see `avx2`.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma => unsafe { avx2::lookup(z, bias, u, ld, inv, nf, n) },
        Kernel::Portable => lookup_body(z, bias, u, ld, inv, nf, n),
    }
}

/// See `per_id_body`: the backward sums of one chunk of U rows.
pub(super) fn per_id(s: &mut [f32], dz: &[f32], ld: usize, start: &[u32], list: &[u32], n: usize) {
    match detect() {
        // SAFETY: as for `lookup`.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma => unsafe { avx2::per_id(s, dz, ld, start, list, n) },
        Kernel::Portable => per_id_body(s, dz, ld, start, list, n),
    }
}

/// See `product_body`: U rows of one table.
pub(super) fn product(u: &mut [f32], ld: usize, e: &[f32], d: usize, wf: &[f32], n: usize) {
    match detect() {
        // SAFETY: as for `lookup`.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma => unsafe { avx2::product(u, ld, e, d, wf, n) },
        Kernel::Portable => product_body(u, ld, e, d, wf, n),
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

    /// The blocked sums against plain per-column sums, on a width with a partial block.
    #[test]
    fn blocked_sums_match_plain_sums() {
        let (n, rows) = (45, 7);
        let ld = padded(n);
        let src: Vec<f32> = (0..rows * ld)
            .map(|i| ((i * 37) % 11) as f32 - 5.0)
            .collect();
        let inv: Vec<u32> = vec![3, 1, 6, 0, 2, 5, 5]; // one row of 7 parts
        let bias: Vec<f32> = (0..n).map(|q| q as f32 * 0.5).collect();
        let mut z = vec![0.0; n];
        lookup(&mut z, &bias, &src, ld, &inv, 7, n);
        let want: Vec<f32> = naive_sum(&src, ld, &inv, n)
            .iter()
            .zip(&bias)
            .map(|(a, b)| a + b)
            .collect();
        assert_eq!(z, want);
        let start = [0u32, 3, 3, 7];
        let mut s = vec![0.0; 3 * n];
        per_id(&mut s, &src, ld, &start, &inv, n);
        assert_eq!(&s[..n], &naive_sum(&src, ld, &inv[..3], n)[..]);
        assert!(
            s[n..2 * n].iter().all(|&v| v == 0.0),
            "an empty list sums to 0"
        );
        assert_eq!(&s[2 * n..], &naive_sum(&src, ld, &inv[3..], n)[..]);
    }
}
