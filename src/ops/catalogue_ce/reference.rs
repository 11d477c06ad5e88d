//! The plain reference of the fused catalogue loss: logits materialised, then softmax
//! cross-entropy ([`crate::ops::softmax_ce::softmax_ce_forward_reference`]), then the two
//! products of the derivation, all in f64 loops on one thread. The fused kernel
//! ([`super::catalogue_ce_forward`]) and the graph's unfused composition (`matmul` +
//! `softmax_cross_entropy`) are tested against it in `tests/s7sasrec_catalogue_ce.rs`.

use super::kernel::CeDims;
use crate::ops::softmax_ce::{softmax_ce_backward_reference, softmax_ce_forward_reference};

/// Returns `(L, dH, dE_cat)` at `dL = dl`:
///
/// ```text
/// z = H · E_catᵀ                 (N, V)
/// L = Σ_i c_i·(lse(z_i) − z_{i,y_i})
/// dz = dl·c_i·(softmax(z_i) − δ_{y_i})
/// dH = dz · E_cat   (N, D)       dE_cat = dzᵀ · H   (V, D)
/// ```
pub fn catalogue_ce_reference(
    dl: f32,
    h: &[f32],
    cat: &[f32],
    classes: &[u32],
    coef: &[f32],
    dims: CeDims,
) -> (f32, Vec<f32>, Vec<f32>) {
    let CeDims { n, d, v } = dims;
    let mut z = vec![0f32; n * v];
    for i in 0..n {
        for u in 0..v {
            let dot: f64 = (0..d)
                .map(|p| h[i * d + p] as f64 * cat[u * d + p] as f64)
                .sum();
            z[i * v + u] = dot as f32;
        }
    }
    let (loss, _) = softmax_ce_forward_reference(&z, classes, coef, n, v);
    let dz = softmax_ce_backward_reference(dl, &z, classes, coef, n, v);
    let mut dh = vec![0f32; n * d];
    let mut de = vec![0f32; v * d];
    for i in 0..n {
        for p in 0..d {
            let s: f64 = (0..v)
                .map(|u| dz[i * v + u] as f64 * cat[u * d + p] as f64)
                .sum();
            dh[i * d + p] = s as f32;
        }
    }
    for u in 0..v {
        for p in 0..d {
            let s: f64 = (0..n)
                .map(|i| dz[i * v + u] as f64 * h[i * d + p] as f64)
                .sum();
            de[u * d + p] = s as f32;
        }
    }
    (loss, dh, de)
}
