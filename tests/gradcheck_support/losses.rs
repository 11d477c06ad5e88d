//! Gradient-check problems of the losses (MSE, BCE with logits, distillation BCE, softmax
//! cross-entropy) and the weighted sum of task losses.

use super::*;
use mtrec::autograd::ParamStore;
use mtrec::loss::LossOpts;
use mtrec::Result;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

/// Random weights and a random mask (each maybe absent) for B samples.
pub fn weights_and_mask(rng: &mut StdRng, b: usize) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    let w = rng.gen::<bool>().then(|| uniform(rng, b, 0.0, 2.0));
    let m = rng.gen::<bool>().then(|| {
        (0..b)
            .map(|_| if rng.gen::<f32>() < 0.7 { 1.0 } else { 0.0 })
            .collect()
    });
    (w, m)
}

pub fn p_mse(d: Dims) -> Problem {
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

pub fn p_bce(d: Dims) -> Problem {
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

pub fn p_distill_bce(d: Dims) -> Problem {
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

pub fn p_softmax_ce(d: Dims) -> Problem {
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

pub fn p_weighted_sum(d: Dims) -> Problem {
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

/// The fused catalogue loss: H (r, k) against the catalogue rows `first..` of an item
/// matrix (first + c + 1, k); the rows before `first` must get no gradient.
pub fn p_catalogue_ce(d: Dims) -> Problem {
    let mut rng = StdRng::seed_from_u64(d.seed);
    let (v, first) = (d.c + 1, (d.seed % 3) as usize);
    let mut s = ParamStore::new();
    let h = dense(&mut s, "h", d.r, d.k, sym(&mut rng, d.r * d.k));
    let rows = first + v;
    let items = dense(&mut s, "items", rows, d.k, sym(&mut rng, rows * d.k));
    let y: Vec<u32> = (0..d.r).map(|_| rng.gen_range(0..v as u32)).collect();
    let (w, m) = weights_and_mask(&mut rng, d.r);
    Problem {
        store: s,
        build: Box::new(move |g, s| {
            let h = g.param(s, h)?;
            let items = g.param(s, items)?;
            g.catalogue_cross_entropy(
                h,
                items,
                first,
                &y,
                LossOpts {
                    weights: w.as_deref(),
                    mask: m.as_deref(),
                },
            )
        }),
    }
}
