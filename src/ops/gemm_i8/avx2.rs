//! The AVX2 integer kernel: MR = 4 rows × NR = 16 columns of i32 accumulators (8 ymm).
//!
//! Per quad p of k (4 activation bytes per row, broadcast to all 8 lanes):
//!
//! ```text
//! a    = set1_epi32(u[i][4p..4p+4])              (u₀ u₁ u₂ u₃) × 8
//! b₀   = packed cols 0..8, k 4p..4p+4            (r₀ r₁ r₂ r₃) per column
//! t16  = maddubs(a, b₀)                          u₀r₀+u₁r₁, u₂r₂+u₃r₃  (i16, |·| ≤ 32 258)
//! t32  = madd(t16, 1)                            u₀r₀+u₁r₁+u₂r₂+u₃r₃ (i32)
//! acc += t32
//! ```
//! `u ≤ 127` keeps `maddubs` below i16 saturation (see `gemm_i8`), so the result equals the
//! scalar twin's exactly.

use super::pack::{QuantMatrix, NR};
use std::arch::x86_64::*;

const MR: usize = 4;

/// `acc (B, N_p) = u (B, K_p) · r` for all rows, MR rows at a time.
///
/// # Safety
/// The CPU must support AVX2; `u` holds `b · K_p` bytes, `acc` at least `b · N_p`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn gemm_u8i8_avx2(acc: &mut [i32], u: &[u8], w: &QuantMatrix, b: usize) {
    let (kp, np) = (w.kp(), w.np());
    assert!(u.len() >= b * kp && acc.len() >= b * np && w.packed.len() >= np / NR * kp * NR);
    let mut i = 0;
    while i + MR <= b {
        tile::<MR>(acc, u, w, i);
        i += MR;
    }
    while i < b {
        tile::<1>(acc, u, w, i);
        i += 1;
    }
}

/// Rows `i0..i0+R` against every column block.
#[target_feature(enable = "avx2")]
unsafe fn tile<const R: usize>(acc: &mut [i32], u: &[u8], w: &QuantMatrix, i0: usize) {
    let (kp, np) = (w.kp(), w.np());
    let kq = kp / 4;
    let ones = _mm256_set1_epi16(1);
    let up = u.as_ptr();
    for jb in 0..np / NR {
        let mut c0 = [_mm256_setzero_si256(); R];
        let mut c1 = [_mm256_setzero_si256(); R];
        // SAFETY: block jb spans kq · 64 bytes inside `packed` (asserted by the caller).
        let bp = w.packed.as_ptr().add(jb * kq * NR * 4) as *const __m256i;
        for p in 0..kq {
            let b0 = _mm256_loadu_si256(bp.add(2 * p));
            let b1 = _mm256_loadu_si256(bp.add(2 * p + 1));
            for r in 0..R {
                // SAFETY: row i0 + r < b and 4p + 4 ≤ K_p, so the 4 bytes lie inside `u`.
                let quad = (up.add((i0 + r) * kp + 4 * p) as *const i32).read_unaligned();
                let a = _mm256_set1_epi32(quad);
                let t0 = _mm256_madd_epi16(_mm256_maddubs_epi16(a, b0), ones);
                let t1 = _mm256_madd_epi16(_mm256_maddubs_epi16(a, b1), ones);
                c0[r] = _mm256_add_epi32(c0[r], t0);
                c1[r] = _mm256_add_epi32(c1[r], t1);
            }
        }
        for r in 0..R {
            // SAFETY: columns jb·16 .. jb·16+16 ≤ N_p of row i0 + r < b lie inside `acc`.
            let dst = acc.as_mut_ptr().add((i0 + r) * np + jb * NR) as *mut __m256i;
            _mm256_storeu_si256(dst, c0[r]);
            _mm256_storeu_si256(dst.add(1), c1[r]);
        }
    }
}
