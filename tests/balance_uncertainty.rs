//! Loss balancing by homoscedastic uncertainty: the gradients against the closed form,
//! and each task's noise variance learnt on a toy problem.

mod balance_support;

use balance_support::*;
use mtrec::autograd::{Graph, ParamId, ParamStore, Var};
use mtrec::balance::*;
use mtrec::loss::LossOpts;
use mtrec::optim::{Adam, AdamConfig, Optimizer};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};
use ndarray_rand::rand_distr::StandardNormal;

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
