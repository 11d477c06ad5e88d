//! Gradient checks as properties: for every op and loss, random shapes and values, the
//! analytic backward against central finite differences.
//!
//! For an op with output y and a random projection R (same shape as y), the scalar
//! `f(θ) = Σ R ⊙ y(θ)` has `∂f/∂θ = backward(seed = R)`. Each parameter element is
//! perturbed by ±h and `(f(θ+h) − f(θ−h)) / 2h` is accumulated in f64. The check is
//! `|a − n| ≤ atol + rtol·max(|a|, |n|)` with tolerances chosen per op; inputs that
//! have kinks (ReLU at 0) are drawn away from them by more than h.
//!
//! `every_op_and_loss_has_a_gradient_check` fails if an op of `OpKind::ALL` has no
//! entry in `CHECKS`.

use mtrec::autograd::{Axis, Graph, OpKind, ParamStore, Var};
use mtrec::loss::LossOpts;
use mtrec::Result;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::collections::BTreeSet;

/// Random sizes and a seed for the values.
#[derive(Clone, Copy, Debug)]
struct Dims {
    r: usize,
    c: usize,
    k: usize,
    seed: u64,
}

type BuildFn = Box<dyn Fn(&mut Graph, &ParamStore) -> Result<Var>>;

/// A problem: parameters to differentiate and the graph that uses them.
struct Problem {
    store: ParamStore,
    build: BuildFn,
}

struct Check {
    kind: OpKind,
    atol: f64,
    rtol: f64,
    h: f32,
    make: fn(Dims) -> Problem,
}

fn uniform(rng: &mut StdRng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(lo..hi)).collect()
}

/// Values in ±[lo, hi]: kept off 0 (for ReLU's kink, log's domain...).
fn away_from_zero(rng: &mut StdRng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n)
        .map(|_| rng.gen_range(lo..hi) * if rng.gen::<bool>() { 1.0 } else { -1.0 })
        .collect()
}

fn dense(
    store: &mut ParamStore,
    name: &str,
    r: usize,
    c: usize,
    v: Vec<f32>,
) -> mtrec::autograd::ParamId {
    store.add_dense(name, r, c, v).unwrap()
}

/// f(θ) = Σ R ⊙ y(θ) in f64 for the current parameter values.
fn project(g: &mut Graph, p: &Problem, r: &[f32]) -> f64 {
    g.reset_with_seed(17);
    let y = (p.build)(g, &p.store).expect("forward");
    g.value(y)
        .iter()
        .zip(r)
        .map(|(&a, &b)| a as f64 * b as f64)
        .sum()
}

