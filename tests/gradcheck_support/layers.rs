//! Gradient-check problems of the layer ops: gather, embedding bag, dropout, layer norm,
//! the gate, the fused linear layer, the factorised embedding + linear layer, the logit product.

use super::*;
use mtrec::autograd::ParamStore;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

pub fn p_gather(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let v = d.k + 1;
    let idx: Vec<u32> = (0..d.r + 2).map(|_| rng.gen_range(0..v as u32)).collect(); // repeats likely
    let mut s = ParamStore::new();
    let t = s
        .add_table("table", v, d.c, sym(&mut rng, v * d.c))
        .unwrap();
    Problem {
        store: s,
        build: Box::new(move |g, s| g.gather(s, t, &idx)),
    }
}

/// Random bags over a small table: bag 0 is empty and bag 1 repeats an id, so the
/// zero row and the repeated-id accumulation are always exercised.
pub fn p_embedding_bag(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let v = d.k + 1;
    let mut offsets = vec![0u32, 0];
    let x = rng.gen_range(0..v as u32);
    let mut ids = vec![x, x, rng.gen_range(0..v as u32)];
    offsets.push(ids.len() as u32);
    for _ in 0..d.r {
        for _ in 0..rng.gen_range(0..4) {
            ids.push(rng.gen_range(0..v as u32));
        }
        offsets.push(ids.len() as u32);
    }
    let mut s = ParamStore::new();
    let t = s
        .add_table("table", v, d.c, sym(&mut rng, v * d.c))
        .unwrap();
    Problem {
        store: s,
        build: Box::new(move |g, s| g.embedding_bag(s, t, &offsets, &ids)),
    }
}

pub fn p_dropout(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let mut s = ParamStore::new();
    let a = dense(&mut s, "a", d.r, d.c, sym(&mut rng, d.r * d.c));
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let a = g.param(s, a)?;
            g.dropout(a, 0.3)
        }),
    }
}

pub fn p_layer_norm(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let c = d.c + 1;
    let mut s = ParamStore::new();
    // Rows with a spread of values: a row whose values nearly coincide has σ → 0, where
    // the normalisation is ill-conditioned and central differences are meaningless.
    let xs: Vec<f32> = (0..d.r * c)
        .map(|i| 0.8 * (i % c) as f32 + rng.gen_range(-0.25..0.25))
        .collect();
    let x = dense(&mut s, "x", d.r, c, xs);
    let gamma = dense(&mut s, "gamma", 1, c, uniform(&mut rng, c, 0.5, 1.5));
    let beta = dense(&mut s, "beta", 1, c, sym(&mut rng, c));
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let (x, ga, be) = (g.param(s, x)?, g.param(s, gamma)?, g.param(s, beta)?);
            g.layer_norm(x, ga, be, 1e-5)
        }),
    }
}

pub fn p_gate(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let (b, e, w) = (d.r, d.k, d.c);
    let mut s = ParamStore::new();
    let x = dense(&mut s, "experts", b, e * w, sym(&mut rng, b * e * w));
    let z = dense(&mut s, "gate", b, e, sym(&mut rng, b * e));
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let (x, z) = (g.param(s, x)?, g.param(s, z)?);
            g.gate_combine(x, z)
        }),
    }
}

