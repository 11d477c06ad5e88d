//! Gradient-check problems of the tensor ops: the matrix product, broadcast binary ops,
//! one-input ops, column concatenation and slices, row selection.

use super::*;
use mtrec::autograd::{Graph, ParamStore, Var};
use mtrec::Result;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

pub fn p_matmul(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let (ta, tb) = (rng.gen::<bool>(), rng.gen::<bool>());
    let (m, k, n) = (d.r, d.k, d.c);
    let mut s = ParamStore::new();
    let a = if ta {
        dense(&mut s, "a", k, m, uniform(&mut rng, m * k, -1.0, 1.0))
    } else {
        dense(&mut s, "a", m, k, uniform(&mut rng, m * k, -1.0, 1.0))
    };
    let b = if tb {
        dense(&mut s, "b", n, k, uniform(&mut rng, k * n, -1.0, 1.0))
    } else {
        dense(&mut s, "b", k, n, uniform(&mut rng, k * n, -1.0, 1.0))
    };
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let (a, b) = (g.param(s, a)?, g.param(s, b)?);
            g.matmul(a, b, ta, tb)
        }),
    }
}

/// `a ∘ b` with b of a random broadcast shape; `which` picks add / sub / mul.
pub fn p_binary(d: Dims, which: u8) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let (br, bc) = match rng.gen_range(0..4) {
        0 => (d.r, d.c),
        1 => (1, d.c),
        2 => (d.r, 1),
        _ => (1, 1),
    };
    let mut s = ParamStore::new();
    let a = dense(
        &mut s,
        "a",
        d.r,
        d.c,
        uniform(&mut rng, d.r * d.c, -1.0, 1.0),
    );
    let b = dense(&mut s, "b", br, bc, uniform(&mut rng, br * bc, -1.0, 1.0));
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let (a, b) = (g.param(s, a)?, g.param(s, b)?);
            match which {
                0 => g.add(a, b),
                1 => g.sub(a, b),
                _ => g.mul(a, b),
            }
        }),
    }
}

/// A one-input op on values drawn by `values`.
pub fn p_unary(
    d: Dims,
    values: fn(&mut StdRng, usize) -> Vec<f32>,
    op: fn(&mut Graph, Var) -> Result<Var>,
) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let mut s = ParamStore::new();
    let a = dense(&mut s, "a", d.r, d.c, values(&mut rng, d.r * d.c));
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let a = g.param(s, a)?;
            op(g, a)
        }),
    }
}

pub fn p_concat(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let mut s = ParamStore::new();
    let a = dense(&mut s, "a", d.r, d.c, sym(&mut rng, d.r * d.c));
    let b = dense(&mut s, "b", d.r, d.k, sym(&mut rng, d.r * d.k));
    // `a` appears twice: concat must add both blocks' gradients into it.
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let (a, b) = (g.param(s, a)?, g.param(s, b)?);
            g.concat_cols(&[a, b, a])
        }),
    }
}

pub fn p_slice(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let cols = d.c + d.k;
    let start = rng.gen_range(0..cols);
    let len = rng.gen_range(1..=cols - start);
    let mut s = ParamStore::new();
    let a = dense(&mut s, "a", d.r, cols, sym(&mut rng, d.r * cols));
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let a = g.param(s, a)?;
            g.slice_cols(a, start, len)
        }),
    }
}

pub fn p_select_rows(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    // repeated and unsorted indices: the backward must add, not overwrite
    let idx: Vec<u32> = (0..d.k + 2).map(|_| rng.gen_range(0..d.r as u32)).collect();
    let mut s = ParamStore::new();
    let a = dense(&mut s, "a", d.r, d.c, sym(&mut rng, d.r * d.c));
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let a = g.param(s, a)?;
            g.select_rows(a, &idx)
        }),
    }
}
