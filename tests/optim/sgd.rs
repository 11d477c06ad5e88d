//! SGD: plain, momentum, Nesterov, weight decay (src/optim/sgd.rs).

use super::*;

#[test]
fn sgd_plain_step_matches_hand_computation() {
    // θ = [1, −2], g = [0.5, −1], lr = 0.1:  θ − lr·g = [1 − 0.05, −2 + 0.1] = [0.95, −1.9]
    let (mut store, w) = dense_store(&[1.0, -2.0]);
    let mut opt = Sgd::new(SgdConfig::default()).unwrap();
    run(&mut opt, &mut store, w, &[&[0.5, -1.0]], 0.1);
    assert_all_close(store.value(w), &[0.95, -1.9]);
    // The gradient is read, not consumed; no velocity is kept without momentum.
    assert_eq!(store.grad(w).unwrap(), &[0.5, -1.0]);
    assert!(opt.velocity(&store, w).is_none());
    assert_eq!(opt.name(), "sgd");
}

#[test]
fn sgd_momentum_two_steps_match_hand_computation() {
    // μ = 0.9, lr = 0.1, θ₀ = [1, −1], g₁ = [1, −2], g₂ = [0.5, 1]
    // step 1: v = g₁ = [1, −2];                    θ = [1 − 0.1, −1 + 0.2]   = [0.9, −0.8]
    // step 2: v = 0.9·[1, −2] + [0.5, 1] = [1.4, −0.8]; θ = [0.9 − 0.14, −0.8 + 0.08] = [0.76, −0.72]
    let (mut store, w) = dense_store(&[1.0, -1.0]);
    let mut opt = Sgd::new(SgdConfig {
        momentum: 0.9,
        ..Default::default()
    })
    .unwrap();
    run(&mut opt, &mut store, w, &[&[1.0, -2.0]], 0.1);
    assert_all_close(store.value(w), &[0.9, -0.8]);
    run(&mut opt, &mut store, w, &[&[0.5, 1.0]], 0.1);
    assert_all_close(store.value(w), &[0.76, -0.72]);
    assert_all_close(opt.velocity(&store, w).unwrap(), &[1.4, -0.8]);
}

#[test]
fn sgd_nesterov_two_steps_match_hand_computation() {
    // Same data as the momentum test; direction d = g + μ·v (v already updated).
    // step 1: v = [1, −2]; d = [1, −2] + 0.9·[1, −2] = [1.9, −3.8]; θ = [1 − 0.19, −1 + 0.38] = [0.81, −0.62]
    // step 2: v = [1.4, −0.8]; d = [0.5, 1] + 0.9·[1.4, −0.8] = [1.76, 0.28];
    //         θ = [0.81 − 0.176, −0.62 − 0.028] = [0.634, −0.648]
    let (mut store, w) = dense_store(&[1.0, -1.0]);
    let mut opt = Sgd::new(SgdConfig {
        momentum: 0.9,
        nesterov: true,
        ..Default::default()
    })
    .unwrap();
    run(&mut opt, &mut store, w, &[&[1.0, -2.0]], 0.1);
    assert_all_close(store.value(w), &[0.81, -0.62]);
    run(&mut opt, &mut store, w, &[&[0.5, 1.0]], 0.1);
    assert_all_close(store.value(w), &[0.634, -0.648]);
}

#[test]
fn sgd_weight_decay_adds_lambda_theta_to_the_gradient() {
    // λ = 0.1, lr = 0.1, θ₀ = [2, −1], g = [0.5, 0.5] both steps.
    // plain: g' = [0.5 + 0.2, 0.5 − 0.1] = [0.7, 0.4]; θ = [2 − 0.07, −1 − 0.04] = [1.93, −1.04]
    let (mut store, w) = dense_store(&[2.0, -1.0]);
    let mut opt = Sgd::new(SgdConfig {
        weight_decay: 0.1,
        ..Default::default()
    })
    .unwrap();
    run(&mut opt, &mut store, w, &[&[0.5, 0.5]], 0.1);
    assert_all_close(store.value(w), &[1.93, -1.04]);

    // with μ = 0.9: step 1 as above (v = [0.7, 0.4]);
    // step 2: g' = [0.5 + 0.193, 0.5 − 0.104] = [0.693, 0.396];
    //         v = 0.9·[0.7, 0.4] + g' = [1.323, 0.756]; θ = [1.93 − 0.1323, −1.04 − 0.0756] = [1.7977, −1.1156]
    let (mut store, w) = dense_store(&[2.0, -1.0]);
    let mut opt = Sgd::new(SgdConfig {
        momentum: 0.9,
        weight_decay: 0.1,
        ..Default::default()
    })
    .unwrap();
    run(&mut opt, &mut store, w, &[&[0.5, 0.5], &[0.5, 0.5]], 0.1);
    assert_all_close(store.value(w), &[1.7977, -1.1156]);
    assert_all_close(opt.velocity(&store, w).unwrap(), &[1.323, 0.756]);
}
