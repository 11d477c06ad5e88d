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
