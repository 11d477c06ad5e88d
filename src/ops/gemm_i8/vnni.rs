//! The VNNI kernels: `vpdpbusd` multiplies 4 unsigned activation bytes by 4 signed weight
//! bytes per i32 lane and adds the four products to the lane, exact (no i16 step, so no
//! saturation at all), one instruction where AVX2 needs three (`maddubs`, `madd`, `add`).
//!
//! Same packed layout as the AVX2 kernel (`pack`): one 64-byte group holds k = 4p..4p+4
//! of the 16 columns of a block, which is one zmm (AVX-512 VNNI) or two ymm (AVX-VNNI).
//!
//! ```text
//! a    = set1_epi32(u[i][4p..4p+4])                (u₀ u₁ u₂ u₃) × 16
//! b    = packed block jb, quad p                   (r₀ r₁ r₂ r₃) per column, 16 columns
//! acc  = dpbusd(acc, a, b)                         acc_j += u₀r₀ + u₁r₁ + u₂r₂ + u₃r₃
//! ```
//! Every step is exact i32 arithmetic (|Σ u r| ≤ K · 127² < 2³¹, `MAX_D_IN`), so the result
//! equals the scalar twin's and the AVX2 kernel's bit for bit.

use super::pack::{QuantMatrix, NR};
use std::arch::x86_64::*;

/// Rows per AVX-512 tile: 8 rows × 2 column blocks = 16 zmm accumulators.
const MR512: usize = 8;

/// `acc (B, N_p) = u (B, K_p) · r` with AVX-512 VNNI.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 VNNI; `u` holds `b · K_p` bytes, `acc` at
/// least `b · N_p`.
#[target_feature(enable = "avx512f,avx512vnni")]
pub(super) unsafe fn gemm_u8i8_avx512vnni(acc: &mut [i32], u: &[u8], w: &QuantMatrix, b: usize) {
    let (kp, np) = (w.kp(), w.np());
    assert!(u.len() >= b * kp && acc.len() >= b * np && w.packed.len() >= np / NR * kp * NR);
    let nb = np / NR;
    let mut i = 0;
    while i + MR512 <= b {
        tiles512::<MR512>(acc, u, w, i, nb);
        i += MR512;
    }
    while i < b {
        tiles512::<1>(acc, u, w, i, nb);
        i += 1;
    }
}

/// Rows `i0..i0+R` against every column block, two blocks at a time.
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn tiles512<const R: usize>(
    acc: &mut [i32],
    u: &[u8],
    w: &QuantMatrix,
    i0: usize,
    nb: usize,
) {
    let mut jb = 0;
    while jb + 2 <= nb {
        tile512::<R, 2>(acc, u, w, i0, jb);
        jb += 2;
    }
    if jb < nb {
        tile512::<R, 1>(acc, u, w, i0, jb);
    }
}

/// Rows `i0..i0+R`, column blocks `jb0..jb0+C`.
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn tile512<const R: usize, const C: usize>(
    acc: &mut [i32],
    u: &[u8],
    w: &QuantMatrix,
    i0: usize,
    jb0: usize,
) {
    let (kp, np) = (w.kp(), w.np());
    let kq = kp / 4;
    let up = u.as_ptr();
    let mut c = [[_mm512_setzero_si512(); C]; R];
    // SAFETY: blocks jb0..jb0+C span C · kq · 64 bytes inside `packed` (asserted by the
    // caller); block jb starts at jb · kq · 64 bytes.
    let bp = w.packed.as_ptr().add(jb0 * kq * NR * 4) as *const __m512i;
    for p in 0..kq {
        let mut bv = [_mm512_setzero_si512(); C];
        for (cc, v) in bv.iter_mut().enumerate() {
            *v = _mm512_loadu_si512(bp.add(cc * kq + p));
        }
        for (r, cr) in c.iter_mut().enumerate() {
            // SAFETY: row i0 + r < b and 4p + 4 ≤ K_p, so the 4 bytes lie inside `u`.
            let quad = (up.add((i0 + r) * kp + 4 * p) as *const i32).read_unaligned();
            let a = _mm512_set1_epi32(quad);
            for (cv, &bb) in cr.iter_mut().zip(&bv) {
                *cv = _mm512_dpbusd_epi32(*cv, a, bb);
            }
        }
    }
    for (r, cr) in c.iter().enumerate() {
        for (cc, cv) in cr.iter().enumerate() {
            // SAFETY: columns (jb0+cc)·16 .. +16 ≤ N_p of row i0 + r < b lie inside `acc`.
            let dst = acc.as_mut_ptr().add((i0 + r) * np + (jb0 + cc) * NR);
            _mm512_storeu_si512(dst as *mut _, *cv);
        }
    }
}

/// Rows per AVX-VNNI tile: 6 rows × 2 ymm = 12 accumulators (of 16 ymm).
const MR256: usize = 6;

/// `acc (B, N_p) = u (B, K_p) · r` with AVX-VNNI (the VEX-encoded 256-bit `vpdpbusd`).
///
/// # Safety
/// The CPU must support AVX2 and AVX-VNNI; `u` holds `b · K_p` bytes, `acc` at least
/// `b · N_p`.
#[target_feature(enable = "avx2,avxvnni")]
pub(super) unsafe fn gemm_u8i8_avxvnni(acc: &mut [i32], u: &[u8], w: &QuantMatrix, b: usize) {
    let (kp, np) = (w.kp(), w.np());
    assert!(u.len() >= b * kp && acc.len() >= b * np && w.packed.len() >= np / NR * kp * NR);
    let mut i = 0;
    while i + MR256 <= b {
        tile256::<MR256>(acc, u, w, i);
        i += MR256;
    }
    while i < b {
        tile256::<1>(acc, u, w, i);
        i += 1;
    }
}

/// Rows `i0..i0+R` against every column block.
#[target_feature(enable = "avx2,avxvnni")]
unsafe fn tile256<const R: usize>(acc: &mut [i32], u: &[u8], w: &QuantMatrix, i0: usize) {
    let (kp, np) = (w.kp(), w.np());
    let kq = kp / 4;
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
                c0[r] = _mm256_dpbusd_avx_epi32(c0[r], a, b0);
                c1[r] = _mm256_dpbusd_avx_epi32(c1[r], a, b1);
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
