//! The plain reference of softmax cross-entropy: the formulas of the derivation in
//! `super` as row loops in f64, one thread, no row blocks. The fast paths
//! [`super::softmax_ce_forward`] / [`super::softmax_ce_backward`] (rows in parallel above
//! `PAR_MIN`) are tested against it in `tests/h16ref_softmax_ce.rs`.

/// Returns `(L, p)`: `p_i = softmax(z_i)` (B, V) and
/// `L = Σ_i c_i · (ln Σ_v e^(z_iv) − z_{i, y_i})`.
pub fn softmax_ce_forward_reference(
    z: &[f32],
    classes: &[u32],
    coef: &[f32],
    b: usize,
    v: usize,
) -> (f32, Vec<f32>) {
    let mut p = vec![0f32; b * v];
    let mut loss = 0f64;
    for i in 0..b {
        let zi = &z[i * v..(i + 1) * v];
        let m = zi.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
        let sum: f64 = zi.iter().map(|&x| (x as f64 - m).exp()).sum();
        for u in 0..v {
            p[i * v + u] = ((zi[u] as f64 - m).exp() / sum) as f32;
        }
        let lse = m + sum.ln();
        loss += coef[i] as f64 * (lse - zi[classes[i] as usize] as f64);
    }
    (loss as f32, p)
}

/// Returns `∂L/∂z_iv = dL · c_i · (p_iv − δ_{v, y_i})` (B, V), the probabilities
/// recomputed from the logits `z`.
pub fn softmax_ce_backward_reference(
    dl: f32,
    z: &[f32],
    classes: &[u32],
    coef: &[f32],
    b: usize,
    v: usize,
) -> Vec<f32> {
    let (_, p) = softmax_ce_forward_reference(z, classes, coef, b, v);
    let mut dz = vec![0f32; b * v];
    for i in 0..b {
        for u in 0..v {
            let onehot = if u == classes[i] as usize { 1.0 } else { 0.0 };
            dz[i * v + u] = (dl as f64 * coef[i] as f64 * (p[i * v + u] as f64 - onehot)) as f32;
        }
    }
    dz
}
