//! The AVX2 + FMA micro-kernel (x86-64 only; selected at run time by `kernel::detect`).
//!
//! One 6×16 tile lives in 12 ymm accumulators (6 rows × two 8-float halves). Each step
//! `p` loads the 16 floats of B̃[p,:] (2 ymm), broadcasts the 6 floats of Ã[p,:] one at a
//! time and issues 12 FMAs: 15 of the 16 ymm registers are in use and the 12 independent
//! accumulator chains cover the FMA latency (4 cycles × 2 pipes on Zen 3 / Skylake).

use super::kernel::{macro_loop, Block};
use super::{MR, NR};
use std::arch::x86_64::*;

const _: () = assert!(
    MR == 6 && NR == 16,
    "the AVX2 kernel is written for 6×16 tiles"
);

/// AVX2 macro-kernel (see `kernel::macro_kernel`).
///
/// # Safety
/// The CPU must support AVX2 and FMA; memory contract as `kernel::macro_kernel`.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn macro_avx2(blk: Block) {
    // SAFETY: forwarded contract; `micro_avx2` writes only the mr×nr corner and runs here,
    // where AVX2 and FMA are enabled.
    unsafe {
        macro_loop(blk, |kc, a, b, c, ldc, mr, nr| {
            micro_avx2(kc, a, b, c, ldc, mr, nr)
        })
    }
}

/// `C[0..mr, 0..nr] += Σ_p Ã[p,:]ᵀ · B̃[p,:]` for one 6×16 tile.
///
/// # Safety
/// AVX2 and FMA available; `a` points at kc·6 floats, `b` at kc·16 floats, and `c` at a
/// tile whose `mr × nr` corner (row stride `ldc`) the caller may write.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn micro_avx2(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    mr: usize,
    nr: usize,
) {
    // Start fetching the C tile now; it is needed only after the kc-long loop.
    for i in 0..mr {
        // SAFETY: row i < mr and columns 0 and nr − 1 are inside the caller's tile;
        // prefetching never faults.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc) as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc + nr - 1) as *const i8);
        }
    }
    let mut acc = [[_mm256_setzero_ps(); 2]; MR];
    let (mut a, mut b) = (a, b);
    // One rank-1 update: acc[i] += Ã[p, i] · B̃[p, :] for the 6 rows, then p += 1.
    let mut step = || {
        // SAFETY: called kc times in all, so b[0..16] and a[0..6] stay inside the
        // micro-panels (kc·16 and kc·6 floats).
        unsafe {
            let b0 = _mm256_loadu_ps(b);
            let b1 = _mm256_loadu_ps(b.add(8));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm256_broadcast_ss(&*a.add(i));
                row[0] = _mm256_fmadd_ps(ai, b0, row[0]);
                row[1] = _mm256_fmadd_ps(ai, b1, row[1]);
            }
            a = a.add(MR);
            b = b.add(NR);
        }
    };
    // Unrolled by 4 (fewer loop-counter updates per FMA); the order of p is unchanged.
    for _ in 0..kc / 4 {
        step();
        step();
        step();
        step();
    }
    for _ in 0..kc % 4 {
        step();
    }
    if mr == MR && nr == NR {
        for (i, row) in acc.iter().enumerate() {
            // SAFETY: a full tile: rows 0..6, columns 0..16 are the caller's.
            unsafe {
                let ci = c.add(i * ldc);
                _mm256_storeu_ps(ci, _mm256_add_ps(_mm256_loadu_ps(ci), row[0]));
                let ci = ci.add(8);
                _mm256_storeu_ps(ci, _mm256_add_ps(_mm256_loadu_ps(ci), row[1]));
            }
        }
    } else {
        let mut tile = [0f32; MR * NR];
        for (t, row) in tile.chunks_exact_mut(NR).zip(&acc) {
            // SAFETY: `t` is 16 floats of a local array.
            unsafe {
                _mm256_storeu_ps(t.as_mut_ptr(), row[0]);
                _mm256_storeu_ps(t.as_mut_ptr().add(8), row[1]);
            }
        }
        for (i, t) in tile.chunks_exact(NR).enumerate().take(mr) {
            for (j, &x) in t.iter().enumerate().take(nr) {
                // SAFETY: i < mr, j < nr: inside the caller's corner.
                unsafe { *c.add(i * ldc + j) += x };
            }
        }
    }
}
