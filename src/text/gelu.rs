//! GELU for inference: the same function as the engine's GELU op (`ops::unary`, exact
//! erf form `x·Φ(x)`), evaluated through a table instead of erf's series.
//!
//! The series in `ops::unary::erf` takes ~30 divisions per call; in the encoder GELU runs
//! on every element of every `(B·T, D_ff)` activation and was two thirds of the run time.
//! Here Φ is tabulated once on [0, 6] with step h = 1/256, **from `ops::unary::erf`
//! itself** (so the tested function stays the source of truth), together with its
//! derivative φ(x) = e^(−x²/2)/√(2π), and evaluated by cubic Hermite interpolation:
//! error ≤ h⁴/384·max|Φ⁗| < 1e-11, far below f32 rounding. Φ(−x) = 1 − Φ(x); Φ = 1 beyond
//! 6 (1 − Φ(6) ≈ 1e-9). `gelu_matches_the_engine_op` checks it against `ops::unary::f`.
//!
//! The table's per-element gather does not vectorise (it was 19 % of the encoder's time
//! once the GEMM used AVX-512), so [`gelu_forward`] now evaluates Φ through a fitted erfc
//! and a polynomial exp, branch-free, 8 f64 lanes at a time ([`gelu_erfc`]); the table
//! stays as [`gelu_forward_table`], and both are tested against the engine op.

use crate::autograd::UnaryFn;
use crate::ops::unary::erf;
use std::sync::OnceLock;

const STEPS_PER_UNIT: f64 = 256.0;
const X_MAX: f64 = 6.0;

/// Per interval [x_i, x_i+1], x_i = i·h, the cubic `c0 + s·(c1 + s·(c2 + s·c3))` in
/// s = (x − x_i)/h that is the Hermite interpolant of (Φ, h·φ) at both ends:
/// `c0 = y0, c1 = m0, c2 = 3(y1 − y0) − 2m0 − m1, c3 = 2(y0 − y1) + m0 + m1`.
fn table() -> &'static [[f64; 4]] {
    static T: OnceLock<Vec<[f64; 4]>> = OnceLock::new();
    T.get_or_init(|| {
        let n = (X_MAX * STEPS_PER_UNIT) as usize;
        let h = 1.0 / STEPS_PER_UNIT;
        let knot = |i: usize| {
            let x = i as f64 * h;
            let cdf = 0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2));
            let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
            (cdf, h * pdf)
        };
        (0..n)
            .map(|i| {
                let ((y0, m0), (y1, m1)) = (knot(i), knot(i + 1));
                [
                    y0,
                    m0,
                    3.0 * (y1 - y0) - 2.0 * m0 - m1,
                    2.0 * (y0 - y1) + m0 + m1,
                ]
            })
            .collect()
    })
}

/// Φ(x), the standard normal CDF, by cubic Hermite interpolation of the table.
#[inline]
fn cdf(tab: &[[f64; 4]], x: f64) -> f64 {
    let ax = x.abs();
    let p = if ax >= X_MAX {
        1.0
    } else {
        let u = ax * STEPS_PER_UNIT;
        let i = (u as usize).min(tab.len() - 1);
        let s = u - i as f64;
        let c = &tab[i];
        c[0] + s * (c[1] + s * (c[2] + s * c[3]))
    };
    if x < 0.0 {
        1.0 - p
    } else {
        p
    }
}

