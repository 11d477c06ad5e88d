//! The fused pair kernel of the two-tower split: from the user's and the item's partial
//! products straight to each task's expert mixture, for MMoE with one-layer experts.
//!
//! ```text
//! per pair p = (u, i):
//!   a    = act(Pe_u + Qe_i)                         (E·D)   experts' output, never stored
//!   w_t  = softmax(Pg^t_u + Qg^t_i)                 (E)     task t's gate
//!   mix_t = Σ_e w_t[e] · a[e·D .. (e+1)·D]          (D)     task t's tower input
//! ```
//!
//! The unfused path ([`mix_naive`], as `TwoTower::score_pairs` did) writes `Pe_u + Qe_i`
//! for every pair (B × E·D), applies the activation into a second buffer of that size and
//! reads it again in `gate_combine`: three passes over B·E·D floats per batch. Here each
//! pair's `a` is computed one expert (D floats) at a time into a stack-sized buffer and
//! added to every task's mixture at once, so the only per-pair memory is the K·D mixture.
//! The sums run in the same order as the unfused path (experts in order, each weighted
//! row added to a zero-initialised mixture; the same `softmax_row`), so the results are
//! the same floats (`tests/recommend_speed.rs` checks against [`mix_naive`]).

use super::two_tower::Partials;
use crate::autograd::UnaryFn;
use crate::ops::gate::gate_combine_forward;
use crate::ops::softmax::softmax_row;
use rayon::prelude::*;

/// Pairs per rayon task.
const PAIRS_PER_TASK: usize = 256;

fn act(f: Option<UnaryFn>, x: &mut [f32]) {
    match f {
        None => {}
        Some(UnaryFn::Relu) => x.iter_mut().for_each(|v| *v = v.max(0.0)),
        Some(f) => x.iter_mut().for_each(|v| *v = crate::ops::unary::f(f, *v)),
    }
}

/// Task `t`'s mixture of every pair: `K` buffers of `(P, D)`; `e` experts of width `d`,
/// `f` the experts' activation (`None`: identity). See the module documentation.
pub fn mix_fused(
    users: &Partials,
    items: &Partials,
    pairs: &[(u32, u32)],
    e: usize,
    d: usize,
    f: Option<UnaryFn>,
) -> Vec<Vec<f32>> {
    let k = users.gates.len();
    let ed = e * d;
    let mut out = vec![0.0f32; pairs.len() * k * d]; // (P, K, D)
    out.par_chunks_mut(PAIRS_PER_TASK * k * d)
        .zip(pairs.par_chunks(PAIRS_PER_TASK))
        .for_each(|(o, ps)| {
            let mut a = vec![0.0f32; d];
            let mut z = vec![0.0f32; e];
            let mut w = vec![0.0f32; k * e];
            for (n, &(u, i)) in ps.iter().enumerate() {
                let (u, i) = (u as usize, i as usize);
                for t in 0..k {
                    let (pg, qg) = (&users.gates[t], &items.gates[t]);
                    for (j, zj) in z.iter_mut().enumerate() {
                        *zj = pg[u * e + j] + qg[i * e + j];
                    }
                    softmax_row(&mut w[t * e..(t + 1) * e], &z);
                }
                let row = &mut o[n * k * d..(n + 1) * k * d];
                for x in 0..e {
                    let pu = &users.experts[u * ed + x * d..u * ed + (x + 1) * d];
                    let qi = &items.experts[i * ed + x * d..i * ed + (x + 1) * d];
                    for ((aj, p), q) in a.iter_mut().zip(pu).zip(qi) {
                        *aj = p + q;
                    }
                    act(f, &mut a);
                    for t in 0..k {
                        let wt = w[t * e + x];
                        row[t * d..(t + 1) * d]
                            .iter_mut()
                            .zip(&a)
                            .for_each(|(y, &av)| *y += wt * av);
                    }
                }
            }
        });
    (0..k)
        .map(|t| {
            out.chunks_exact(k * d)
                .flat_map(|r| r[t * d..(t + 1) * d].iter().copied())
                .collect()
        })
        .collect()
}

/// The unfused twin of [`mix_fused`]: `P_u + Q_i` for every pair, the activation, then
/// `gate_combine` per task.
pub fn mix_naive(
    users: &Partials,
    items: &Partials,
    pairs: &[(u32, u32)],
    e: usize,
    d: usize,
    f: Option<UnaryFn>,
) -> Vec<Vec<f32>> {
    let sum = |a: &[f32], b: &[f32], w: usize| -> Vec<f32> {
        let mut out = Vec::with_capacity(pairs.len() * w);
        for &(u, i) in pairs {
            let (u, i) = (u as usize, i as usize);
            out.extend(
                a[u * w..(u + 1) * w]
                    .iter()
                    .zip(&b[i * w..(i + 1) * w])
                    .map(|(x, y)| x + y),
            );
        }
        out
    };
    let mut h = sum(&users.experts, &items.experts, e * d);
    act(f, &mut h);
    (0..users.gates.len())
        .map(|t| {
            let z = sum(&users.gates[t], &items.gates[t], e);
            let mut y = vec![0.0f32; pairs.len() * d];
            let mut w = vec![0.0f32; pairs.len() * e];
            gate_combine_forward(&mut y, &mut w, &h, &z, pairs.len(), e, d);
            y
        })
        .collect()
}
