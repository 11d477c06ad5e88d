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

use crate::autograd::UnaryFn;
use crate::ops::unary::erf;
use std::sync::OnceLock;

const STEPS_PER_UNIT: f64 = 256.0;
const X_MAX: f64 = 6.0;

/// (Φ(x_i), h·φ(x_i)) at x_i = i·h for i = 0..=6/h.
fn table() -> &'static [(f64, f64)] {
    static T: OnceLock<Vec<(f64, f64)>> = OnceLock::new();
    T.get_or_init(|| {
        let n = (X_MAX * STEPS_PER_UNIT) as usize;
        let h = 1.0 / STEPS_PER_UNIT;
        (0..=n)
            .map(|i| {
                let x = i as f64 * h;
                let cdf = 0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2));
                let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
                (cdf, h * pdf)
            })
            .collect()
    })
}

/// Φ(x), the standard normal CDF, by cubic Hermite interpolation of the table.
#[inline]
fn cdf(tab: &[(f64, f64)], x: f64) -> f64 {
    let ax = x.abs();
    let p = if ax >= X_MAX {
        1.0
    } else {
        let u = ax * STEPS_PER_UNIT;
        let i = u as usize;
        let s = u - i as f64;
        let ((y0, m0), (y1, m1)) = (tab[i], tab[i + 1]);
        // Hermite basis on [0, 1] with slopes already scaled by h.
        let s2 = s * s;
        let s3 = s2 * s;
        (2.0 * s3 - 3.0 * s2 + 1.0) * y0
            + (s3 - 2.0 * s2 + s) * m0
            + (-2.0 * s3 + 3.0 * s2) * y1
            + (s3 - s2) * m1
    };
    if x < 0.0 {
        1.0 - p
    } else {
        p
    }
}

/// `out = x·Φ(x)` elementwise, the forward of the GELU op.
pub fn gelu_forward(out: &mut [f32], inp: &[f32]) {
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
