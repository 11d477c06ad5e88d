//! Loss balancing (src/balance/): each method against its formula, worked by hand where
//! the numbers are small, plus the defining property of each method on toy problems.
//!
//! `cargo test --release --test balance`

use mtrec::autograd::{Graph, ParamId, ParamStore, Var};
use mtrec::balance::pcgrad::{pcgrad_surgery, project_if_conflicting, random_orders};
use mtrec::balance::*;
use mtrec::error::Error;
use mtrec::loss::LossOpts;
use mtrec::optim::{Adam, AdamConfig, Optimizer};
use mtrec::tensor::Tensor;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};
use ndarray_rand::rand_distr::StandardNormal;
use proptest::prelude::*;

// ------------------------------------------------------------------ helpers

fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: got {g}, expected {w}"
        );
    }
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// A tiny two-task model: a shared embedding table and shared layer W, two towers.
///
/// ```text
/// h   = tanh(x·W + T[idx])     (4, 2)    W (3, 2), T (5, 2) shared
/// o_k = h·v_k                  (4, 1)    v_k (2, 1) task-specific
/// L_k = MSE(o_k, y_k)          y_1 = +3, y_2 = −3: the tasks pull h apart
/// ```
struct Tiny {
    store: ParamStore,
    w: ParamId,
    table: ParamId,
    towers: Vec<ParamId>,
}

fn tiny(k: usize) -> Tiny {
    let mut store = ParamStore::new();
    let w = store
        .add_dense("w", 3, 2, vec![0.3, -0.2, 0.1, 0.4, -0.5, 0.2])
        .unwrap();
    let table = store
        .add_table("t", 5, 2, (0..10).map(|i| 0.05 * i as f32 - 0.2).collect())
        .unwrap();
    let towers = (0..k)
        .map(|i| {
            let a = 0.5 + 0.3 * i as f32;
            let b = 0.8 - 0.6 * i as f32;
            store.add_dense(&format!("v{i}"), 2, 1, vec![a, b]).unwrap()
        })
        .collect();
    Tiny {
        store,
        w,
        table,
        towers,
    }
}

fn record(t: &Tiny, g: &mut Graph) -> Vec<Var> {
    g.reset();
    let x = g.input(
        &Tensor::from_vec(
            4,
            3,
            vec![1., 0.5, -0.3, 0.2, -1., 0.7, -0.4, 0.9, 0.1, 0.6, 0.3, -0.8],
        )
        .unwrap(),
    ); // (B, D) = (4, 3)
    let e = g.gather(&t.store, t.table, &[0, 2, 2, 4]).unwrap(); // (4, 2)
    let w = g.param(&t.store, t.w).unwrap(); // (3, 2)
    let h = g.mm(x, w).unwrap(); // (4, 2)
    let h = g.add(h, e).unwrap();
    let h = g.tanh(h).unwrap();
    t.towers
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let vv = g.param(&t.store, v).unwrap(); // (2, 1)
            let o = g.mm(h, vv).unwrap(); // (4, 1)
            let y = if i % 2 == 0 { 3.0 } else { -3.0 } + 0.5 * i as f32;
            g.mse_loss(o, &[y; 4], LossOpts::default()).unwrap() // (1, 1)
        })
        .collect()
}

/// `∇θ L_k` for every parameter of the store, one backward from a zeroed store.
fn task_grad(g: &mut Graph, store: &mut ParamStore, loss: Var) -> Vec<Vec<f32>> {
    store.zero_grad();
    g.backward(loss, store).unwrap();
    store.ids().map(|id| store.grad_to_vec(id)).collect()
}

fn all_grads(store: &ParamStore) -> Vec<Vec<f32>> {
    store.ids().map(|id| store.grad_to_vec(id)).collect()
}

fn fill_grads_with_garbage(store: &mut ParamStore) {
    store.dense_mut().1.fill(100.0);
}

// ------------------------------------------------------------------ fixed weights

