//! Per-row activation quantisation (7 bits with a zero point, see `gemm_i8`'s derivation)
//! and the dequantising epilogue of the int8 layer, each in two versions with identical
//! results: the reference (`quantize_rows_reference`, plain loops as first written) and the
//! fast one, the same arithmetic written lane-wise (16 independent min/max lanes, a clamp
//! in f32 before the conversion) and compiled for AVX2 when the CPU has it, so LLVM turns
//! each pass into 8-wide vector code (the crate's baseline is SSE2 without `roundf`).
//!
//! On x86-64 with AVX2 the fast quantiser is written in intrinsics
//! (`quantize_rows_avx2`), the lane-wise source being the portable fallback.
//!
//! Why they agree bit for bit: min / max are exact and order-free; the zero point and
//! step are computed by the same scalar expressions; per element both compute
//! `t = v · inv + (z + ½)` (one multiply, one add, no FMA contraction in Rust) and then
//! `clamp(trunc(t), 0, 127)` — the reference as `(t as i32).clamp(0, 127)`, the fast one as
//! `trunc(min(max(t, 0), 127))`: for t < 0 both give 0 (trunc of (−1, 0) is 0), for t ≥ 127
//! both 127, for NaN both 0 (`as` maps NaN to 0; `max(NaN, 0)` is 0), in between the same
//! truncation.

use super::pack::QuantMatrix;
use crate::autograd::UnaryFn;

/// Quantised rows of activations: `u` (B, K_p) u8 in [0, 127] (columns past D_in are 0),
/// per row the step `scale` and the zero point `zero`.
#[derive(Clone, Debug, Default)]
pub struct QuantRows {
    pub u: Vec<u8>,
    pub scale: Vec<f32>,
    pub zero: Vec<i32>,
    pub kp: usize,
}

/// The reference: quantises each row of `x` (B, D_in) to 7 bits with a zero point into
/// `q` (rows padded to `kp ≥ D_in` columns with zeros), in plain loops.
pub fn quantize_rows_reference(q: &mut QuantRows, x: &[f32], b: usize, d_in: usize, kp: usize) {
    q.kp = kp;
    q.u.clear();
    q.u.resize(b * kp, 0);
    q.scale.clear();
    q.zero.clear();
    for (row, urow) in x.chunks_exact(d_in).zip(q.u.chunks_exact_mut(kp)).take(b) {
        let (lo, hi) = row
            .iter()
            .fold((0f32, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let (s, z) = step(lo, hi);
        if s > 0.0 {
            let (inv, zh) = (1.0 / s, z + 0.5);
            for (u, &v) in urow.iter_mut().zip(row) {
                *u = ((v * inv + zh) as i32).clamp(0, 127) as u8;
            }
        }
        q.scale.push(s);
        q.zero.push(z as i32);
    }
}

/// Step `s` and zero point `z` of a row with `lo ≤ 0 ≤ hi`; `s` is 0 for an all-zero row
/// and NaN for one with inf/NaN extremes (its products are not finite anyway).
#[inline(always)]
fn step(lo: f32, hi: f32) -> (f32, f32) {
    let s = (hi - lo) / 127.0;
    if s.is_finite() && s > 0.0 {
        (s, (-lo * (1.0 / s)).round().clamp(0.0, 127.0))
    } else if s.is_finite() {
        (0.0, 0.0)
    } else {
        (f32::NAN, 0.0)
    }
}

/// Lanes of the min / max pass.
const L: usize = 16;

/// The fast version of [`quantize_rows_reference`] (same results, see the module doc).
pub fn quantize_rows(q: &mut QuantRows, x: &[f32], b: usize, d_in: usize, kp: usize) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { quantize_rows_avx2(q, x, b, d_in, kp) };
    }
    quantize_rows_lanes(q, x, b, d_in, kp)
}

