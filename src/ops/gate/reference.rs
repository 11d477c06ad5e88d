//! The plain reference of the gate combine: the formulas of the derivation in `super`,
//! one loop each, in f64, one thread, no special widths (no E ≤ 64 stack scratch, no row
//! blocks). The fast paths [`super::gate_combine_forward`] / [`super::gate_combine_backward`]
//! are tested against it past every switch (`tests/h16ref_gate.rs`).

use super::GateShape;

/// `w_ie = exp(z_ie) / Σ_e' exp(z_ie')` (shifted by the row maximum) in f64, (B, E).
fn weights(z: &[f32], s: GateShape) -> Vec<f64> {
    let mut w = vec![0f64; s.b * s.e];
    for i in 0..s.b {
        let zi = &z[i * s.e..(i + 1) * s.e];
        let m = zi.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
        let sum: f64 = zi.iter().map(|&v| (v as f64 - m).exp()).sum();
        for e in 0..s.e {
            w[i * s.e + e] = (zi[e] as f64 - m).exp() / sum;
        }
    }
    w
}

/// Returns `(y, w)`: `y_id = Σ_e w_ie · X_i,eD+d` (B, D) and the gate weights (B, E).
pub fn gate_combine_forward_reference(x: &[f32], z: &[f32], s: GateShape) -> (Vec<f32>, Vec<f32>) {
    let (b, e_n, d_n) = (s.b, s.e, s.width);
    let w = weights(z, s);
    let mut y = vec![0f32; b * d_n];
    for i in 0..b {
        for d in 0..d_n {
            let mut acc = 0f64;
            for e in 0..e_n {
                acc += w[i * e_n + e] * x[i * e_n * d_n + e * d_n + d] as f64;
            }
            y[i * d_n + d] = acc as f32;
        }
    }
    (y, w.iter().map(|&v| v as f32).collect())
}

/// Returns `(dX, dz)` for the upstream gradient `dy` (B, D), the weights recomputed from
/// the logits `z`:
///
/// ```text
/// ∂L/∂X_i,eD+d = w_ie · dy_id
/// a_ie = Σ_d dy_id · X_i,eD+d
/// ∂L/∂z_ie = w_ie · (a_ie − Σ_e' w_ie' a_ie')
/// ```
pub fn gate_combine_backward_reference(
    dy: &[f32],
    x: &[f32],
    z: &[f32],
    s: GateShape,
) -> (Vec<f32>, Vec<f32>) {
    let (b, e_n, d_n) = (s.b, s.e, s.width);
    let w = weights(z, s);
    let mut dx = vec![0f32; b * e_n * d_n];
    let mut dz = vec![0f32; b * e_n];
    for i in 0..b {
        for e in 0..e_n {
            for d in 0..d_n {
                dx[i * e_n * d_n + e * d_n + d] = (w[i * e_n + e] * dy[i * d_n + d] as f64) as f32;
            }
        }
        let mut a = vec![0f64; e_n];
        for (e, ae) in a.iter_mut().enumerate() {
            for d in 0..d_n {
                *ae += dy[i * d_n + d] as f64 * x[i * e_n * d_n + e * d_n + d] as f64;
            }
        }
        let wa: f64 = (0..e_n).map(|e| w[i * e_n + e] * a[e]).sum();
        for e in 0..e_n {
            dz[i * e_n + e] = (w[i * e_n + e] * (a[e] - wa)) as f32;
        }
    }
    (dx, dz)
}