fn gradcheck(check: &Check, dims: Dims) -> std::result::Result<(), TestCaseError> {
    let mut p = (check.make)(dims);
    let mut g = Graph::new(0);
    g.reset_with_seed(17);
    let y = (p.build)(&mut g, &p.store)
        .map_err(|e| TestCaseError::fail(format!("forward failed: {e}")))?;
    prop_assert_eq!(
        g.op_kind(y),
        Some(check.kind),
        "the check for {:?} must record that op last",
        check.kind
    );
    let mut rng = StdRng::seed_from_u64(dims.seed ^ 0x5eed);
    let proj = uniform(&mut rng, g.value(y).len(), -1.0, 1.0);
    p.store.zero_grad();
    g.backward_with_grad(y, &proj, &mut p.store)
        .map_err(|e| TestCaseError::fail(format!("backward failed: {e}")))?;
    let ids: Vec<_> = p.store.ids().collect();
    for id in ids {
        let analytic = p.store.grad_to_vec(id);
        let name = p.store.info(id).name.clone();
        for (j, &aj) in analytic.iter().enumerate() {
            let orig = p.store.value(id)[j];
            p.store.value_mut(id)[j] = orig + check.h;
            let fp = project(&mut g, &p, &proj);
            p.store.value_mut(id)[j] = orig - check.h;
            let fm = project(&mut g, &p, &proj);
            p.store.value_mut(id)[j] = orig;
            let numeric = (fp - fm) / (2.0 * check.h as f64);
            let a = aj as f64;
            let tol = check.atol + check.rtol * a.abs().max(numeric.abs());
            prop_assert!(
                (a - numeric).abs() <= tol,
                "{:?}: d/d{}[{}] analytic {} vs numeric {} (tol {}) at {:?}",
                check.kind,
                name,
                j,
                a,
                numeric,
                tol,
                dims
            );
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ the problems

fn p_matmul(d: Dims) -> Problem {
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
fn p_binary(d: Dims, which: u8) -> Problem {
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
fn p_unary(
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

fn sym(rng: &mut StdRng, n: usize) -> Vec<f32> {
    uniform(rng, n, -2.0, 2.0)
}

fn off_kink(rng: &mut StdRng, n: usize) -> Vec<f32> {
    away_from_zero(rng, n, 0.1, 2.0)
}

fn positive(rng: &mut StdRng, n: usize) -> Vec<f32> {
    uniform(rng, n, 0.5, 3.0)
}

fn p_concat(d: Dims) -> Problem {
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

fn p_slice(d: Dims) -> Problem {
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

fn p_gather(d: Dims) -> Problem {
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
fn p_embedding_bag(d: Dims) -> Problem {
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

fn p_dropout(d: Dims) -> Problem {
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

fn p_layer_norm(d: Dims) -> Problem {
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

fn p_gate(d: Dims) -> Problem {
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
fn p_linear_act(d: Dims) -> Problem {
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
fn p_embed_linear(d: Dims) -> Problem {
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

fn p_logit_product(d: Dims) -> Problem {
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

/// Random weights and a random mask (each maybe absent) for B samples.
fn weights_and_mask(rng: &mut StdRng, b: usize) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    let w = rng.gen::<bool>().then(|| uniform(rng, b, 0.0, 2.0));
    let m = rng.gen::<bool>().then(|| {
        (0..b)
            .map(|_| if rng.gen::<f32>() < 0.7 { 1.0 } else { 0.0 })
            .collect()
    });
    (w, m)
}

fn p_mse(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let mut s = ParamStore::new();
    let p = dense(&mut s, "pred", d.r, d.c, sym(&mut rng, d.r * d.c));
    let y = sym(&mut rng, d.r * d.c);
    let (w, m) = weights_and_mask(&mut rng, d.r);
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let p = g.param(s, p)?;
            g.mse_loss(
                p,
                &y,
                LossOpts {
                    weights: w.as_deref(),
                    mask: m.as_deref(),
                },
            )
        }),
    }
}

fn p_bce(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let mut s = ParamStore::new();
    let z = dense(
        &mut s,
        "logits",
        d.r,
        d.c,
        uniform(&mut rng, d.r * d.c, -4.0, 4.0),
    );
    let y: Vec<f32> = (0..d.r * d.c)
        .map(|_| {
            if rng.gen::<bool>() {
                1.0
            } else {
                rng.gen_range(0.0..1.0)
            }
        })
        .collect();
    let (w, m) = weights_and_mask(&mut rng, d.r);
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let z = g.param(s, z)?;
            g.bce_with_logits(
                z,
                &y,
                LossOpts {
                    weights: w.as_deref(),
                    mask: m.as_deref(),
                },
            )
        }),
    }
}

fn p_distill_bce(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let mut s = ParamStore::new();
    let z = dense(
        &mut s,
        "logits",
        d.r,
        d.c,
        uniform(&mut rng, d.r * d.c, -4.0, 4.0),
    );
    let teacher = uniform(&mut rng, d.r * d.c, -4.0, 4.0);
    let t = rng.gen_range(0.5..4.0f32);
    let (w, m) = weights_and_mask(&mut rng, d.r);
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let z = g.param(s, z)?;
            g.distill_bce(
                z,
                &teacher,
                t,
                LossOpts {
                    weights: w.as_deref(),
                    mask: m.as_deref(),
                },
            )
        }),
    }
}

fn p_softmax_ce(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let v = d.c + 1;
    let mut s = ParamStore::new();
    let z = dense(&mut s, "logits", d.r, v, sym(&mut rng, d.r * v));
    let y: Vec<u32> = (0..d.r).map(|_| rng.gen_range(0..v as u32)).collect();
    let (w, m) = weights_and_mask(&mut rng, d.r);
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let z = g.param(s, z)?;
            g.softmax_cross_entropy(
                z,
                &y,
                LossOpts {
                    weights: w.as_deref(),
                    mask: m.as_deref(),
                },
            )
        }),
    }
}

fn p_weighted_sum(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let mut s = ParamStore::new();
    let ids: Vec<_> = (0..d.k)
        .map(|k| dense(&mut s, &format!("loss{k}"), 1, 1, sym(&mut rng, 1)))
        .collect();
    let w = uniform(&mut rng, d.k, 0.0, 2.0);
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let ls = ids
                .iter()
                .map(|&id| g.param(s, id))
                .collect::<Result<Vec<_>>>()?;
            g.weighted_sum(&ls, &w)
        }),
    }
}