#[test]
fn fixed_weights_give_the_weighted_sum_of_task_gradients_and_zero_the_store_first() {
    let mut t = tiny(2);
    let mut g = Graph::new(0);
    let losses = record(&t, &mut g);
    let g1 = task_grad(&mut g, &mut t.store, losses[0]);
    let g2 = task_grad(&mut g, &mut t.store, losses[1]);
    let mut b = Balancer::new(
        Method::Fixed(vec![0.3, 2.0]),
        &[TaskForm::Regression; 2],
        &mut t.store,
    )
    .unwrap();
    fill_grads_with_garbage(&mut t.store);
    let info = b.backward(&mut g, &mut t.store, &losses, &[t.w]).unwrap();
    let (l1, l2) = (g.scalar(losses[0]), g.scalar(losses[1]));
    assert!((info.objective - (0.3 * l1 + 2.0 * l2)).abs() < 1e-5);
    assert_eq!(info.weights, vec![0.3, 2.0]);
    assert_eq!(info.task_losses, vec![l1, l2]);
    for (p, got) in all_grads(&t.store).iter().enumerate() {
        let want: Vec<f32> = g1[p]
            .iter()
            .zip(&g2[p])
            .map(|(a, b)| 0.3 * a + 2.0 * b)
            .collect();
        assert_close(got, &want, 1e-5, "∇(0.3 L1 + 2 L2)");
    }
}

#[test]
fn bad_settings_and_inputs_are_errors_that_say_what_to_fix() {
    let mut t = tiny(2);
    let forms = [TaskForm::Regression; 2];
    let cases = [
        Method::Fixed(vec![1.0]),
        Method::Fixed(vec![1.0, -1.0]),
        Method::Fixed(vec![1.0, f32::NAN]),
        Method::Uncertainty(UncertaintyConfig {
            init_log_var: f32::INFINITY,
        }),
        Method::GradNorm(GradNormConfig {
            alpha: -1.0,
            ..Default::default()
        }),
        Method::GradNorm(GradNormConfig {
            lr: 0.0,
            ..Default::default()
        }),
        Method::GradNorm(GradNormConfig {
            min_weight: 0.0,
            ..Default::default()
        }),
        Method::Dwa(DwaConfig { temperature: 0.0 }),
    ];
    for m in cases {
        let e = Balancer::new(m.clone(), &forms, &mut t.store).unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{m:?}: {e}");
    }
    assert!(Balancer::new(Method::PcGrad(Default::default()), &[], &mut t.store).is_err());
    assert!(Method::by_name("nope", 2)
        .unwrap_err()
        .to_string()
        .contains("pcgrad"));
    assert_eq!(Method::by_name("dwa", 2).unwrap().name(), "dwa");

    let mut g = Graph::new(0);
    let losses = record(&t, &mut g);
    let mut pc = Balancer::new(Method::PcGrad(Default::default()), &forms, &mut t.store).unwrap();
    // wrong number of losses
    assert!(matches!(
        pc.backward(&mut g, &mut t.store, &losses[..1], &[t.w]),
        Err(Error::Length { .. })
    ));
    // no shared parameters
    let e = pc.backward(&mut g, &mut t.store, &losses, &[]).unwrap_err();
    assert!(e.to_string().contains("shared"), "{e}");
    // a table listed as shared
    let e = pc
        .backward(&mut g, &mut t.store, &losses, &[t.table])
        .unwrap_err();
    assert!(e.to_string().contains("embedding table"), "{e}");
    // a loss that is not (1, 1)
    let x = g.input_slice(1, 2, &[1.0, 2.0]).unwrap();
    let e = pc
        .backward(&mut g, &mut t.store, &[losses[0], x], &[t.w])
        .unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    // DWA: losses must be positive and one per task
    let mut dwa = Balancer::new(Method::Dwa(Default::default()), &forms, &mut t.store).unwrap();
    assert!(dwa.end_epoch(&[1.0]).is_err());
    assert!(dwa.end_epoch(&[1.0, 0.0]).is_err());
}

// ------------------------------------------------------------------ uncertainty

