//! Text features: the frozen text table, the learned adaptors (linear, UniSRec's MoE
//! whitening), and (further down) text columns end to end through `mtrec train`.

use mtrec::autograd::{Graph, ParamStore};
use mtrec::nn::{AdaptorKind, FrozenTable, TextAdaptor};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

fn random(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
}

/// Naive UniSRec adaptor for one row: Σ_e softmax(x·G)_e · (x − b_e)·W_e, in f64.
fn moe_reference(
    x: &[f32],
    w: &[f32],
    centres: &[Vec<f32>],
    gate: &[f32],
    dt: usize,
    e: usize,
    d: usize,
) -> Vec<f64> {
    let z: Vec<f64> = (0..e)
        .map(|k| (0..dt).map(|i| x[i] as f64 * gate[i * e + k] as f64).sum())
        .collect();
    let m = z.iter().cloned().fold(f64::MIN, f64::max);
    let s: f64 = z.iter().map(|v| (v - m).exp()).sum();
    let mut y = vec![0f64; d];
    for k in 0..e {
        let gk = (z[k] - m).exp() / s;
        for j in 0..d {
            let h: f64 = (0..dt)
                .map(|i| (x[i] - centres[k][i]) as f64 * w[i * e * d + k * d + j] as f64)
                .sum();
            y[j] += gk * h;
        }
    }
    y
}

/// A MoE adaptor with non-zero centres and gate (they start at zero).
fn moe_problem(seed: u64, dt: usize, e: usize, d: usize) -> (ParamStore, TextAdaptor) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut store = ParamStore::new();
    let a = TextAdaptor::new(
        &mut store,
        "t",
        dt,
        d,
        AdaptorKind::Moe { experts: e },
        &mut rng,
    )
    .unwrap();
    for id in store.ids().collect::<Vec<_>>() {
        let n = store.value(id).len();
        let v = random(&mut rng, n);
        store.value_mut(id).copy_from_slice(&v);
    }
    (store, a)
}

#[test]
fn moe_adaptor_equals_e_separate_whitening_experts_and_a_softmax_gate() {
    let (dt, e, d, b) = (7, 3, 5, 4);
    let (store, a) = moe_problem(3, dt, e, d);
    let mut rng = StdRng::seed_from_u64(9);
    let x = random(&mut rng, b * dt);
    let mut g = Graph::new(0);
    let xv = g.input_slice(b, dt, &x).unwrap();
    let y = a.forward(&mut g, &store, xv).unwrap();
    assert_eq!(g.shape(y), (b, d));
    let w = store.value(store.find("t.whiten.w").unwrap()).to_vec();
    let centres: Vec<Vec<f32>> = (0..e)
        .map(|k| {
            store
                .value(store.find(&format!("t.whiten.{k}.b")).unwrap())
                .to_vec()
        })
        .collect();
    let gate = store.value(store.find("t.gate.w").unwrap()).to_vec();
    for r in 0..b {
        let want = moe_reference(&x[r * dt..(r + 1) * dt], &w, &centres, &gate, dt, e, d);
        for (j, w) in want.iter().enumerate() {
            let got = g.value(y)[r * d + j] as f64;
            assert!((got - w).abs() < 1e-4, "row {r} col {j}: {got} vs {w}");
        }
    }
}