fn p_select_rows(d: Dims) -> Problem {
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

// ------------------------------------------------------------------ the registry

/// Attention over B = k sequences of T = r tokens, H ∈ {1, 2} heads of width Dh = c,
/// random valid lengths in 0..=T (padding rows, empty sequences) and a random causal flag.
fn p_attention(d: Dims) -> Problem {
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
fn p_masked_mean(d: Dims) -> Problem {
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

const SMOOTH: (f64, f64, f32) = (2e-3, 1e-2, 1e-2);

macro_rules! check {
    ($kind:ident, $make:expr) => {
        check!($kind, $make, SMOOTH)
    };
    ($kind:ident, $make:expr, $tol:expr) => {
        Check {
            kind: OpKind::$kind,
            atol: $tol.0,
            rtol: $tol.1,
            h: $tol.2,
            make: $make,
        }
    };
}

/// One entry per op and loss; the test below fails if an `OpKind` is missing here.
static CHECKS: &[Check] = &[
    check!(MatMul, p_matmul),
    check!(Add, |d| p_binary(d, 0)),
    check!(Sub, |d| p_binary(d, 1)),
    check!(Mul, |d| p_binary(d, 2)),
    check!(Scale, |d| p_unary(d, sym, |g, a| g.scale(a, -1.7))),
    check!(SumAll, |d| p_unary(d, sym, |g, a| g.sum(a, Axis::All))),
    check!(SumRows, |d| p_unary(d, sym, |g, a| g.sum(a, Axis::Rows))),
    check!(SumCols, |d| p_unary(d, sym, |g, a| g.sum(a, Axis::Cols))),
    check!(MeanAll, |d| p_unary(d, sym, |g, a| g.mean(a, Axis::All))),
    check!(MeanRows, |d| p_unary(d, sym, |g, a| g.mean(a, Axis::Rows))),
    check!(MeanCols, |d| p_unary(d, sym, |g, a| g.mean(a, Axis::Cols))),
    check!(
        Exp,
        |d| p_unary(d, sym, |g, a| g.exp(a)),
        (2e-3, 1e-2, 5e-3)
    ),
    check!(
        Log,
        |d| p_unary(d, positive, |g, a| g.log(a)),
        (2e-3, 1e-2, 5e-3)
    ),
    check!(Relu, |d| p_unary(d, off_kink, |g, a| g.relu(a))),
    check!(Sigmoid, |d| p_unary(d, sym, |g, a| g.sigmoid(a))),
    check!(Tanh, |d| p_unary(d, sym, |g, a| g.tanh(a))),
    check!(Gelu, |d| p_unary(d, sym, |g, a| g.gelu(a))),
    check!(Softmax, |d| p_unary(d, sym, |g, a| g.softmax(a))),
    check!(LogSoftmax, |d| p_unary(d, sym, |g, a| g.log_softmax(a))),
    check!(ConcatCols, p_concat),
    check!(SliceCols, p_slice),
    check!(Gather, p_gather),
    check!(EmbeddingBag, p_embedding_bag),
    check!(Dropout, p_dropout),
    check!(LayerNorm, p_layer_norm, (5e-3, 2e-2, 5e-3)),
    check!(GateCombine, p_gate),
    check!(LogitProduct, p_logit_product),
    check!(MseLoss, p_mse),
    check!(BceWithLogitsLoss, p_bce),
    check!(SoftmaxCrossEntropyLoss, p_softmax_ce),
    check!(WeightedSum, p_weighted_sum),
    check!(Attention, p_attention),
    check!(MaskedMean, p_masked_mean),
    check!(L2Normalize, |d| p_unary(
        d,
        |rng, n| away_from_zero(rng, n, 0.3, 1.5),
        |g, a| g.l2_normalize(a)
    )),
    check!(SelectRows, p_select_rows),
    check!(LinearAct, p_linear_act),
    check!(EmbedLinear, p_embed_linear),
    check!(DistillBceLoss, p_distill_bce),
];

fn run(kind: OpKind) {
    let check = CHECKS
        .iter()
        .find(|c| c.kind == kind)
        .unwrap_or_else(|| panic!("{kind:?} has no gradient check"));
    let mut runner = TestRunner::new(Config {
        cases: 128,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (1usize..6, 1usize..6, 1usize..5, any::<u64>())
        .prop_map(|(r, c, k, seed)| Dims { r, c, k, seed });
    if let Err(e) = runner.run(&strategy, |d| gradcheck(check, d)) {
        panic!("gradient check for {kind:?} failed: {e}");
    }
}

#[test]
fn every_op_and_loss_has_a_gradient_check() {
    let checked: BTreeSet<OpKind> = CHECKS.iter().map(|c| c.kind).collect();
    let missing: Vec<_> = OpKind::ALL
        .iter()
        .filter(|k| !checked.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "ops without a gradient check: {missing:?}"
    );
    assert_eq!(checked.len(), CHECKS.len(), "an op is checked twice");
}

macro_rules! gradcheck_tests {
    ($($name:ident => $kind:ident),* $(,)?) => {
        $( #[test] fn $name() { run(OpKind::$kind) } )*
    };
}

gradcheck_tests! {
    gradcheck_matmul => MatMul,
    gradcheck_add => Add,
    gradcheck_sub => Sub,
    gradcheck_mul => Mul,
    gradcheck_scale => Scale,
    gradcheck_sum_all => SumAll,
    gradcheck_sum_rows => SumRows,
    gradcheck_sum_cols => SumCols,
    gradcheck_mean_all => MeanAll,
    gradcheck_mean_rows => MeanRows,
    gradcheck_mean_cols => MeanCols,
    gradcheck_exp => Exp,
    gradcheck_log => Log,
    gradcheck_relu => Relu,
    gradcheck_sigmoid => Sigmoid,
    gradcheck_tanh => Tanh,
    gradcheck_gelu => Gelu,
    gradcheck_softmax => Softmax,
    gradcheck_log_softmax => LogSoftmax,
    gradcheck_concat_cols => ConcatCols,
    gradcheck_slice_cols => SliceCols,
    gradcheck_gather => Gather,
    gradcheck_embedding_bag => EmbeddingBag,
    gradcheck_dropout => Dropout,
    gradcheck_layer_norm => LayerNorm,
    gradcheck_gate_combine => GateCombine,
    gradcheck_logit_product => LogitProduct,
    gradcheck_mse_loss => MseLoss,
    gradcheck_bce_with_logits_loss => BceWithLogitsLoss,
    gradcheck_softmax_cross_entropy_loss => SoftmaxCrossEntropyLoss,
    gradcheck_weighted_sum => WeightedSum,
    gradcheck_attention => Attention,
    gradcheck_masked_mean => MaskedMean,
    gradcheck_l2_normalize => L2Normalize,
    gradcheck_select_rows => SelectRows,
    gradcheck_linear_act => LinearAct,
    gradcheck_embed_linear => EmbedLinear,
    gradcheck_distill_bce_loss => DistillBceLoss,
}