#[test]
fn uncertainty_gradients_match_the_closed_form() {
    // term_k = c_k e^(−s_k) L_k + ½ s_k, c = ½ (regression), 1 (classification)
    // ∂/∂s_k = −c_k e^(−s_k) L_k + ½;  ∂/∂θ = Σ_k c_k e^(−s_k) ∂L_k/∂θ
    let mut t = tiny(2);
    let forms = [TaskForm::Regression, TaskForm::Classification];
    let cfg = UncertaintyConfig { init_log_var: 0.3 };
    let mut b = Balancer::new(Method::Uncertainty(cfg), &forms, &mut t.store).unwrap();
    let s = b.log_vars().to_vec();
    assert_eq!(s.len(), 2);
    assert_eq!(t.store.info(s[1]).name, "balance.log_var.1");
    t.store.value_mut(s[1])[0] = -0.7;
    let mut g = Graph::new(0);
    let losses = record(&t, &mut g);
    let g1 = task_grad(&mut g, &mut t.store, losses[0]);
    let g2 = task_grad(&mut g, &mut t.store, losses[1]);
    fill_grads_with_garbage(&mut t.store);
    let info = b.backward(&mut g, &mut t.store, &losses, &[]).unwrap();
    let (l1, l2) = (info.task_losses[0], info.task_losses[1]);
    let (w1, w2) = (0.5 * (-0.3f32).exp(), 0.7f32.exp());
    assert_close(&info.weights, &[w1, w2], 1e-6, "weights c·e^(−s)");
    assert_close(&b.weights(&t.store), &[w1, w2], 1e-6, "Balancer::weights");
    let obj = w1 * l1 + 0.5 * 0.3 + w2 * l2 + 0.5 * -0.7;
    assert!(
        (info.objective - obj).abs() < 1e-5,
        "{} vs {obj}",
        info.objective
    );
    assert_close(
        t.store.grad(s[0]).unwrap(),
        &[-w1 * l1 + 0.5],
        1e-5,
        "∂/∂s_1",
    );
    assert_close(
        t.store.grad(s[1]).unwrap(),
        &[-w2 * l2 + 0.5],
        1e-5,
        "∂/∂s_2",
    );
    for (p, id) in [t.w, t.table, t.towers[0], t.towers[1]].iter().enumerate() {
        let want: Vec<f32> = g1[p]
            .iter()
            .zip(&g2[p])
            .map(|(a, b)| w1 * a + w2 * b)
            .collect();
        assert_close(&t.store.grad_to_vec(*id), &want, 1e-5, "∇θ");
    }
}

