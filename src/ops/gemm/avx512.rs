//! The AVX-512F micro-kernel (x86-64 only): the same packed layout as [`super::avx2`],
//! two B̃ micro-panels at a time.
//!
//! A zmm holds one whole 16-float row of a B̃ micro-panel, so a 6×16 tile would have only 6
//! accumulator chains: too few to cover the FMA latency (4 cycles × 2 pipes). The kernel
//! therefore walks micro-panels in pairs, a 6×32 tile in 12 zmm accumulators (6 rows × 2
//! panels), + 2 B vectors + 1 broadcast = 15 of 32 zmm. An odd last micro-panel takes the
//! 6×16 form. Packing is untouched (`pack`), and every output element is the same FMA
//! chain as the AVX2 kernel's: start at 0, one `fmadd` per p in order, then one add to C —
//! so the result is **bit-identical** to the AVX2 kernel's (`tests/i20enc_gemm512.rs`).
//!
//! Edges (mr < 6 rows, fewer than 16 columns in a panel) use masked loads and stores of
//! C: masked-off lanes are neither read nor written.

use super::kernel::Block;
use super::{MR, NR};
use std::arch::x86_64::*;
use std::sync::OnceLock;

const _: () = assert!(
    MR == 6 && NR == 16,
    "the AVX-512 kernel is written for 6×16 micro-panels"
);

/// Whether this CPU runs the AVX-512F kernel (checked once). `MTREC_GEMM_AVX512=0` turns
/// it off (the AVX2 kernel runs instead; results are bit-identical either way).
pub(super) fn available() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        is_x86_feature_detected!("avx512f")
            && std::env::var("MTREC_GEMM_AVX512").map_or(true, |v| v != "0")
    })
}

/// AVX-512 macro-kernel (see `kernel::macro_kernel`): B micro-panels `jp0..jp1` in pairs.
///
/// # Safety
/// The CPU must support AVX-512F; memory contract as `kernel::macro_kernel`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn macro_avx512(blk: Block) {
    let Block {
        kc,
        ap,
        bp,
        c,
        ldc,
        mc,
        nc,
        jp: (jp0, jp1),
    } = blk;
    let c = c.0;
    let mut jp = jp0;
    while jp < jp1 {
        let pair = jp + 1 < jp1;
        let nr = (if pair { 2 * NR } else { NR }).min(nc - jp * NR);
        let b0 = bp[jp * kc * NR..(jp + 1) * kc * NR].as_ptr();
        for ip in 0..mc.div_ceil(MR) {
            let mr = MR.min(mc - ip * MR);
            let a = ap[ip * kc * MR..(ip + 1) * kc * MR].as_ptr();
            // SAFETY: tile (ip, jp) starts inside the window (ip·MR < mc, jp·NR < nc); the
            // micro-kernel writes only its mr×nr corner, inside the window and inside the
            // micro-panel columns jp0..jp1 this task owns. B̃ panel jp+1 exists when `pair`.
            unsafe {
                let ct = c.add(ip * MR * ldc + jp * NR);
                if pair {
                    let b1 = bp[(jp + 1) * kc * NR..(jp + 2) * kc * NR].as_ptr();
                    micro::<2>(kc, a, [b0, b1], ct, ldc, mr, nr);
                } else {
                    micro::<1>(kc, a, [b0], ct, ldc, mr, nr);
                }
            }
        }
        jp += if pair { 2 } else { 1 };
    }
}

/// `C[0..mr, 0..nr] += Σ_p Ã[p,:]ᵀ · [B̃_0[p,:] … B̃_{P−1}[p,:]]` for one 6×(16·P) tile.
///
/// # Safety
/// AVX-512F available; `a` points at kc·6 floats, each `b[q]` at kc·16 floats, and `c` at
/// a tile whose `mr × nr` corner (row stride `ldc`, nr ≤ 16·P) the caller may write.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn micro<const P: usize>(
    kc: usize,
    a: *const f32,
    b: [*const f32; P],
    c: *mut f32,
    ldc: usize,
    mr: usize,
    nr: usize,
) {
    for i in 0..mr {
        // SAFETY: row i < mr, column 0 is inside the caller's tile; prefetch never faults.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc) as *const i8) };
    }
    let mut acc = [[_mm512_setzero_ps(); P]; MR];
    let (mut a, mut b) = (a, b);
    let mut p = 0;
    while p < kc {
        // SAFETY: p < kc, so a[0..6] and b[q][0..16] lie inside the micro-panels.
        unsafe {
            let mut bv = [_mm512_setzero_ps(); P];
            for q in 0..P {
                bv[q] = _mm512_loadu_ps(b[q]);
                b[q] = b[q].add(NR);
            }
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm512_set1_ps(*a.add(i));
                for q in 0..P {
                    row[q] = _mm512_fmadd_ps(ai, bv[q], row[q]);
                }
            }
            a = a.add(MR);
        }
        p += 1;
    }
    for (i, row) in acc.iter().enumerate().take(mr) {
        for (q, &v) in row.iter().enumerate() {
            let cols = nr.saturating_sub(q * 16).min(16);
            if cols == 0 {
                continue;
            }
            let mask: __mmask16 = if cols == 16 {
                0xFFFF
            } else {
                (1u16 << cols) - 1
            };
            // SAFETY: row i < mr, columns q·16 .. q·16 + cols ≤ nr: the caller's corner;
            // masked-off lanes are not touched.
            unsafe {
                let ci = c.add(i * ldc + q * 16);
                let old = _mm512_maskz_loadu_ps(mask, ci);
                _mm512_mask_storeu_ps(ci, mask, _mm512_add_ps(old, v));
            }
        }
    }
}
