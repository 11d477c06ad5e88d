//! The plain reference of the fused layer: the derivation in `super`, one loop per
//! formula, sums in f64, one thread, no GEMM (no packing, no `SMALL_MNK` switch, no
//! parallel activation pass). The activation and its derivative are `ops::unary::f` /
//! `ops::unary::df` (gradient-checked there). The fast path is tested against it for
//! every activation, `Exp` included (`tests/h16ref_linear_act.rs`).

use super::LinearShape;
use crate::autograd::UnaryFn;
use crate::ops::unary;

/// `z_ij = Σ_p x_ip W_pj + b_j` (B, D_out), rounded to f32 once.
fn pre(x: &[f32], w: &[f32], bias: &[f32], s: LinearShape) -> Vec<f32> {
    let mut z = vec![0f32; s.b * s.d_out];
    for i in 0..s.b {
        for j in 0..s.d_out {
            let mut acc = bias[j] as f64;
            for p in 0..s.d_in {
                acc += x[i * s.d_in + p] as f64 * w[p * s.d_out + j] as f64;
            }
            z[i * s.d_out + j] = acc as f32;
        }
    }
    z
}

/// Returns `(y, z)`: `y = f(z)` and the pre-activation `z = x · W + b`, both (B, D_out).
/// `f = None` is the identity.
pub fn linear_act_forward_reference(
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    s: LinearShape,
    f: Option<UnaryFn>,
) -> (Vec<f32>, Vec<f32>) {
    let z = pre(x, w, bias, s);
    let y = match f {
        None => z.clone(),
        Some(kind) => z.iter().map(|&v| unary::f(kind, v)).collect(),
    };
    (y, z)
}

/// Returns `(dx, dW, db)` for the upstream gradient `dy` (B, D_out):
///
/// ```text
/// dz_ij = dy_ij · f′(z_ij)
/// dx_ip = Σ_j dz_ij W_pj       dW_pj = Σ_i x_ip dz_ij       db_j = Σ_i dz_ij
/// ```
pub fn linear_act_backward_reference(
    dy: &[f32],
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    s: LinearShape,
    f: Option<UnaryFn>,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (b, d_in, d_out) = (s.b, s.d_in, s.d_out);
    let (y, z) = linear_act_forward_reference(x, w, bias, s, f);
    let dz: Vec<f64> = (0..b * d_out)
        .map(|n| match f {
            None => dy[n] as f64,
            Some(kind) => dy[n] as f64 * unary::df(kind, z[n], y[n]) as f64,
        })
        .collect();
    let mut dx = vec![0f32; b * d_in];
    for i in 0..b {
        for p in 0..d_in {
            let acc: f64 = (0..d_out)
                .map(|j| dz[i * d_out + j] * w[p * d_out + j] as f64)
                .sum();
            dx[i * d_in + p] = acc as f32;
        }
    }
    let mut dw = vec![0f32; d_in * d_out];
    for p in 0..d_in {
        for j in 0..d_out {
            let acc: f64 = (0..b)
                .map(|i| x[i * d_in + p] as f64 * dz[i * d_out + j])
                .sum();
            dw[p * d_out + j] = acc as f32;
        }
    }
    let db = (0..d_out)
        .map(|j| (0..b).map(|i| dz[i * d_out + j]).sum::<f64>() as f32)
        .collect();
    (dx, dw, db)
}