/// [`quantize_rows_lanes`] in AVX2 intrinsics (LLVM does not vectorise the lane-wise
/// source: f32 `min` / `max` keep NaN semantics it will not reorder, and the float → u8
/// conversion saturates). `_mm256_min_ps(v, lo)` is `v < lo ? v : lo`, so a NaN `v` leaves
/// `lo` as `f32::min` does; `_mm256_max_ps(t, 0)` is `t > 0 ? t : 0`, so NaN → 0 as
/// `f32::max(NaN, 0)`; the conversion truncates (`cvttps`) values already in [0, 127].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn quantize_rows_avx2(q: &mut QuantRows, x: &[f32], b: usize, d_in: usize, kp: usize) {
    use std::arch::x86_64::*;
    q.kp = kp;
    q.u.clear();
    q.u.resize(b * kp, 0);
    q.scale.clear();
    q.zero.clear();
    let full = d_in / 8 * 8;
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (row, urow) in x.chunks_exact(d_in).zip(q.u.chunks_exact_mut(kp)).take(b) {
        let (mut lo8, mut hi8) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        for c in (0..full).step_by(8) {
            // SAFETY: c + 8 ≤ full ≤ d_in = row.len().
            let v = _mm256_loadu_ps(row.as_ptr().add(c));
            lo8 = _mm256_min_ps(v, lo8);
            hi8 = _mm256_max_ps(v, hi8);
        }
        // horizontal min / max by shuffles: the lanes are never NaN (`min_ps(NaN, lo)` is
        // lo, and they start at 0), so any order gives the fold's exact result
        let (mut lo, mut hi) = (hmin8(lo8), hmax8(hi8));
        for &v in &row[full..] {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        let (s, z) = step(lo, hi);
        if s > 0.0 {
            let (inv, zh) = (1.0 / s, z + 0.5);
            let (inv8, zh8) = (_mm256_set1_ps(inv), _mm256_set1_ps(zh));
            let (zero, top) = (_mm256_setzero_ps(), _mm256_set1_ps(127.0));
            for c in (0..full).step_by(8) {
                // SAFETY: c + 8 ≤ full ≤ d_in ≤ kp = urow.len().
                let v = _mm256_loadu_ps(row.as_ptr().add(c));
                let t = _mm256_add_ps(_mm256_mul_ps(v, inv8), zh8);
                let t = _mm256_min_ps(_mm256_max_ps(t, zero), top);
                let i = _mm256_cvttps_epi32(t); // 8 × i32 in [0, 127]
                let p = _mm256_packus_epi16(_mm256_packs_epi32(i, i), _mm256_setzero_si256());
                // bytes 0..4 of each 128-bit lane hold v0..3 and v4..7: gather them
                let p = _mm256_permutevar8x32_epi32(p, order);
                _mm_storel_epi64(
                    urow.as_mut_ptr().add(c) as *mut __m128i,
                    _mm256_castsi256_si128(p),
                );
            }
            for (u, &v) in urow[full..d_in].iter_mut().zip(&row[full..]) {
                #[allow(clippy::manual_clamp)] // NaN → 0, see quantize_rows_lanes
                let t = (v * inv + zh).max(0.0).min(127.0);
                *u = t as u8;
            }
        }
        q.scale.push(s);
        q.zero.push(z as i32);
    }
}

/// The smallest of 8 non-NaN lanes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn hmin8(v: std::arch::x86_64::__m256) -> f32 {
    use std::arch::x86_64::*;
    let m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    _mm_cvtss_f32(_mm_min_ss(m, _mm_shuffle_ps(m, m, 1)))
}

/// The largest of 8 non-NaN lanes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn hmax8(v: std::arch::x86_64::__m256) -> f32 {
    use std::arch::x86_64::*;
    let m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)))
}