#[test]
fn moe_adaptor_gradients_match_finite_differences() {
    let (dt, e, d, b) = (4, 2, 3, 3);
    let (mut store, a) = moe_problem(5, dt, e, d);
    let mut rng = StdRng::seed_from_u64(11);
    let x = random(&mut rng, b * dt);
    let proj = random(&mut rng, b * d);
    let f = |store: &ParamStore| -> f64 {
        let mut g = Graph::new(0);
        let xv = g.input_slice(b, dt, &x).unwrap();
        let y = a.forward(&mut g, store, xv).unwrap();
        g.value(y)
            .iter()
            .zip(&proj)
            .map(|(&y, &p)| y as f64 * p as f64)
            .sum()
    };
    let mut g = Graph::new(0);
    let xv = g.input_slice(b, dt, &x).unwrap();
    let y = a.forward(&mut g, &store, xv).unwrap();
    store.zero_grad();
    g.backward_with_grad(y, &proj, &mut store).unwrap();
    let h = 1e-2f32;
    let mut checked = 0;
    for id in a.params() {
        let analytic = store.grad_to_vec(id);
        for (i, &an) in analytic.iter().enumerate() {
            let orig = store.value(id)[i];
            store.value_mut(id)[i] = orig + h;
            let up = f(&store);
            store.value_mut(id)[i] = orig - h;
            let down = f(&store);
            store.value_mut(id)[i] = orig;
            let numeric = (up - down) / (2.0 * h as f64);
            let an = an as f64;
            assert!(
                (an - numeric).abs() <= 2e-3 + 2e-2 * an.abs().max(numeric.abs()),
                "{} [{i}]: analytic {an} vs numeric {numeric}",
                store.info(id).name
            );
            checked += 1;
        }
    }
    assert_eq!(checked, dt * e * d + e * dt + dt * e);
}

#[test]
fn a_fresh_moe_adaptor_is_the_mean_of_its_experts_and_a_linear_one_is_affine() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut store = ParamStore::new();
    let moe = TextAdaptor::new(
        &mut store,
        "m",
        6,
        4,
        AdaptorKind::Moe { experts: 2 },
        &mut rng,
    )
    .unwrap();
    let lin = TextAdaptor::new(&mut store, "l", 6, 4, AdaptorKind::Linear, &mut rng).unwrap();
    assert_eq!(
        store.find("l.linear.w").map(|id| store.info(id).rows),
        Some(6)
    );
    let table = FrozenTable::new(3, 6, random(&mut rng, 18)).unwrap();
    let mut g = Graph::new(0);
    let y = moe.forward_rows(&mut g, &store, &table, &[2, 0]).unwrap();
    let w = store.value(store.find("m.whiten.w").unwrap()).to_vec();
    // Gate and centres start at zero: y = x·(W_1 + W_2)/2.
    for (r, &row) in [2usize, 0].iter().enumerate() {
        for j in 0..4 {
            let want: f32 = (0..6)
                .map(|i| table.row(row)[i] * (w[i * 8 + j] + w[i * 8 + 4 + j]) / 2.0)
                .sum();
            assert!((g.value(y)[r * 4 + j] - want).abs() < 1e-5);
        }
    }
    let z = lin.forward_rows(&mut g, &store, &table, &[1]).unwrap();
    assert_eq!(g.shape(z), (1, 4));
    assert_eq!(lin.params().len(), 2);
    assert_eq!(moe.params().len(), 4);
}

#[test]
fn frozen_table_errors_name_the_problem() {
    let t = FrozenTable::new(2, 3, vec![0.0; 6]).unwrap();
    let mut buf = Vec::new();
    let e = t.gather_into(&[0, 2], &mut buf).unwrap_err().to_string();
    assert!(e.contains("index 2") && e.contains("0..2"), "{e}");
    assert!(FrozenTable::new(2, 3, vec![0.0; 5]).is_err());
    let e = FrozenTable::new(1, 2, vec![0.0, f32::NAN])
        .unwrap_err()
        .to_string();
    assert!(e.contains("NaN"), "{e}");
    let mut store = ParamStore::new();
    let mut rng = StdRng::seed_from_u64(0);
    let a = TextAdaptor::new(&mut store, "a", 4, 2, AdaptorKind::Linear, &mut rng).unwrap();
    let mut g = Graph::new(0);
    let e = a
        .forward_rows(&mut g, &store, &t, &[0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("width 4") && e.contains("width 3"), "{e}");
    let e = TextAdaptor::new(
        &mut store,
        "b",
        4,
        2,
        AdaptorKind::Moe { experts: 0 },
        &mut rng,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("at least one expert"), "{e}");
}
