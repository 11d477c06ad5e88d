//! The int8 MMoE inference path with experts and gates fused (`ops::gemm_i8::moe`,
//! `nn::moe::experts_gates_i8`) against its reference, the separate int8 layers
//! (`Experts::forward` then `Gate::forward` per task): bit for bit with `f32::exp`
//! (dense input and the census-shaped input over embeddings, past the 64-row blocks), and
//! within the derived bound `(2ε + 4(E+1)u) · y` with the polynomial exp (property test);
//! and `exp_poly` against `f32::exp`.

#[path = "census_support/mod.rs"]
mod census_support;
use census_support::census_shaped;
use mtrec::autograd::{Graph, ParamStore, Var};
use mtrec::models::{Mmoe, MmoeConfig, MultiTaskModel};
use mtrec::nn::moe::{experts_gates_i8, experts_gates_i8_with};
use mtrec::nn::Activation;
use mtrec::ops::gemm_i8::moe::mix_bound;
use mtrec::ops::gemm_i8::{exp_poly, GateExp, EXP_POLY_MAX_REL};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};
use proptest::prelude::*;

/// Relative error of `exp_poly(x)` against `f32::exp` and against the f64 exp.
fn rel_err(x: f32) -> f64 {
    let p = exp_poly(x) as f64;
    let e64 = (x as f64).exp();
    let e32 = x.exp() as f64;
    ((p - e64).abs() / e64).max((p - e32).abs() / e32)
}

#[test]
fn exp_poly_relative_error_is_within_the_stated_bound() {
    let mut worst = (0f64, 0f32);
    // every 61st f32 of [0, 88] and of [−87, 0): 36 million points, plus the edges of the
    // range reduction (±ln 2 / 2 and its neighbours) and of the range
    let ranges = [
        (0u32, 88f32.to_bits()),
        (0x8000_0000u32, (-87f32).to_bits()),
    ];
    for (lo, hi) in ranges {
        for b in (lo..=hi).step_by(61).chain([hi]) {
            let x = f32::from_bits(b);
            let r = rel_err(x);
            if r > worst.0 {
                worst = (r, x);
            }
        }
    }
    let h = std::f32::consts::LN_2 / 2.0;
    for x in [h, -h, 0.0, -0.0, 1.0, -1.0, 88.0, -87.0, 1e-8, -1e-8] {
        for y in [
            f32::from_bits(x.to_bits() - 1),
            x,
            f32::from_bits(x.to_bits() + 1),
        ] {
            if (-87.0..=88.0).contains(&y) {
                let r = rel_err(y);
                if r > worst.0 {
                    worst = (r, y);
                }
            }
        }
    }
    assert!(
        worst.0 <= EXP_POLY_MAX_REL as f64,
        "exp_poly relative error {:e} at x = {} above the stated {:e}",
        worst.0,
        worst.1,
        EXP_POLY_MAX_REL
    );
    // and it is a real bound, not a loose one: a 1 % error would fail
    const { assert!(EXP_POLY_MAX_REL < 1e-6) };
    // below the range: e^−87, tiny and positive
    for x in [-88.0f32, -100.0, -1e30, f32::NEG_INFINITY] {
        let v = exp_poly(x);
        assert!(v > 0.0 && v < 1.7e-38, "exp_poly({x}) = {v}");
    }
}

/// A dense MMoE with one ReLU layer per expert, quantised as `mtrec compress` would.
fn dense_mmoe(seed: u64, d_in: usize, e: usize, d: usize, k: usize) -> (Mmoe, ParamStore) {
    let cfg = MmoeConfig {
        d_in,
        num_experts: e,
        expert: vec![d],
        tower: vec![8],
        num_tasks: k,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut store = ParamStore::new();
    let model = Mmoe::new(&mut store, &cfg, &mut rng).expect("mmoe");
    // biases off zero, so the epilogue's bias term is exercised
    let ids: Vec<_> = store.ids().collect();
    for id in ids {
        if store.info(id).name.ends_with(".b") {
            for v in store.value_mut(id) {
                *v = rng.gen_range(-0.3..0.3);
            }
        }
    }
    mtrec::quant::quantize_in_place(&mut store).expect("quantise");
    (model, store)
}

fn eval_graph() -> Graph {
    let mut g = Graph::new(0);
    g.set_training(false);
    g
}

/// The reference mixtures: the separate int8 layers and the f32 gate combine.
fn reference(m: &Mmoe, g: &mut Graph, store: &ParamStore, x: Var) -> Vec<Vec<f32>> {
    let ex = m.experts.forward(g, store, x).expect("experts");
    m.gates
        .iter()
        .map(|gt| {
            let h = gt.forward(g, store, x, ex).expect("gate");
            g.value(h).to_vec()
        })
        .collect()
}

fn fused(m: &Mmoe, g: &mut Graph, store: &ParamStore, x: Var, exp: GateExp) -> Vec<Vec<f32>> {
    let hs = experts_gates_i8_with(&m.experts, &m.gates, g, store, x, exp)
        .expect("fused")
        .expect("an int8 store in evaluation takes the fused path");
    hs.iter().map(|&h| g.value(h).to_vec()).collect()
}

fn assert_bits(a: &[Vec<f32>], b: &[Vec<f32>], what: &str) {
    assert_eq!(a.len(), b.len());
    for (k, (a, b)) in a.iter().zip(b).enumerate() {
        assert_eq!(a.len(), b.len(), "{what}: task {k} length");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert_eq!(
                x.to_bits(),
                y.to_bits(),
                "{what}: task {k} element {i}: {x} vs {y}"
            );
        }
    }
}

