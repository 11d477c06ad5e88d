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

/// Which build of [`mix_pair`]'s body runs: the same Rust compiled for wider vectors.
/// Additions, products and `max` only, never contracted into FMA, so every build gives
/// the same floats (`tests/s8recserve_mix.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MixKernel {
    /// The portable build (the reference).
    Portable,
    /// 8-wide (AVX2).
    Avx2,
    /// 16-wide (AVX-512F): one vector per 16 of an expert's D outputs.
    Avx512,
}

impl MixKernel {
    /// The widest build this CPU runs (detected once).
    pub fn detect() -> MixKernel {
        static HAS: std::sync::OnceLock<MixKernel> = std::sync::OnceLock::new();
        *HAS.get_or_init(|| {
            let all = MixKernel::available();
            *all.last().expect("the portable build")
        })
    }

    /// Every build this CPU runs, narrowest first.
    pub fn available() -> Vec<MixKernel> {
        let mut out = vec![MixKernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") {
                out.push(MixKernel::Avx2);
            }
            if is_x86_feature_detected!("avx512f") {
                out.push(MixKernel::Avx512);
            }
        }
        out
    }
}

/// Per-thread buffers of [`mix_pair`].
pub(crate) struct Scratch {
    e: usize,
    dim: usize,
    /// One expert's output.                                      // (D,)
    a: Vec<f32>,
    /// One task's gate logits.                                   // (E,)
    z: Vec<f32>,
    /// Every task's gate weights.                                // (K, E)
    w: Vec<f32>,
    /// The build of [`mix_pair`] to run (one the CPU has).
    kernel: MixKernel,
}

impl Scratch {
    pub(crate) fn new(k: usize, e: usize, dim: usize) -> Scratch {
        Scratch {
            e,
            dim,
            a: vec![0.0; dim],
            z: vec![0.0; e],
            w: vec![0.0; k * e],
            kernel: MixKernel::detect(),
        }
    }

    /// [`Scratch::new`] running `kernel` (one of [`MixKernel::available`]).
    pub(crate) fn with_kernel(k: usize, e: usize, dim: usize, kernel: MixKernel) -> Scratch {
        assert!(
            MixKernel::available().contains(&kernel),
            "{kernel:?} is not available on this CPU"
        );
        Scratch {
            kernel,
            ..Scratch::new(k, e, dim)
        }
    }
}

/// What every pair of one scoring call reads: both sides' partial products and the
/// experts' shape (E experts of width D) and activation.
#[derive(Clone, Copy)]
pub(crate) struct PairInputs<'a> {
    /// The users' side: `Pe` (U, E·D) and each task's `Pg^t` (U, E).
    pub users: &'a Partials,
    /// The items' side: `Qe` (I, E·D) and each task's `Qg^t` (I, E).
    pub items: &'a Partials,
    /// E.
    pub e: usize,
    /// D.
    pub dim: usize,
    /// The experts' activation (`None`: identity).
    pub f: Option<UnaryFn>,
}

