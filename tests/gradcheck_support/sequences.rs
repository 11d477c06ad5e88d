//! Gradient-check problems of the sequence ops: attention and the masked mean.

use super::*;
use mtrec::autograd::ParamStore;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

/// Attention over B = k sequences of T = r tokens, H ∈ {1, 2} heads of width Dh = c,
/// random valid lengths in 0..=T (padding rows, empty sequences) and a random causal flag.
pub fn p_attention(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let (b, t, h, dh) = (d.k, d.r, rng.gen_range(1..3usize), d.c);
    let lengths: Vec<usize> = (0..b).map(|_| rng.gen_range(0..=t)).collect();
    let causal = rng.gen::<bool>();
    let n = b * t * h * dh;
    let mut s = ParamStore::new();
    let q = dense(&mut s, "q", b * t, h * dh, uniform(&mut rng, n, -1.5, 1.5));
    let k = dense(&mut s, "k", b * t, h * dh, uniform(&mut rng, n, -1.5, 1.5));
    let v = dense(&mut s, "v", b * t, h * dh, uniform(&mut rng, n, -1.0, 1.0));
    let spec = mtrec::ops::attention::AttentionSpec {
        batch: b,
        seq_len: t,
        heads: h,
        lengths,
        causal,
    };
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let (q, k, v) = (g.param(s, q)?, g.param(s, k)?, g.param(s, v)?);
            g.attention(q, k, v, &spec)
        }),
    }
}

/// Masked mean over B = k sequences of T = r tokens with random lengths in 0..=T.
pub fn p_masked_mean(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let (b, t) = (d.k, d.r);
    let lengths: Vec<usize> = (0..b).map(|_| rng.gen_range(0..=t)).collect();
    let mut s = ParamStore::new();
    let x = dense(&mut s, "x", b * t, d.c, sym(&mut rng, b * t * d.c));
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let x = g.param(s, x)?;
            g.masked_mean(x, t, &lengths)
        }),
    }
}