/// `out = x·Φ(x)` elementwise, the forward of the GELU op: the vectorised erfc form
/// [`gelu_erfc`] (AVX-512F or AVX2+FMA, chosen once at run time; plain code elsewhere).
pub fn gelu_forward(out: &mut [f32], inp: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static LEVEL: OnceLock<u8> = OnceLock::new();
        let level = *LEVEL.get_or_init(|| {
            if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512dq") {
                2
            } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                1
            } else {
                0
            }
        });
        // SAFETY: each arm runs only where `LEVEL` found its CPU features.
        match level {
            2 => return unsafe { gelu_avx512(out, inp) },
            1 => return unsafe { gelu_avx2(out, inp) },
            _ => {}
        }
    }
    gelu_erfc(out, inp)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn gelu_avx512(out: &mut [f32], inp: &[f32]) {
    gelu_erfc(out, inp)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gelu_avx2(out: &mut [f32], inp: &[f32]) {
    gelu_erfc(out, inp)
}

/// e^x for x ∈ [−700, 0] in f64, branch-free so that it vectorises: x = n·ln 2 + r with
/// n = round(x·log₂e) (the 1.5·2⁵² shift trick), |r| ≤ ln 2 / 2, e^r by its Taylor
/// polynomial to r¹² (truncation r¹³/13! < 3e-15 relative), times 2ⁿ built in the
/// exponent bits.
#[inline(always)]
fn exp_neg(x: f64) -> f64 {
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5·2⁵²
    const LN2_HI: f64 = 0.693_147_180_369_123_8;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    let x = x.max(-700.0);
    let shifted = x * std::f64::consts::LOG2_E + SHIFT;
    let n = shifted - SHIFT; // round(x·log₂e), exactly an integer
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.0 / 479_001_600.0; // 1/12!
    for k in (1..12).rev() {
        p = p * r + 1.0 / FACT[k];
    }
    p = p * r + 1.0;
    // low bits of `shifted` hold n (two's complement, |n| ≤ 1010)
    let ni = (shifted.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    p * f64::from_bits(((ni + 1023) as u64) << 52)
}

/// k! for k = 0..12.
const FACT: [f64; 12] = [
    1.0, 1.0, 2.0, 6.0, 24.0, 120.0, 720.0, 5040.0, 40320.0, 362880.0, 3628800.0, 39916800.0,
];

/// `out = x·Φ(x)` through erfc, branch-free per element so that it vectorises (f64 inside):
///
/// ```text
/// z = |x|/√2,  t = 1/(1 + z/2)
/// erfc(z) = t·exp(−z² − 1.26551223 + t·(1.00002368 + t·(0.37409196 + … + t·0.17087277)))
///           (Numerical Recipes' erfcc, Chebyshev fit: relative error < 1.2e-7 for z ≥ 0)
/// Φ(x) = ½·erfc(z) for x < 0,  1 − ½·erfc(z) for x ≥ 0
/// ```
///
/// For x < 0 the error of x·Φ(x) is that relative 1.2e-7 (no cancellation: erfc itself is
/// fitted, not 1 − erf); for x ≥ 0 it is ½·erfc(z)·1.2e-7·x, below f32 rounding. The f32
/// result is therefore within 1e-7 + 2.5e-7·|y| of the engine op (`gelu_forward_reference`;
/// `gelu_matches_the_engine_op`, `tests/i20enc_kernels.rs`).
#[inline(always)]
pub fn gelu_erfc(out: &mut [f32], inp: &[f32]) {
    const C: [f64; 10] = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ];
    for (y, &x) in out.iter_mut().zip(inp) {
        let xd = x as f64;
        let z = xd.abs() * std::f64::consts::FRAC_1_SQRT_2;
        let t = 1.0 / (1.0 + 0.5 * z);
        let mut poly = C[9];
        for &c in C[..9].iter().rev() {
            poly = poly * t + c;
        }
        let half_erfc = 0.5 * t * exp_neg(-z * z + poly);
        let phi = if xd < 0.0 { half_erfc } else { 1.0 - half_erfc };
        *y = (xd * phi) as f32;
    }
}

/// `out = x·Φ(x)` by the cubic Hermite table (the previous kernel, kept for comparison).
pub fn gelu_forward_table(out: &mut [f32], inp: &[f32]) {
    let tab = table();
    for (y, &x) in out.iter_mut().zip(inp) {
        let xd = x as f64;
        *y = (xd * cdf(tab, xd)) as f32;
    }
}

/// The engine's GELU op kernel, for comparison.
pub fn gelu_forward_reference(out: &mut [f32], inp: &[f32]) {
    crate::ops::unary::unary_forward(out, inp, UnaryFn::Gelu);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_matches_the_engine_op() {
        let xs: Vec<f32> = (-40_000..=40_000)
            .map(|i| i as f32 * 2.5e-4 * (1.0 + (i as f32 * 0.37).sin() * 1e-3))
            .collect();
        let (mut fast, mut exact) = (vec![0f32; xs.len()], vec![0f32; xs.len()]);
        gelu_forward(&mut fast, &xs);
        gelu_forward_reference(&mut exact, &xs);
        let mut table = vec![0f32; xs.len()];
        gelu_forward_table(&mut table, &xs);
        for (a, b) in table.iter().zip(&exact) {
            assert!((a - b).abs() <= 1e-7 + 2.5e-7 * b.abs());
        }
        for ((x, a), b) in xs.iter().zip(&fast).zip(&exact) {
            // Within one or two f32 roundings of the exact op.
            assert!(
                (a - b).abs() <= 1e-7 + 2.5e-7 * b.abs(),
                "gelu({x}): table {a} vs op {b}"
            );
        }
        let mut y = [0f32; 3];
        gelu_forward(&mut y, &[-20.0, 20.0, 0.0]);
        assert_eq!(y, [0.0, 20.0, 0.0]);
    }
}
