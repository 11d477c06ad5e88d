//! `exp(x)` for `x ≤ 0` without libm, written so the compiler vectorises the row loops
//! (SSE2 everywhere, AVX2 or AVX-512 where the CPU has them): the catalogue softmax takes one
//! exponential per (row, item), 11 M per SASRec step on Beauty, and the libm call per
//! element was most of the old softmax pass.
//!
//! # Derivation (Cephes `expf`)
//!
//! ```text
//! x = n·ln 2 + r,  n = round(x / ln 2),  |r| ≤ ln 2 / 2
//! r = (x − n·C₁) − n·C₂                 C₁ + C₂ = ln 2 (Cody–Waite: n·C₁ is exact)
//! eʳ ≈ 1 + r + r²·P(r)                  P: the degree-5 minimax polynomial of Cephes
//! eˣ = 2ⁿ · eʳ                          2ⁿ built from its bits: (n + 127) << 23
//! ```
//!
//! `round` is the magic-number trick (adding 1.5·2²³ rounds to an integer held in the low
//! mantissa bits), so the loop has no float→int conversion. Inputs are clamped to
//! `[−87, 0]`: e⁻⁸⁷ ≈ 1.6·10⁻³⁸ is still a normal float, and a term that small is zero
//! next to the row's maximum (whose term is 1). Relative error ≤ 2·10⁻⁷ over the range
//! (`tests` below, against f64 `exp`). No fused multiply-adds are formed (Rust does not
//! contract), so the SSE2, AVX2 and AVX-512 builds of the loop give the same bits.

const LOG2E: f32 = std::f32::consts::LOG2_E;
const C1: f32 = 0.693_359_4;
const C2: f32 = -2.121_944_4e-4;
const MAGIC: f32 = 12_582_912.0; // 1.5 · 2²³
const P0: f32 = 1.987_569_1e-4;
const P1: f32 = 1.398_199_9e-3;
const P2: f32 = 8.333_452e-3;
const P3: f32 = 4.166_579_6e-2;
const P4: f32 = 1.666_666_5e-1;
const P5: f32 = 0.5; // Cephes: 5.0000001e-1, which is 0.5 in f32

/// `eˣ` for `x ≤ 0` (see the module derivation); `x < −87` gives e⁻⁸⁷.
#[inline(always)]
pub fn exp_nonpositive(x: f32) -> f32 {
    let x = x.max(-87.0);
    let t = x * LOG2E + MAGIC;
    let n = t - MAGIC; // round(x / ln 2), exactly an integer in [−126, 0]
    let r = (x - n * C1) - n * C2;
    let p = ((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5;
    let er = (p * r) * r + r + 1.0;
    // the low bits of t hold n + 0x400000 (the magic's mantissa): n + 127 as the exponent
    let bits = (t.to_bits() as i32 - MAGIC.to_bits() as i32 + 127) << 23;
    er * f32::from_bits(bits as u32)
}

/// Lanes of the partial sums and maxima: 16 independent chains (one AVX-512 register of
/// f32, two AVX2 ones).
const LANES: usize = 16;

#[inline(always)]
fn row_max_body(row: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = if x > *a { x } else { *a };
        }
    }
    let tail = chunks.remainder().iter().copied();
    acc.into_iter()
        .chain(tail)
        .fold(f32::NEG_INFINITY, f32::max)
}

#[inline(always)]
fn exp_shift_sum_body(row: &mut [f32], m: f32) -> f64 {
    let mut acc = [0f32; LANES];
    let mut chunks = row.chunks_exact_mut(LANES);
    for c in &mut chunks {
        for (a, x) in acc.iter_mut().zip(c.iter_mut()) {
            *x = exp_nonpositive(*x - m);
            *a += *x;
        }
    }
    let mut tail = 0f64;
    for x in chunks.into_remainder() {
        *x = exp_nonpositive(*x - m);
        tail += *x as f64;
    }
    acc.iter().map(|&a| a as f64).sum::<f64>() + tail
}

