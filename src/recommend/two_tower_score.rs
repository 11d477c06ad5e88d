//! The whole per-pair network of the two-tower split in one pass per block of pairs, for
//! MMoE with one-layer experts: mixtures ([`mix_pair`]) then each task's tower and output
//! function, on plain buffers (no autograd graph).
//!
//! ```text
//! per block of ≤ PAIRS_PER_TASK pairs (one rayon task):
//!   M_t  = the block's mixtures of task t        (n, D)   mix_pair, zero-initialised
//!   h    = f_l(h · W_l + b_l), l = 1..L, h₀ = M_t  (n, D_l) linear_act_forward, as the graph
//!   out[p, t] = σ(h[p]) (binary) or h[p] (regression)
//! ```
//!
//! What this saves over `TwoTower::score_pairs` with [`super::two_tower_fused::mix_fused`]
//! and the graph: the `(P, K, D)` mixture buffer and its transposition into `K` buffers
//! of `(P, D)`, the graph's nodes and copies, and one rayon dispatch per tower layer;
//! each block's mixtures stay in cache while its towers read them. The towers use the
//! same kernel (`linear_act_forward`) as the graph's fused linear + activation, so the
//! values are those of the graph path up to the GEMM's blocking (≤ 1e-5,
//! `tests/recommend_two_tower.rs`).

use super::two_tower::Partials;
use super::two_tower_fused::{mix_pair, PairInputs, Scratch};
use crate::autograd::UnaryFn;
use crate::config::TaskType;
use crate::ops::linear_act::{linear_act_forward, LinearShape};
use rayon::prelude::*;

/// Pairs per rayon task: a block's mixtures (n·K·D floats, 64 KiB at K = 2, D = 64) stay
/// in L2, and a tower layer's product (n × D × D_1 = 128 × 64 × 32) stays below the
/// GEMM's threshold for splitting among threads (no nested dispatch).
const PAIRS_PER_TASK: usize = 128;

/// One dense layer of a tower with its weights copied out of the parameter store.
#[derive(Clone, Debug)]
pub struct DenseLayer {
    /// `(D_in, D_out)`.
    pub w: Vec<f32>,
    /// `(D_out,)`.
    pub b: Vec<f32>,
    pub d_in: usize,
    pub d_out: usize,
    /// Activation after the product (`None`: identity).
    pub f: Option<UnaryFn>,
}

/// One task's tower and output function.
#[derive(Clone, Debug)]
pub struct TowerNet {
    pub layers: Vec<DenseLayer>,
    pub kind: TaskType,
}

/// Task values of `pairs` (user row, item row): probability for binary tasks, value for
/// regression; `e` experts of width `dim`, `f` their activation.          // (P, K)
pub fn score_fused(
    users: &Partials,
    items: &Partials,
    pairs: &[(u32, u32)],
    e: usize,
    dim: usize,
    f: Option<UnaryFn>,
    towers: &[TowerNet],
) -> Vec<f32> {
    let k = towers.len();
    let inp = PairInputs {
        users,
        items,
        e,
        dim,
        f,
    };
    let mut out = vec![0.0f32; pairs.len() * k];
    out.par_chunks_mut(PAIRS_PER_TASK * k)
        .zip(pairs.par_chunks(PAIRS_PER_TASK))
        .for_each(|(o, ps)| score_block(inp, ps, towers, o));
    out
}

/// One block of [`score_fused_segments`]: its outputs and its pairs.
type Block<'a> = (&'a mut [f32], &'a [(u32, u32)]);

/// [`score_fused`] of several users' pairs in one parallel pass: `segments[s]` are
/// user `s`'s pairs, and the result's `s`-th vector their task values. Blocks never
/// cross a segment's boundary and start at its first pair, so each segment gets the
/// same floats as [`score_fused`] of that segment alone (the blocks are the same; the
/// server's batches of concurrent requests rely on it).                     // S × (P_s, K)
pub fn score_fused_segments(
    users: &Partials,
    items: &Partials,
    segments: &[Vec<(u32, u32)>],
    e: usize,
    dim: usize,
    f: Option<UnaryFn>,
    towers: &[TowerNet],
) -> Vec<Vec<f32>> {
    let k = towers.len();
    let mut outs: Vec<Vec<f32>> = segments.iter().map(|s| vec![0.0f32; s.len() * k]).collect();
    let mut blocks: Vec<Block<'_>> = Vec::new();
    for (o, s) in outs.iter_mut().zip(segments) {
        blocks.extend(
            o.chunks_mut(PAIRS_PER_TASK * k)
                .zip(s.chunks(PAIRS_PER_TASK)),
        );
    }
    let inp = PairInputs {
        users,
        items,
        e,
        dim,
        f,
    };
    blocks
        .into_par_iter()
        .for_each(|(o, ps)| score_block(inp, ps, towers, o));
    outs
}

/// Task values of one block of pairs `ps` into `out` (n, K).
fn score_block(inp: PairInputs<'_>, ps: &[(u32, u32)], towers: &[TowerNet], out: &mut [f32]) {
    let (n, k, dim) = (ps.len(), towers.len(), inp.dim);
    let mut scratch = Scratch::new(k, inp.e, dim);
    let mut mix = vec![0.0f32; k * n * dim]; // (K, n, D): task t's block at t·n·D
    for (j, &pair) in ps.iter().enumerate() {
        mix_pair(inp, pair, &mut scratch, &mut mix, j * dim, n * dim);
    }
    let widest = towers
        .iter()
        .flat_map(|t| t.layers.iter().map(|l| l.d_out))
        .max()
        .unwrap_or(1);
    let (mut h, mut next) = (vec![0.0f32; n * widest], vec![0.0f32; n * widest]);
    for (t, tower) in towers.iter().enumerate() {
        let mut width = dim;
        for (l, layer) in tower.layers.iter().enumerate() {
            let inp: &[f32] = if l == 0 {
                &mix[t * n * dim..(t + 1) * n * dim]
            } else {
                &h[..n * width]
            };
            let o = &mut next[..n * layer.d_out];
            linear_act_forward(
                o,
                &mut [],
                inp,
                &layer.w,
                &layer.b,
                LinearShape {
                    b: n,
                    d_in: layer.d_in,
                    d_out: layer.d_out,
                },
                layer.f,
            );
            std::mem::swap(&mut h, &mut next);
            width = layer.d_out;
        }
        for (j, &v) in h[..n].iter().enumerate() {
            out[j * k + t] = match tower.kind {
                TaskType::Binary => crate::ops::unary::f(UnaryFn::Sigmoid, v),
                TaskType::Regression => v,
            };
        }
    }
}