/// Adds pair `(u, i)`'s mixture of task `t` into `out[at + t·stride ..][..D]` for every
/// task (the slots must hold zeros): the per-pair body of [`mix_fused`] and of
/// `two_tower_score::score_fused`, so both sum in the same order.
///
/// With AVX2 or AVX-512F (detected once, [`MixKernel`]) the same code is compiled for
/// 8- or 16-wide vectors: additions, products and `max` only, no contraction into FMA,
/// so the floats are the same.
#[inline]
pub(crate) fn mix_pair(
    inp: PairInputs<'_>,
    pair: (u32, u32),
    s: &mut Scratch,
    out: &mut [f32],
    at: usize,
    stride: usize,
) {
    #[cfg(target_arch = "x86_64")]
    match s.kernel {
        // SAFETY: `s.kernel` is only a build the CPU has (Scratch::new / with_kernel).
        MixKernel::Avx512 => return unsafe { mix_pair_avx512(inp, pair, s, out, at, stride) },
        // SAFETY: as above.
        MixKernel::Avx2 => return unsafe { mix_pair_avx2(inp, pair, s, out, at, stride) },
        MixKernel::Portable => {}
    }
    mix_pair_body(inp, pair, s, out, at, stride);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn mix_pair_avx512(
    inp: PairInputs<'_>,
    pair: (u32, u32),
    s: &mut Scratch,
    out: &mut [f32],
    at: usize,
    stride: usize,
) {
    mix_pair_body(inp, pair, s, out, at, stride);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mix_pair_avx2(
    inp: PairInputs<'_>,
    pair: (u32, u32),
    s: &mut Scratch,
    out: &mut [f32],
    at: usize,
    stride: usize,
) {
    mix_pair_body(inp, pair, s, out, at, stride);
}

#[inline(always)]
fn mix_pair_body(
    inp: PairInputs<'_>,
    (u, i): (u32, u32),
    s: &mut Scratch,
    out: &mut [f32],
    at: usize,
    stride: usize,
) {
    let PairInputs {
        users, items, f, ..
    } = inp;
    let (e, dim) = (s.e, s.dim);
    let ed = e * dim;
    let k = users.gates.len();
    let (u, i) = (u as usize, i as usize);
    for t in 0..k {
        let (pg, qg) = (
            &users.gates[t][u * e..(u + 1) * e],
            &items.gates[t][i * e..(i + 1) * e],
        );
        for ((zj, p), q) in s.z.iter_mut().zip(pg).zip(qg) {
            *zj = p + q;
        }
        softmax_row(&mut s.w[t * e..(t + 1) * e], &s.z);
    }
    let pu = &users.experts[u * ed..(u + 1) * ed];
    let qi = &items.experts[i * ed..(i + 1) * ed];
    for x in 0..e {
        let (px, qx) = (&pu[x * dim..(x + 1) * dim], &qi[x * dim..(x + 1) * dim]);
        if f == Some(UnaryFn::Relu) {
            for ((aj, p), q) in s.a.iter_mut().zip(px).zip(qx) {
                *aj = (p + q).max(0.0);
            }
        } else {
            for ((aj, p), q) in s.a.iter_mut().zip(px).zip(qx) {
                *aj = p + q;
            }
            act(f, &mut s.a);
        }
        for t in 0..k {
            let wt = s.w[t * e + x];
            out[at + t * stride..at + t * stride + dim]
                .iter_mut()
                .zip(&s.a)
                .for_each(|(y, &av)| *y += wt * av);
        }
    }
}

/// Task `t`'s mixture of every pair: `K` buffers of `(P, D)`; `e` experts of width `dim`,
/// `f` the experts' activation (`None`: identity). See the module documentation.
pub fn mix_fused(
    users: &Partials,
    items: &Partials,
    pairs: &[(u32, u32)],
    e: usize,
    dim: usize,
    f: Option<UnaryFn>,
) -> Vec<Vec<f32>> {
    mix_fused_with(MixKernel::detect(), users, items, pairs, e, dim, f)
}

/// [`mix_fused`] with the build `kernel` of the pair body (one of
/// [`MixKernel::available`]; panics otherwise): for the tests that hold every build to
/// the portable one.
pub fn mix_fused_with(
    kernel: MixKernel,
    users: &Partials,
    items: &Partials,
    pairs: &[(u32, u32)],
    e: usize,
    dim: usize,
    f: Option<UnaryFn>,
) -> Vec<Vec<f32>> {
    let k = users.gates.len();
    let inp = PairInputs {
        users,
        items,
        e,
        dim,
        f,
    };
    let mut out = vec![0.0f32; pairs.len() * k * dim]; // (P, K, D)
    out.par_chunks_mut(PAIRS_PER_TASK * k * dim)
        .zip(pairs.par_chunks(PAIRS_PER_TASK))
        .for_each(|(o, ps)| {
            let mut scratch = Scratch::with_kernel(k, e, dim, kernel);
            for (n, &(u, i)) in ps.iter().enumerate() {
                // task t's mixture of pair n at o[n·K·D + t·D ..]: stride D between tasks
                mix_pair(inp, (u, i), &mut scratch, o, n * k * dim, dim);
            }
        });
    (0..k)
        .map(|t| {
            out.chunks_exact(k * dim)
                .flat_map(|r| r[t * dim..(t + 1) * dim].iter().copied())
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
    dim: usize,
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
    let mut h = sum(&users.experts, &items.experts, e * dim);
    act(f, &mut h);
    (0..users.gates.len())
        .map(|t| {
            let z = sum(&users.gates[t], &items.gates[t], e);
            let mut y = vec![0.0f32; pairs.len() * dim];
            let mut w = vec![0.0f32; pairs.len() * e];
            gate_combine_forward(&mut y, &mut w, &h, &z, pairs.len(), e, dim);
            y
        })
        .collect()
}
