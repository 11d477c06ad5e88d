//! The fast attention kernels: parallel over (b, h), eight-lane dot products. The plain
//! references they are tested against are [`super::attention_forward_naive`] and
//! [`super::attention_backward_reference`] (`reference.rs`); the derivation is in `super`.

use super::{AttnDims, Qkv, QkvGrads};
use rayon::prelude::*;

/// ⟨a, b⟩ with eight partial sums, so the compiler can keep them in one SIMD register.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Which block a head kernel works on: sequence `bi` (of valid length `len`), head `hi`.
#[derive(Clone, Copy)]
struct Head {
    bi: usize,
    hi: usize,
    len: usize,
}

/// One (b, h) block: probabilities `p` (T, T) and head output `o` (T, Dh), both overwritten.
fn head_forward(p: &mut [f32], o: &mut [f32], qkv: Qkv<'_>, head: Head, d: AttnDims) {
    let Qkv { q, k, v } = qkv;
    let Head { bi, hi, len } = head;
    let (t, dh, w) = (d.t, d.dh, d.width());
    let s = 1.0 / (dh as f32).sqrt();
    let at = |i: usize| (bi * t + i) * w + hi * dh;
    p.fill(0.0);
    o.fill(0.0);
    for i in 0..t {
        let nk = d.keys(i, len);
        if nk == 0 {
            continue;
        }
        let qi = &q[at(i)..at(i) + dh];
        let pi = &mut p[i * t..(i + 1) * t];
        let mut m = f32::NEG_INFINITY;
        for j in 0..nk {
            let sij = s * dot(qi, &k[at(j)..at(j) + dh]);
            pi[j] = sij;
            m = m.max(sij);
        }
        let mut z = 0f32;
        for pij in &mut pi[..nk] {
            *pij = (*pij - m).exp();
            z += *pij;
        }
        let oi = &mut o[i * dh..(i + 1) * dh];
        for j in 0..nk {
            pi[j] /= z;
            let vj = &v[at(j)..at(j) + dh];
            for c in 0..dh {
                oi[c] += pi[j] * vj[c];
            }
        }
    }
}

/// One (b, h) block of the backward pass: accumulates the head's `[dq, dk, dv]` (each
/// (T, Dh), local to the head) from `dout` (B·T, H·Dh) and `p` (T, T).
fn head_backward(
    grads: [&mut [f32]; 3],
    dout: &[f32],
    qkv: Qkv<'_>,
    p: &[f32],
    head: Head,
    d: AttnDims,
) {
    let [dq, dk, dv] = grads;
    let Qkv { q, k, v } = qkv;
    let Head { bi, hi, len } = head;
    let (t, dh, w) = (d.t, d.dh, d.width());
    let s = 1.0 / (dh as f32).sqrt();
    let at = |i: usize| (bi * t + i) * w + hi * dh;
    let mut dp = vec![0f32; t]; // (T,) one row of dP = dO·Vᵀ
    for i in 0..t {
        let nk = d.keys(i, len);
        if nk == 0 {
            continue;
        }
        let doi = &dout[at(i)..at(i) + dh];
        let qi = &q[at(i)..at(i) + dh];
        let pi = &p[i * t..(i + 1) * t];
        // in the forward pass this was o_i = Σ_j P_ij·v_j, so dP_ij = ⟨dO_i, v_j⟩
        let mut rowsum = 0f32;
        for j in 0..nk {
            dp[j] = dot(doi, &v[at(j)..at(j) + dh]);
            rowsum += pi[j] * dp[j];
        }
        for j in 0..nk {
            let pij = pi[j];
            // dV_j += P_ij·dO_i
            let dvj = &mut dv[j * dh..(j + 1) * dh];
            for c in 0..dh {
                dvj[c] += pij * doi[c];
            }
            // dS_ij = P_ij·(dP_ij − Σ_j' P_ij'·dP_ij'); S_ij = s·⟨q_i, k_j⟩
            let ds = s * pij * (dp[j] - rowsum);
            let kj = &k[at(j)..at(j) + dh];
            let dqi = &mut dq[i * dh..(i + 1) * dh];
            for c in 0..dh {
                dqi[c] += ds * kj[c];
            }
            let dkj = &mut dk[j * dh..(j + 1) * dh];
            for c in 0..dh {
                dkj[c] += ds * qi[c];
            }
        }
    }
}

/// Fills `out` (B·T, H·Dh) and the probabilities `p` (B, H, T, T) from `qkv` (each
/// (B·T, H·Dh)); `lengths` holds the B valid lengths. Parallel over (b, h).
pub fn attention_forward(
    out: &mut [f32],
    p: &mut [f32],
    qkv: Qkv<'_>,
    lengths: &[usize],
    d: AttnDims,
) {
    let (t, h, dh, w) = (d.t, d.h, d.dh, d.width());
    out.fill(0.0);
    if d.b * t * h * dh == 0 {
        return;
    }
    let mut heads = vec![0f32; d.b * h * t * dh]; // (B, H, T, Dh)
    p.par_chunks_mut(t * t)
        .zip(heads.par_chunks_mut(t * dh))
        .enumerate()
        .for_each(|(bh, (pc, oc))| {
            let (bi, hi) = (bh / h, bh % h);
            let len = lengths[bi];
            head_forward(pc, oc, qkv, Head { bi, hi, len }, d);
        });
    for (bh, oc) in heads.chunks(t * dh).enumerate() {
        let (bi, hi) = (bh / h, bh % h);
        for i in 0..t {
            let at = (bi * t + i) * w + hi * dh;
            out[at..at + dh].copy_from_slice(&oc[i * dh..(i + 1) * dh]);
        }
    }
}

/// Accumulates `grads` (each (B·T, H·Dh)) for the forward pass of `qkv` that produced
/// `p` (B, H, T, T), given `dout` (B·T, H·Dh). See the derivation. Parallel over (b, h).
pub fn attention_backward(
    grads: QkvGrads<'_>,
    dout: &[f32],
    qkv: Qkv<'_>,
    p: &[f32],
    lengths: &[usize],
    d: AttnDims,
) {
    let QkvGrads { dq, dk, dv } = grads;
    let (t, h, dh, w) = (d.t, d.h, d.dh, d.width());
    if d.b * t * h * dh == 0 {
        return;
    }
    let n = d.b * h * t * dh;
    let (mut gq, mut gk, mut gv) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]); // (B, H, T, Dh)
    gq.par_chunks_mut(t * dh)
        .zip(gk.par_chunks_mut(t * dh))
        .zip(gv.par_chunks_mut(t * dh))
        .enumerate()
        .for_each(|(bh, ((cq, ck), cv))| {
            let (bi, hi) = (bh / h, bh % h);
            let pc = &p[bh * t * t..(bh + 1) * t * t];
            let len = lengths[bi];
            head_backward([cq, ck, cv], dout, qkv, pc, Head { bi, hi, len }, d);
        });
    for (dst, src) in [(dq, &gq), (dk, &gk), (dv, &gv)] {
        let Some(dst) = dst else { continue };
        for (bh, c) in src.chunks(t * dh).enumerate() {
            let (bi, hi) = (bh / h, bh % h);
            for i in 0..t {
                let at = (bi * t + i) * w + hi * dh;
                for (x, y) in dst[at..at + dh].iter_mut().zip(&c[i * dh..(i + 1) * dh]) {
                    *x += y;
                }
            }
        }
    }
}