/// The widest vector unit the CPU has, for the loops below (same bits on each).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Width {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

fn width() -> Width {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            return Width::Avx512;
        }
        if is_x86_feature_detected!("avx2") {
            return Width::Avx2;
        }
    }
    Width::Portable
}

#[cfg(target_arch = "x86_64")]
mod wide {
    #[target_feature(enable = "avx2")]
    pub unsafe fn exp_shift_sum_avx2(row: &mut [f32], m: f32) -> f64 {
        super::exp_shift_sum_body(row, m)
    }
    #[target_feature(enable = "avx512f")]
    pub unsafe fn exp_shift_sum_avx512(row: &mut [f32], m: f32) -> f64 {
        super::exp_shift_sum_body(row, m)
    }
    #[target_feature(enable = "avx2")]
    pub unsafe fn row_max_avx2(row: &[f32]) -> f32 {
        super::row_max_body(row)
    }
    #[target_feature(enable = "avx512f")]
    pub unsafe fn row_max_avx512(row: &[f32]) -> f32 {
        super::row_max_body(row)
    }
}

/// The largest value of `row` (−∞ for an empty row), in 16 lanes.
pub fn row_max(row: &[f32]) -> f32 {
    match width() {
        // SAFETY: each arm runs only where the CPU has the feature the function enables.
        #[cfg(target_arch = "x86_64")]
        Width::Avx512 => unsafe { wide::row_max_avx512(row) },
        #[cfg(target_arch = "x86_64")]
        Width::Avx2 => unsafe { wide::row_max_avx2(row) },
        Width::Portable => row_max_body(row),
    }
}

/// Replaces each `z` of `row` by `e^(z − m)` and returns their sum, accumulated in 16
/// fixed lanes of f32 (each lane sums at most V/16 terms ≤ 1) then added in f64, lane by
/// lane: the same bits on every CPU and thread count. `m` must be the row's maximum.
pub fn exp_shift_sum(row: &mut [f32], m: f32) -> f64 {
    match width() {
        // SAFETY: each arm runs only where the CPU has the feature the function enables.
        #[cfg(target_arch = "x86_64")]
        Width::Avx512 => unsafe { wide::exp_shift_sum_avx512(row, m) },
        #[cfg(target_arch = "x86_64")]
        Width::Avx2 => unsafe { wide::exp_shift_sum_avx2(row, m) },
        Width::Portable => exp_shift_sum_body(row, m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_f64_exp_over_the_range() {
        let mut worst = 0f64;
        for i in 0..=200_000 {
            let x = -87.0 * i as f32 / 200_000.0;
            let got = exp_nonpositive(x) as f64;
            let want = (x as f64).exp();
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 2e-7, "relative error {worst}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert!(exp_nonpositive(f32::NEG_INFINITY) < 1e-37);
    }

    #[test]
    fn shifted_row_sum_equals_the_plain_sum() {
        let mut row: Vec<f32> = (0..1003).map(|i| ((i * 37) % 101) as f32 * 0.1).collect();
        let m = row.iter().copied().fold(f32::MIN, f32::max);
        let want: f64 = row.iter().map(|&z| ((z - m) as f64).exp()).sum();
        let plain = row.clone();
        let s = exp_shift_sum(&mut row, m);
        assert!((s - want).abs() <= 1e-6 * want, "{s} vs {want}");
        for (e, z) in row.iter().zip(&plain) {
            let w = ((z - m) as f64).exp();
            assert!((*e as f64 - w).abs() <= 2e-7 * w);
        }
        // the portable body and the dispatched one agree bit for bit
        let mut again = plain.clone();
        assert_eq!(exp_shift_sum_body(&mut again, m).to_bits(), s.to_bits());
        assert_eq!(again, row);
        assert_eq!(row_max(&plain), m);
        assert_eq!(row_max_body(&plain), m);
        assert_eq!(
            row_max(&plain[..7]),
            plain[..7].iter().copied().fold(f32::MIN, f32::max)
        );
    }
}
