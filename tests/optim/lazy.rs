//! Lazy row-sparse updates of embedding tables (src/optim/sgd.rs, src/optim/adam.rs).

use super::*;
use approx::assert_abs_diff_eq;

/// A table (5, 2) with distinct values and a dense (1, 2) reference per row.
fn table_store() -> (ParamStore, ParamId) {
    let mut store = ParamStore::new();
    let init: Vec<f32> = (0..10).map(|i| 0.1 * i as f32 - 0.45).collect(); // (5, 2)
    let t = store.add_table("emb", 5, 2, init).unwrap();
    (store, t)
}

fn touch(store: &mut ParamStore, t: ParamId, rows: &[(u32, [f32; 2])]) {
    store.zero_grad();
    for (r, g) in rows {
        store
            .sparse_grad_mut(t)
            .unwrap()
            .row_mut(*r)
            .copy_from_slice(g);
    }
}

fn row(xs: &[f32], r: usize) -> &[f32] {
    &xs[2 * r..2 * r + 2]
}

#[test]
fn lazy_adamw_table_updates_only_touched_rows() {
    // AdamW with λ = 0.1: weight decay too reaches a table row only when it is touched.
    let cfg = AdamConfig::adamw(0.1);
    let lr = 0.05;
    let (mut store, t) = table_store();
    let before = store.value(t).to_vec();
    let mut opt = Adam::new(cfg).unwrap();

    // Dense references for rows 1 and 3, stepped with the same optimiser settings.
    let (mut ref1, w1) = dense_store(row(&before, 1));
    let (mut ref3, w3) = dense_store(row(&before, 3));
    let (mut opt1, mut opt3) = (Adam::new(cfg).unwrap(), Adam::new(cfg).unwrap());

    // Step 1 touches rows 3 and 1 (in that order); step 2 touches row 3 only.
    touch(&mut store, t, &[(3, [0.2, -0.1]), (1, [0.5, 0.3])]);
    opt.step(&mut store, lr).unwrap();
    run(&mut opt1, &mut ref1, w1, &[&[0.5, 0.3]], lr);
    run(&mut opt3, &mut ref3, w3, &[&[0.2, -0.1]], lr);
    let after1 = store.value(t).to_vec();
    let (m1, v1) = opt
        .moments(&store, t)
        .map(|(m, v)| (m.to_vec(), v.to_vec()))
        .unwrap();

    touch(&mut store, t, &[(3, [-0.4, 0.6])]);
    opt.step(&mut store, lr).unwrap();
    run(&mut opt3, &mut ref3, w3, &[&[-0.4, 0.6]], lr);
    let after2 = store.value(t).to_vec();
    let (m2, v2) = opt.moments(&store, t).unwrap();

    // Never-touched rows 0, 2, 4: values bit-for-bit unchanged, moments still exactly 0.
    for r in [0, 2, 4] {
        assert_eq!(row(&after2, r), row(&before, r), "row {r} value");
        assert_eq!(row(m2, r), &[0.0, 0.0], "row {r} m");
        assert_eq!(row(v2, r), &[0.0, 0.0], "row {r} v");
    }
    // Row 1, untouched at step 2: value and moments exactly as after step 1 (no decay).
    assert_eq!(row(&after2, 1), row(&after1, 1));
    assert_eq!(row(m2, 1), row(&m1, 1));
    assert_eq!(row(v2, 1), row(&v1, 1));
    // Touched rows equal the dense reference (same per-element update), bit for bit.
    assert_eq!(row(&after1, 1), ref1.value(w1));
    assert_eq!(row(&after2, 3), ref3.value(w3));
    let (rm, rv) = opt3.moments(&ref3, w3).unwrap();
    assert_eq!((row(m2, 3), row(v2, 3)), (rm, rv));

    // Step 3 touches row 1 again: its moments resume from step 1 and the bias correction
    // uses the global t = 3 (lazy Adam). By hand, per element, with θ₁, m₁, v₁ after step 1:
    //   θ ← 0.995·θ₁;  m = 0.9·m₁ + 0.1·g;  v = 0.999·v₁ + 0.001·g²
    //   θ ← θ − lr·(m/(1 − 0.9³)) / (√(v/(1 − 0.999³)) + 1e-8)
    let g3 = [-0.1f32, 0.2];
    touch(&mut store, t, &[(1, g3)]);
    opt.step(&mut store, lr).unwrap();
    for j in 0..2 {
        let (th1, m1j, v1j, g) = (
            after1[2 + j] as f64,
            m1[2 + j] as f64,
            v1[2 + j] as f64,
            g3[j] as f64,
        );
        let m = 0.9 * m1j + 0.1 * g;
        let v = 0.999 * v1j + 0.001 * g * g;
        let want = (1.0 - 0.05 * 0.1) * th1
            - 0.05 * (m / (1.0 - 0.9f64.powi(3))) / ((v / (1.0 - 0.999f64.powi(3))).sqrt() + 1e-8);
        assert_abs_diff_eq!(store.value(t)[2 + j] as f64, want, epsilon = 1e-6);
    }
}

#[test]
fn lazy_sgd_momentum_table_updates_only_touched_rows() {
    let cfg = SgdConfig {
        momentum: 0.9,
        nesterov: true,
        weight_decay: 0.01,
    };
    let (mut store, t) = table_store();
    let before = store.value(t).to_vec();
    let mut opt = Sgd::new(cfg).unwrap();
    let (mut ref2, w2) = dense_store(row(&before, 2));
    let mut opt2 = Sgd::new(cfg).unwrap();

    touch(&mut store, t, &[(2, [1.0, -1.0]), (4, [0.5, 0.5])]);
    opt.step(&mut store, 0.1).unwrap();
    run(&mut opt2, &mut ref2, w2, &[&[1.0, -1.0]], 0.1);
    let after1 = store.value(t).to_vec();
    let vel1 = opt.velocity(&store, t).unwrap().to_vec();

    touch(&mut store, t, &[(2, [0.3, 0.2])]);
    opt.step(&mut store, 0.1).unwrap();
    run(&mut opt2, &mut ref2, w2, &[&[0.3, 0.2]], 0.1);
    let vel2 = opt.velocity(&store, t).unwrap();

    for r in [0, 1, 3] {
        assert_eq!(row(store.value(t), r), row(&before, r), "row {r}");
        assert_eq!(row(vel2, r), &[0.0, 0.0], "row {r} velocity");
    }
    assert_eq!(row(store.value(t), 4), row(&after1, 4)); // untouched at step 2: frozen
    assert_eq!(row(vel2, 4), row(&vel1, 4)); // velocity not decayed
    assert_eq!(row(store.value(t), 2), ref2.value(w2)); // touched: dense update
    assert_eq!(row(vel2, 2), opt2.velocity(&ref2, w2).unwrap());
}

#[test]
fn plain_sgd_on_a_table_equals_dense_sgd_on_its_full_gradient() {
    // μ = 0, λ = 0: an untouched row has gradient 0, so lazy and dense SGD coincide.
    let (mut store, t) = table_store();
    touch(&mut store, t, &[(0, [1.0, 2.0]), (3, [-0.5, 0.25])]);
    let full = store.grad_to_vec(t); // (5, 2)
    let (mut dense, w) = dense_store(store.value(t));
    set_grad(&mut dense, w, &full);
    let mut a = Sgd::new(SgdConfig::default()).unwrap();
    let mut b = Sgd::new(SgdConfig::default()).unwrap();
    a.step(&mut store, 0.3).unwrap();
    b.step(&mut dense, 0.3).unwrap();
    assert_eq!(store.value(t), dense.value(w));
}