#[test]
fn uncertainty_learns_each_tasks_noise_variance() {
    // y_k = x·a_k + ε_k, Var ε_1 = 1, Var ε_2 = 0.01 (100× apart); one linear model per task
    // trained with Adam on ½e^(−s_k)·MSE_k + ½s_k. At the optimum e^(s_k) = MSE_k ≈ Var ε_k.
    const N: usize = 2048;
    const D: usize = 4;
    const B: usize = 64;
    let noise = [1.0f32, 0.1];
    let mut rng = StdRng::seed_from_u64(7);
    let x: Vec<f32> = (0..N * D).map(|_| rng.sample(StandardNormal)).collect();
    let a = [[0.5f32, -1.0, 0.3, 2.0], [-0.7, 0.2, 1.5, -0.4]];
    let y: Vec<Vec<f32>> = (0..2)
        .map(|k| {
            (0..N)
                .map(|i| {
                    let clean: f32 = (0..D).map(|d| x[i * D + d] * a[k][d]).sum();
                    clean + noise[k] * rng.sample::<f32, _>(StandardNormal)
                })
                .collect()
        })
        .collect();
    let mut store = ParamStore::new();
    let w: Vec<ParamId> = (0..2)
        .map(|k| {
            store
                .add_dense(&format!("w{k}"), D, 1, vec![0.0; D])
                .unwrap()
        })
        .collect();
    let cfg = UncertaintyConfig::default();
    let mut b = Balancer::new(
        Method::Uncertainty(cfg),
        &[TaskForm::Regression; 2],
        &mut store,
    )
    .unwrap();
    let mut opt = Adam::new(AdamConfig::default()).unwrap();
    let mut g = Graph::new(0);
    for step in 0..4000 {
        let start = (step * B) % N;
        g.reset();
        let xb = g.input_slice(B, D, &x[start * D..(start + B) * D]).unwrap(); // (B, D)
        let losses: Vec<Var> = (0..2)
            .map(|k| {
                let wk = g.param(&store, w[k]).unwrap(); // (D, 1)
                let o = g.mm(xb, wk).unwrap(); // (B, 1)
                g.mse_loss(o, &y[k][start..start + B], LossOpts::default())
                    .unwrap()
            })
            .collect();
        b.backward(&mut g, &mut store, &losses, &[]).unwrap();
        let lr = if step < 3000 { 0.02 } else { 0.005 };
        opt.step(&mut store, lr).unwrap();
    }
    // Achieved MSE of each task on all the data.
    let mse: Vec<f32> = (0..2)
        .map(|k| {
            let wk = store.value(w[k]);
            (0..N)
                .map(|i| {
                    let p: f32 = (0..D).map(|d| x[i * D + d] * wk[d]).sum();
                    (p - y[k][i]).powi(2)
                })
                .sum::<f32>()
                / N as f32
        })
        .collect();
    let var: Vec<f32> = b
        .log_vars()
        .iter()
        .map(|&id| store.value(id)[0].exp())
        .collect();
    for k in 0..2 {
        let rel = (var[k] - mse[k]).abs() / mse[k];
        assert!(
            rel < 0.2,
            "task {k}: σ² = {} vs MSE = {} ({rel:.3})",
            var[k],
            mse[k]
        );
    }
    let (rv, rm) = (var[0] / var[1], mse[0] / mse[1]);
    assert!(
        (rv / rm - 1.0).abs() < 0.2,
        "σ² ratio {rv} vs MSE ratio {rm}"
    );
    assert!(
        rm > 70.0 && rm < 130.0,
        "the noise variances differ by 100×: {rm}"
    );
}

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

// ------------------------------------------------------------------ PCGrad

#[test]
fn pcgrad_two_tasks_match_the_closed_form() {
    // g1 = (1, 0), g2 = (−1, 1): g1·g2 = −1, ‖g1‖² = 1, ‖g2‖² = 2
    // g1' = g1 + ½ g2 = (0.5, 0.5);  g2' = g2 + g1 = (0, 1);  Σ = (0.5, 1.5)
    // closed form: g1 + g2 − (g1·g2)(g1/‖g1‖² + g2/‖g2‖²) = (0, 1) + (1, 0) + (−0.5, 0.5)
    let grads = [1.0, 0.0, -1.0, 1.0];
    let (pc, n) = pcgrad_surgery(&grads, 2, &[vec![1], vec![0]]);
    assert_eq!(n, 2);
    assert_close(&pc, &[0.5, 0.5, 0.0, 1.0], 1e-7, "projected");
    // Not conflicting: unchanged.
    let (pc, n) = pcgrad_surgery(&[1.0, 0.0, 1.0, 1.0], 2, &[vec![1], vec![0]]);
    assert_eq!((pc, n), (vec![1.0, 0.0, 1.0, 1.0], 0));
}

