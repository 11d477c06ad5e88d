//! Adam and AdamW (src/optim/adam.rs).

use super::*;

#[test]
fn adam_two_steps_match_hand_computation() {
    // β1 = 0.9, β2 = 0.999, ε = 1e-8, lr = 0.01, θ₀ = [1, −0.5], g₁ = [0.1, −0.2], g₂ = [0.3, 0.4]
    // t = 1: m = 0.1·g₁ = [0.01, −0.02]; v = 0.001·g₁² = [1e-5, 4e-5]
    //        m̂ = m/0.1 = g₁; v̂ = v/0.001 = g₁²; m̂/(√v̂ + ε) = ±1 (up to ε)
    //        θ = [1 − 0.01, −0.5 + 0.01] = [0.99, −0.49]
    // t = 2: m = 0.9·m + 0.1·g₂ = [0.039, 0.022]; v = 0.999·v + 0.001·g₂² = [9.999e-5, 1.9996e-4]
    //        1 − β1² = 0.19, 1 − β2² = 0.001999
    //        m̂ = [0.2052632, 0.1157895]; v̂ = [0.0500200, 0.1000300]; √v̂ = [0.2236515, 0.3162752]
    //        m̂/(√v̂ + ε) = [0.9177811, 0.3661035]
    //        θ = [0.99 − 0.009177811, −0.49 − 0.003661035] = [0.980822189, −0.493661035]
    let (mut store, w) = dense_store(&[1.0, -0.5]);
    let mut opt = Adam::new(AdamConfig::default()).unwrap();
    run(&mut opt, &mut store, w, &[&[0.1, -0.2]], 0.01);
    assert_all_close(store.value(w), &[0.990000001, -0.490000000]);
    run(&mut opt, &mut store, w, &[&[0.3, 0.4]], 0.01);
    assert_all_close(store.value(w), &[0.980822190, -0.493661036]);
    let (m, v) = opt.moments(&store, w).unwrap();
    assert_all_close(m, &[0.039, 0.022]);
    assert_all_close(v, &[9.999e-5, 1.9996e-4]);
    assert_eq!(opt.steps(), 2);
    assert_eq!(opt.name(), "adam");
}

#[test]
fn adam_l2_and_adamw_decoupled_differ_as_derived() {
    // λ = 0.1, lr = 0.1, same θ₀ and gradients as above.
    let grads: [&[f32]; 2] = [&[0.1, -0.2], &[0.3, 0.4]];

    // Adam (L2): g' = g + λθ.
    // t = 1: g' = [0.1 + 0.1, −0.2 − 0.05] = [0.2, −0.25]; step = lr·sign(g') ⇒ θ = [0.9, −0.4]
    // t = 2: g' = [0.3 + 0.09, 0.4 − 0.04] = [0.39, 0.36]
    //        m = [0.9·0.02 + 0.039, 0.9·(−0.025) + 0.036] = [0.057, 0.0135]
    //        v = [0.999·4e-5 + 0.001·0.1521, 0.999·6.25e-5 + 0.001·0.1296] = [1.9206e-4, 1.92038e-4]
    //        θ = θ − 0.1·(m/0.19)/(√(v/0.001999) + ε) = [0.803214755, −0.422924169]
    let (mut store, w) = dense_store(&[1.0, -0.5]);
    let mut adam = Adam::new(AdamConfig {
        weight_decay: 0.1,
        ..Default::default()
    })
    .unwrap();
    run(&mut adam, &mut store, w, &grads[..1], 0.1);
    assert_all_close(store.value(w), &[0.9, -0.4]);
    run(&mut adam, &mut store, w, &grads[1..], 0.1);
    assert_all_close(store.value(w), &[0.803214755, -0.422924169]);

    // AdamW: θ ← θ·(1 − lr·λ) = 0.99·θ, then the plain Adam step of the previous test (lr = 0.1).
    // t = 1: θ = 0.99·[1, −0.5] − 0.1·[1, −1] = [0.89, −0.395]
    // t = 2: θ = 0.99·[0.89, −0.395] − 0.1·[0.9177811, 0.3661035] = [0.8811 − 0.09177811, −0.39105 − 0.03661035]
    //          = [0.789321902, −0.427660356]
    let (mut store, w) = dense_store(&[1.0, -0.5]);
    let mut adamw = Adam::adamw(0.1).unwrap();
    assert_eq!(adamw.name(), "adamw");
    assert_eq!(*adamw.config(), AdamConfig::adamw(0.1));
    run(&mut adamw, &mut store, w, &grads[..1], 0.1);
    assert_all_close(store.value(w), &[0.89, -0.395]);
    run(&mut adamw, &mut store, w, &grads[1..], 0.1);
    assert_all_close(store.value(w), &[0.789321902, -0.427660356]);
    // AdamW's moments see the raw gradient: identical to plain Adam's.
    let (m, v) = adamw.moments(&store, w).unwrap();
    assert_all_close(m, &[0.039, 0.022]);
    assert_all_close(v, &[9.999e-5, 1.9996e-4]);

    // With λ = 0 the two are the same optimiser, bit for bit.
    let (mut s1, w1) = dense_store(&[1.0, -0.5]);
    let (mut s2, w2) = dense_store(&[1.0, -0.5]);
    let mut a = Adam::new(AdamConfig::default()).unwrap();
    let mut b = Adam::adamw(0.0).unwrap();
    run(&mut a, &mut s1, w1, &grads, 0.1);
    run(&mut b, &mut s2, w2, &grads, 0.1);
    assert_eq!(s1.value(w1), s2.value(w2));
}