#[test]
fn fused_with_std_exp_is_bit_identical_to_the_separate_layers_dense_input() {
    // MovieLens MMoE's shape: 57 inputs, 8 experts of 64, 2 tasks; 200 rows (4 blocks,
    // the last one partial)
    let (m, store) = dense_mmoe(3, 57, 8, 64, 2);
    let rows = 200;
    let mut rng = StdRng::seed_from_u64(4);
    let x: Vec<f32> = (0..rows * 57).map(|_| rng.gen_range(-2.0..2.0)).collect();
    let mut g = eval_graph();
    let xv = g.input_slice(rows, 57, &x).unwrap();
    let want = reference(&m, &mut g, &store, xv);
    let got = fused(&m, &mut g, &store, xv, GateExp::Std);
    assert_bits(&got, &want, "dense");
    // a second call reuses the cached fused matrix and the scratch: same bits
    g.reset();
    let xv = g.input_slice(rows, 57, &x).unwrap();
    let again = fused(&m, &mut g, &store, xv, GateExp::Std);
    assert_bits(&again, &want, "dense, second call");
}

#[test]
fn fused_with_std_exp_is_bit_identical_to_the_separate_layers_over_embeddings() {
    // census MMoE: 29 embedded features and 10 numerics, through the partial products
    let c = census_shaped(100, 150, 1, 7).expect("census shape");
    let mut store = c.store;
    mtrec::quant::quantize_in_place(&mut store).expect("quantise");
    let mut g = eval_graph();
    let x = c.input.forward(&mut g, &store, &c.batches[0]).unwrap();
    let want = reference(&c.model, &mut g, &store, x);
    let got = fused(&c.model, &mut g, &store, x, GateExp::Std);
    assert_bits(&got, &want, "census");
    // and the model's own forward (polynomial exp) stays within the bound of the towers'
    // inputs, checked at the tower outputs loosely (the towers re-quantise)
    g.reset();
    let x = c.input.forward(&mut g, &store, &c.batches[0]).unwrap();
    let outs = c.model.forward(&mut g, &store, x).unwrap();
    let got: Vec<Vec<f32>> = outs.iter().map(|&v| g.value(v).to_vec()).collect();
    g.reset();
    let x = c.input.forward(&mut g, &store, &c.batches[0]).unwrap();
    let ex = c.model.experts.forward(&mut g, &store, x).unwrap();
    for (k, (gt, tower)) in c.model.gates.iter().zip(&c.model.towers).enumerate() {
        let h = gt.forward(&mut g, &store, x, ex).unwrap();
        let y = tower.forward(&mut g, &store, h).unwrap();
        let scale = g
            .value(y)
            .iter()
            .fold(0f32, |a, v| a.max(v.abs()))
            .max(1e-3);
        for (a, b) in got[k].iter().zip(g.value(y)) {
            assert!((a - b).abs() <= 1e-3 * scale, "task {k}: {a} vs {b}");
        }
    }
}

#[test]
fn f32_stores_and_training_graphs_keep_the_f32_path() {
    let cfg = MmoeConfig {
        d_in: 12,
        num_experts: 3,
        expert: vec![5],
        tower: vec![4],
        num_tasks: 2,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    let mut store = ParamStore::new();
    let m = Mmoe::new(&mut store, &cfg, &mut StdRng::seed_from_u64(1)).unwrap();
    let x = vec![0.5f32; 4 * 12];
    let mut g = eval_graph();
    let xv = g.input_slice(4, 12, &x).unwrap();
    assert!(experts_gates_i8(&m.experts, &m.gates, &mut g, &store, xv)
        .unwrap()
        .is_none());
    mtrec::quant::quantize_in_place(&mut store).unwrap();
    let mut g = Graph::new(0); // training
    let xv = g.input_slice(4, 12, &x).unwrap();
    assert!(experts_gates_i8(&m.experts, &m.gates, &mut g, &store, xv)
        .unwrap()
        .is_none());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The polynomial exp's mixtures within `(2ε + 4(E+1)u) · y` of the reference, for
    /// random shapes, rows past the 64-row blocks and inputs large enough to spread the
    /// gate logits.
    #[test]
    fn poly_exp_mixtures_within_the_derived_bound(
        seed in 0u64..1000,
        d_in in 2usize..70,
        e in 1usize..12,
        d in 1usize..40,
        k in 1usize..4,
        rows in 1usize..150,
        amp in 0.1f32..30.0,
    ) {
        let (m, store) = dense_mmoe(seed, d_in, e, d, k);
        let mut rng = StdRng::seed_from_u64(seed + 1);
        let x: Vec<f32> = (0..rows * d_in).map(|_| amp * rng.gen_range(-1.0f32..1.0)).collect();
        let mut g = eval_graph();
        let xv = g.input_slice(rows, d_in, &x).unwrap();
        let want = reference(&m, &mut g, &store, xv);
        let got = fused(&m, &mut g, &store, xv, GateExp::Poly);
        let factor = mix_bound(e) as f64;
        for (kk, (a, b)) in got.iter().zip(&want).enumerate() {
            for (i, (&y1, &y0)) in a.iter().zip(b).enumerate() {
                let bound = factor * y0 as f64 * 1.001 + 1e-30;
                let err = (y1 as f64 - y0 as f64).abs();
                prop_assert!(err <= bound, "task {} element {}: {} vs {} (err {:e} > {:e})", kk, i, y1, y0, err, bound);
            }
        }
    }
}
