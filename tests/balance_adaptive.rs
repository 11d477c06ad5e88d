//! Loss weights adapted from training signals: GradNorm (against a hand computation, and
//! shrinking the weight of a task with ten times the gradient norm) and DWA.

mod balance_support;

use balance_support::*;
use mtrec::autograd::{Graph, ParamStore};
use mtrec::balance::*;
use mtrec::loss::LossOpts;

// ------------------------------------------------------------------ GradNorm

#[test]
fn gradnorm_update_matches_hand_computation() {
    // L̃ = [0.5/1, 1/1] = [0.5, 1];  mean 0.75;  r = [2/3, 4/3]
    // G = w·n = [1, 1];  Ḡ = 1;  α = 1: target = [2/3, 4/3]
    // sign(G − target) = [+1, −1];  ∂L_grad/∂w = [+1, −1]·n = [1, −1]
    // w = [1 − 0.1, 1 + 0.1] = [0.9, 1.1];  Σ = 2, no renormalisation needed
    let cfg = GradNormConfig {
        alpha: 1.0,
        lr: 0.1,
        min_weight: 1e-3,
    };
    let mut l0 = vec![1.0, 1.0];
    let w = gradnorm::gradnorm_update(&cfg, &[1.0, 1.0], &mut l0, &[0.5, 1.0], &[1.0, 1.0]);
    assert_close(&w, &[0.9, 1.1], 1e-6, "w(t+1)");
    // α = 0: target = Ḡ for both.  n = [3, 1], w = [1, 1]: G = [3, 1], Ḡ = 2
    // w = [1 − 0.1·3, 1 + 0.1·1] = [0.7, 1.1];  Σ = 1.8;  ×2/1.8 = [0.777…, 1.222…]
    let cfg0 = GradNormConfig { alpha: 0.0, ..cfg };
    let w = gradnorm::gradnorm_update(&cfg0, &[1.0, 1.0], &mut l0, &[0.5, 1.0], &[3.0, 1.0]);
    assert_close(&w, &[0.7 / 0.9, 1.1 / 0.9], 1e-6, "w(t+1), α = 0");
    // The first positive loss becomes L_k(0).
    let mut l0 = vec![0.0, 0.0];
    gradnorm::gradnorm_update(&cfg, &[1.0, 1.0], &mut l0, &[0.0, 2.5], &[1.0, 1.0]);
    assert_eq!(l0, vec![0.0, 2.5]);
}

#[test]
fn gradnorm_shrinks_the_weight_of_the_task_with_ten_times_the_gradient_norm() {
    // L_1 = 10·L, L_2 = L on the same prediction: ∇_W L_1 = 10·∇_W L_2, and the loss
    // ratios L̃ are equal (r = 1), so GradNorm's fixed point is 10·w_1 = w_2, Σ w = 2:
    // w = [2/11, 20/11].
    let mut store = ParamStore::new();
    let w = store.add_dense("w", 3, 1, vec![0.2, -0.1, 0.4]).unwrap();
    let mut g = Graph::new(0);
    let x = g
        .input_slice(2, 3, &[1.0, 2.0, -1.0, 0.5, -0.3, 0.8])
        .unwrap(); // (2, 3)
    let wv = g.param(&store, w).unwrap(); // (3, 1)
    let o = g.mm(x, wv).unwrap(); // (2, 1)
    let l2 = g.mse_loss(o, &[1.0, -1.0], LossOpts::default()).unwrap();
    let l1 = g.scale(l2, 10.0).unwrap();
    let losses = [l1, l2];
    let grad2 = task_grad(&mut g, &mut store, l2)[0].clone();
    let n = dot(&grad2, &grad2).sqrt() as f32; // ‖∇_W L_2‖; ‖∇_W L_1‖ = 10 n
    let lr = 2e-4 / n; // w_1 moves by 10n·lr = 0.002 per step
    let cfg = GradNormConfig {
        alpha: 1.5,
        lr,
        min_weight: 1e-3,
    };
    let mut b = Balancer::new(
        Method::GradNorm(cfg),
        &[TaskForm::Regression; 2],
        &mut store,
    )
    .unwrap();

    // Step 1: w(1) = [1, 1]; G = [10n, n], target = Ḡ = 5.5n; w = [1 − 10n·lr, 1 + n·lr]
    fill_grads_with_garbage(&mut store);
    let info = b.backward(&mut g, &mut store, &losses, &[w]).unwrap();
    assert_eq!(info.weights, vec![1.0, 1.0]);
    assert_close(
        store.grad(w).unwrap(),
        &grad2.iter().map(|v| 11.0 * v).collect::<Vec<_>>(),
        1e-5,
        "∇W (L1 + L2)",
    );
    let (a, c) = (1.0 - 10.0 * n * lr, 1.0 + n * lr);
    let next = b.weights(&store);
    assert_close(&next, &[2.0 * a / (a + c), 2.0 * c / (a + c)], 1e-5, "w(2)");
    assert!(next[0] < 1.0 && next[1] > 1.0);

    // The network gradient uses the weights of the step.
    let info = b.backward(&mut g, &mut store, &losses, &[w]).unwrap();
    let want: Vec<f32> = grad2
        .iter()
        .map(|v| (10.0 * next[0] + next[1]) * v)
        .collect();
    assert_close(store.grad(w).unwrap(), &want, 1e-5, "∇W (w1 L1 + w2 L2)");
    assert_eq!(info.weights, next);

    for _ in 0..2000 {
        b.backward(&mut g, &mut store, &losses, &[w]).unwrap();
        let ws = b.weights(&store);
        assert!(
            (ws.iter().sum::<f32>() - 2.0).abs() < 1e-5,
            "Σ w = K: {ws:?}"
        );
    }
    let ws = b.weights(&store);
    let (g1, g2) = (10.0 * ws[0], ws[1]); // weighted gradient norms / n
    assert!(
        (g1 - g2).abs() / (0.5 * (g1 + g2)) < 0.05,
        "G = [{g1}, {g2}] n, w = {ws:?}"
    );
    assert_close(&ws, &[2.0 / 11.0, 20.0 / 11.0], 0.03, "fixed point");
}