#[test]
fn pcgrad_with_three_tasks_can_leave_a_conflict_when_the_others_conflict() {
    // The paper's guarantee is per projection; a later projection can undo an earlier one.
    // g_k = (−1, −1), order [g_a = (1, 0), g_b = (−1, 1)] (g_a·g_b = −1):
    // against g_a: (0, −1); against g_b: (0, −1) − (−1/2)(−1, 1) = (−0.5, −0.5)
    // which again conflicts with g_a: (−0.5, −0.5)·(1, 0) = −0.5.
    let grads = [-1.0, -1.0, 1.0, 0.0, -1.0, 1.0];
    let (pc, _) = pcgrad_surgery(&grads, 3, &[vec![1, 2], vec![0, 2], vec![0, 1]]);
    assert_close(&pc[0..2], &[-0.5, -0.5], 1e-7, "g_k^PC");
    assert!(dot(&pc[0..2], &grads[2..4]) < 0.0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Each single projection leaves g orthogonal to the g_j it was projected against
    /// (or g unchanged, when they did not conflict).
    #[test]
    fn pcgrad_each_projection_removes_the_conflict(
        p in 1usize..9,
        vals in prop::collection::vec(-1.0f32..1.0, 16),
    ) {
        let (a, b) = (&vals[..p], &vals[8..8 + p]);
        let mut g = a.to_vec();
        let before = dot(a, b);
        let projected = project_if_conflicting(&mut g, b);
        prop_assert_eq!(projected, before < 0.0);
        if projected {
            let scale = dot(a, a).sqrt() * dot(b, b).sqrt();
            prop_assert!(dot(&g, b).abs() <= 1e-5 * scale.max(1e-6), "g'·g_j = {}", dot(&g, b));
        } else {
            prop_assert_eq!(&g[..], a);
        }
    }

    /// With two tasks, or when the other tasks' gradients do not conflict among
    /// themselves, every g_k^PC has a non-negative dot product with every original g_j,
    /// and two tasks give the closed form.
    #[test]
    fn pcgrad_projected_gradients_do_not_conflict_with_the_originals(
        k in 2usize..6,
        p in 1usize..8,
        vals in prop::collection::vec(-1.0f32..1.0, 40),
        seed in 0u64..1000,
    ) {
        let grads = &vals[..k * p];
        let orders = random_orders(k, &mut StdRng::seed_from_u64(seed));
        let (pc, _) = pcgrad_surgery(grads, k, &orders);
        let row = |m: &[f32], i: usize| m[i * p..(i + 1) * p].to_vec();
        let tol = 1e-5;
        for i in 0..k {
            let others_agree = (0..k).filter(|&a| a != i).all(|a| {
                (0..k).filter(|&b| b != i && b != a).all(|b| dot(&row(grads, a), &row(grads, b)) >= 0.0)
            });
            if k == 2 || others_agree {
                for j in (0..k).filter(|&j| j != i) {
                    let d = dot(&row(&pc, i), &row(grads, j));
                    prop_assert!(d >= -tol, "task {i} vs {j}: {d}");
                }
            }
        }
        // Others made non-conflicting (|g_j|, all in one orthant): always holds for task 0.
        let mut agree = grads.to_vec();
        agree[p..].iter_mut().for_each(|v| *v = v.abs());
        let (pc, _) = pcgrad_surgery(&agree, k, &orders);
        for j in 1..k {
            prop_assert!(dot(&row(&pc, 0), &row(&agree, j)) >= -tol);
        }
        if k == 2 {
            let (g1, g2) = (row(grads, 0), row(grads, 1));
            let d = dot(&g1, &g2);
            let (n1, n2) = (dot(&g1, &g1), dot(&g2, &g2));
            let sum: Vec<f32> = (0..p).map(|i| pc_sum(&pcgrad_surgery(grads, 2, &orders).0, p, i)).collect();
            let want: Vec<f32> = (0..p)
                .map(|i| {
                    let base = g1[i] as f64 + g2[i] as f64;
                    (if d < 0.0 { base - d * (g1[i] as f64 / n1 + g2[i] as f64 / n2) } else { base }) as f32
                })
                .collect();
            for i in 0..p {
                prop_assert!((sum[i] - want[i]).abs() <= 1e-4, "{} vs {}", sum[i], want[i]);
            }
        }
    }
}

fn pc_sum(pc: &[f32], p: usize, i: usize) -> f32 {
    pc.chunks_exact(p).map(|r| r[i]).sum()
}

#[test]
fn pcgrad_end_to_end_on_a_two_task_graph() {
    let mut t = tiny(2);
    let mut g = Graph::new(0);
    let losses = record(&t, &mut g);
    let g1 = task_grad(&mut g, &mut t.store, losses[0]);
    let g2 = task_grad(&mut g, &mut t.store, losses[1]);
    let (iw, it, iv1, iv2) = (
        t.w.index(),
        t.table.index(),
        t.towers[0].index(),
        t.towers[1].index(),
    );
    let d = dot(&g1[iw], &g2[iw]);
    assert!(d < 0.0, "the toy tasks must conflict on W: {d}");
    let mut b = Balancer::new(
        Method::PcGrad(PcGradConfig { seed: 3 }),
        &[TaskForm::Regression; 2],
        &mut t.store,
    )
    .unwrap();
    fill_grads_with_garbage(&mut t.store);
    let info = b.backward(&mut g, &mut t.store, &losses, &[t.w]).unwrap();
    // Shared W: the closed form.
    let (n1, n2) = (dot(&g1[iw], &g1[iw]), dot(&g2[iw], &g2[iw]));
    let want: Vec<f32> = (0..6)
        .map(|i| {
            (g1[iw][i] as f64 + g2[iw][i] as f64
                - d * (g1[iw][i] as f64 / n1 + g2[iw][i] as f64 / n2)) as f32
        })
        .collect();
    assert_close(t.store.grad(t.w).unwrap(), &want, 1e-5, "∇W PCGrad");
    // Towers: their own task's gradient; the shared table: the plain sum.
    assert_close(t.store.grad(t.towers[0]).unwrap(), &g1[iv1], 1e-6, "∇v1");
    assert_close(t.store.grad(t.towers[1]).unwrap(), &g2[iv2], 1e-6, "∇v2");
    let table_sum: Vec<f32> = g1[it].iter().zip(&g2[it]).map(|(a, c)| a + c).collect();
    assert_close(
        &t.store.grad_to_vec(t.table),
        &table_sum,
        1e-6,
        "∇T plain sum",
    );
    assert_eq!(t.store.sparse_grad(t.table).unwrap().touched(), &[0, 2, 4]);
    // The step's cosines are those of the original task gradients on W.
    let cos = (d / (n1.sqrt() * n2.sqrt())) as f32;
    assert_close(
        info.cosines.as_ref().unwrap(),
        &[1.0, cos, cos, 1.0],
        1e-5,
        "cosines",
    );
    assert_eq!(info.weights, vec![1.0, 1.0]);
}

#[test]
fn pcgrad_is_deterministic_for_a_seed() {
    let run = |seed: u64| {
        let mut t = tiny(4);
        let mut g = Graph::new(0);
        let mut b = Balancer::new(
            Method::PcGrad(PcGradConfig { seed }),
            &[TaskForm::Regression; 4],
            &mut t.store,
        )
        .unwrap();
        let mut out = Vec::new();
        for _ in 0..5 {
            let losses = record(&t, &mut g);
            b.backward(&mut g, &mut t.store, &losses, &[t.w]).unwrap();
            out.extend_from_slice(t.store.grad(t.w).unwrap());
        }
        out
    };
    assert_eq!(run(11), run(11));
}

// ------------------------------------------------------------------ diagnostics

#[test]
fn task_gradient_cosines_match_separate_backward_passes() {
    let mut t = tiny(3);
    let mut g = Graph::new(0);
    let losses = record(&t, &mut g);
    let grads: Vec<Vec<f32>> = losses
        .iter()
        .map(|&l| {
            let all = task_grad(&mut g, &mut t.store, l);
            [all[t.w.index()].clone(), all[t.towers[0].index()].clone()].concat()
        })
        .collect();
    let cos = task_gradient_cosines(&mut g, &mut t.store, &losses, &[t.w, t.towers[0]]).unwrap();
    for i in 0..3 {
        for j in 0..3 {
            let want = dot(&grads[i], &grads[j])
                / (dot(&grads[i], &grads[i]) * dot(&grads[j], &grads[j])).sqrt();
            assert!(
                (cos[i * 3 + j] as f64 - want).abs() < 1e-5,
                "cos[{i}][{j}] = {} vs {want}",
                cos[i * 3 + j]
            );
        }
    }
    // A zero gradient (task 1 and 2 do not reach tower 0) has no direction: cosine 0.
    assert_eq!(
        cosine_matrix(&[1.0, 0.0, 0.0, 0.0], 2),
        vec![1.0, 0.0, 0.0, 1.0]
    );
}