#[inline(always)]
fn quantize_rows_lanes(q: &mut QuantRows, x: &[f32], b: usize, d_in: usize, kp: usize) {
    q.kp = kp;
    q.u.clear();
    q.u.resize(b * kp, 0);
    q.scale.clear();
    q.zero.clear();
    for (row, urow) in x.chunks_exact(d_in).zip(q.u.chunks_exact_mut(kp)).take(b) {
        let (mut lo, mut hi) = ([0f32; L], [0f32; L]);
        let chunks = row.chunks_exact(L);
        let tail = chunks.remainder();
        for c in chunks {
            for l in 0..L {
                lo[l] = lo[l].min(c[l]);
                hi[l] = hi[l].max(c[l]);
            }
        }
        for (l, &v) in tail.iter().enumerate() {
            lo[l] = lo[l].min(v);
            hi[l] = hi[l].max(v);
        }
        let lo = lo.iter().fold(0f32, |m, &v| m.min(v));
        let hi = hi.iter().fold(0f32, |m, &v| m.max(v));
        let (s, z) = step(lo, hi);
        if s > 0.0 {
            let (inv, zh) = (1.0 / s, z + 0.5);
            for (u, &v) in urow.iter_mut().zip(row) {
                // t ∈ [0, 127] after the clamp (NaN → 0 by max, which `clamp` would keep
                // as NaN), so the conversion only truncates
                #[allow(clippy::manual_clamp)]
                let t = (v * inv + zh).max(0.0).min(127.0);
                *u = t as u8;
            }
        }
        q.scale.push(s);
        q.zero.push(z as i32);
    }
}

/// The reference epilogue: `out_ij = b_j + s_x,i s_w,j (acc_ij − z_i Σ_k r_kj)`, then `f`.
pub fn dequantize_reference(
    out: &mut [f32],
    acc: &[i32],
    q: &QuantRows,
    w: &QuantMatrix,
    bias: &[f32],
    b: usize,
    f: Option<UnaryFn>,
) {
    let (d_out, np) = (w.d_out, w.np());
    for i in 0..b {
        let (sx, z) = (q.scale[i], q.zero[i]);
        let acc = &acc[i * np..i * np + d_out];
        let row = &mut out[i * d_out..(i + 1) * d_out];
        for j in 0..d_out {
            let a = acc[j] - z * w.col_sums[j]; // Σ_k (u_ik − z_i) r_kj
            row[j] = bias[j] + sx * w.scales[j] * a as f32;
        }
    }
    crate::ops::linear_act::activate(&mut out[..b * d_out], f);
}

/// The fast epilogue (same results as [`dequantize_reference`]: the same expression per
/// element, ReLU applied in the same pass as `max(v, 0)`, other activations after).
pub fn dequantize(
    out: &mut [f32],
    acc: &[i32],
    q: &QuantRows,
    w: &QuantMatrix,
    bias: &[f32],
    b: usize,
    f: Option<UnaryFn>,
) {
    let relu = f == Some(UnaryFn::Relu);
    #[cfg(target_arch = "x86_64")]
    let done = is_x86_feature_detected!("avx2") && {
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe { dequantize_avx2(out, acc, q, w, bias, b, relu) };
        true
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = false;
    if !done {
        dequantize_lanes(out, acc, q, w, bias, b, relu);
    }
    if f != Some(UnaryFn::Relu) {
        crate::ops::linear_act::activate(&mut out[..b * w.d_out], f);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dequantize_avx2(
    out: &mut [f32],
    acc: &[i32],
    q: &QuantRows,
    w: &QuantMatrix,
    bias: &[f32],
    b: usize,
    relu: bool,
) {
    dequantize_lanes(out, acc, q, w, bias, b, relu)
}

#[inline(always)]
fn dequantize_lanes(
    out: &mut [f32],
    acc: &[i32],
    q: &QuantRows,
    w: &QuantMatrix,
    bias: &[f32],
    b: usize,
    relu: bool,
) {
    let (d_out, np) = (w.d_out, w.np());
    let (scales, sums, bias) = (&w.scales[..d_out], &w.col_sums[..d_out], &bias[..d_out]);
    for i in 0..b {
        let (sx, z) = (q.scale[i], q.zero[i]);
        let acc = &acc[i * np..i * np + d_out];
        let row = &mut out[i * d_out..(i + 1) * d_out];
        for j in 0..d_out {
            let a = acc[j].wrapping_sub(z.wrapping_mul(sums[j])); // Σ_k (u_ik − z_i) r_kj
            let v = bias[j] + sx * scales[j] * a as f32;
            row[j] = if relu { v.max(0.0) } else { v };
        }
    }
}