/// `f(x·W + b)` with f drawn from {identity, relu, sigmoid, tanh, gelu}. For ReLU the
/// values are redrawn (seeded) until every pre-activation is at least 0.1 from the kink,
/// which a ±h perturbation (h·|value| ≤ 0.02) cannot cross.
pub fn p_linear_act(d: Dims) -> Problem {
    use mtrec::autograd::UnaryFn;
    let mut rng = StdRng::seed_from_u64(d.seed);
    let fs = [
        None,
        Some(UnaryFn::Relu),
        Some(UnaryFn::Sigmoid),
        Some(UnaryFn::Tanh),
        Some(UnaryFn::Gelu),
    ];
    let mut f = fs[rng.gen_range(0..fs.len())];
    let (b, d_in, d_out) = (d.r, d.k, d.c);
    let draw = |rng: &mut StdRng| {
        let x = uniform(rng, b * d_in, -1.0, 1.0);
        let w = uniform(rng, d_in * d_out, -1.0, 1.0);
        let bias = uniform(rng, d_out, -1.0, 1.0);
        let off_kink = (0..b).all(|i| {
            (0..d_out).all(|j| {
                let z: f32 = bias[j]
                    + (0..d_in)
                        .map(|p| x[i * d_in + p] * w[p * d_out + j])
                        .sum::<f32>();
                z.abs() >= 0.1
            })
        });
        (x, w, bias, off_kink)
    };
    let mut vals = draw(&mut rng);
    if f == Some(UnaryFn::Relu) {
        for _ in 0..1000 {
            if vals.3 {
                break;
            }
            vals = draw(&mut rng);
        }
        if !vals.3 {
            f = Some(UnaryFn::Tanh); // no draw off the kink: check a smooth activation
        }
    }
    let mut s = ParamStore::new();
    let x = dense(&mut s, "x", b, d_in, vals.0);
    let w = dense(&mut s, "w", d_in, d_out, vals.1);
    let bias = dense(&mut s, "b", 1, d_out, vals.2);
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let (x, w, bias) = (g.param(s, x)?, g.param(s, w)?, g.param(s, bias)?);
            g.linear_act(x, w, bias, f)
        }),
    }
}

/// `f(x·W + b)` over `x = [T_1[ids_1] | T_2[ids_2] | numerics]`, recorded as the
/// factorised op (`EmbedLinearMode::Always`): ids repeat (the per-id sums), the tables
/// are narrow (2 and 3 wide) and the numerics dense. f is drawn from the smooth
/// activations (ReLU's dz is the shared `dz_into`, checked through `linear_act`).
pub fn p_embed_linear(d: Dims) -> Problem {
    use mtrec::autograd::UnaryFn;
    use mtrec::ops::embed_linear::EmbedLinearMode;
    let mut rng = StdRng::seed_from_u64(d.seed);
    let fs = [
        None,
        Some(UnaryFn::Sigmoid),
        Some(UnaryFn::Tanh),
        Some(UnaryFn::Gelu),
    ];
    let f = fs[rng.gen_range(0..fs.len())];
    let (b, n, v) = (d.r + 1, d.c, d.k + 1);
    let ids: Vec<Vec<u32>> = (0..2)
        .map(|_| (0..b).map(|_| rng.gen_range(0..v as u32)).collect())
        .collect();
    let num = uniform(&mut rng, b, -1.0, 1.0);
    let mut s = ParamStore::new();
    let t1 = s
        .add_table("t1", v, 2, uniform(&mut rng, v * 2, -1.0, 1.0))
        .unwrap();
    let t2 = s
        .add_table("t2", v, 3, uniform(&mut rng, v * 3, -1.0, 1.0))
        .unwrap();
    let w = dense(&mut s, "w", 6, n, uniform(&mut rng, 6 * n, -1.0, 1.0));
    let bias = dense(&mut s, "b", 1, n, uniform(&mut rng, n, -1.0, 1.0));
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            g.set_embed_linear(EmbedLinearMode::Always);
            let (e1, e2) = (g.gather(s, t1, &ids[0])?, g.gather(s, t2, &ids[1])?);
            let x_num = g.input_slice(b, 1, &num)?;
            let x = g.concat_cols(&[e1, e2, x_num])?;
            let (w, bias) = (g.param(s, w)?, g.param(s, bias)?);
            g.linear_act(x, w, bias, f)
        }),
    }
}

pub fn p_logit_product(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let mut s = ParamStore::new();
    let a = dense(
        &mut s,
        "a",
        d.r,
        d.c,
        uniform(&mut rng, d.r * d.c, -4.0, 4.0),
    );
    let b = dense(
        &mut s,
        "b",
        d.r,
        d.c,
        uniform(&mut rng, d.r * d.c, -4.0, 4.0),
    );
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let (a, b) = (g.param(s, a)?, g.param(s, b)?);
            g.logit_product(a, b)
        }),
    }
}