// ------------------------------------------------------------------ DWA

#[test]
fn dwa_weights_match_hand_computation() {
    let mut t = tiny(2);
    let mut b = Balancer::new(
        Method::Dwa(DwaConfig::default()),
        &[TaskForm::Regression; 2],
        &mut t.store,
    )
    .unwrap();
    let mut g = Graph::new(0);
    let losses = record(&t, &mut g);
    // Epochs 1 and 2: weights 1.
    assert_eq!(
        b.backward(&mut g, &mut t.store, &losses, &[])
            .unwrap()
            .weights,
        vec![1.0, 1.0]
    );
    b.end_epoch(&[1.0, 2.0]).unwrap();
    assert_eq!(
        b.backward(&mut g, &mut t.store, &losses, &[])
            .unwrap()
            .weights,
        vec![1.0, 1.0]
    );
    b.end_epoch(&[0.5, 1.8]).unwrap();
    // Epoch 3: r = [0.5/1, 1.8/2] = [0.5, 0.9]; T = 2: w_1 = 2e^0.25/(e^0.25 + e^0.45)
    //        = 2/(1 + e^0.2) = 0.900332, w_2 = 2 − w_1 = 1.099668
    let info = b.backward(&mut g, &mut t.store, &losses, &[]).unwrap();
    assert_close(&info.weights, &[0.900332, 1.099668], 1e-6, "epoch 3");
    let g1 = task_grad(&mut g, &mut t.store, losses[0]);
    let g2 = task_grad(&mut g, &mut t.store, losses[1]);
    b.backward(&mut g, &mut t.store, &losses, &[]).unwrap();
    let want: Vec<f32> = g1[0]
        .iter()
        .zip(&g2[0])
        .map(|(a, c)| 0.900332 * a + 1.099668 * c)
        .collect();
    assert_close(t.store.grad(t.w).unwrap(), &want, 1e-5, "∇W Σ w_k L_k");
    // Epoch 4: r = [0.25/0.5, 1.8/1.8] = [0.5, 1]; w_1 = 2/(1 + e^0.25) = 0.875647
    b.end_epoch(&[0.25, 1.8]).unwrap();
    assert_close(&b.weights(&t.store), &[0.875647, 1.124353], 1e-6, "epoch 4");

    // Three tasks, T = 1: r = [0.5, 0.9, 1.1]; e^r = [1.648721, 2.459603, 3.004166],
    // Σ = 7.112490; w = 3e^r/Σ = [0.695419, 1.037444, 1.267137]
    let w = dwa::dwa_weights(
        &DwaConfig { temperature: 1.0 },
        &[1.0, 2.0, 4.0],
        &[0.5, 1.8, 4.4],
    );
    assert_close(&w, &[0.695419, 1.037444, 1.267137], 1e-5, "K = 3, T = 1");
}
