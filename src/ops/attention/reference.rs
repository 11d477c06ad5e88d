//! The plain references of attention: the formulas of `super`'s module doc and
//! derivation as f64 loops per (b, h), one thread, no eight-lane dot products. The fast
//! kernels [`super::attention_forward`] / [`super::attention_backward`] are tested against
//! them (`tests/h16ref_attention.rs`, `tests/h16tests_fastpath_attention.rs`).

use super::AttnDims;

/// P of one (b, h) block (T, T) in f64: `S_ij = s·⟨q_i, k_j⟩` on the allowed entries,
/// softmax per row, 0 on masked entries and on rows with no allowed key.
fn probs(q: &[f32], k: &[f32], bi: usize, hi: usize, len: usize, d: AttnDims) -> Vec<f64> {
    let (t, dh, w) = (d.t, d.dh, d.width());
    let s = 1.0 / (dh as f64).sqrt();
    let at = |i: usize| (bi * t + i) * w + hi * dh;
    let mut p = vec![0f64; t * t];
    for i in 0..t {
        let allowed = |j: usize| i < len && j < len && (!d.causal || j <= i);
        let scores: Vec<f64> = (0..t)
            .map(|j| {
                if !allowed(j) {
                    return f64::NEG_INFINITY;
                }
                (0..dh)
                    .map(|c| q[at(i) + c] as f64 * k[at(j) + c] as f64)
                    .sum::<f64>()
                    * s
            })
            .collect();
        let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        if m == f64::NEG_INFINITY {
            continue; // no allowed key: P = 0
        }
        let z: f64 = scores.iter().map(|x| (x - m).exp()).sum();
        for j in 0..t {
            p[i * t + j] = (scores[j] - m).exp() / z;
        }
    }
    p
}

/// The reference: plain loops in f64, scores of disallowed keys set to −∞, a row with
/// no allowed key left at 0. Same contract as [`attention_forward`] without `p`.
pub fn attention_forward_naive(
    out: &mut [f32],
    q: &[f32],
    k: &[f32],
    v: &[f32],
    lengths: &[usize],
    d: AttnDims,
) {
    let (t, dh, w) = (d.t, d.dh, d.width());
    out.fill(0.0);
    let s = 1.0 / (dh as f64).sqrt();
    for (bi, &len) in lengths.iter().enumerate().take(d.b) {
        for hi in 0..d.h {
            let at = |i: usize| (bi * t + i) * w + hi * dh;
            for i in 0..t {
                let scores: Vec<f64> = (0..t)
                    .map(|j| {
                        let ok = i < len && j < len && (!d.causal || j <= i);
                        if !ok {
                            return f64::NEG_INFINITY;
                        }
                        (0..dh)
                            .map(|c| q[at(i) + c] as f64 * k[at(j) + c] as f64)
                            .sum::<f64>()
                            * s
                    })
                    .collect();
                let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                if m == f64::NEG_INFINITY {
                    continue;
                }
                let e: Vec<f64> = scores.iter().map(|x| (x - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for c in 0..dh {
                    let y: f64 = (0..t).map(|j| e[j] / z * v[at(j) + c] as f64).sum();
                    out[at(i) + c] = y as f32;
                }
            }
        }
    }
}

/// Returns `[dQ, dK, dV]` (each (B·T, H·Dh)) for the upstream gradient `dout`
/// (B·T, H·Dh), P recomputed from q and k. Per (b, h):
///
/// ```text
/// dV = Pᵀ·dO
/// dP = dO·Vᵀ
/// dS_il = P_il·(dP_il − Σ_j dP_ij·P_ij)
/// dQ = s·dS·K,   dK = s·dSᵀ·Q
/// ```
pub fn attention_backward_reference(
    dout: &[f32],
    q: &[f32],
    k: &[f32],
    v: &[f32],
    lengths: &[usize],
    d: AttnDims,
) -> [Vec<f32>; 3] {
    let (t, dh, w) = (d.t, d.dh, d.width());
    let n = d.b * t * w;
    let s = 1.0 / (dh as f64).sqrt();
    let (mut dq, mut dk, mut dv) = (vec![0f64; n], vec![0f64; n], vec![0f64; n]);
    for (bi, &len) in lengths.iter().enumerate().take(d.b) {
        for hi in 0..d.h {
            let at = |i: usize| (bi * t + i) * w + hi * dh;
            let p = probs(q, k, bi, hi, len, d);
            // dV = Pᵀ·dO
            for j in 0..t {
                for c in 0..dh {
                    dv[at(j) + c] += (0..t)
                        .map(|i| p[i * t + j] * dout[at(i) + c] as f64)
                        .sum::<f64>();
                }
            }
            // dP = dO·Vᵀ
            let mut dp = vec![0f64; t * t];
            for i in 0..t {
                for j in 0..t {
                    dp[i * t + j] = (0..dh)
                        .map(|c| dout[at(i) + c] as f64 * v[at(j) + c] as f64)
                        .sum();
                }
            }
            // dS_il = P_il·(dP_il − Σ_j dP_ij·P_ij)
            let mut ds = vec![0f64; t * t];
            for i in 0..t {
                let row: f64 = (0..t).map(|j| dp[i * t + j] * p[i * t + j]).sum();
                for l in 0..t {
                    ds[i * t + l] = p[i * t + l] * (dp[i * t + l] - row);
                }
            }
            // dQ = s·dS·K, dK = s·dSᵀ·Q
            for i in 0..t {
                for c in 0..dh {
                    dq[at(i) + c] += s
                        * (0..t)
                            .map(|j| ds[i * t + j] * k[at(j) + c] as f64)
                            .sum::<f64>();
                    dk[at(i) + c] += s
                        * (0..t)
                            .map(|j| ds[j * t + i] * q[at(j) + c] as f64)
                            .sum::<f64>();
                }
            }
        }
    }
    [dq, dk, dv].map(|g| g.iter().map(|&x| x as f32).collect())
}
